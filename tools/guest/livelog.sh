#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The live driver log of `make shell`: prints the kernel log records of the
# modules (complete_dev:, complete_kthread:) and any error (level err or
# worse) on the console as they are logged, in the kernel console's format.
# The kernel's own console stays quiet (dmesg -n 1), so nothing else shows;
# `dmesg` still has the whole log.
#
# Usage: livelog on | off    show or mute the lines (the reader keeps running)
#        livelog run         the reader itself (shell.sh starts it)
muted=/tmp/livelog.off
case "${1:-}" in
on)
	rm -f "$muted"
	echo "livelog: on (the driver's lines and kernel errors show as they are logged)"
	;;
off)
	: >"$muted"
	echo "livelog: off ('livelog on' to show the driver's lines again; 'dmesg' has them all)"
	;;
run)
	# Records stamped before now are old news: the reader starts at the end.
	t0=$(awk '{ printf "%d\n", $1 * 1000000 }' /proc/uptime)
	# A /dev/kmsg record: "prio,seq,usecs,flags;message", then " KEY=value" lines.
	awk -v t0="$t0" -v muted="$muted" '
		/^ / { next }
		{
			semi = index($0, ";")
			if (semi == 0) next
			split(substr($0, 1, semi - 1), h, ",")
			msg = substr($0, semi + 1)
			if (h[3] + 0 < t0) next
			if (msg !~ /^complete_(dev|kthread): / && h[1] % 8 > 3) next
			off = (getline x <muted) >= 0
			close(muted)
			if (off) next
			printf "[%5d.%06d] %s\n", h[3] / 1000000, h[3] % 1000000, msg
			fflush()
		}' </dev/kmsg
	;;
*)
	echo "usage: livelog on | off" >&2
	exit 2
	;;
esac
