#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make upstream-check`: the patch series of upstream/ checked as their maintainers will, then
# built, booted and tested, and the project's modules run on the API they add.
#
# Each directory upstream/<series>/ holds `git format-patch --cover-letter --base=...` output.
# The base is the Debian kernel tree the project builds (tools/kernel-source.sh) made into a git
# repository, deterministically, once ($CACHE_DIR/upstream/base): every cover letter's
# `base-commit:` must be its commit. The steps, each timed, in the summary at the end:
#
#   apply  the base repository; each series `git am`ed, a patch at a time, on a worktree of the
#          base (one for all series, each from the base); `scripts/checkpatch.pl --strict` on every patch file (only MISSING_SIGN_OFF
#          ignored: the sender adds the sign-off); `make rustfmtcheck` after every patch
#   build  after every patch, `make rust/ samples/rust/` with CLIPPY=1 and `make rustdoc`, each
#          series in its own build directory, incremental from one patch to the next: no warning
#          the base does not have (file and message compared, not line numbers)
#   full   all series on one tree (the Debian tree the project builds: here the base itself),
#          the test kernel built from it (KVARIANT=upstream: tools/kernel.config plus KUnit's
#          doctests and the samples); a boot runs the completion doctests (kunit.filter_glob),
#          the kselftest cases that fit the sample and, with the module-param series,
#          rust_minimal's parameter in sysfs (whose `perm` must also refuse write bits at compile
#          time), one more each #[kunit_tests] suite; then
#          the project's modules, built against it with UPSTREAM_COMPLETION=1, through the
#          whole VM check job (KUnit, smoke, kselftest)
#
# Environment:
#   UPSTREAM_STEPS     the steps to run, comma-separated (default apply,build,full; `make check`
#                      runs apply)
#   UPSTREAM_DIR       where the series are (default upstream/ of this clone)
#   UPSTREAM_EACH=0    the build step after each series' last patch only (default 1: after each)
#   UPSTREAM_DOCTEST_GLOB  kunit.filter_glob of the doctests' boot (default
#                      rust_doctests_kernel.*completion*: those of completion.rs)
#   UPSTREAM_SAMPLE_CASES  the kselftest cases run against the sample (comma-separated; default
#                      wait_sleep_and_wake,wait_fifo_order, and wait_comm_printed if the
#                      sample's lines name the comm)
#
# Every kernel build runs under flock $BUILD_LOCK, every VM under flock $VM_LOCK. Fails on a
# series without a cover letter or on another base, a patch that does not apply, a checkpatch
# report, a new warning, a failed build, test or VM run.
source "$(dirname "$0")/lib.sh"

UPSTREAM_STEPS=${UPSTREAM_STEPS:-apply,build,full}
UPSTREAM_DIR=${UPSTREAM_DIR:-$TOP_DIR/upstream}
UPSTREAM_EACH=${UPSTREAM_EACH:-1}
UPSTREAM_DOCTEST_GLOB=${UPSTREAM_DOCTEST_GLOB:-rust_doctests_kernel.*completion*}
UPSTREAM_SAMPLE_CASES=${UPSTREAM_SAMPLE_CASES:-}
BUILD_LOCK=/tmp/complete-dev-build.lock
VM_LOCK=/tmp/complete-dev-vm.lock
WORK=$CACHE_DIR/upstream
# UPSTREAM_BASE= (tests): another base repository, with its own worktrees.
BASE=${UPSTREAM_BASE:-$WORK/base}
CHK=${UPSTREAM_BASE:+$BASE-check}
CHK=${CHK:-$WORK/check}

for s in ${UPSTREAM_STEPS//,/ }; do
	case $s in
	apply | build | full) ;;
	*) die "UPSTREAM_STEPS: unknown step '$s' (steps: apply, build, full)" ;;
	esac
done
want_step() {
	[[ ,$UPSTREAM_STEPS, == *",$1,"* ]]
}

tc=$(toolchain)
[[ $tc == llvm-* ]] ||
	die "make upstream-check builds with LLVM (the kernel's LLVM=1 checks): install clang-$(rustc_llvm) lld-$(rustc_llvm) llvm-$(rustc_llvm) libclang-$(rustc_llvm)-dev (tools/deps.sh)"
