#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests of the supported-kernel range, without network and without a kernel:
# tools/kernel-series.sh (verdicts, the series the pipeline picks from recorded
# and edited `apt-cache madison` output, KDIR versions), the refusal of
# tools/module-build.sh, the Kbuild guard (evaluated by make with VERSION and
# PATCHLEVEL set) and the Supported kernels table of docs/pipeline.md against tools/kernels.
# Prints the failed cases and a count; exits non-zero on any failure.
source "$(dirname "$0")/../lib.sh"

SERIES=$TOOLS_DIR/kernel-series.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The cases set what they need: not what `make check KSERIES=...` (or KERNEL=debian) passed down.
unset KSERIES KERNELS_FILE KERNEL
export KSUITES="trixie-backports sid"

# Recorded from deb.debian.org on 2026-11-26 by tools/kernel-source.sh's query
# (apt-cache madison on trixie-backports and sid).
cat >"$tmp/now" <<'EOF'
linux-source-7.2 |   7.2.13-1 | http://deb.debian.org/debian sid/main amd64 Packages
linux-source-7.2 | 7.2.12-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
linux-source-7.2 | 7.2.11-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
linux-source-7.2 | 7.2.9-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
linux-source-7.2 | 7.2.6-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
linux-source-7.3 | 7.3.4-1~bpo13+1 | http://deb.debian.org/debian trixie-backports/main amd64 Packages
EOF
# Debian moves on: 7.4 reaches sid; later 7.3 leaves the mirror.
{
	echo 'linux-source-7.4 |    7.4.1-1 | http://deb.debian.org/debian sid/main amd64 Packages'
	cat "$tmp/now"
} >"$tmp/with-7.4"
grep -v 'linux-source-7.3 ' "$tmp/with-7.4" >"$tmp/without-7.3"
grep -v 'linux-source-7.3 ' "$tmp/now" >"$tmp/only-7.2"
# Offline: kernel-source.sh lists the unpacked trees in the same form.
echo 'linux-source-7.3 | 7.3.4-1~bpo13+1 | cache offline-cache' >"$tmp/offline"
: >"$tmp/empty"
# Declarations of the future: 7.4 declared supported next to 7.3; 7.9 and 7.10.
{
	echo '7.4 | supported | sid (7.4.1) |'
	grep -v '^#' "$TOOLS_DIR/kernels"
} >"$tmp/decl-7.4"
sed 's/7\.4/7.10/; s/7\.3/7.9/' "$tmp/with-7.4" >"$tmp/7.9-and-7.10"
printf '%s\n' '7.10 | supported | sid |' '7.9 | supported | sid |' 'older | refused | - | too old' >"$tmp/decl-7.10"
printf '%s\n' '7.3 | maybe | sid |' >"$tmp/decl-bad-status"
printf '%s\n' '7.3 | refused | sid |' >"$tmp/decl-no-reason"

# Fake kernel trees: a Makefile as in a source tree, an O= build directory's
# wrapper Makefile, a tree with only include/config/kernel.release, nothing.
mkdir -p "$tmp"/{k7.2,k6.12,kout,krel/include/config,knone}
printf 'VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 12\n' >"$tmp/k7.2/Makefile"
printf 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\n' >"$tmp/k6.12/Makefile"
printf 'export KBUILD_OUTPUT = %s\ninclude %s\n' "$tmp/kout" "$tmp/k6.12/Makefile" >"$tmp/kout/Makefile"
echo 7.3.4 >"$tmp/krel/include/config/kernel.release"

# Kbuild evaluated by make as the kernel's Makefile.build would, and as its
# Makefile.clean would.
printf 'include %s/Kbuild\nprobe:\n\t@echo guard passed\n' "$TOP_DIR" >"$tmp/build.mk"
mkdir -p "$tmp/scripts"
cp "$tmp/build.mk" "$tmp/scripts/Makefile.clean"

