#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The toolchain decision of tools/deps.sh as a fresh machine meets it, without the network.
#
# apt runs on a configuration of our own (APT_CONFIG): empty lists, an empty dpkg status,
# and one source, a flat file: repository whose Packages list the test writes, with or
# without clang of rustc's LLVM. LLVM_ROOT plays a machine without LLVM (an empty folder)
# or with it. deps.sh runs with DEPS_PLAN=1, which prints its decision and installs nothing:
#   plan: llvm-N, installing clang-N lld-N llvm-N libclang-N-dev
#   plan: llvm-N, installed
#   plan: gcc            (and, unless TOOLCHAIN=gcc, one "note: building the kernel with GCC" line)
source "$(dirname "$0")/../lib.sh"

n=$(rustc_llvm)
[[ $n =~ ^[0-9]+$ ]] || die "cannot read rustc's LLVM version from 'rustc -vV'"
llvm_pkgs="clang-$n lld-$n llvm-$n libclang-$n-dev"

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"/{repo,lists/partial,cache/archives/partial,etc/sources.list.d,etc/preferences.d} \
	"$dir"/{no-llvm,llvm/llvm-"$n"/bin,llvm/llvm-"$n"/lib,bin}
: >"$dir/status"
touch "$dir"/llvm/llvm-"$n"/bin/{clang,ld.lld,llvm-ar} "$dir/llvm/llvm-$n/lib/libclang.so"
cat >"$dir/apt.conf" <<EOF
Dir::Etc::SourceList "$dir/etc/sources.list";
Dir::Etc::SourceParts "$dir/etc/sources.list.d";
Dir::Etc::Preferences "$dir/etc/preferences";
Dir::Etc::PreferencesParts "$dir/etc/preferences.d";
Dir::State::Lists "$dir/lists";
Dir::State::status "$dir/status";
Dir::Cache "$dir/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Sandbox::User "root";
Acquire::Languages "none";
EOF
echo "deb [trusted=yes] file:$dir/repo ./" >"$dir/etc/sources.list"
export APT_CONFIG=$dir/apt.conf

# mirror PKG...: the repository offers PKG... (and an unrelated package), nothing else.
mirror() {
	local p
	for p in hello "$@"; do
		printf 'Package: %s\nVersion: 1:%s.1.8-1~deb12u1\nArchitecture: amd64\nFilename: pool/%s.deb\nSize: 1\nDescription: test package\n\n' \
			"$p" "$n" "$p"
	done >"$dir/repo/Packages"
}

# fresh: the lists of a machine that never ran apt-get update.
fresh() {
	find "$dir/lists" -maxdepth 1 -type f -delete
	rm -rf "$dir/cd-cache"
}

# plan CASE [VAR=VALUE...]: run the decision; its stdout in $out, stderr in $err.
plan() {
	local name=$1 rc=0
	shift
	env "$@" DEPS_PLAN=1 LLVM_ROOT="${LLVM_ROOT_T:-$dir/no-llvm}" COMPLETE_DEV_CACHE="$dir/cd-cache" \
		PATH="$dir/bin:$PATH" "$TOOLS_DIR/deps.sh" >"$dir/out" 2>"$dir/err" || rc=$?
	out=$(<"$dir/out")
	err=$(<"$dir/err")
	status=$rc
	case_name=$name
}

fails=0
# expect WHAT COND...: COND holds for the last plan, else the case fails with what was seen.
expect() {
	local what=$1
	shift
	if "$@"; then
		printf '  ok   %s: %s\n' "$case_name" "$what"
	else
		printf '  FAIL %s: %s\n       status %s, stdout: %s\n       stderr: %s\n' \
			"$case_name" "$what" "$status" "$out" "$err" >&2
		fails=$((fails + 1))
	fi
}
notes() { grep -c '^note: building the kernel with GCC: ' <<<"$err" || true; }

# 1. A fresh machine, the mirror has LLVM N: deps.sh refreshes the empty lists and installs it.
mirror "clang-$n" "lld-$n" "llvm-$n" "libclang-$n-dev"
fresh
plan "fresh machine, clang-$n in the mirror"
expect "installs $llvm_pkgs" test "$status:$out" == "0:plan: llvm-$n, installing $llvm_pkgs"
expect "refreshed the empty lists" test -n "$(find "$dir/lists" -maxdepth 1 -name '*Packages*')"
expect "no GCC note" test "$(notes)" == 0

# 2. Lists already present: the same decision, from the lists.
plan "lists with clang-$n"
expect "installs $llvm_pkgs" test "$status:$out" == "0:plan: llvm-$n, installing $llvm_pkgs"

# 3. LLVM N already installed: nothing to install.
LLVM_ROOT_T=$dir/llvm plan "clang-$n installed"
expect "uses it, installs nothing" test "$status:$out" == "0:plan: llvm-$n, installed"

# 4. A fresh machine whose mirror lacks clang-N: GCC, one note line that quotes apt.
mirror
fresh
plan "fresh machine, no clang-$n in the mirror"
expect "falls back to GCC" test "$status:$out" == "0:plan: gcc"
expect "one note line" test "$(notes)" == 1
expect "the note names the packages" grep -qF "needs $llvm_pkgs" <<<"$err"
expect "the note quotes apt's answer" grep -qF "apt-cache policy clang-$n: " <<<"$err"

# 5. TOOLCHAIN=llvm without clang-N in the lists: refused, with the install line.
plan "TOOLCHAIN=llvm, no clang-$n" TOOLCHAIN=llvm
expect "refused" test "$status" != 0
expect "names the install line" grep -qF "apt-get install $llvm_pkgs" <<<"$err"

# 6. TOOLCHAIN=gcc: GCC without a lookup or a note.
plan "TOOLCHAIN=gcc" TOOLCHAIN=gcc
expect "GCC, no note" test "$status:$out:$(notes)" == "0:plan: gcc:0"

# 7. The "no" holds only for the lists it was read from: the mirror gains clang-N; while the
# lists are unchanged deps.sh trusts its stamp, and after an apt-get update it looks again.
mirror "clang-$n" "lld-$n" "llvm-$n" "libclang-$n-dev"
plan "mirror gained clang-$n, lists not refreshed"
expect "still GCC (the stamp holds for these lists)" test "$status:$out" == "0:plan: gcc"
quiet apt-get update || die "apt-get update on the test's own configuration failed"
plan "mirror gained clang-$n, lists refreshed"
expect "installs $llvm_pkgs" test "$status:$out" == "0:plan: llvm-$n, installing $llvm_pkgs"

# 8. apt-cache's answer in many small writes, with pauses: a reader that stops at the match
# would kill it with SIGPIPE. The decision must not change, five times in five.
real=$(command -v apt-cache)
cat >"$dir/bin/apt-cache" <<EOF
#!/usr/bin/env bash
out=\$("$real" "\$@" 2>&1)
while IFS= read -r line; do
	while [[ -n \$line ]]; do
		printf '%s' "\${line:0:8}"
		line=\${line:8}
		sleep 0.01
	done
	printf '\n'
done <<<"\$out"
EOF
chmod +x "$dir/bin/apt-cache"
for i in 1 2 3 4 5; do
	plan "apt-cache in small writes, run $i"
	expect "installs $llvm_pkgs" test "$status:$out" == "0:plan: llvm-$n, installing $llvm_pkgs"
done

((fails == 0)) || die "$fails toolchain decision(s) wrong"
echo "toolchain decision: 8 cases right"
