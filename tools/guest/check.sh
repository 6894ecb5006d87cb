#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make check`, VM side: the KUnit suites, the kselftest (through the
# kernel's own kselftest runner) and a smoke test with busybox cat/echo.
# Prints one "vm-check: ok|not ok NAME" line per part; exits non-zero if
# any part fails. The host checks the whole kernel log afterwards.
set -u
fails=0
report() { # report STATUS NAME [DETAIL]
	if [ "$1" = 0 ]; then
		echo "vm-check: ok $2"
	else
		echo "vm-check: not ok $2 ${3:-}"
		fails=$((fails + 1))
	fi
}

# What this kernel lacks of the test kernel's debugging (cdunavail= from the host, from its
# .config: kunit, lockdep, faults): what needs it is reported as not available, by name, and
# neither passes nor fails.
unavailable() { # unavailable NAME
	case ",${cdunavail:-}," in *",$1,"*) return 0 ;; esac
	return 1
}
na() { # na WHAT
	echo "vm-check: not available on this kernel: $1"
}
if unavailable kunit; then
	na "KUnit suites ext_completion ext_param ext_kthread (CONFIG_KUNIT): their test module ext/kunit/complete_ext_kunit.ko is not built"
	[ ! -e /modules/complete_ext_kunit.ko ]
	report $? "no-kunit-module-without-kunit" "(ext/kunit/complete_ext_kunit.ko is in /modules)"
fi
if unavailable lockdep; then
	na "lock debugging (CONFIG_PROVE_LOCKING, CONFIG_DEBUG_ATOMIC_SLEEP): no lockdep or sleeping-in-atomic report can show in the kernel log"
fi