passed=0
failed=0
# expect NAME RC REGEX CMD...: CMD exits with RC and its output (stdout and
# stderr) matches the extended REGEX.
expect() {
	local name=$1 want_rc=$2 re=$3 out rc=0
	shift 3
	out=$("$@" 2>&1) || rc=$?
	if [[ $rc == "$want_rc" ]] && grep -qE -- "$re" <<<"$out"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL %s: want exit %s and /%s/, got exit %s:\n%s\n' "$name" "$want_rc" "$re" "$rc" "$out" | sed '2,$s/^/    /'
	fi
}
# pick_from FILE [VAR=VALUE...]: the pick of FILE's madison lines.
pick_from() {
	local file=$1
	shift
	env "$@" "$SERIES" pick <"$file"
}
# pick_out FILE [VAR=VALUE...]: only the series pick prints on stdout.
pick_out() {
	pick_from "$@" 2>/dev/null
}
# undeclared_notes FILE: how many lines of pick's notes say "not yet declared".
undeclared_notes() {
	pick_from "$1" 2>&1 >/dev/null | grep -c "not yet declared"
}
# kbuild X Y: evaluate Kbuild for Linux X.Y.
kbuild() {
	make -s -f "$tmp/build.mk" probe VERSION="$1" PATCHLEVEL="$2"
}

expect "verdict 7.3: supported" 0 '^supported$' "$SERIES" verdict 7.3
expect "verdict 7.2: refused, the misc device does not pin the module" 1 \
	'^Linux 7\.2 is refused: .*sets no owner.*rmmod while a reader sleeps crashes the kernel$' "$SERIES" verdict 7.2
expect "verdict 6.12: refused, no kernel::miscdevice" 1 '^Linux 6\.12 is refused: .*no Rust misc device.*kernel::miscdevice' "$SERIES" verdict 6.12
expect "verdict 7.1: refused as older" 1 '^Linux 7\.1 is refused: series before 7\.2' "$SERIES" verdict 7.1
expect "verdict 7.4: not yet declared, says how to declare it" 1 \
	'^Linux 7\.4 is not yet declared supported .*tools/kernels.*make check KSERIES=7\.4' "$SERIES" verdict 7.4
expect "verdict 10.0 is newer than 7.3 (versions, not strings)" 1 'not yet declared' "$SERIES" verdict 10.0
expect "verdict of a non-series fails" 1 "not a kernel series" "$SERIES" verdict 7
expect "a bad status in the declaration fails closed" 1 'decl-bad-status:1: expected' \
	env KERNELS_FILE="$tmp/decl-bad-status" "$SERIES" verdict 7.3
expect "a refusal without a reason fails closed" 1 'decl-no-reason:1: expected' \
	env KERNELS_FILE="$tmp/decl-no-reason" "$SERIES" verdict 7.3
expect "supported: 7.3" 0 '^7\.3$' "$SERIES" supported

expect "pick, mirror of 2026-11-26: 7.3 from trixie-backports" 0 \
	'^    kernel series 7\.3: the newest supported series on the mirror \(from trixie-backports;' pick_from "$tmp/now"
expect "pick prints only the series on stdout" 0 '^7\.3$' pick_out "$tmp/now"
expect "pick, 7.4 in sid: one note line, then 7.3" 0 \
	'^note: linux-source-7\.4 \(sid\) on the mirror: not yet declared supported in tools/kernels; building 7\.3' \
	pick_from "$tmp/with-7.4"
expect "pick, 7.4 in sid: stdout is 7.3" 0 '^7\.3$' pick_out "$tmp/with-7.4"
expect "pick, 7.4 in sid: exactly one note line" 0 '^1$' undeclared_notes "$tmp/with-7.4"
expect "pick, 7.3 gone: fails naming what the mirror has" 1 \
	'^error: no supported kernel series on the mirror \(trixie-backports sid\): it has 7\.4 \(sid: not yet declared\), 7\.2 \(sid trixie-backports: refused\); supported: 7\.3' \
	pick_from "$tmp/without-7.3"
expect "pick, only 7.2: fails" 1 'it has 7\.2 \(sid trixie-backports: refused\)' pick_from "$tmp/only-7.2"
expect "pick, nothing on the mirror: fails" 1 'it has nothing; supported: 7\.3' pick_from "$tmp/empty"
expect "pick, offline with an unpacked 7.3" 0 "from offline-cache;" pick_from "$tmp/offline"
expect "pick, KSERIES=7.3 forces 7.3" 0 'kernel series 7\.3 \(forced by KSERIES=; from trixie-backports\)' \
	pick_from "$tmp/now" KSERIES=7.3