# The make arguments of tools/kernel-build.sh.
kmake_args=(ARCH=x86_64 "LLVM=-${tc#llvm-}")
export LIBCLANG_PATH=/usr/lib/$tc/lib
jobs=$(($(nproc) + 1))

mkdir -p "$CHK"
# The summary: one "name|seconds|result" line per timed part.
times=()
_t=0
t_start() {
	_t=$SECONDS
	: >"$CHK/.waited"
}
t_end() { # t_end NAME RESULT: the time since t_start, less the waits for a lock (shown apart)
	local w
	w=$(awk '{ s += $1 } END { print s + 0 }' "$CHK/.waited" 2>/dev/null || echo 0)
	local note=
	((w == 0)) || note=", and ${w}s waiting for a lock"
	times+=("$1|$((SECONDS - _t - w))|$2$note")
}
failures=()
fail() { # fail WHAT: record a failure (the run goes on where it can, and fails at the end)
	printf 'FAIL %s\n' "$*" >&2
	failures+=("$*")
}

# locked LOCK CMD...: run CMD under flock LOCK, saying so when it has to wait for another holder;
# the wait is added to $CHK/.waited, which t_end reports apart from the step's own time.
locked() {
	local lock=$1 t0 got rc=0
	shift
	t0=$(date +%s)
	flock -n "$lock" true || printf '    waiting for %s (another build or VM holds it)\n' "$lock" >&2
	# shellcheck disable=SC2016 # $0 and $@ are the inner shell's
	flock "$lock" sh -c 'date +%s >"$0" && exec "$@"' "$CHK/.got" "$@" || rc=$?
	got=$(cat "$CHK/.got" 2>/dev/null || echo "$t0")
	if ((got - t0 >= 2)); then
		printf '    waited %ss for %s\n' "$((got - t0))" "$lock" >&2
		echo $((got - t0)) >>"$CHK/.waited"
	fi
	return "$rc"
}

summary() {
	local line name secs res
	echo
	echo "=== make upstream-check summary ==="
	for line in "${times[@]}"; do
		IFS='|' read -r name secs res <<<"$line"
		printf '  %-58s %5ss  %s\n' "$name" "$secs" "$res"
	done
	for f in "${failures[@]}"; do echo "failed: $f"; done
	printf 'upstream-check: %s failure(s), %ss in all\n' "${#failures[@]}" "$((SECONDS))"
}
trap summary EXIT

# --- The base repository ----------------------------------------------------------------------

