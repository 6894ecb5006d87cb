#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kthread completion tutorial in Rust (complete_kthread.ko), as a
# transcript: each shell step, then the kernel log lines it caused. One
# round per variant: where the completion lives (static, dynamic, onstack).
set -u
# shellcheck source=tools/guest/transcript.sh # /guest in the VM; path from the clone's top
. /guest/transcript.sh

# now_ms: milliseconds since boot (/proc/uptime has centiseconds).
now_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# timed_rmmod: rmmod and say how long it took.
timed_rmmod() {
	t0=$(now_ms)
	rmmod complete_kthread
	rc=$?
	echo "rmmod returned $rc after $(($(now_ms) - t0)) ms"
}

echo
echo "=== complete_kthread demo: two kthreads and a completion, in Rust ==="
for v in static dynamic onstack; do
	echo
	case $v in
	static) echo "  # variant=static: static DECLARE_COMPLETION (StaticCompletion)" ;;
	dynamic) echo "  # variant=dynamic: init_completion on allocated memory (Arc::pin_init)" ;;
	onstack) echo "  # variant=onstack: DECLARE_COMPLETION_ONSTACK on the waiter's stack," \
		"lent to a worker the waiter creates and stops (kthread::scoped)" ;;
	esac
	run insmod /modules/complete_kthread.ko variant=$v period_ms=250
	echo "  # the two threads, by name"
	run "ps | grep '[c]kt_'; grep -l ckt_ /proc/[0-9]*/comm | xargs grep -H ."
	echo "  # the worker completes every 250 ms; the waiter wakes each time"
	run "sleep 0.6"
	echo "  # rmmod stops the waiter first (the order that hangs the tutorial), then the worker"
	run timed_rmmod
	run "ps | grep '[c]kt_' || echo no ckt_ thread left"
done
echo
echo "  # a long period: rmmod while both threads sleep is still immediate"
run insmod /modules/complete_kthread.ko variant=onstack period_ms=60000
run "sleep 0.5; timed_rmmod"
echo "=== demo done ==="
