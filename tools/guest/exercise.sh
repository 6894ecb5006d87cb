#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make exercise N=...` and the exercises' check of `make check`, VM side. For each variant named
# in /exercise/list (a learner's file, a reference solution, a starting file or a wrong solution,
# each built on the host by tools/exercise.sh into /exercise/<variant>/<module>.ko, with its cases
# in /exercise/<variant>/cases), each case in turn: load the module afresh, run the case
# (tools/guest/excases.sh), end what it started, unload; stop at the variant's first failure.
# Prints per case
#   exercise: <variant> ok <case>
#   exercise: <variant> not ok <case>: <what went wrong, in the learner's words>
# and "exercise: <variant> done in <N> ms". A module that oopses, leaves a task asleep past every limit or
# cannot be unloaded ends the whole run: "exercise: <variant> stuck <case>: ...", the kernel's
# first lines and the task's state, then the VM powers off (the next run boots a fresh one).
# No `set -u`: a slip in one case must not end the run without a word.
# shellcheck source=excases.sh
. /guest/excases.sh

# The frames of lock debugging (lockdep) a sleeping task's stack may start with: not where it waits.
LOCKDEP='find_held_lock|lock_acquire|lock_release|lockdep_|mark_lock|trace_hardirqs'

# stuck WHAT [PID]: report, with the task's state, where it waits and its kernel stack if given,
# and end the run (the VM powers off).
stuck() {
	echo "exercise: $V stuck $CASE: $1"
	if [ -n "${2:-}" ]; then
		s=$(st "$2")
		case $s in
		D) s="D (uninterruptible sleep: no signal ends it)" ;;
		S) s="S (interruptible sleep)" ;;
		R) s="R (running)" ;;
		esac
		grep -vE "\] ($LOCKDEP)" "/proc/$2/stack" 2>/dev/null | head -n 6 >/tmp/stuck.stack
		w=$(cat "/proc/$2/wchan" 2>/dev/null)
		if [ -z "$w" ] || [ "$w" = 0 ] || echo "$w" | grep -qE "^($LOCKDEP)"; then
			w=$(sed -n '1s/^\[<[0-9a-f]*>\] \([^+ ]*\).*/\1/p' /tmp/stuck.stack)
		fi
		echo "exercise: $V task $2 ($(cat "/proc/$2/comm" 2>/dev/null)) state $s, waiting in $w"
		sed "s/^/exercise: $V stack: /" /tmp/stuck.stack
	fi
	exit 1
}

# oops_check: a kernel error report since the case began ends the run, its first lines shown
# (a Rust panic's message and place first, then the oops; not the register dump).
oops_check() {
	dmesg | tail -n +$((CMARK + 1)) >/tmp/case.klog
	n=$(grep -nE 'panicked at|cut here|kernel BUG at|Oops|BUG:|WARNING:|general protection fault|Call Trace|hung_task|blocked for more than' /tmp/case.klog | head -n1 | cut -d: -f1)
	[ -n "$n" ] || return 0
	tail -n +"$n" /tmp/case.klog | sed 's/^\[ *[0-9.]*\] //' |
		grep -vE '^((RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2|DR0|DR3|DR6|Code): |Tainted: \[|Hardware name)' |
		head -n 12 | sed "s/^/exercise: $V kernel: /"
	stuck "the kernel reported an error (above)"
}

# cleanup: end the case's processes (a reader asleep in state D only wakes on a write), unload.
cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	i=0
	while :; do
		left=
		for p in $PIDS; do alive "$p" && left="$left $p"; done
		[ -z "$left" ] && break
		if [ $i -ge 30 ]; then
			# shellcheck disable=SC2086 # pids are words
			set -- $left
			stuck "a task of the case still sleeps after SIGKILL and 30 writes" "$1"
		fi
		[ -e $DEV ] && { echo x >$DEV 2>/dev/null & }
		sleep 0.1
		i=$((i + 1))
	done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=
	oops_check
	[ -d "/sys/module/$MOD" ] || return 0
	rmmod "$MOD" >/tmp/rmmod.err 2>&1 &
	r=$!
	wait_gone $r 5000 || stuck "rmmod $MOD did not finish within 5 s" $r
	wait $r || stuck "the module could not be unloaded: $(cat /tmp/rmmod.err)"
	oops_check
}

# shellcheck disable=SC2013 # variant and case names are words
for V in $(cat /exercise/list); do
	VD=/exercise/$V
	MOD=$(cat "$VD/module")
	T0=$(now_ms)
	# shellcheck disable=SC2013
	for CASE in $(cat "$VD/cases"); do
		CMARK=$(dmesg | wc -l)
		MSG=
		if "case_$CASE"; then res=ok; else res=fail; fi
		cleanup
		if [ $res = ok ]; then
			echo "exercise: $V ok $CASE"
		else
			echo "exercise: $V not ok $CASE: $MSG"
			break
		fi
	done
	echo "exercise: $V done in $(($(now_ms) - T0)) ms"
done
echo "exercise: all done"