# wait_state PID STATE: wait up to 10 s for the task to be in STATE.
wait_state() {
	i=0
	while [ $i -lt 100 ]; do
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# 0. The sanitizer kernel (make check SANITIZE=1, cdsanitize=1 on the kernel
# command line): its detectors must really be on, and kmemleak starts from a
# clean slate so that its final scan reports only what the tests leaked.
if [ "${cdsanitize:-0}" = 1 ]; then
	dmesg >/tmp/boot.log
	grep -q 'KernelAddressSanitizer initialized' /tmp/boot.log
	report $? sanitize-kasan-on "(no 'KernelAddressSanitizer initialized' in the boot log)"
	[ -w /sys/kernel/debug/kmemleak ] && echo clear >/sys/kernel/debug/kmemleak
	report $? sanitize-kmemleak-on "(no /sys/kernel/debug/kmemleak)"
	[ -d /sys/kernel/debug/failslab ] && [ -e /proc/self/fail-nth ]
	report $? sanitize-fault-injection-on "(no failslab or fail-nth)"
fi

# 0'. The KCSAN kernel (make check KCSAN=1, cdkcsan=1): the race detector must really be on,
# in strict mode; a KCSAN run without KCSAN must not pass. Its counters are printed before and
# after the tests, with the reports of a known origin ("BUG: KCSAN: ... in A / B") in the
# kernel log so far, and every data_races count must be accounted for (docs/kcsan.md).
kcsan_counter() { # kcsan_counter NAME: that counter of /sys/kernel/debug/kcsan (0 without it)
	v=$(sed -n "s/^$1: \([0-9]*\)\$/\1/p" /sys/kernel/debug/kcsan 2>/dev/null)
	echo "${v:-0}"
}
kcsan_stats() { # kcsan_stats WHEN: print the counters; set k_races, k_near, k_efp, k_reports, k_unk*
	dmesg >/tmp/kcsan.log
	k_races=$(kcsan_counter data_races)
	k_near=$(kcsan_counter report_races)
	k_efp=$(kcsan_counter encoding_false_positives)
	k_reports=$(grep -c 'BUG: KCSAN: .* in .* / ' /tmp/kcsan.log)
	k_unk=$(kcsan_counter races_unknown_origin)
	k_unk_reports=$(grep -c 'race at unknown origin' /tmp/kcsan.log)
	echo "vm-check: kcsan counters $1: $(sed -nE 's/^(enabled|setup_watchpoints|data_races|report_races|encoding_false_positives|races_unknown_origin|assert_failures): /\1=/p' \
		/sys/kernel/debug/kcsan 2>/dev/null | tr '\n' ' ')reports=$k_reports unknown_origin_reports=$k_unk_reports"
}
if [ "${cdkcsan:-0}" = 1 ]; then
	dmesg >/tmp/boot.log
	grep -q 'kcsan: enabled early' /tmp/boot.log && grep -q 'kcsan: strict mode configured' /tmp/boot.log
	report $? kcsan-on "(no 'kcsan: enabled early' and 'kcsan: strict mode configured' in the boot log: not the kernel of tools/kernel-kcsan.config; run make check KCSAN=1 without KDIR=)"
	grep -qx 'enabled: 1' /sys/kernel/debug/kcsan 2>/dev/null
	report $? kcsan-enabled "(/sys/kernel/debug/kcsan does not say 'enabled: 1': was it turned off?)"
	kcsan_stats before
	watched_before=$(kcsan_counter setup_watchpoints)
	# The boot, before any module of the project is loaded. KCSAN counts a data race
	# (data_races) when an access finds another CPU's watchpoint. A count without a report in
	# the log must be a near miss (report_races: the watcher had already closed its window, so
	# nobody can print the two sides; the boot makes one now and then) or an encoding false
	# positive (encoding_false_positives: another address); any other count fails.
	b_races=$k_races b_near=$k_near b_efp=$k_efp b_reports=$k_reports b_unk=$k_unk b_unk_reports=$k_unk_reports
	unexplained=$((b_races - b_near - b_efp - b_reports))
	[ "$unexplained" -le 0 ]
	report $? kcsan-boot-races-accounted "(data_races=$b_races at boot: $b_reports report(s), $b_near near miss(es) (report_races), $b_efp encoding false positive(s); $unexplained unexplained)"
	# A race at unknown origin (races_unknown_origin) is reported whenever it is counted
	# (CONFIG_KCSAN_REPORT_RACE_UNKNOWN_ORIGIN), held back only as a repeat.
	[ "$b_unk" = 0 ] || [ "$b_unk_reports" -gt 0 ]
	report $? kcsan-boot-unknown-origin-reported "(races_unknown_origin=$b_unk at boot, no report of one in the log)"
fi

# 1. KUnit: a module's suites run when it loads; read the KTAP they print.
for ko in /modules/*.ko; do
	[ -f "$ko" ] || continue
	name=$(basename "$ko" .ko)
	before=$(dmesg | wc -l)
	insmod "$ko" >/tmp/insmod.log 2>&1
	report $? "insmod-$name" "$(cat /tmp/insmod.log)"
	dmesg | tail -n +$((before + 1)) >/tmp/kunit.log
	rmmod "$name" >/tmp/rmmod.log 2>&1
	report $? "rmmod-$name" "$(cat /tmp/rmmod.log)"
	# Suite summaries: "# <suite>: pass:P fail:F skip:S total:T".
	sed -n 's/.*\] # \([a-z0-9_]*\): pass:\([0-9]*\) fail:\([0-9]*\) skip:\([0-9]*\) total:.*/\1 \2 \3 \4/p' \
		/tmp/kunit.log >/tmp/suites
	while read -r suite p f sk; do
		echo "vm-check: KUnit suite $suite ($name): pass:$p fail:$f skip:$sk"
		[ "$f" = 0 ] && [ "$sk" = 0 ] && [ "$p" -ge 1 ]
		report $? "kunit-$suite"
	done </tmp/suites
	# Every suite of the test module must have reported; the modules a user loads carry none.
	case $name in
	complete_ext_kunit)
		for s in ext_completion ext_param ext_kthread; do
			grep -q "^$s " /tmp/suites
			report $? "kunit-suite-present-$s"
		done
		;;
	*)
		[ ! -s /tmp/suites ]
		report $? "no-test-code-in-$name" "(KUnit suites ran at its insmod: $(cat /tmp/suites))"
		;;
	esac
done

# 1'. The kernel's configuration where Debian keeps it: the kselftest reads HZ from it, and
# its timeout cases skip without it (which the totals below do not accept).
grep -q '^CONFIG_HZ=[0-9]*$' "/boot/config-$(uname -r)"
report $? kernel-config-in-boot "(no CONFIG_HZ in /boot/config-$(uname -r))"

