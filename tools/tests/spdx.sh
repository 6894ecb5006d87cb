#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every file of the project names its licence in an SPDX line among its first three lines,
# except the files that cannot carry one: lock files, pictures, JSON, LICENSE itself, and the
# kselftest's `settings` (read line by line by the kernel's runner), and the kernel patch mails of
# upstream/ (`git am` input: the files they add carry their own SPDX lines).
source "$(dirname "$0")/../lib.sh"

missing=()
n=0
while IFS= read -r f; do
	[[ -f $TOP_DIR/$f && ! -L $TOP_DIR/$f ]] || continue
	case $f in
	*.lock | *.png | *.svg | *.json | LICENSE | */settings | upstream/*/*.patch) continue ;;
	esac
	n=$((n + 1))
	head=$(sed -n 1,3p "$TOP_DIR/$f")
	[[ $head == *SPDX-License-Identifier:* ]] || missing+=("$f")
done < <(git -C "$TOP_DIR" ls-files)
((n > 50)) || die "read only $n files: is this a git checkout?"
if ((${#missing[@]})); then
	printf '  no SPDX-License-Identifier in the first 3 lines: %s\n' "${missing[@]}" >&2
	die "${#missing[@]} file(s) without an SPDX line"
fi
echo "spdx: $n files, each with an SPDX line"