src=$("$TOOLS_DIR/kernel-source.sh")
version=$(cat "$CACHE_DIR/source-version")
upver=${version%%-*}
kseries=${src##*/linux-source-}
branch=linux-$upver
subject="Linux $upver (Debian linux-source-$kseries $version)"
t_start
if [[ ! -d $BASE/.git ]]; then
	step "base repository: $src made a git repository, once ($BASE)"
	rm -rf "$BASE.tmp"
	cp -a "$src" "$BASE.tmp"
	rm -f "$BASE.tmp/.complete-dev-unpacked"
	# Debian's .gitignore ends with `/*`: every file is added by force. A fixed author, committer
	# and date make the commit the same on every machine.
	(
		cd "$BASE.tmp"
		git init -q -b "$branch"
		git add -f -A
		env GIT_AUTHOR_NAME=Debian GIT_AUTHOR_EMAIL=debian-kernel@lists.debian.org \
			GIT_COMMITTER_NAME=Debian GIT_COMMITTER_EMAIL=debian-kernel@lists.debian.org \
			GIT_AUTHOR_DATE=2026-11-01T00:00:00Z GIT_COMMITTER_DATE=2026-11-01T00:00:00Z \
			git -c commit.gpgsign=false commit -q -m "$subject"
	) || die "could not make the base repository in $BASE.tmp"
	mv "$BASE.tmp" "$BASE"
	done_step
fi
base_rev=$(git -C "$BASE" rev-parse --verify -q "refs/heads/$branch^{commit}") ||
	die "$BASE has no branch $branch: not the base repository of $version; remove it and rerun to make it again"
[[ $(git -C "$BASE" log -1 --format=%s "$base_rev") == "$subject" ]] ||
	die "$BASE's $branch is not '$subject' (the tree tools/kernel-source.sh unpacks): remove it and rerun to make it again"
printf '    base: %s, %s "%s"\n' "$BASE" "$base_rev" "$subject" >&2
t_end "base repository ($base_rev)" ok

exec 8>"$CHK/.lock"
# Another run (make check's apply step beside a make upstream-check) waits rather than fails.
if ! flock -n 8; then
	printf '==> waiting for another make upstream-check to end (%s)\n' "$CHK/.lock" >&2
	flock 8
fi

# --- The series -------------------------------------------------------------------------------

[[ -d $UPSTREAM_DIR ]] || die "no $UPSTREAM_DIR: nothing to check"
mapfile -t sdirs < <(find "$UPSTREAM_DIR" -mindepth 1 -maxdepth 1 -type d | LC_ALL=C sort)
((${#sdirs[@]})) || die "no series in $UPSTREAM_DIR (a directory of git format-patch output each)"
declare -A npatch=()
names=()
for d in "${sdirs[@]}"; do
	s=${d##*/}
	names+=("$s")
	cover=$d/0000-cover-letter.patch
	[[ -f $cover ]] || die "series $s: no cover letter ($cover): make it with git format-patch --cover-letter"
	b=$(sed -n 's/^base-commit: \([0-9a-f]*\)$/\1/p' "$cover" | tail -n1)
	[[ -n $b ]] || die "series $s: its cover letter names no base-commit: (git format-patch --base=$base_rev)"
	[[ $b == "$base_rev" ]] ||
		die "series $s: its base-commit $b is not the base repository's $branch ($base_rev, '$subject'); rebase it there and run git format-patch --base=$base_rev again"
	mapfile -t p < <(find "$d" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | LC_ALL=C sort)
	((${#p[@]})) || die "series $s: no patch beside its cover letter"
	npatch[$s]=${#p[@]}
	printf '    series %s: %s patch(es), on %s\n' "$s" "${#p[@]}" "$base_rev" >&2
done

# patches SERIES: its patch files, in order.
patches() {
	find "$UPSTREAM_DIR/$1" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | LC_ALL=C sort
}

# worktree DIR: a worktree of the base at the base commit, detached, clean (made once).
worktree() {
	local dir=$1
	git -C "$BASE" worktree prune
	if [[ ! -e $dir/.git ]]; then
		rm -rf "$dir"
		quiet git -C "$BASE" worktree add --detach "$dir" "$base_rev" ||
			die "git worktree add $dir failed"
		return
	fi
	git -C "$dir" am --abort >/dev/null 2>&1 || true
	quiet git -C "$dir" checkout -q -f --detach "$base_rev"
	quiet git -C "$dir" clean -q -fdx
}

# Commits made by git am carry a fixed committer: the same patches give the same commits.
export GIT_COMMITTER_NAME="complete-dev upstream-check" GIT_COMMITTER_EMAIL=upstream-check@complete-dev.invalid \
	GIT_COMMITTER_DATE=2026-11-01T00:00:00Z

# apply DIR SERIES: git am each patch of SERIES on DIR's HEAD; the commits made, in order, go to
# $CHK/SERIES.commits.
apply() {
	local dir=$1 s=$2 p out
	: >"$CHK/$s.commits"
	while IFS= read -r p; do
		if ! out=$(git -C "$dir" am -q --no-3way "$p" 2>&1); then
			git -C "$dir" am --abort >/dev/null 2>&1 || true
			printf '%s\n' "$out" | sed 's/^/      /' >&2
			fail "series $s: ${p##*/} does not apply (git am, on $base_rev and the patches before it)"
			return 1
		fi
		git -C "$dir" rev-parse HEAD >>"$CHK/$s.commits"
	done < <(patches "$s")
}

kmake() { # kmake TREE OUT ARGS...
	make -C "$1" O="$2" "${kmake_args[@]}" "${@:3}"
}

# warnings LOG: the warnings of a build log, one a line as "file: warning: message" (rustc's,
# clippy's, rustdoc's and the C compiler's; line numbers dropped: a patch moves lines), sorted.
warnings() {
	awk '
		function flush() { if (w != "") print "?: " w; w = "" }
		/^warning: [0-9]+ warnings? emitted/ { next }
		/^warning(\[[^]]*\])?: / { flush(); w = $0; next }
		w != "" && /^ *--> / { loc = $2; sub(/:[0-9]+:[0-9]+$/, "", loc); print loc ": " w; w = ""; next }
		/:[0-9]+:[0-9]+: warning: / { flush(); l = $0; sub(/:[0-9]+:[0-9]+: warning: /, ": warning: ", l); print l }
		END { flush() }' "$1" | LC_ALL=C sort -u
}

# checkpatch checks an SPDX line with scripts/spdxcheck.py (python3, with the ply and git
# modules), and a spdxcheck.py that cannot start passes every licence: its traceback goes to
# stderr, checkpatch reads only stdout. Debian's python3 comes first (tools/deps.sh installs
# python3-ply and python3-git; a pyenv or venv python3 may lack them), and spdx_ready WT proves
# the check can fail before any patch is checked.
CHECKPATCH_PATH=/usr/bin:$PATH
spdx_ready() {
	local ok bad
	ok=$(cd "$1" && printf 'SPDX-License-Identifier: GPL-2.0\n' | PATH=$CHECKPATCH_PATH scripts/spdxcheck.py - 2>&1) &&
		bad=$(cd "$1" && printf 'SPDX-License-Identifier: GPL-9.9-only\n' | PATH=$CHECKPATCH_PATH scripts/spdxcheck.py - 2>/dev/null)
	[[ -z $ok && -n $bad ]] && return 0
	printf '    scripts/spdxcheck.py does not run (python3-ply or python3-git missing?): %s\n' "${ok:-it accepts an unknown licence}" >&2
	return 1
}

declare -A commits=()
# One worktree for the series, each from the base in turn (a checkout of the few files a series
# changes is much cheaper than another worktree of the whole tree); the build directories are
# one per series.
if want_step apply; then
	for s in "${names[@]}"; do
		wt=$CHK/series
		step "series $s: git am ${npatch[$s]} patch(es) on $branch"
		t_start
		worktree "$wt"
		if apply "$wt" "$s"; then
			commits[$s]=$(cat "$CHK/$s.commits")
			t_end "$s: git am, ${npatch[$s]} patch(es)" ok
		else
			t_end "$s: git am, ${npatch[$s]} patch(es)" FAIL
			continue
		fi
		done_step

		step "series $s: scripts/checkpatch.pl --strict on each patch"
		t_start
		bad=0
		spdx_ready "$wt" || fail "series $s: checkpatch cannot check SPDX lines here"
		while IFS= read -r p; do
			if out=$(cd "$wt" && PATH=$CHECKPATCH_PATH ./scripts/checkpatch.pl --strict --ignore MISSING_SIGN_OFF --color=never "$p" 2>&1); then
				printf '    ok   %s\n' "${p##*/}" >&2
			else
				printf '    FAIL %s\n' "${p##*/}" >&2
				printf '%s\n' "$out" | sed 's/^/      /' >&2
				fail "series $s: checkpatch --strict reports ${p##*/}"
				bad=1
			fi
		done < <(patches "$s")
		t_end "$s: checkpatch --strict" "$( ((bad)) && echo FAIL || echo ok)"
		done_step

		step "series $s: make rustfmtcheck after each patch"
		t_start
		bad=0
		i=0
		for c in ${commits[$s]}; do
			i=$((i + 1))
			quiet git -C "$wt" checkout -q -f --detach "$c"
			if out=$(kmake "$wt" "$CHK/$s.fmt" rustfmtcheck 2>&1); then
				printf '    ok   patch %s\n' "$i" >&2
			else
				printf '    FAIL patch %s\n' "$i" >&2
				printf '%s\n' "$out" | tail -n 40 | sed 's/^/      /' >&2
				fail "series $s: make rustfmtcheck after patch $i"
				bad=1
			fi
		done
		t_end "$s: rustfmtcheck, ${npatch[$s]} time(s)" "$( ((bad)) && echo FAIL || echo ok)"
		done_step
	done
fi

# --- Per patch: rust/ and samples/rust/ with CLIPPY=1, rustdoc ----------------------------------

# configure TREE OUT: OUT configured for TREE as KVARIANT=upstream's kernel (tools/kernel-build.sh,
# kept while unchanged); an option TREE's Kconfig lacks yet (the sample's, before its patch) is
# named, not fatal.
configure() {
	quiet locked "$BUILD_LOCK" env KSRC="$1" KOUT="$2" KCONFIG_ONLY=1 KVARIANT=upstream \
		"$TOOLS_DIR/kernel-build.sh"
}

# build_log TREE OUT LOG WHAT: the per-patch build of TREE into OUT (WHAT: build | doc), its whole
# output in LOG; status 1 if it failed.
build_log() {
	local targets=(CLIPPY=1 rust/ samples/rust/)
	[[ $4 == doc ]] && targets=(rustdoc)
	locked "$BUILD_LOCK" make -C "$1" O="$2" "${kmake_args[@]}" -j"$jobs" "${targets[@]}" >"$3" 2>&1
}

# new_warnings BASEFILE LOG: the warnings of LOG that BASEFILE does not have.
new_warnings() {
	LC_ALL=C comm -13 "$1" <(warnings "$2")
}

if want_step build; then
	for s in "${names[@]}"; do
		[[ -n ${commits[$s]:-} ]] || { want_step apply && continue; }
		wt=$CHK/series
		out=$CHK/$s.build
		if [[ -z ${commits[$s]:-} ]]; then
			worktree "$wt"
			apply "$wt" "$s" || continue
			commits[$s]=$(cat "$CHK/$s.commits")
		fi
		# The base's warnings: from a build from scratch (an incremental build prints only those of
		# what it recompiles), kept per base commit and configuration.
		bkey=$(cat <(printf '%s\n' "$base_rev" "$(rustc --version)") "$TOOLS_DIR"/kernel{,-llvm,-upstream}.config | sha256sum | cut -c1-12)
		basew=$CHK/base-warnings-$bkey
		if [[ ! -f $basew.build || ! -f $basew.doc ]]; then
			step "base: rust/ samples/rust/ CLIPPY=1 and rustdoc from scratch, for its warnings ($out)"
			t_start
			quiet git -C "$wt" checkout -q -f --detach "$base_rev"
			rm -rf "$out"
			configure "$wt" "$out"
			build_log "$wt" "$out" "$out/base-build.log" build ||
				{ tail -n 40 "$out/base-build.log" >&2; die "the base does not build rust/ samples/rust/ (log: $out/base-build.log)"; }
			build_log "$wt" "$out" "$out/base-doc.log" doc ||
				{ tail -n 40 "$out/base-doc.log" >&2; die "the base does not build rustdoc (log: $out/base-doc.log)"; }
			warnings "$out/base-build.log" >"$basew.build"
			warnings "$out/base-doc.log" >"$basew.doc"
			t_end "base: rust/ samples/rust/ + rustdoc, from scratch" "ok, $(wc -l <"$basew.build") + $(wc -l <"$basew.doc") warning(s)"
			done_step
		fi
		i=0
		for c in ${commits[$s]}; do
			i=$((i + 1))
			[[ $UPSTREAM_EACH == 1 || $i == "${npatch[$s]}" ]] || continue
			name=$(sed -n "${i}p" <(patches "$s"))
			name=${name##*/}
			step "series $s, patch $i/${npatch[$s]}: rust/ samples/rust/ CLIPPY=1, rustdoc ($name)"
			t_start
			quiet git -C "$wt" checkout -q -f --detach "$c"
			configure "$wt" "$out"
			res=ok
			took=
			for what in build doc; do
				tw=$SECONDS
				log=$out/patch-$i-$what.log
				if ! build_log "$wt" "$out" "$log" "$what"; then
					grep -E -B2 -A12 '^error|: error:|Error [0-9]' "$log" | sed -n '1,60s/^/      /p' >&2 || true
					fail "series $s: patch $i ($name) breaks the $what (log: $log)"
					res=FAIL
					continue
				fi
				new=$(new_warnings "$basew.$what" "$log")
				if [[ -n $new ]]; then
					printf '%s\n' "$new" | sed 's/^/      new: /' >&2
					fail "series $s: patch $i ($name): $(wc -l <<<"$new") $what warning(s) the base does not have (log: $log)"
					res=FAIL
				fi
				took+=", $what $((SECONDS - tw))s"
			done
			t_end "$s: patch $i build + rustdoc" "$res$took"
			done_step
		done
	done
fi

# --- The full check: all series, the test kernel, KUnit, the sample, the project's modules -------

if want_step full; then
	all=$CHK/all
	# The series go on the Debian tree the project builds. Here that tree is the base itself (the
	# base repository is made from it), so the tree is one more worktree of the base.
	step "all series on the Debian tree the project builds ($src, which is the base $base_rev itself)"
	t_start
	worktree "$all"
	ok=1
	for s in "${names[@]}"; do
		apply "$all" "$s" || ok=0
	done
	t_end "all series together: git am on the Debian tree (= the base)" "$( ((ok)) && echo ok || echo FAIL)"
	done_step
	((ok)) || exit 1

	# The patched tree's content (its git tree, not the mails: a new commit message changes no
	# file) names the build; another rebuilds the same directory incrementally.
	id=$(git -C "$all" rev-parse 'HEAD^{tree}')
	step "the test kernel from the patched tree (KVARIANT=upstream: KUnit, the doctests, the sample)"
	t_start
	kdir=$(locked "$BUILD_LOCK" env KSRC="$all" KSRC_ID="$id" KVARIANT=upstream "$TOOLS_DIR/kernel-build.sh") || {
		t_end "kernel build (KVARIANT=upstream)" FAIL
		fail "the test kernel from the patched tree does not build"
		exit 1
	}
	t_end "kernel build (KVARIANT=upstream)" ok
	done_step

	sample=$kdir/samples/rust/rust_completion.ko
	[[ -f $sample ]] || die "the patched kernel's build has no $sample (CONFIG_SAMPLE_RUST_COMPLETION=m)"
	rm -rf "$CHK/vm-sample"
	mkdir -p "$CHK/vm-sample"
	cp "$sample" "$CHK/vm-sample/"
	"$TOOLS_DIR/userspace-build.sh"
	# The sample's lines name the task by pid alone where the kernel crate gives no comm
	# (`process {pid} going to sleep`): the kselftest then reads them with an empty comm, and
	# wait_comm_printed, which checks the comm, does not fit.
	no_comm=0
	grep -q 'process {[^}]*} going to sleep' "$all/samples/rust/rust_completion.rs" && no_comm=1
	cases=wait_sleep_and_wake,wait_fifo_order
	((no_comm)) || cases+=,wait_comm_printed
	UPSTREAM_SAMPLE_CASES=${UPSTREAM_SAMPLE_CASES:-$cases}

	# The module-param series' user: rust_minimal's test_parameter with a `perm`. The first boot
	# loads it and reads the parameter in sysfs (tools/guest/upstream.sh, part 3), and the macro
	# must refuse a `perm` with a write bit, or one that gives others more than the owner, at
	# compile time.
	param_args=()
	if grep -q '^ *perm: 0o444,' "$all/samples/rust/rust_minimal.rs"; then
		cp "$kdir/samples/rust/rust_minimal.ko" "$CHK/vm-sample/" ||
			die "the patched kernel's build has no rust_minimal.ko (CONFIG_SAMPLE_RUST_MINIMAL=m)"
		param_args=(cdparam_module=rust_minimal cdparam_name=test_parameter cdparam_hidden=test_bool_parameter)
		step "module!: a parameter's perm with a write bit, or more for others than the owner, refused at compile time"
		t_start
		res=ok
		for perm in 0o644 0o404; do
			pd=$CHK/perm-$perm
			rm -rf "$pd"
			mkdir -p "$pd"
			echo 'obj-m := perm_test.o' >"$pd/Kbuild"
			sed 's/^\( *perm:\) 0o444,/\1 '"$perm"',/' "$all/samples/rust/rust_minimal.rs" >"$pd/perm_test.rs"
			if out=$(locked "$BUILD_LOCK" make -C "$kdir" "${kmake_args[@]}" M="$pd" modules 2>&1); then
				res=FAIL
				fail "module! took perm: $perm for a parameter"
			elif ! grep -qE '^error: (module parameters are read-only|.perm. may not give)' <<<"$out"; then
				printf '%s\n' "$out" | tail -n 20 | sed 's/^/      /' >&2
				res=FAIL
				fail "module! refused perm: $perm, but not with its own error"
			else
				grep -m1 '^error: ' <<<"$out" | sed "s/^/    perm: $perm: /" >&2
			fi
		done
		t_end "module!: perm 0o644 and 0o404 refused" "$res"
		done_step
	fi

	# The series' own KUnit suites, #[kunit_tests(NAME)], and the doctests' suite.
	# KUnit's kunit.filter_glob takes one "suite.test" glob: a boot for the doctests of the
	# series' files (rust_doctests_kernel, the tests whose name has `completion`), which also runs
	# the sample's kselftest cases, then one for each #[kunit_tests(NAME)] suite the series adds.
	mapfile -t own < <(cat "$UPSTREAM_DIR"/*/[0-9][0-9][0-9][0-9]-*.patch |
		sed -n 's/^+.*kunit_tests(\([A-Za-z0-9_]*\)).*/\1/p' | LC_ALL=C sort -u)
	boots=("rust_doctests_kernel|$UPSTREAM_DOCTEST_GLOB|$UPSTREAM_SAMPLE_CASES")
	for n in "${own[@]}"; do
		boots+=("$n|$n|")
	done
	for b in "${boots[@]}"; do
		IFS='|' read -r suite glob cases <<<"$b"
		# The parameter's check goes with the sample's cases, in the first boot.
		params_of_boot=()
		[[ -z $cases ]] || params_of_boot=("${param_args[@]}")
		log=$BUILD_DIR/logs/upstream-$suite-$(date +%Y%m%d-%H%M%S).log
		step "VM: KUnit $suite (kunit.filter_glob=$glob)${cases:+, the kselftest cases $cases on the sample}"
		t_start
		if locked "$VM_LOCK" env KDIR="$kdir" MODULE_DIR="$CHK/vm-sample" VM_LOG="$log" \
			"$TOOLS_DIR/vm-run.sh" upstream "kunit.filter_glob=$glob" "cdkunit_suites=$suite" \
			"cdsample_cases=$cases" cdsample_module=rust_completion cdsample_dev=/dev/rust-completion \
			"cdsample_no_comm=$no_comm" "${params_of_boot[@]}"; then
			res=ok
		else
			res=FAIL
			fail "the VM with the patched kernel: KUnit $suite${cases:+ or the kselftest cases on the sample} (log: $log)"
		fi
		res="$res, $(sed -n 's/^vm-upstream: KUnit suite [^ ]*: //p' "$log" | tr -d '\r' | sed -n 1p)"
		[[ -z $cases ]] || res+=", sample $(sed -n 's/^# Totals: //p' "$log" | tr -d '\r' | sed -n 1p)"
		t_end "VM: boot, KUnit $suite${cases:+, kselftest on the sample}" "$res"
		done_step
		grep -h '^vm-upstream: ' "$log" | sed 's/^/    /' >&2 || true
	done

	# The project's modules on the series' API, built in a copy: the clone's own modules stay
	# those of its kernel.
	mods=$CHK/modules
	step "the project's modules against the patched kernel, UPSTREAM_COMPLETION=1 ($mods)"
	t_start
	rm -rf "$mods"
	mkdir -p "$mods"
	git -C "$TOP_DIR" ls-files -z |
		rsync -a --from0 --files-from=- --ignore-missing-args "$TOP_DIR/" "$mods/"
	if make -C "$mods" --no-print-directory modules KDIR="$kdir" UPSTREAM_COMPLETION=1 BUILD_DIR="$mods/build" >&2; then
		t_end "project modules, UPSTREAM_COMPLETION=1" ok
		# The evidence is only worth something if the modules really are on the kernel's API.
		for m in complete_dev complete_kthread; do
			grep -q -- '--cfg upstream_completion' "$mods/.$m.o.cmd" ||
				die "$m.o was not built with --cfg upstream_completion: UPSTREAM_COMPLETION=1 did not reach the Kbuild (see $mods/.$m.o.cmd)"
		done
	else
		t_end "project modules, UPSTREAM_COMPLETION=1" FAIL
		fail "the project's modules do not build against the patched kernel with UPSTREAM_COMPLETION=1"
		exit 1
	fi
	done_step

	log=$BUILD_DIR/logs/upstream-modules-$(date +%Y%m%d-%H%M%S).log
	t_start
	# kunit.filter_glob: the test module's suites only, not the kernel crate's doctests at boot.
	if locked "$VM_LOCK" env KDIR="$kdir" MODULE_DIR="$mods" VM_LOG="$log" \
		"$TOOLS_DIR/vm-run.sh" check 'kunit.filter_glob=ext_*'; then
		res=ok
	else
		res=FAIL
		fail "the VM check job with the project's modules on the series' API (log: $log)"
	fi
	t_end "VM check job: project modules on the series' API" "$res"
	grep -h 'vm-check: KUnit suite' "$log" | sed 's/^vm-check: /    /' >&2 || true
	grep -h '^# # Totals:' "$log" | sed 's/^# # /    kselftest complete_dev: /' >&2 || true
fi

((${#failures[@]} == 0))
