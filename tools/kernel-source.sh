#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch and unpack the Linux source from Debian's linux-source-$KSERIES.
#
# The package comes from $KSUITE (trixie-backports), which the host's apt
# sources do not carry. We use a private apt configuration under the cache
# (its own source list, lists and archives directories), so the system's
# sources stay untouched and nothing on the system is upgraded. Whatever
# version linux-source-$KSERIES resolves to on the mirror is used and
# printed. Output: the source tree path on stdout.
source "$(dirname "$0")/lib.sh"

APT_DIR=$CACHE_DIR/apt
SRC_ROOT=$CACHE_DIR/src
PKG=linux-source-$KSERIES

# The Debian mirror the host already uses (MIRROR= overrides).
mirror() {
	if [[ -n ${MIRROR:-} ]]; then
		printf '%s\n' "$MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')
	[[ -n $m ]] || m=$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -v security | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' | head -n1)
	[[ -n $m ]] || die "cannot find a Debian mirror in the apt sources; set MIRROR=http://<mirror>/debian"
	printf '%s\n' "$m"
}

keyring() {
	local k
	for k in /usr/share/keyrings/debian-archive-trixie-automatic.gpg \
		/usr/share/keyrings/debian-archive-keyring.gpg; do
		[[ -r $k ]] && { printf '%s\n' "$k"; return; }
	done
	die "no Debian archive keyring with the trixie keys: apt-get install debian-archive-keyring"
}

papt() {
	"$1" -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
		-o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
		-o Dir::Etc::Preferences="$APT_DIR/preferences" \
		-o Dir::Etc::PreferencesParts="$APT_DIR/preferences.d" \
		-o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::State::status="$APT_DIR/status" \
		-o Dir::Cache="$APT_DIR/cache" \
		-o Dir::Cache::Archives="$APT_DIR/archives" \
		-o APT::Sandbox::User=root \
		"${@:2}"
}

mkdir -p "$APT_DIR"/{lists/partial,archives/partial,cache,sources.list.d,preferences.d} "$SRC_ROOT"
: >"$APT_DIR/status"
: >"$APT_DIR/preferences"
printf 'deb [signed-by=%s] %s %s main\n' "$(keyring)" "$(mirror)" "$KSUITE" >"$APT_DIR/sources.list"

# Reuse an unpacked tree when the lists are fresh (< 1 day) and agree.
version=
if [[ -z $(find "$APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null) ]]; then
	step "reading $KSUITE package lists (private apt config)"
	quiet papt apt-get update ||
		[[ -n $(ls "$SRC_ROOT" 2>/dev/null) ]] ||
		die "cannot reach the Debian mirror for $KSUITE; check network or set MIRROR="
	done_step
fi
version=$(papt apt-cache policy "$PKG" 2>/dev/null | awk '/Candidate:/ { print $2 }')
if [[ -z $version || $version == "(none)" ]]; then
	# Offline but already unpacked: use the newest tree we have.
	tree=$(find "$SRC_ROOT" -mindepth 2 -maxdepth 2 -type d -name "linux-source-$KSERIES" | sort -V | tail -n1)
	[[ -n $tree ]] || die "$PKG not found in $KSUITE on $(mirror)"
	printf '%s\n' "$tree"
	exit 0
fi

tree=$SRC_ROOT/$version/linux-source-$KSERIES
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
	tar -xf "$SRC_ROOT/$version/usr/src/linux-source-$KSERIES".tar.* -C "$SRC_ROOT/$version"
	rm -rf "${SRC_ROOT:?}/${version:?}/usr" "$deb"
	touch "$tree/.complete-dev-unpacked"
	done_step
fi
printf '%s\n' "$version" >"$CACHE_DIR/source-version"
printf '%s\n' "$tree" >"$CACHE_DIR/current-src"
printf '    kernel source: %s %s\n' "$PKG" "$version" >&2
printf '%s\n' "$tree"
