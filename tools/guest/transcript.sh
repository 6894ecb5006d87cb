#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Sourced by the demo scripts: a transcript of shell steps, each followed
# by the kernel log lines it caused, with timestamps. The KTAP lines of the
# KUnit suites that run at each insmod are left out (make check reads them).
dmesg -n 1 # keep the console for the transcript; dmesg shows the log
seen=$(dmesg | wc -l)

# log_since: print the kernel log lines added since the last call.
log_since() {
	sleep 0.3
	log=$(dmesg)
	echo "$log" | tail -n +$((seen + 1)) |
		grep -vE '^\[[ 0-9.]+\] +(KTAP version|1\.\.[0-9]|#|ok [0-9]|not ok [0-9])' |
		sed 's/^/        kernel: /'
	seen=$(echo "$log" | wc -l)
}

# run CMD: show CMD with the uptime, run it in this shell, show its log lines.
run() {
	echo "  [$(cut -d' ' -f1 /proc/uptime)] \$ $*"
	eval "$*"
	log_since
}