expect "pick, KSERIES=7.2 fails with the reason" 1 '^error: KSERIES=7\.2: Linux 7\.2 is refused: .*sets no owner' \
	pick_from "$tmp/now" KSERIES=7.2
expect "pick, KSERIES=6.12 fails with the reason" 1 '^error: KSERIES=6\.12: Linux 6\.12 is refused' pick_from "$tmp/now" KSERIES=6.12
expect "pick, KSERIES=7 fails: not a series" 1 '^error: KSERIES=7 is not a kernel series' pick_from "$tmp/now" KSERIES=7
expect "pick, KSERIES=7.4 fails: not yet declared" 1 '^error: KSERIES=7\.4: Linux 7\.4 is not yet declared' \
	pick_from "$tmp/with-7.4" KSERIES=7.4
expect "pick, KSERIES=7.3 not on the mirror: fails naming what it has" 1 \
	'^error: KSERIES=7\.3: linux-source-7\.3 is not on the mirror \(trixie-backports sid\); it has: 7\.4 \(sid: not yet declared\), 7\.2' \
	pick_from "$tmp/without-7.3" KSERIES=7.3
expect "pick, 7.4 declared and in sid: 7.4" 0 '^7\.4$' pick_out "$tmp/with-7.4" KERNELS_FILE="$tmp/decl-7.4"
expect "pick, 7.4 declared, not on the mirror: 7.3" 0 '^7\.3$' pick_out "$tmp/now" KERNELS_FILE="$tmp/decl-7.4"
expect "pick, 7.4 declared, 7.3 gone: 7.4" 0 '^7\.4$' pick_out "$tmp/without-7.3" KERNELS_FILE="$tmp/decl-7.4"
expect "pick, 7.10 newer than 7.9" 0 '^7\.10$' pick_out "$tmp/7.9-and-7.10" KERNELS_FILE="$tmp/decl-7.10"

expect "kdir, a 7.2 tree: refused" 1 "^error: KDIR=$tmp/k7\.2: Linux 7\.2 is refused: .*sets no owner" "$SERIES" kdir "$tmp/k7.2"
expect "kdir, an O= directory of a 6.12 tree: refused" 1 "^error: KDIR=$tmp/kout: Linux 6\.12 is refused" "$SERIES" kdir "$tmp/kout"
expect "kdir, kernel.release 7.3.4: supported" 0 '^$' "$SERIES" kdir "$tmp/krel"
expect "kdir, not a kernel tree: fails" 1 'cannot tell its kernel version' "$SERIES" kdir "$tmp/knone"
expect "make KDIR=<7.2 tree> (tools/module-build.sh) stops with the reason" 1 \
	"^error: KDIR=$tmp/k7\.2: Linux 7\.2 is refused: .*sets no owner" env KDIR="$tmp/k7.2" "$TOOLS_DIR/module-build.sh"

expect "Kbuild on 7.3: passes" 0 '^guard passed$' kbuild 7 3
expect "Kbuild on 7.2: stops with the reason" 2 \
	'Kbuild:[0-9]+: \*\*\* complete-dev: Linux 7\.2 is refused: .*sets no owner.*Stop\.$' kbuild 7 2
expect "Kbuild on 6.12: stops with the reason" 2 'complete-dev: Linux 6\.12 is refused: .*kernel::miscdevice' kbuild 6 12
expect "Kbuild on 7.4: stops, not yet declared" 2 'complete-dev: Linux 7\.4 is not yet declared supported' kbuild 7 4
expect "Kbuild without VERSION: stops" 2 'complete-dev: .*not a kernel series' make -s -f "$tmp/build.mk" probe
expect "Kbuild lets make clean through on 7.2" 0 '^guard passed$' \
	make -s -f "$tmp/scripts/Makefile.clean" probe VERSION=7 PATCHLEVEL=2

doc_table() {
	local doc table
	doc=$(<"$TOP_DIR/docs/pipeline.md")
	table=$("$SERIES" table)
	[[ $doc == *"$table"* ]] && echo "docs/pipeline.md's table is tools/kernels"
}
expect "docs/pipeline.md's Supported kernels table matches tools/kernels" 0 "^docs/pipeline.md's table is tools/kernels$" doc_table

echo "kernel series: $passed passed, $failed failed"
((failed == 0))
