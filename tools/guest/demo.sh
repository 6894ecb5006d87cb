#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make demo`: the LDD3 scenario with busybox cat and echo, as a
# transcript: each shell step, then the kernel log lines it caused.
set -u
# shellcheck source=tools/guest/transcript.sh # /guest in the VM; path from the clone's top
. /guest/transcript.sh

echo
echo "=== complete_dev demo: LDD3's complete driver in Rust ==="
run insmod /modules/complete_dev.ko
run "ls -l /dev/complete"
echo "  # two readers block on the completion"
run "cat /dev/complete & r1=\$!"
run "cat /dev/complete & r2=\$!"
run "sleep 0.5; grep State /proc/\$r1/status /proc/\$r2/status"
echo "  # one write wakes exactly one reader: the first"
run "echo x > /dev/complete"
run "wait \$r1; echo reader \$r1 exited with status \$?"
echo "  # a second write wakes the second"
run "echo x > /dev/complete"
run "wait \$r2; echo reader \$r2 exited with status \$?"
echo "  # a write with nobody waiting is remembered..."
run "echo x > /dev/complete"
echo "  # ...so the next read returns at once"
run "cat /dev/complete; echo cat returned \$?"
run rmmod complete_dev
run "ls /dev/complete 2>&1"
echo "=== demo done ==="
