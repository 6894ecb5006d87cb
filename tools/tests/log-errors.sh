#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Test of log_errors (tools/lib.sh), the console log check of tools/vm-run.sh: a line of
# every pattern of userspace-test/log-patterns.txt is caught where it starts a word, and
# nowhere else; the exceptions ("!") are let through. The kselftest's own matcher has the
# same test in Rust (src/kmsg.rs, cargo test).
source "$(dirname "$0")/../lib.sh"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
want=()
n=0
# line CAUGHT TEXT: add TEXT to the test log; CAUGHT=1 if log_errors must report it.
line() {
	printf '%s\n' "$2" >>"$dir/log"
	n=$((n + 1))
	[[ $1 == 0 ]] || want+=("$n")
}

mapfile -t bad < <(sed -n '/^[^#!]/p' "$LOG_PATTERNS")
mapfile -t benign < <(sed -n 's/^!//p' "$LOG_PATTERNS")
((${#bad[@]} > 0)) || die "no patterns read from $LOG_PATTERNS"
for p in "${bad[@]}"; do
	line 1 "[    1.234567] $p here"
	line 1 "$p at the start"
	line 1 "cpu:$p"
	line 0 "X$p"
	line 0 "a_$p"
done
for p in "${benign[@]}"; do
	line 0 "[    0.100000] $p x"
	# A KCSAN exception names one race, both functions: never KCSAN as a whole.
	[[ $p != *KCSAN* || $p =~ ^BUG:\ KCSAN:\ data-race\ in\ [^\ /]+\ /\ [^\ /]+$ ]] ||
		die "the exception '$p' of $LOG_PATTERNS must name two functions: 'BUG: KCSAN: data-race in A / B'"
done
line 1 '[   12.345678] BUG: KCSAN: data-race in do_nanosleep / complete'
line 1 '[   12.345678] BUG: KCSAN: data-race in complete / hrtimer_wakeup'
line 1 'rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:'
line 1 'Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100'
line 1 'INFO: task cat:92 blocked for more than 10 seconds.'
line 1 '[   12.345678] BUG: KCSAN: data-race in complete / reinit_completion'
line 1 '[   12.345678] BUG: KCSAN: data-race in try_wait_for_completion+0x5c/0xa0'
line 1 'BUG: KCSAN: assert: race in foo / bar'
line 0 '[    0.512000] kcsan: enabled early'
line 0 '[    0.512001] kcsan: strict mode configured'
line 0 '[    0.900000] kcsan: selftest: 3/3 tests passed'
line 0 'complete_dev: process 80 (cat) going to sleep'
line 0 'PM: DEBUG: no BUG here'

log_errors "$dir/log" | cut -d: -f1 >"$dir/got" || true
printf '%s\n' "${want[@]}" >"$dir/want"
if ! diff -u "$dir/want" "$dir/got" >"$dir/diff"; then
	sed -n '3,$p' "$dir/diff" | grep '^[-+][0-9]' | while IFS= read -r d; do
		printf '  %s line: %s\n' "$([[ $d == -* ]] && echo missed || echo 'wrongly caught')" \
			"$(sed -n "${d:1}p" "$dir/log")" >&2
	done
	die "log_errors disagrees with $LOG_PATTERNS (see above)"
fi
printf '    log_errors: %d patterns, %d exceptions, %d lines as expected\n' \
	"${#bad[@]}" "${#benign[@]}" "$n" >&2
