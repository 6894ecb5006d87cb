#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The exercises' cases (exercises/*/exercise.conf names them), sourced by tools/guest/exercise.sh.
# Each case_NAME loads the module under test afresh, returns 0 if it passed, or sets MSG to what
# a learner reads (what went wrong, then what the kernel API says) and returns 1. Every process
# a case starts goes through `track`, so that cleanup can end it; nothing waits without a limit.

# shellcheck disable=SC2034 # read by exercise.sh, which sources this file
MSG=
PIDS=
LAST=
KMARK=0
SLEPT=
PR=
PMS=0
DEV=/dev/complete

fail() {
	# shellcheck disable=SC2034 # read by exercise.sh
	MSG=$*
	return 1
}

track() {
	PIDS="$PIDS $1"
	LAST=$1
}

# now_ms: milliseconds since boot.
now_ms() {
	read -r up _ </proc/uptime
	c=${up#*.}
	c=${c#0}
	echo $((${up%.*} * 1000 + ${c:-0} * 10))
}

# st PID: the task's state letter (S, D, R, Z...), empty once it is gone.
st() {
	cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null
}

alive() {
	s=$(st "$1")
	[ -n "$s" ] && [ "$s" != Z ]
}

# wait_gone PID MS: wait up to MS ms for the process to end.
wait_gone() {
	end=$(($(now_ms) + $2))
	while alive "$1"; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.05
	done
}

# wait_asleep PID MS: wait up to MS ms for the process to sleep (state S or D, then in SLEPT).
wait_asleep() {
	end=$(($(now_ms) + $2))
	while :; do
		SLEPT=$(st "$1")
		case $SLEPT in
		S | D) return 0 ;;
		'' | Z) return 1 ;;
		esac
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.05
	done
}

load() {
	KMARK=$(dmesg | wc -l)
	insmod "$VD/$MOD.ko" >/tmp/insmod.err 2>&1 || fail "the module did not load: $(cat /tmp/insmod.err)"
}

# reader: a `cat /dev/complete` in the background; its pid in LAST.
reader() {
	cdprobe dfl cat $DEV >/dev/null 2>>/tmp/cat.err &
	track $!
}

# sleeping_reader: a reader, asleep within 2 s; fails if it returned at once.
sleeping_reader() {
	reader
	wait_asleep "$LAST" 2000 ||
		fail "a read returned at once, with nobody writing: read() must sleep on the completion until a write completes it"
}

# write_dev: `echo x >/dev/complete`, which must return within 2 s and succeed.
write_dev() {
	echo x >$DEV 2>/tmp/write.err &
	track $!
	w=$LAST
	wait_gone "$w" 2000 ||
		{ fail "a write did not return within 2 s: write() returns the number of bytes it took, without sleeping"; return 1; }
	wait "$w" || fail "a write failed: $(cat /tmp/write.err)"
}

# probe_read restart|norestart: cdprobe's read in the background (pid in LAST), asleep.
probe_read() {
	cdprobe read $DEV "$1" >/tmp/probe.out 2>&1 &
	track $!
	wait_asleep "$LAST" 2000 || {
		fail "a read returned at once, with nobody writing ($(tr '\n' ' ' </tmp/probe.out)): read() must sleep on the completion until a write completes it"
		return 1
	}
}

# probe_parse: what the probe's read returned, in PR ("read=N", "errno=NAME") and PMS (its
# milliseconds); in this shell, never in a $(...) subshell, which would keep them.
probe_parse() {
	line=$(grep -E '^(read|errno)=' /tmp/probe.out)
	PR=${line%% *}
	PMS=$(echo "$line" | sed -n 's/.* ms=\([0-9]*\).*/\1/p')
	PMS=${PMS:-0}
}

# ioctl CMD: cdprobe's ioctl; prints "ioctl=N" or "errno=NAME".
ioctl() {
	cdprobe ioctl $DEV "$1" 2>&1
}

has_thread() {
	grep -qx "$1" /proc/[0-9]*/comm 2>/dev/null
}

# klog_count TEXT: the kernel log lines with TEXT since the module was loaded.
klog_count() {
	dmesg | tail -n +$((KMARK + 1)) | grep -c "$1"
}

# --- /dev/complete ------------------------------------------------------------------------------

case_read_sleeps() {
	load || return 1
	reader
	sleep 0.5
	alive "$LAST" ||
		fail "a read returned at once, with nobody writing: read() must sleep on the completion until a write completes it"
}

case_write_wakes() {
	load && sleeping_reader || return 1
	a=$LAST
	write_dev || return 1
	wait_gone "$a" 2000 ||
		{ fail "the write did not wake the sleeping reader: write() must call complete() on the completion the reader sleeps on"; return 1; }
	wait "$a"
	rc=$?
	[ $rc = 0 ] || fail "the woken read failed (cat: $(tail -n1 /tmp/cat.err)): a woken read returns 0, end of file"
}

