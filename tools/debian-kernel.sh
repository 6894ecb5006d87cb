#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# KERNEL=debian: Debian's own kernel, unmodified, and a module build tree that matches it.
#
#   debian-kernel.sh prepare            fetch and prepare (cached); prints the tree's path in
#                                       the chroot, records the kernel in $CACHE_DIR/debian/current
#   debian-kernel.sh make DIR ARGS...   make -C <tree> M=DIR ARGS... with Debian's toolchain
#   debian-kernel.sh modules            the clone's modules, built so and matched to the kernel
#                                       (tools/debian-match.sh); what `make KERNEL=debian` runs
#
# What it fetches, through the private apt configuration (lib.sh, papt), all of one version:
#   linux-source-X.Y   tools/kernel-source.sh: the newest series tools/kernels declares supported
#   linux-binary-R     the kernel image (/usr/lib/modules/R/vmlinuz), kept byte for byte: checked
#                      against the package's md5sums, its sha256 printed
#   linux-headers-R    Debian's .config and Module.symvers (it has no Rust metadata)
# where R is the release (7.3.4+deb13-amd64) whose packages have linux-source's version.
#
# The toolchain is the one Debian built that kernel with, from Debian's own packages: a trixie
# chroot made by mmdebstrap (rustc, bindgen, gcc-14, pahole). Inside it, Debian's .config and
# `make olddefconfig modules_prepare` (the source mounted read-only, O= in the chroot) give the
# Rust metadata the headers lack; Debian's Module.symvers goes beside it. Modules built there
# are checked against the kernel by tools/debian-match.sh before anything boots.
#
# Cache ($CACHE_DIR/debian): root-<suite>/ the chroot (1.6 GB), root-<suite>/kbuild/<key>/ the
# prepared trees (keyed by version, .config and toolchain), <version>-<flavour>/ the image,
# .config, Module.symvers and release. Needs root (the chroot and its bind mounts).
#
# Environment:
#   DEBIAN_RUST    a Rust toolchain directory (bin/rustc, lib/rustlib/src) used in the chroot
#                  instead of trixie's rustc: shows what a different rustc does (the match
#                  check refuses its modules). Its tree is prepared and cached apart.
#   DEBIAN_SUITE   the chroot's suite (default trixie)
#   DEBIAN_FLAVOUR the kernel flavour (default amd64, the generic one; cloud-amd64, rt-amd64)
source "$(dirname "$0")/lib.sh"

DEBIAN_SUITE=${DEBIAN_SUITE:-trixie}
DEBIAN_FLAVOUR=${DEBIAN_FLAVOUR:-amd64}
DEBIAN_RUST=${DEBIAN_RUST:-}
DEB_DIR=$CACHE_DIR/debian
ROOT=$DEB_DIR/root-$DEBIAN_SUITE
# What the chroot holds: the toolchain Debian's kernel names in its .config, and what
# olddefconfig and modules_prepare run.
CHROOT_PKGS=rustc,bindgen,dwarves,gcc-14,make,flex,bison,bc,libelf-dev,libssl-dev,rust-src,python3,cpio,kmod

((EUID == 0)) || die "KERNEL=debian builds in a trixie chroot and needs root (mmdebstrap, chroot, bind mounts): run it as root"

# in_chroot DIR CMD...: run CMD in the chroot, the kernel source at /src (read-only) and DIR
# (a host directory, or '') at its own path; DEBIAN_RUST's toolchain at /opt/rust first in PATH.
# The mounts live in a private mount namespace and go with it.
in_chroot() {
	local dir=$1
	shift
	# shellcheck disable=SC2016 # the inner script expands its own variables
	unshare --mount --propagation private -- bash -euc '
		root=$1 src=$2 dir=$3 rust=$4
		shift 4
		mount --bind "$src" "$root/src"
		mount -o remount,bind,ro "$root/src"
		if [[ -n $dir ]]; then
			mkdir -p "$root$dir"
			mount --bind "$dir" "$root$dir"
		fi
		path=/usr/bin:/bin
		if [[ -n $rust ]]; then
			mount --bind -o ro "$rust" "$root/opt/rust"
			path=/opt/rust/bin:$path
		fi
		mount -t proc proc "$root/proc"
		exec chroot "$root" env -i PATH="$path" HOME=/root LANG=C.UTF-8 "$@"
	' in-chroot "$ROOT" "$src" "$dir" "$DEBIAN_RUST" "$@"
}

# config_text FILE NAME: the string value of CONFIG_NAME in FILE.
config_text() {
	sed -n "s/^CONFIG_$2=\"\(.*\)\"\$/\1/p" "$1"
}

