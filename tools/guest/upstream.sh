#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make upstream-check`, VM side, on the kernel built with upstream/'s series: the KUnit suites
# that ran at boot (kunit.filter_glob chose the tests), then the kselftest cases that fit the
# kernel's sample, run against its device. Prints one "vm-upstream: ok|not ok NAME" line per
# part; exits non-zero if any part fails. The host checks the whole kernel log afterwards.
#
# From the kernel command line: cdkunit_suites=a,b (every one must have run: some test passed,
# none failed or skipped), cdsample_module= (its file in /modules), cdsample_dev= (its device),
# cdsample_cases=a,b (the kselftest cases), cdsample_no_comm=1 (its lines name the pid alone).
set -u
fails=0
report() { # report STATUS NAME [DETAIL]
	if [ "$1" = 0 ]; then
		echo "vm-upstream: ok $2"
	else
		echo "vm-upstream: not ok $2 ${3:-}"
		fails=$((fails + 1))
	fi
}

# 1. KUnit: the suites ran while the kernel booted; their KTAP is in the log.
dmesg >/tmp/boot.log
sed -n 's/.*# \([a-z0-9_]*\): pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\) total:.*/\1 \2 \3 \4/p' \
	/tmp/boot.log >/tmp/suites
for s in $(echo "${cdkunit_suites:-}" | tr , ' '); do
	line=$(grep "^$s " /tmp/suites | tail -n1)
	if [ -z "$line" ]; then
		report 1 "kunit-$s" "(did not run: not built, or none of its tests matches kunit.filter_glob)"
		continue
	fi
	# shellcheck disable=SC2086 # the four fields
	set -- $line
	echo "vm-upstream: KUnit suite $1: pass:$2 fail:$3 skip:$4"
	[ "$3" = 0 ] && [ "$4" = 0 ] && [ "$2" -ge 1 ]
	report $? "kunit-$s"
done
grep -E '^\[ *[0-9.]+\] +(    )*not ok ' /tmp/boot.log | sed 's/^\[ *[0-9.]*\] */vm-upstream: KUnit: /'

# 2. The kselftest cases that fit the sample: its device has the read and write of
# /dev/complete and the same log lines, but no ioctl (COMPLETE_DEV_NO_STATUS).
cases=$(echo "${cdsample_cases:-}" | tr , ' ')
if [ -n "$cases" ]; then
	n=$(echo "$cases" | wc -w)
	# shellcheck disable=SC2086 # the case names are words
	COMPLETE_DEV_PATH=${cdsample_dev:?} COMPLETE_DEV_MODULE=${cdsample_module:?} COMPLETE_DEV_NO_STATUS=1 \
		COMPLETE_DEV_NO_COMM=${cdsample_no_comm:-0} \
		complete_dev --verbose --module "/modules/$cdsample_module.ko" $cases >/tmp/sample.log 2>&1
	rc=$?
	cat /tmp/sample.log
	grep -q "^# Totals: pass:$n fail:0 xfail:0 xpass:0 skip:0 error:0\$" /tmp/sample.log && [ $rc = 0 ]
	report $? "kselftest-on-$cdsample_module" "(exit $rc; $(grep '^# Totals' /tmp/sample.log))"
fi

echo "vm-upstream: $fails part(s) failed"
[ $fails = 0 ]
