#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Sourced by the demo scripts: a transcript of shell steps, each followed
# by the kernel log lines it caused, with timestamps. Only the driver's
# story is shown: the lines of the modules (complete_dev:, complete_kthread:)
# and anything logged at level err or worse. The rest (clocksource notices,
# the KTAP lines of the KUnit suites that run at each insmod) stays in the
# kernel log that init dumps into the console log file at the end.
dmesg -n 1 # keep the console for the transcript; dmesg shows the log
seen=$(dmesg -r | wc -l)

# log_since: print the driver's kernel log lines added since the last call.
log_since() {
	sleep 0.3
	log=$(dmesg -r)
	# dmesg -r prefixes each line with its record's <priority>.
	echo "$log" | tail -n +$((seen + 1)) | awk '
		match($0, /^<[0-9]+>/) {
			level = substr($0, 2, RLENGTH - 2) % 8
			line = substr($0, RLENGTH + 1)
			text = line
			sub(/^\[[^]]*\] /, "", text)
			if (text ~ /^complete_(dev|kthread): / || level <= 3)
				print "        kernel: " line
		}'
	seen=$(echo "$log" | wc -l)
}

# run CMD: show CMD with the uptime, run it in this shell, show its log lines.
run() {
	echo "  [$(cut -d' ' -f1 /proc/uptime)] \$ $*"
	eval "$*"
	log_since
}
