#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make upstream-check`, VM side, on the kernel built with upstream/'s series: the KUnit suites
# that ran at boot (kunit.filter_glob chose the tests), then the kselftest cases that fit the
# kernel's sample, run against its device. Prints one "vm-upstream: ok|not ok NAME" line per
# part; exits non-zero if any part fails. The host checks the whole kernel log afterwards.
#
# From the kernel command line: cdkunit_suites=a,b (every one must have run: some test passed,
# none failed or skipped), cdsample_module= (its file in /modules), cdsample_dev= (its device),
# cdsample_cases=a,b (the kselftest cases), cdsample_no_comm=1 (its lines name the pid alone),
# cdparam_module= (a module in /modules whose parameter cdparam_name= has mode 0444, and
# cdparam_hidden= none).
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

# 3. A module parameter that can be read in sysfs (the module-param series, through its sample):
# loaded with +010, which C reads as 8 and the kernel crate's old parser as 10; shown as C shows
# it, mode 0444, refused a write; the parameter without `perm` has no file; 0b101, which C
# refuses, refused at load.
if [ -n "${cdparam_module:-}" ]; then
	m=$cdparam_module
	p=${cdparam_name:?}
	f=/sys/module/$m/parameters/$p
	insmod "/modules/$m.ko" "$p=+010" 2>/tmp/param.err
	report $? "param-load" "(insmod $m.ko $p=+010: $(cat /tmp/param.err))"
	got=$(cat "$f" 2>&1)
	[ "$got" = 8 ]
	report $? "param-shown-as-c" "($f reads '$got', not 8)"
	dmesg | grep -q "$m: $p: 8\$"
	report $? "param-module-sees-c-value" "(no line '$m: $p: 8' in the kernel log)"
	mode=$(stat -c %a "$f" 2>&1)
	[ "$mode" = 444 ]
	report $? "param-mode-0444" "($f has mode $mode)"
	if (echo 9 >"$f") 2>/tmp/param.err; then
		report 1 "param-write-refused" "(a write of $f succeeded)"
	else
		grep -q 'Permission denied' /tmp/param.err
		report $? "param-write-refused" "($(cat /tmp/param.err))"
	fi
	got=$(cat "$f" 2>&1)
	[ "$got" = 8 ]
	report $? "param-unchanged-after-write" "($f reads '$got' after the refused write)"
	[ ! -e "/sys/module/$m/parameters/${cdparam_hidden:?}" ]
	report $? "param-no-perm-no-file" "(/sys/module/$m/parameters/$cdparam_hidden exists)"
	rmmod "$m"
	report $? "param-unload"
	if insmod "/modules/$m.ko" "$p=0b101" 2>/tmp/param.err; then
		rmmod "$m"
		report 1 "param-c-refusal" "($p=0b101 was taken)"
	else
		dmesg | grep -q "$m: \`0b101' invalid for parameter \`$p'"
		report $? "param-c-refusal" "(no line '$m: \`0b101' invalid for parameter \`$p'' in the kernel log)"
	fi
fi

echo "vm-upstream: $fails part(s) failed"
[ $fails = 0 ]
