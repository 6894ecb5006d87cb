#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Pick the kernel series and fetch and unpack Debian's linux-source-<series>.
#
# The packages come from $KSUITES (trixie-backports and sid), which the host's
# apt sources do not carry. We use a private apt configuration under the cache
# (its own source list, lists and archives directories), so the system's
# sources stay untouched and nothing on the system is upgraded. The series is
# the newest one tools/kernels declares supported that the mirror offers
# (tools/kernel-series.sh pick; KSERIES= forces one), and whatever version its
# package resolves to is used and printed. Output: the source tree path on stdout.
source "$(dirname "$0")/lib.sh"

SRC_ROOT=$CACHE_DIR/src

mkdir -p "$APT_DIR"/{lists/partial,archives/partial,cache,sources.list.d,preferences.d} "$SRC_ROOT"
# Kept, not rewritten: apt's package cache (sid's lists make it 50 MB and 2 s
# to build) stays valid while these are unchanged.
[[ -e $APT_DIR/status ]] || : >"$APT_DIR/status"
[[ -e $APT_DIR/preferences ]] || : >"$APT_DIR/preferences"
# Only the Packages lists (target=): not the AppStream metadata a host's apt
# may be configured to fetch, 6 MB more for sid.
sources=$(for suite in $KSUITES; do
	printf 'deb [signed-by=%s target=Packages] %s %s main\n' "$(keyring)" "$(mirror)" "$suite"
done)
fresh=$(find "$APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)
# New suites (or mirror) make the lists stale whatever their age.
if [[ $sources != "$(cat "$APT_DIR/sources.list" 2>/dev/null)" ]]; then
	printf '%s\n' "$sources" >"$APT_DIR/sources.list"
	fresh=
fi

# Reuse the lists when they are fresh (< 1 day).
if [[ -z $fresh ]]; then
	step "reading the $KSUITES package lists (private apt config)"
	quiet papt apt-get update ||
		[[ -n $(ls "$SRC_ROOT" 2>/dev/null) ]] ||
		die "cannot reach the Debian mirror for $KSUITES; check network or set MIRROR="
	done_step
fi

# What the mirror offers, as `apt-cache madison` lines; offline, the trees
# already unpacked stand in for it.
offer=$(papt apt-cache pkgnames linux-source- 2>/dev/null | grep -E '^linux-source-[0-9]+\.[0-9]+$' || true)
if [[ -n $offer ]]; then
	# shellcheck disable=SC2086 # one word per package name
	offer=$(papt apt-cache madison $offer 2>/dev/null)
else
	offer=$(find "$SRC_ROOT/" -mindepth 2 -maxdepth 2 -name 'linux-source-*' 2>/dev/null |
		awk -F/ '{ printf "%s | %s | cache offline-cache\n", $NF, $(NF - 1) }')
fi
series=$("$TOOLS_DIR/kernel-series.sh" pick <<<"$offer")
PKG=linux-source-$series

version=$(papt apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
if [[ -z $version || $version == "(none)" ]]; then
	# Offline but already unpacked: use the newest tree we have, and record
	# its version (kernel-build.sh keys the build by it: another series may
	# have been recorded last).
	tree=$(find "$SRC_ROOT/" -mindepth 2 -maxdepth 2 -name "$PKG" 2>/dev/null | sort -V | tail -n1)
	[[ -n $tree ]] || die "$PKG not found in $KSUITES on $(mirror)"
	version=$(basename "$(dirname "$tree")")
fi

tree=$SRC_ROOT/$version/$PKG
if [[ ! -f $tree/.complete-dev-unpacked ]]; then
	step "downloading $PKG $version"
	(cd "$APT_DIR/archives" && quiet papt apt-get download "$PKG=$version") ||
		die "download of $PKG $version failed"
	done_step
	deb=$(find "$APT_DIR/archives" -maxdepth 1 -name "${PKG}_*.deb" | sort -V | tail -n1)
	[[ -n $deb ]] || die "apt-get download left no ${PKG}_*.deb in $APT_DIR/archives"
	step "unpacking $(basename "$deb")"
	rm -rf "${SRC_ROOT:?}/${version:?}"
	mkdir -p "$SRC_ROOT/$version"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$SRC_ROOT/$version" --wildcards './usr/src/*.tar.*'
	tar -xf "$SRC_ROOT/$version/usr/src/$PKG".tar.* -C "$SRC_ROOT/$version"
	rm -rf "${SRC_ROOT:?}/${version:?}/usr" "$deb"
	touch "$tree/.complete-dev-unpacked"
	done_step
fi
printf '%s\n' "$version" >"$CACHE_DIR/source-version"
printf '%s\n' "$tree" >"$CACHE_DIR/current-src"
printf '    kernel source: %s %s\n' "$PKG" "$version" >&2
printf '%s\n' "$tree"