# fetch: Debian's image, .config, Module.symvers and release of $version into $kdeb.
fetch() {
	local offer names rel pkgs img tmp deb f sum want
	names=$(papt apt-cache pkgnames linux-headers- 2>/dev/null |
		grep -E "^linux-headers-[0-9][^-]*-$DEBIAN_FLAVOUR\$" || true)
	[[ -n $names ]] || die "the private apt lists have no linux-headers-*-$DEBIAN_FLAVOUR package: run 'tools/kernel-source.sh' (it refreshes them) and retry"
	# shellcheck disable=SC2086 # one word per package name
	offer=$(papt apt-cache madison $names 2>/dev/null)
	rel=$(awk -F'|' -v v="$version" '{ gsub(/[[:space:]]/, "", $1); gsub(/[[:space:]]/, "", $2) } $2 == v { sub(/^linux-headers-/, "", $1); print $1 }' <<<"$offer" | sort -u)
	[[ -n $rel ]] || die "no linux-headers-*-$DEBIAN_FLAVOUR of version $version on the mirror ($KSUITES) to match linux-source $version; see 'apt-cache madison' of linux-headers-*-amd64 in the private config ($APT_DIR)"
	[[ $rel != *$'\n'* ]] || die "more than one Debian kernel of version $version: $(paste -sd' ' <<<"$rel")"
	# The image is in linux-binary-R since 7.3's packaging (linux-image-R depends on it), in
	# linux-image-R before.
	img=linux-image-$rel
	[[ -z $(papt apt-cache madison "linux-binary-$rel" 2>/dev/null) ]] || img=linux-binary-$rel
	pkgs=("$img=$version" "linux-headers-$rel=$version")
	step "downloading Debian's kernel $rel ($version): ${pkgs[*]%%=*}"
	tmp=$kdeb.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp/debs" "$tmp/x"
	(cd "$tmp/debs" && quiet papt apt-get download "${pkgs[@]}") ||
		die "download of ${pkgs[*]} failed (is the mirror reachable? MIRROR= sets another)"
	for deb in "$tmp"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp/x"
	done
	f=usr/lib/modules/$rel/vmlinuz
	[[ -f $tmp/x/$f ]] || f=boot/vmlinuz-$rel
	[[ -f $tmp/x/$f ]] || die "$img has neither usr/lib/modules/$rel/vmlinuz nor boot/vmlinuz-$rel"
	# Byte for byte what Debian ships: the package's own checksum of the file.
	want=$(dpkg-deb -I "$(find "$tmp/debs" -name "${img}_*.deb")" md5sums | awk -v f="$f" '$2 == f { print $1 }')
	sum=$(md5sum <"$tmp/x/$f" | cut -d' ' -f1)
	[[ -n $want && $sum == "$want" ]] || die "the vmlinuz of $img does not have the md5sum its package lists ($sum, package says '${want:-nothing}')"
	cp "$tmp/x/$f" "$tmp/vmlinuz"
	cp "$tmp/x/usr/src/linux-headers-$rel/.config" "$tmp/config"
	cp "$tmp/x/usr/src/linux-headers-$rel/Module.symvers" "$tmp/Module.symvers"
	printf '%s\n' "$rel" >"$tmp/release"
	printf '%s\n' "${pkgs[@]}" >"$tmp/packages"
	(cd "$tmp" && sha256sum vmlinuz >vmlinuz.sha256)
	rm -rf "$tmp/x" "$tmp/debs"
	rm -rf "$kdeb"
	mv "$tmp" "$kdeb"
	done_step
}

# make_root: the trixie chroot with Debian's kernel toolchain.
make_root() {
	[[ $(cat "$ROOT/.complete-dev-root" 2>/dev/null) == "$CHROOT_PKGS" ]] && return
	command -v mmdebstrap >/dev/null || {
		step "installing mmdebstrap (Debian's chroot builder)"
		quiet apt-get install -y --no-install-recommends mmdebstrap ||
			die "cannot install mmdebstrap: apt-get install mmdebstrap (bookworm has it), then retry"
		done_step
	}
	step "making a $DEBIAN_SUITE chroot with Debian's kernel toolchain (about 1 min, 1.6 GB)"
	rm -rf "$ROOT" "$ROOT.tmp"
	quiet mmdebstrap --variant=minbase --include="$CHROOT_PKGS" "$DEBIAN_SUITE" "$ROOT.tmp" "$(mirror)" ||
		die "mmdebstrap could not make the $DEBIAN_SUITE chroot (rerun with V=1; is $(mirror) reachable?)"
	mkdir -p "$ROOT.tmp/src" "$ROOT.tmp/opt/rust" "$ROOT.tmp/kbuild"
	printf '%s\n' "$CHROOT_PKGS" >"$ROOT.tmp/.complete-dev-root"
	mv "$ROOT.tmp" "$ROOT"
	done_step
}

