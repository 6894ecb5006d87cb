#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make shell` driven as a person would, through tmux: at the VM's prompt
# type `cat /dev/complete &`, then `echo x > /dev/complete`; the driver's
# `going to sleep`, `awakening the readers...` and `awoken` lines must show
# on the screen in that order, and no other kernel line after the banner;
# then `exit` must end the VM and make with status 0.
#
# Environment:
#   SHELL_CHECK_BOOT  seconds to wait for the shell prompt (default 240)
source "$(dirname "$0")/../lib.sh"

command -v tmux >/dev/null || die "tmux not found: run tools/deps.sh (Debian package tmux)"
readonly BOOT_WAIT=${SHELL_CHECK_BOOT:-240}
# A tmux server of our own, so that no other tmux session is touched (and
# no complaint about nesting when make check itself runs inside tmux).
unset TMUX
tmp=$(mktemp -d)
readonly SOCK=$tmp/tmux status=$tmp/status
trap 'tmux -S "$SOCK" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT

# screen: the whole pane, history included, wrapped lines joined.
screen() {
	tmux -S "$SOCK" capture-pane -p -J -t shell -S - 2>/dev/null | sed 's/[[:space:]]*$//'
}

# fail MSG: say what failed, show the screen, stop.
fail() {
	echo "FAIL: $*" >&2
	echo "--- the make shell screen (last 40 lines) ---" >&2
	screen | grep -v '^$' | tail -n 40 >&2
	exit 1
}

# wait_for ERE SECONDS WHAT: wait until the screen shows a line matching ERE.
wait_for() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		grep -qE "$1" <<<"$(screen)" && return 0
		sleep 0.5
	done
	fail "no $3 on the screen within $2 s"
}

# type_line LINE: type LINE and Enter at the VM's shell.
type_line() {
	tmux -S "$SOCK" send-keys -t shell "$1" Enter
}

step "make shell, driven through tmux"
t0=$SECONDS
tmux -S "$SOCK" new-session -d -s shell -x 200 -y 50 \
	"make -C '$TOP_DIR' --no-print-directory shell ${KERNEL:+KERNEL=$KERNEL}; echo \$? >'$status'; sleep 600" ||
	die "tmux could not start a session"
wait_for '^complete-dev shell:' "$BOOT_WAIT" "banner of the VM's shell"
wait_for '^/ #' 60 "shell prompt after the banner"
echo "    prompt after $((SECONDS - t0)) s"

type_line 'cat /dev/complete &'
wait_for 'complete_dev: process [0-9]+ \(cat\) going to sleep' 60 "'going to sleep' line after 'cat /dev/complete &'"
type_line 'echo x > /dev/complete'
wait_for 'complete_dev: awoken [0-9]+ \(cat\)' 60 "'awoken' line after 'echo x > /dev/complete'"

# The three lines, in this order, about the same cat; after the banner, no
# kernel line but the driver's (boot noise, clocksource notices).
after=$(screen | sed -n '/^complete-dev shell:/,$p')
seen=$(grep -oE '\[ *[0-9]+\.[0-9]+\] .*' <<<"$after" || true)
order=$(grep -oE 'complete_dev: (process [0-9]+ \(cat\) going to sleep|process [0-9]+ \(sh\) awakening the readers\.\.\.|awoken [0-9]+ \(cat\))' <<<"$seen" |
	sed -E 's/.*(going to sleep|awakening the readers|awoken).*/\1/' | tr '\n' ,)
[[ $order == "going to sleep,awakening the readers,awoken," ]] ||
	fail "the driver's lines are not 'going to sleep', 'awakening the readers...', 'awoken' in that order (saw: ${order:-nothing})"
slept=$(grep -oE 'process [0-9]+ \(cat\) going to sleep' <<<"$seen" | grep -oE '[0-9]+')
woke=$(grep -oE 'awoken [0-9]+ \(cat\)' <<<"$seen" | grep -oE '[0-9]+')
[[ $slept == "$woke" ]] || fail "the cat that slept (pid $slept) is not the one awoken (pid $woke)"
noise=$(grep -vE '^\[ *[0-9]+\.[0-9]+\] complete_dev: ' <<<"$seen" || true)
[[ -z $noise ]] || fail "kernel lines other than the driver's after the banner: $noise"
echo "    on the screen:"
printf '      %s\n' "${seen//$'\n'/$'\n'      }"

type_line exit
for ((i = 0; i < 120; i++)); do
	[[ -s $status ]] && break
	sleep 0.5
done
[[ -s $status ]] || fail "make shell did not end within 60 s of 'exit'"
rc=$(<"$status")
((rc == 0)) || fail "make shell exited with status $rc after 'exit'"
wait_for '^complete-dev-init: exit status 0' 1 "'exit status 0' line from the VM"
echo "    'exit' ended the VM; make shell exited with status 0"
done_step
