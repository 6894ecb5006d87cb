#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Do these modules match this kernel? Checked on the host before anything boots, so that a
# mismatch stops with what differs instead of an insmod error in the VM:
#   - vermagic: the release each module was built for is the kernel's;
#   - every Rust (`_R...`) and `rust_helper_` symbol each module imports is in the kernel's
#     Module.symvers (Rust symbol names carry a hash of the crate name and of rustc's version
#     string: a rustc whose version string differs, even only by "(built from a source
#     tarball)", names every symbol of the kernel crate differently);
#   - the rustc that built each module (its .comment section, "rustc version ...") is the one
#     that built the kernel (its .config's CONFIG_RUSTC_VERSION_TEXT).
#
# Usage: debian-match.sh KERNEL_DIR KO...
#   KERNEL_DIR   holds the kernel's config, Module.symvers and release (tools/debian-kernel.sh
#                keeps Debian's there)
source "$(dirname "$0")/lib.sh"
export LC_ALL=C # sort and comm below agree on one order

kdeb=${1:?usage: debian-match.sh KERNEL_DIR KO...}
shift
(($#)) || die "usage: debian-match.sh KERNEL_DIR KO...: no module given"
for f in config Module.symvers release; do
	[[ -r $kdeb/$f ]] || die "$kdeb/$f is missing: run 'tools/debian-kernel.sh prepare'"
done
modinfo=$(command -v modinfo || echo /sbin/modinfo)

rel=$(cat "$kdeb/release")
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$kdeb/config")
[[ -n $want ]] || die "$kdeb/config has no CONFIG_RUSTC_VERSION_TEXT: is it a Rust-enabled kernel's .config?"
problems=()

# The kernel's exports, one name a line.
exports=$(awk '{ print $2 }' "$kdeb/Module.symvers" | sort -u)
# crate_hashes TEXT: the disambiguators of the kernel crate in the v0-mangled names of TEXT.
crate_hashes() {
	grep -oE 'Cs[0-9A-Za-z]+_6kernel' <<<"$1" | sort -u | sed 's/_6kernel$//' | paste -sd' ' - || true
}

all=
for ko in "$@"; do
	[[ -r $ko ]] || die "no module file $ko"
	name=$(basename "$ko")
	comment=$(readelf -p .comment "$ko" 2>/dev/null) || comment=
	got=$(sed -n 's/^ *\[ *[0-9a-f]*\] *rustc version /rustc /p' <<<"$comment" | sort -u | paste -sd'|' -)
	syms=$(nm -u "$ko" | awk '{ print $NF }')
	imports=$(grep -E '^(_R|rust_helper_)' <<<"$syms" | sort -u || true)
	# A module in C (the benchmark's twins) names no rustc and imports nothing of Rust.
	if [[ -n $got$imports && $got != "$want" ]]; then
		problems+=("$name: built by '${got:-no rustc named in its .comment}', the kernel by '$want' (Rust symbol names hash that string: use the rustc of Debian's own package, as the chroot of tools/debian-kernel.sh does)")
	fi
	vermagic=$("$modinfo" -F vermagic "$ko" 2>/dev/null) || vermagic=
	vermagic=${vermagic%"${vermagic##*[![:space:]]}"} # without the trailing blank
	if [[ ${vermagic%% *} != "$rel" ]]; then
		problems+=("$name: vermagic '${vermagic:-none}' is not for the kernel's release $rel")
	fi
	[[ -n $imports ]] || continue
	n=$(wc -l <<<"$imports")
	all+=$imports$'\n'
	missing=$(comm -23 <(printf '%s\n' "$imports") <(printf '%s\n' "$exports"))
	[[ -n $missing ]] || continue
	m=$(wc -l <<<"$missing")
	problems+=("$name: $m of its $n Rust and rust_helper_ imports are not in the kernel's Module.symvers, e.g. $(sed -n 1p <<<"$missing")")
	ours=$(crate_hashes "$missing")
	theirs=$(crate_hashes "$(grep -E '^_R' <<<"$exports" || true)")
	if [[ -n $ours && -n $theirs && $ours != "$theirs" ]]; then
		problems+=("$name: its kernel crate is $ours, the kernel's is $theirs: a different rustc built them")
	fi
done

if ((${#problems[@]})); then
	{
		printf 'error: the modules do not match Debian kernel %s; not booting it:\n' "$rel"
		printf '  - %s\n' "${problems[@]}"
		printf 'Build them with the toolchain Debian built that kernel with: make KERNEL=debian (tools/debian-kernel.sh, a %s chroot), without DEBIAN_RUST.\n' "trixie"
	} >&2
	exit 1
fi
names=("${@##*/}")
printf '    match: %s: vermagic %s; %d Rust and rust_helper_ symbols imported, all in its Module.symvers; %s\n' \
	"${names[*]}" "$rel" "$(sort -u <<<"$all" | grep -c .)" "$want" >&2