# prepare: everything fetched and the tree prepared; TREE is its path in the chroot.
prepare() {
	local key tree rustc_text want cc
	[[ -z ${TREE:-} ]] || return 0
	src=$("$TOOLS_DIR/kernel-source.sh")
	version=$(cat "$CACHE_DIR/source-version")
	kdeb=$DEB_DIR/$version-$DEBIAN_FLAVOUR
	[[ -f $kdeb/vmlinuz.sha256 ]] || fetch
	printf '%s\n' "$kdeb" >"$DEB_DIR/current"
	make_root
	if [[ -n $DEBIAN_RUST ]]; then
		[[ -x $DEBIAN_RUST/bin/rustc ]] || die "DEBIAN_RUST=$DEBIAN_RUST has no bin/rustc"
		[[ -d $DEBIAN_RUST/lib/rustlib/src/rust/library ]] ||
			die "DEBIAN_RUST=$DEBIAN_RUST has no rust-src (rustup component add rust-src --toolchain ...)"
	fi
	rustc_text=$(in_chroot '' rustc --version)
	want=$(config_text "$kdeb/config" RUSTC_VERSION_TEXT)
	if [[ $rustc_text != "$want" ]]; then
		printf "note: the chroot's rustc is '%s'; Debian built %s with '%s': the match check will refuse these modules\n" \
			"$rustc_text" "$(cat "$kdeb/release")" "$want" >&2
	fi
	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$kdeb/config")
	[[ -n $cc ]] || die "no compiler named in CONFIG_CC_VERSION_TEXT of $kdeb/config"
	key=$({
		printf '%s\n' "$version" "$cc"
		cat "$kdeb/release" "$kdeb/config"
		in_chroot '' sh -c "rustc -vV; bindgen --version; $cc --version; pahole --version"
	} | sha256sum | cut -c1-12)
	tree=/kbuild/$version-$key
	if [[ ! -f $ROOT$tree/.complete-dev-prepared ]]; then
		step "preparing the module build tree: Debian's .config, $rustc_text, make olddefconfig modules_prepare (about 4 min on 2 cores)"
		# An interrupted preparation is resumed: make redoes only what is missing.
		mkdir -p "$ROOT$tree"
		cp "$kdeb/config" "$ROOT$tree/.config"
		# KERNELRELEASE as Debian's build sets it: the release in every module's vermagic.
		long in_chroot '' make -C /src O="$tree" ARCH=x86_64 CC="$cc" HOSTCC="$cc" \
			KERNELRELEASE="$(cat "$kdeb/release")" -j"$(($(nproc) + 1))" olddefconfig modules_prepare ||
			die "modules_prepare failed in the chroot (rerun with V=1); the tree is $ROOT$tree"
		cp "$kdeb/Module.symvers" "$ROOT$tree/Module.symvers"
		printf '%s\n' "$cc" >"$ROOT$tree/.complete-dev-cc"
		touch "$ROOT$tree/.complete-dev-prepared"
		done_step
	fi
	printf '    Debian kernel %s (%s), vmlinuz sha256 %s\n' "$(cat "$kdeb/release")" "$version" \
		"$(cut -d' ' -f1 "$kdeb/vmlinuz.sha256")" >&2
	TREE=$tree
}

# kmake DIR ARGS...: make -C <tree> M=DIR ARGS... in the chroot, DIR mounted at its path.
kmake() {
	local dir=$1 cc
	shift
	prepare
	cc=$(cat "$ROOT$TREE/.complete-dev-cc")
	# modpost only warns of an import Debian's Module.symvers lacks: tools/debian-match.sh
	# then says which, and why.
	in_chroot "$dir" make -C "$TREE" M="$dir" ARCH=x86_64 CC="$cc" HOSTCC="$cc" KBUILD_MODPOST_WARN=1 "$@"
}

# modules: the clone's modules, built against Debian's kernel and matched to it. STRICT=1
# adds W=1 and fails on any warning (the chroot has no clippy: CLIPPY=1 is the host's check).
modules() {
	local log rc=0 extra=() warn
	[[ ${STRICT:-0} != 1 ]] || extra=(W=1)
	prepare
	step "building the module(s) against Debian's kernel, in the $DEBIAN_SUITE chroot${extra[*]:+ ${extra[*]}}"
	log=$(mktemp)
	# From clean: no object or module of another kernel's build (ext/kunit/complete_ext_kunit.ko
	# of a KUnit kernel) may stay beside the ones built here and go into the VM.
	kmake "$TOP_DIR" clean >/dev/null 2>&1 || true
	kmake "$TOP_DIR" "${extra[@]}" modules >"$log" 2>&1 || rc=$?
	[[ $V != 1 ]] || cat "$log"
	if ((rc)); then
		[[ $V == 1 ]] || cat "$log" >&2
		rm -f "$log"
		die "the module build against Debian's kernel failed (see above)"
	fi
	# modpost's warnings of missing imports are the match check's to explain.
	warn=$(grep -iE '(^|[^a-z])warning' "$log" | grep -vE 'modpost: .*(undefined!|unresolved symbol)' || true)
	rm -f "$log"
	if [[ -n $warn ]]; then
		printf '%s\n' "$warn" >&2
		[[ ${STRICT:-0} != 1 ]] || die "the module build against Debian's kernel has warnings (W=1)"
	fi
	done_step
	"$TOOLS_DIR/debian-match.sh" "$(debian_dir)" "$TOP_DIR/complete_dev.ko" "$TOP_DIR/complete_kthread.ko"
}

TREE=
case ${1:-} in
prepare)
	prepare
	printf '%s\n' "$TREE"
	;;
make)
	dir=${2:?usage: debian-kernel.sh make DIR ARGS...}
	shift 2
	kmake "$(cd "$dir" && pwd)" "$@"
	;;
modules) modules ;;
*) die "usage: debian-kernel.sh prepare | make DIR ARGS... | modules" ;;
esac