# 2. Smoke: a blocked cat is woken by echo.
insmod /modules/complete_dev.ko
cat /dev/complete &
r=$!
wait_state $r S
report $? smoke-reader-sleeps
echo x >/dev/complete
i=0
while kill -0 $r 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
! kill -0 $r 2>/dev/null
report $? smoke-echo-wakes-cat
wait $r
report $? smoke-cat-exit-status
rmmod complete_dev
report $? smoke-rmmod
[ ! -e /dev/complete ]
report $? smoke-device-gone

# 3. The kselftest, through the kernel's runner (run_kselftest.sh).
if [ -x /kselftest/run_kselftest.sh ]; then
	# Through a pipe to tee: the console shows each case's result as it ends (so a watcher,
	# such as tools/mutants.sh, can stop the VM at the first `not ok`), and a file keeps
	# it for the checks below. The runner also opens /dev/stdout itself for the test's output:
	# that is the same pipe, whose writes never overwrite each other (a plain > file would).
	# cdksft_timeout= overrides the runner's timeout of `settings` (the KCSAN kernel is slower).
	# cdksft_direct=1 (make mutants): the test binary without the runner, whose `sed` prefix
	# holds the output back until its buffer fills; the log is then made into the runner's form
	# (each line prefixed "# ", its verdict line) for the checks below.
	# cdksft_cases=a,b (make mutants MUTANTS_CASES=, or VM_APPEND=): only these cases, directly.
	cases=$(echo "${cdksft_cases:-}" | tr , ' ')
	if [ "${cdksft_direct:-0}" = 1 ] || [ -n "$cases" ]; then
		{
			# shellcheck disable=SC2086 # the case names are words
			(cd /kselftest/complete_dev && ./complete_dev $cases) 2>&1
			echo $? >/tmp/ksft.rc
		} | tee /tmp/ksft.raw
		rc=$(cat /tmp/ksft.rc)
		sed 's/^/# /' /tmp/ksft.raw >/tmp/ksft.log
		[ "$rc" = 0 ] && echo 'ok 1 selftests: complete_dev: complete_dev' >>/tmp/ksft.log
	else
		{
			(cd /kselftest && ./run_kselftest.sh ${cdksft_timeout:+-o "$cdksft_timeout"}) 2>&1
			echo $? >/tmp/ksft.rc
		} | tee /tmp/ksft.log
		rc=$(cat /tmp/ksft.rc)
	fi
	# The runner's verdict, without SKIP, and the test's own totals: every
	# case the binary lists passed, none failed or skipped.
	# The test's KTAP comes through the runner prefixed with "# ".
	if [ -n "$cases" ]; then
		listed=$(echo "$cases" | wc -w)
	else
		listed=$(/kselftest/complete_dev/complete_dev --list | wc -l)
	fi
	totals=$(grep -o '^# # Totals: pass:[0-9]* fail:[0-9]* xfail:[0-9]* xpass:[0-9]* skip:[0-9]* error:[0-9]*' /tmp/ksft.log | head -n1)
	# Without fault injection, its cases (and only they) skip: every other case must pass.
	skip=0
	if unavailable faults; then
		for c in fault_injection kthread_create_fails kthread_onstack_create_fails; do
			grep -q "^# ok [0-9]* $c # SKIP" /tmp/ksft.log
			report $? "kselftest-$c-skips" "(the case $c did not skip on a kernel without fault injection)"
			na "kselftest case $c (CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS): skipped, not counted"
			skip=$((skip + 1))
		done
	fi
	pass=$(echo "$totals" | sed -n "s/.*pass:\([0-9]*\) fail:0 xfail:0 xpass:0 skip:$skip error:0\$/\1/p")
	grep -q '^ok [0-9]* selftests: complete_dev: complete_dev$' /tmp/ksft.log &&
		[ "$rc" = 0 ] && [ "$listed" -ge 1 ] && [ "$pass" = $((listed - skip)) ]
	report $? kselftest-complete_dev "(runner exit $rc; $listed cases listed; test ${totals:-printed no totals})"
else
	report 1 kselftest-complete_dev "(no /kselftest in the initramfs)"
fi

