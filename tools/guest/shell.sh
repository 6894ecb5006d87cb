#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make shell`: an interactive shell with the modules loaded.
[ -f /modules/complete_dev.ko ] && insmod /modules/complete_dev.ko
dmesg -n 1
cat <<'MSG'

complete-dev shell: complete_dev is loaded, /dev/complete is ready.
  Try:   cat /dev/complete &     then:  echo x > /dev/complete
  Kernel log: dmesg | tail
  Leave: type 'exit' (or press Ctrl-A then X to kill the VM).

MSG
setsid cttyhack sh -l
