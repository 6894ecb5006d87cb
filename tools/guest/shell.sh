#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make shell`: an interactive shell with the modules loaded, and the
# driver's log lines live on the console (livelog.sh).
[ -f /modules/complete_dev.ko ] && insmod /modules/complete_dev.ko
dmesg -n 1 # the kernel console prints emergencies only; livelog shows the rest that matters
ln -sf /guest/livelog.sh /usr/bin/livelog
cat <<'MSG'

complete-dev shell: complete_dev is loaded, /dev/complete is ready.
  Try:   cat /dev/complete &     then:  echo x > /dev/complete
  The driver's log lines (and kernel errors) show here as they happen:
  'livelog off' mutes them, 'livelog on' shows them again. The rest of the
  kernel log stays off the console: 'dmesg' shows it all, 'dmesg -n 8' prints
  everything live, 'dmesg -n 1' quiets it again.
  Leave: type 'exit' (or press Ctrl-A then X to kill the VM).

MSG
livelog run &
reader=$!
setsid cttyhack sh -l
kill "$reader" 2>/dev/null