# 4. On the sanitizer kernel, a long soak (issue 15's budget: a million random
# operations), outside the kselftest runner whose timeout covers the whole run.
if [ "${cdsanitize:-0}" = 1 ] && [ -n "${cdsoak:-}" ]; then
	complete_dev --module /modules/complete_dev.ko --soak-ops "$cdsoak" stress_soak >/tmp/soak.log 2>&1
	rc=$?
	cat /tmp/soak.log
	grep -q '^ok 1 stress_soak' /tmp/soak.log && [ $rc = 0 ]
	report $? "sanitize-soak-$cdsoak-ops" "(exit $rc)"
fi

# 4'. On the KCSAN kernel, the concurrent cases again (the soak of random reads, writes and
# ioctls with --soak-ops $cdsoak, REINIT against pending writes, the 16x16 stress) with KCSAN
# setting a watchpoint every $cdkcsan_skip instrumented accesses instead of every 4000
# (kcsan.skip_watch, restored afterwards): the kernel C the tests drive (VFS, misc device,
# allocator, signals; not kernel/sched/, which KCSAN skips) and the driver's atomics are
# watched ten times as often.
if [ "${cdkcsan:-0}" = 1 ] && [ -n "${cdsoak:-}" ]; then
	skip=/sys/module/kcsan/parameters/skip_watch
	default=$(cat $skip)
	echo "${cdkcsan_skip:-$default}" >$skip
	t0=$(date +%s)
	complete_dev --module /modules/complete_dev.ko --soak-ops "$cdsoak" stress_soak ioctl_reinit_race stress_threads \
		>/tmp/soak.log 2>&1
	rc=$?
	echo "$default" >$skip
	cat /tmp/soak.log
	grep -q '^# Totals: pass:3 fail:0 xfail:0 xpass:0 skip:0 error:0$' /tmp/soak.log && [ $rc = 0 ]
	report $? "kcsan-soak-$cdsoak-ops-skip_watch-${cdkcsan_skip:-$default}" "(exit $rc, $(($(date +%s) - t0)) s)"
fi

# 5. kmemleak: two scans after the 5 s minimum age, as its documentation
# advises; whatever the tests leaked since the clear above is reported.
if [ "${cdsanitize:-0}" = 1 ]; then
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >/tmp/kmemleak
	# The leaks before the verdict: make mutants stops the VM at a `not ok` line.
	cat /tmp/kmemleak
	[ ! -s /tmp/kmemleak ]
	report $? sanitize-kmemleak-clean "($(grep -c '^unreferenced object' /tmp/kmemleak) leaks; see the log above)"
fi

# 6. KCSAN watched: without watchpoints set up during the tests, no report proves anything.
# And every race it counted during the tests produced a report, which the host judges against
# userspace-test/log-patterns.txt: a count with no report is a race nobody can see (a report
# held back) and fails, unless it was an encoding false positive (not a race) or a near miss
# (report_races: the watcher had closed its window and seen no change, so KCSAN itself found no
# race to report; counted and printed, as at boot). Beside reports, extra counts are a printed
# pair held back by KCSAN's 3 s rate limit, or a second access that found the same watchpoint.
if [ "${cdkcsan:-0}" = 1 ]; then
	kcsan_stats after
	n=$(kcsan_counter setup_watchpoints)
	[ "$n" -gt "${watched_before:-0}" ]
	report $? kcsan-watched "(setup_watchpoints ${watched_before:-missing} before the tests, $n after)"
	d_races=$((k_races - b_races)) d_near=$((k_near - b_near)) d_efp=$((k_efp - b_efp))
	d_reports=$((k_reports - b_reports))
	echo "vm-check: kcsan data_races before the tests $b_races, after $k_races: $d_races during the tests, $d_reports report(s), $d_near near miss(es), $d_efp encoding false positive(s)"
	[ $((d_races - d_efp - d_near)) -le 0 ] || [ "$d_reports" -gt 0 ]
	report $? kcsan-races-reported "(KCSAN counted $((d_races - d_efp - d_near)) race(s) during the tests beyond near misses and printed no report: data_races $b_races -> $k_races, report_races $b_near -> $k_near; see docs/kcsan.md)"
	[ "$k_unk" = "$b_unk" ] || [ "$k_unk_reports" -gt "$b_unk_reports" ]
	report $? kcsan-unknown-origin-reported "(KCSAN counted $((k_unk - b_unk)) race(s) at unknown origin during the tests and printed no report of one: races_unknown_origin $b_unk -> $k_unk)"
fi

echo "vm-check: $fails part(s) failed"
[ $fails = 0 ]