# two_readers_one_write: A then B asleep, one write; sets GONE_A, GONE_B (1 if it returned).
two_readers_one_write() {
	load && sleeping_reader || return 1
	a=$LAST
	sleeping_reader || return 1
	b=$LAST
	write_dev || return 1
	end=$(($(now_ms) + 2000))
	while alive "$a" && alive "$b" && [ "$(now_ms)" -lt $end ]; do sleep 0.05; done
	sleep 0.3
	GONE_A=1 GONE_B=1
	! alive "$a" || GONE_A=0
	! alive "$b" || GONE_B=0
	[ $GONE_A = 1 ] || [ $GONE_B = 1 ] ||
		fail "the write woke neither sleeping reader: write() must call complete() on the completion they sleep on"
}

case_one_write_one_reader() {
	two_readers_one_write || return 1
	[ $((GONE_A + GONE_B)) = 1 ] ||
		fail "one write woke both readers: complete() wakes one waiter, complete_all() wakes them all"
}

case_wake_order() {
	two_readers_one_write || return 1
	[ "$GONE_A" = 1 ] ||
		fail "the second reader woke before the first: a completion wakes its waiters in the order they slept"
}

case_pending_write() {
	load || return 1
	write_dev || return 1
	reader
	wait_gone "$LAST" 1500 ||
		fail "a write with nobody waiting was lost: complete() counts it, and the next read must return at once"
}

case_sleeps_interruptible() {
	load && sleeping_reader || return 1
	# Its state as it fell asleep, then for 0.2 s: a wait with a timeout may end meanwhile, and a
	# reader gone is no reader in state S.
	s=$SLEPT
	i=0
	while [ "$s" != D ] && [ $i -lt 4 ] && alive "$LAST"; do
		sleep 0.05
		s=$(st "$LAST")
		i=$((i + 1))
	done
	[ "$s" != D ] ||
		fail "the reader sleeps in state D (uninterruptible), so Ctrl-C cannot end it: use an interruptible wait and return its error"
}

case_ctrl_c() {
	load && sleeping_reader || return 1
	kill -INT "$LAST"
	wait_gone "$LAST" 1000 ||
		fail "Ctrl-C did not end the sleeping cat (it sleeps in state $(st "$LAST")): use wait_for_completion_interruptible() and return its error"
}

case_signal_consumes_nothing() {
	case_ctrl_c || return 1
	reader
	sleep 0.5
	alive "$LAST" ||
		{ fail "after an interrupted read, the next read returned with nobody writing: the interrupted read left a wake-up behind; on a signal return the error and touch nothing"; return 1; }
	b=$LAST
	write_dev || return 1
	wait_gone "$b" 2000 || fail "a write did not wake the reader that slept after an interrupted one"
}

case_errno_eintr() {
	load && probe_read norestart || return 1
	p=$LAST
	kill -USR1 "$p"
	wait_gone "$p" 1000 ||
		{ fail "a signal with a handler did not end the read (it sleeps in state $(st "$p")): only an interruptible wait ends on any signal"; return 1; }
	probe_parse
	case $PR in
	errno=EINTR) return 0 ;;
	read=0) fail "a read interrupted by a signal returned 0 (end of file): a signal is not a wake-up; return the wait's error" ;;
	*) fail "a read interrupted by a signal without SA_RESTART ended with '$PR', not EINTR" ;;
	esac
}

case_errno_restart() {
	load && probe_read restart || return 1
	p=$LAST
	kill -USR1 "$p"
	sleep 0.5
	if ! alive "$p"; then
		probe_parse
		case $PR in
		errno=EINTR) fail "a read interrupted by a signal returned EINTR although its handler has SA_RESTART: return the wait's error (ERESTARTSYS) unchanged, and the kernel restarts the read" ;;
		read=0) fail "a read interrupted by a signal returned 0 (end of file): a signal is not a wake-up; return the wait's error" ;;
		*) fail "a read interrupted by a signal with SA_RESTART ended with '$PR' instead of going on" ;;
		esac
		return 1
	fi
	write_dev || return 1
	wait_gone "$p" 2000 || { fail "a write did not wake the restarted read"; return 1; }
	probe_parse
	[ "$PR" = read=0 ] || fail "the restarted read ended with '$PR', not 0 (end of file)"
}

case_times_out() {
	load && probe_read norestart || return 1
	p=$LAST
	wait_gone "$p" 3500 ||
		{ fail "the read did not end within 3.5 s with nobody writing: wait with a timeout, wait_for_completion_interruptible_timeout(msecs_to_jiffies(TIMEOUT_MS))"; return 1; }
	probe_parse
	r=$PR
	case $r in
	errno=ETIMEDOUT)
		if [ "$PMS" -gt 1200 ]; then
			fail "the read timed out after $PMS ms, not about 500 ms: the timeout is in jiffies, convert milliseconds with msecs_to_jiffies()"
		elif [ "$PMS" -lt 400 ]; then
			fail "the read timed out after $PMS ms, before its 500 ms"
		fi
		;;
	read=0) fail "the read returned 0 (end of file) when its 500 ms timeout expired: a timeout is an error, ETIMEDOUT" ;;
	*) fail "the read ended with '$r' after $PMS ms, not ETIMEDOUT after 500 ms" ;;
	esac
}

