#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check that C and the Rust bindings agree on the layout of every kernel
# struct field our Rust code reads or writes directly.
#
# bindgen can get a layout wrong (it drops the alignment of an empty but
# ____cacheline_aligned struct, which moves task_struct::pid and ::comm by
# 48 bytes on tinyconfig without SCHEDSTATS). This builds one C and one Rust
# probe module against the kernel, reads the offsets they computed out of
# the object files and compares them. Usage: tools/layout-check.sh [--once] [KDIR]
#
# --once: skip a tree already found good with the same .config, release and
# bindings (a stamp in the cache); `make KDIR=...` checks a tree this way.
source "$(dirname "$0")/lib.sh"

once=0
[[ ${1:-} != --once ]] || { once=1 && shift; }
kdir=${1:-$(kdir)}
if ((once)); then
	key=$({
		readlink -f "$kdir"
		cat "$kdir/.config" "$kdir/include/config/kernel.release" \
			"$kdir/rust/bindings/bindings_generated.rs" 2>/dev/null
	} | sha256sum | cut -c1-16)
	stamp=$CACHE_DIR/layout-ok/$key
	if [[ -f $stamp ]]; then
		printf '    struct layout: %s checked before (cached)\n' "$kdir" >&2
		exit 0
	fi
fi
# C expression | Rust expression, one per field or size we rely on.
FIELDS=(
	"offsetof(struct task_struct, pid)|offset_of!(bindings::task_struct, pid)"
	"offsetof(struct task_struct, comm)|offset_of!(bindings::task_struct, comm)"
	"sizeof(struct task_struct)|size_of::<bindings::task_struct>()"
	"offsetof(struct file, f_flags)|offset_of!(bindings::file, f_flags)"
	"offsetof(struct kiocb, ki_filp)|offset_of!(bindings::kiocb, ki_filp)"
	"offsetof(struct kiocb, ki_flags)|offset_of!(bindings::kiocb, ki_flags)"
	"offsetof(struct completion, done)|offset_of!(bindings::completion, done)"
	"offsetof(struct completion, wait.lock)|offset_of!(bindings::completion, wait.lock)"
	"sizeof(struct completion)|size_of::<bindings::completion>()"
	"offsetof(struct file, f_mode)|offset_of!(bindings::file, f_mode)"
	"offsetof(struct kernel_param, ops)|offset_of!(bindings::kernel_param, ops)"
	"offsetof(struct kernel_param, perm)|offset_of!(bindings::kernel_param, perm)"
	"offsetof(struct kernel_param, arg)|offset_of!(bindings::kernel_param, __bindgen_anon_1)"
	"sizeof(struct kernel_param)|size_of::<bindings::kernel_param>()"
	"sizeof(struct kernel_param_ops)|size_of::<bindings::kernel_param_ops>()"
)

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
{
	echo '#include <linux/module.h>'
	echo '#include <linux/sched.h>'
	echo '#include <linux/fs.h>'
	echo '#include <linux/completion.h>'
	echo '#include <linux/moduleparam.h>'
	echo 'unsigned long complete_dev_layout[] = {'
	for f in "${FIELDS[@]}"; do echo "	${f%%|*},"; done
	echo '};'
	echo 'MODULE_LICENSE("GPL");'
} >"$dir/layout_c.c"
{
	# A crate doc: kernels with CONFIG_WERROR=y (defconfig) fail on missing_docs.
	echo '//! Layout probe of complete-dev: offsets as the Rust bindings see them.'
	echo 'use core::mem::{offset_of, size_of};'
	echo 'use kernel::{bindings, prelude::*};'
	echo 'module! { type: M, name: "layout_rs", authors: ["complete-dev"], description: "layout probe", license: "GPL", }'
	echo '/// The probe module; it refuses to load.'
	echo 'struct M;'
	echo 'impl kernel::Module for M { fn init(_m: &'"'"'static ThisModule) -> Result<Self> { Err(ENODEV) } }'
	echo '/// The offsets and sizes, read out of the object file.'
	echo "#[used] #[no_mangle] static COMPLETE_DEV_LAYOUT: [usize; ${#FIELDS[@]}] = ["
	for f in "${FIELDS[@]}"; do echo "	${f#*|},"; done
	echo '];'
} >"$dir/layout_rs.rs"
printf 'obj-m := layout_c.o layout_rs.o\n' >"$dir/Kbuild"
kbuild_env "$kdir"
quiet make -C "$kdir" M="$dir" modules || die "layout probes did not build against $kdir"

# values OBJ SYMBOL: print the unsigned longs of SYMBOL's section, one a line.
values() {
	local sec
	sec=$(objdump -t "$1" | awk -v s="$2" '$NF == s && !sec { sec = $4 } END { print sec }')
	[[ -n $sec ]] || die "symbol $2 not found in $1"
	objcopy -O binary --only-section="$sec" "$1" /dev/stdout | od -An -tu8 -v | tr -s ' ' '\n' | sed '/^$/d'
}
mapfile -t c < <(values "$dir/layout_c.o" complete_dev_layout)
mapfile -t r < <(values "$dir/layout_rs.o" COMPLETE_DEV_LAYOUT)
bad=0
for i in "${!FIELDS[@]}"; do
	if [[ ${c[i]:-?} != "${r[i]:-?}" ]]; then
		printf '  layout mismatch: %s: C %s, Rust bindings %s\n' "${FIELDS[i]%%|*}" "${c[i]:-?}" "${r[i]:-?}" >&2
		bad=1
	fi
done
((bad == 0)) || die "C and the Rust bindings disagree on struct layout in $kdir (see above)"
printf '    struct layout: C and Rust agree on %d fields\n' "${#FIELDS[@]}" >&2
if ((once)); then
	mkdir -p "$CACHE_DIR/layout-ok"
	touch "$stamp"
fi