case_write_in_time() {
	load && probe_read norestart || return 1
	p=$LAST
	sleep 0.2
	write_dev || return 1
	wait_gone "$p" 2000 || { fail "a write 200 ms into the wait did not wake the read"; return 1; }
	probe_parse
	r=$PR
	[ "$r" = read=0 ] || fail "a write 200 ms into a 500 ms wait, and yet the read ended with '$r': a write in time is read"
}

# readers N: N sleeping readers; their pids in RPIDS.
readers() {
	RPIDS=
	i=0
	while [ $i -lt "$1" ]; do
		sleeping_reader || return 1
		RPIDS="$RPIDS $LAST"
		i=$((i + 1))
	done
}

ioctl_ok() { # ioctl_ok CMD NAME
	r=$(ioctl "$1")
	[ "$r" = ioctl=0 ] || fail "the $2 ioctl failed ($r): it returns 0"
}

case_complete_all_wakes_all() {
	load && readers 3 || return 1
	ioctl_ok C901 COMPLETE_ALL || return 1
	end=$(($(now_ms) + 2000))
	while :; do
		n=0
		for p in $RPIDS; do alive "$p" || n=$((n + 1)); done
		[ $n = 3 ] && return 0
		[ "$(now_ms)" -lt $end ] || break
		sleep 0.05
	done
	fail "COMPLETE_ALL woke $n of 3 readers: complete_all() wakes every waiter"
}

case_complete_all_stays_done() {
	load || return 1
	ioctl_ok C901 COMPLETE_ALL || return 1
	for i in 1 2; do
		reader
		wait_gone "$LAST" 1500 ||
			{ fail "after COMPLETE_ALL read $i slept: complete_all() leaves the completion done, every later read returns at once until REINIT"; return 1; }
	done
}

case_reinit_rearms() {
	load || return 1
	ioctl_ok C901 COMPLETE_ALL && ioctl_ok C902 REINIT || return 1
	reader
	sleep 0.5
	alive "$LAST" ||
		{ fail "after REINIT a read returned at once: reinit_completion() makes the completion not done again"; return 1; }
	a=$LAST
	write_dev || return 1
	wait_gone "$a" 2000 || fail "after REINIT a write did not wake the reader"
}

case_unknown_ioctl() {
	load || return 1
	r=$(ioctl C9FF)
	case $r in
	errno=ENOTTY) return 0 ;;
	ioctl=0) fail "an unknown ioctl returned 0: a command the driver does not have fails with ENOTTY" ;;
	*) fail "an unknown ioctl ended with '$r', not ENOTTY" ;;
	esac
}

# --- complete_kthread ---------------------------------------------------------------------------

case_threads_run() {
	load || return 1
	sleep 0.3
	for t in ckt_waiter ckt_worker; do
		has_thread $t ||
			{ fail "no kernel thread named $t is running: start it with KThread::run, and loop until should_stop()"; return 1; }
	done
}

case_waiter_counts() {
	load || return 1
	sleep 1.5
	w=$(klog_count 'ckt_waiter: woken #')
	c=$(klog_count 'ckt_worker: complete #')
	if [ "$w" -lt 5 ]; then
		fail "the waiter was woken fewer than 5 times in 1.5 s ($w; the worker completed $c times): the worker calls complete() every 100 ms until stopped, the waiter waits again after each wake-up and logs \"ckt_waiter: woken #N\""
	elif [ "$w" -gt $((c + 2)) ]; then
		fail "the waiter was woken $w times for $c completions: one complete() wakes one wait"
	fi
}

case_rmmod_stops_both() {
	load || return 1
	sleep 0.5
	t0=$(now_ms)
	rmmod "$MOD" >/tmp/rmmod.err 2>&1 &
	r=$!
	wait_gone $r 5000 || { stuck "rmmod $MOD did not finish within 5 s" $r; return 1; }
	ms=$(($(now_ms) - t0))
	wait $r || { fail "rmmod failed: $(cat /tmp/rmmod.err)"; return 1; }
	for t in ckt_waiter ckt_worker; do
		! has_thread $t || { fail "$t still runs after rmmod: stop both threads when the module is dropped"; return 1; }
	done
	[ $ms -le 500 ] ||
		fail "rmmod took $ms ms: stopping must end both threads at once (kthread_stop() ends an interruptible wait at once; an uninterruptible one sleeps on, so stop the waiter while the worker still completes)"
}
