#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make exercise`: the lesson as exercises (exercises/, docs/exercises.md) that a learner writes
# and the VM grades.
#
# Usage:
#   exercise.sh list         every exercise with the learner's status
#   exercise.sh run N        N's working file (copied from its starting file if absent, never
#                            overwritten) built, then graded in a VM: each case passed or failed,
#                            in the learner's words, and the next hint on failure
#                            (RESET=1: start over, the old file kept as a backup; SOLUTION=1: the
#                            reference as a diff against the learner's file)
#   exercise.sh check        for every exercise: the starting file fails, every wrong solution
#                            fails with the text its patch names (Expect:, or Expect-build: for
#                            one that must not compile), the reference passes (CLIPPY=1 W=1, no
#                            warnings); every variant built on the host, all graded in one VM boot
# Each exercise is a folder exercises/NN-name/: README.md, start.rs, solution.rs, exercise.conf
# (module=, cases=, title=), wrong/*.patch; the learner's working file is exercises/NN-name/<module>.rs
# (gitignored). Each variant is built apart, in $BUILD_DIR/exercise/, by its own one-line Kbuild.
source "$(dirname "$0")/lib.sh"

EX_DIR=$TOP_DIR/exercises
EX_BUILD=$BUILD_DIR/exercise
STATUS_DIR=$EX_BUILD/status
PROBE=$BUILD_DIR/bin/cdprobe
VM_WAIT=0

ex_list() {
	find "$EX_DIR" -mindepth 1 -maxdepth 1 -type d -name '[0-9][0-9]-*' -printf '%f\n' | sort
}

# conf EX KEY: a value of EX's exercise.conf.
conf() {
	sed -n "s/^$2=//p" "$EX_DIR/$1/exercise.conf"
}

# resolve N: the exercise folder N names (3, 03, 03-timeout).
resolve() {
	local n=$1 e
	[[ $n =~ ^[0-9]+$ ]] && n=$(printf '%02d' "$((10#$n))")
	for e in $(ex_list); do
		[[ $e == "$n" || $e == "$n"-* ]] && { printf '%s\n' "$e"; return; }
	done
	die "no exercise '$1': 'make exercise' lists them"
}

# need_kernel: the kernel tree to build against; its first build's cost said before it starts.
need_kernel() {
	if [[ -z ${KDIR:-} && -f $CACHE_DIR/current-kdir ]]; then
		KDIR=$(kdir)
	else
		[[ -n ${KDIR:-} ]] ||
			echo "==> first run: building the test kernel first, once (about 10-15 min on 2 cores, 5-6 GB; docs/pipeline.md)" >&2
		KDIR=$(ensure_kernel)
	fi
	export KDIR
	kbuild_env "$KDIR"
}

# build_probe: the static userspace helper of the cases (tools/exercise/probe.rs), rebuilt if older.
build_probe() {
	local src=$TOOLS_DIR/exercise/probe.rs
	[[ -x $PROBE && $PROBE -nt $src ]] && return
	mkdir -p "$(dirname "$PROBE")"
	quiet rustc --edition 2021 -O -C target-feature=+crt-static -o "$PROBE" "$src"
}

# build_variant SRC MODULE OUT [MAKE_ARGS...]: build SRC as MODULE.ko in OUT, by a Kbuild of its
# own; the compiler's output in OUT/build.log.
build_variant() {
	local src=$1 mod=$2 out=$3
	shift 3
	rm -rf "$out"
	mkdir -p "$out"
	cp "$src" "$out/$mod.rs"
	ln -s "$TOP_DIR/ext" "$out/ext"
	printf '# SPDX-License-Identifier: GPL-2.0\nobj-m += %s.o\n' "$mod" >"$out/Kbuild"
	make -C "$KDIR" M="$out" "$@" modules >"$out/build.log" 2>&1 && [[ -f $out/$mod.ko ]]
}

# first_error LOG MODULE SHOWN: the compiler's first error, its file shown as SHOWN; without a
# line starting with "error" (a link or modpost error), the log's last lines.
first_error() {
	if grep -q '^error' "$1"; then
		awk 'p && (/^$/ || /^make/) { exit } /^error/ { p = 1 } p { print; if (++n >= 16) exit }' "$1"
	else
		grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)' "$1" | tail -n 8
	fi | sed "s#--> $2\.rs:#--> $3:#"
}

# learner_words SHOWN: the VM's lines as a learner reads them: Rust symbols demangled (c++filt,
# their crate hashes dropped), the module's source path shown as SHOWN.
learner_words() {
	local filt=(cat)
	command -v c++filt >/dev/null && filt=(c++filt)
	"${filt[@]}" | sed -e 's/\[[0-9a-f]\{16\}\]//g' -e "s#\([ :]\)\(complete_dev\|complete_kthread\)\.rs:\([0-9]\)#\1$1:\3#g"
}

# stage OUT VARIANT SRC_DIR MODULE CASES: put a built variant where the VM job finds it.
stage() {
	local d=$1/$2
	mkdir -p "$d"
	cp "$3/$4.ko" "$d/"
	printf '%s\n' "$4" >"$d/module"
	printf '%s\n' "$5" >"$d/cases"
	printf '%s\n' "$2" >>"$1/list"
}

# vm_grade STAGE TIMEOUT OUT: boot one VM that grades every staged variant; its console in OUT.log.
vm_grade() {
	build_probe
	local rc=0
	local w0 got
	w0=$(date +%s)
	flock -n /tmp/complete-dev-vm.lock true ||
		echo "==> waiting for another VM to end (/tmp/complete-dev-vm.lock)" >&2
	rm -f "$3.locked"
	# The time the lock is taken, written under it: what came before was waiting.
	# shellcheck disable=SC2016 # expanded by that sh
	flock /tmp/complete-dev-vm.lock sh -c 'date +%s >"$0" && exec "$@"' "$3.locked" \
		env VM_LOG="$3.log" VM_TIMEOUT="$2" EXERCISE_DIR="$1" \
		"$TOOLS_DIR/vm-run.sh" exercise >"$3.out" 2>&1 || rc=$?
	got=$(cat "$3.locked" 2>/dev/null || echo "$w0")
	VM_WAIT=$((got - w0))
	return "$rc"
}

hints() { # hints EX: the README's hints, one a line
	sed -n '/^## Hints/,/^## /s/^[0-9]\. //p' "$EX_DIR/$1/README.md"
}

cmd_list() {
	local e mod st
	printf '%-22s %-14s %s\n' exercise status title
	for e in $(ex_list); do
		mod=$(conf "$e" module)
		if [[ ! -f $EX_DIR/$e/$mod.rs ]]; then
			st="not started"
		else
			st=$(cat "$STATUS_DIR/$e" 2>/dev/null || echo "not checked")
		fi
		printf '%-22s %-14s %s\n' "$e" "$st" "$(conf "$e" title)"
	done
	echo "make exercise N=1 starts the first; docs/exercises.md says what each teaches."
}

# report VARIANT LOG CASES SHOWN: what the VM said of VARIANT (its console in LOG), as a learner
# reads it: each case passed, failed or stuck, with the kernel's words, the cases not run, and
# whether the VM was stopped. Sets R_PASSED (cases passed) and R_OK (1: all passed, run ended).
report() {
	local v=$1 log=$2 cases=$3 line c seen=" " failed=0 total
	R_PASSED=0
	total=$(wc -w <<<"$cases")
	while IFS= read -r line; do
		case $line in
		"ok "*)
			printf '  passed  %s\n' "${line#ok }"
			seen+=" ${line#ok } "
			R_PASSED=$((R_PASSED + 1))
			;;
		"not ok "*)
			line=${line#not ok }
			printf '  FAILED  %s\n' "$line"
			seen+=" ${line%%:*} "
			failed=1
			;;
		"stuck "*)
			line=${line#stuck }
			printf '  STUCK   %s\n' "$line"
			seen+=" ${line%%:*} "
			failed=1
			;;
		"task "* | "stack: "* | "kernel: "*) printf '          %s\n' "$line" ;;
		esac
	done < <(sed -n "s/^exercise: $v //p" "$log" | tr -d '\r' | learner_words "$4")
	for c in $cases; do
		[[ $seen == *" $c "* ]] || printf '  -       %s (not run: a run ends at its first failure)\n' "$c"
	done
	if ! grep -q "^exercise: $v done" "$log"; then
		failed=1
		grep -q "^exercise: $v stuck" "$log" ||
			{ echo "  the VM ended before the cases did; its last lines:"; grep -v '^\[' "$log" | tail -n 8 | sed 's/^/    /'; }
		echo "  (the VM was stopped; the next run boots a fresh one; console: ${log#"$TOP_DIR"/})"
	fi
	R_OK=0
	((failed == 0 && R_PASSED == total)) && R_OK=1
	return 0
}

cmd_run() {
	local e mod work cases t0 out n total hint
	e=$(resolve "${N:?usage: make exercise N=<number>}")
	mod=$(conf "$e" module)
	work=$EX_DIR/$e/$mod.rs
	cases=$(conf "$e" cases)
	mkdir -p "$STATUS_DIR"
	if [[ ${SOLUTION:-0} == 1 ]]; then
		local mine=$work
		[[ -f $mine ]] || mine=$EX_DIR/$e/start.rs
		echo "==> the reference solution of $e, as a diff against ${mine#"$TOP_DIR"/}"
		diff -u --label "yours: ${mine#"$TOP_DIR"/}" --label "reference: exercises/$e/solution.rs" \
			"$mine" "$EX_DIR/$e/solution.rs" || true
		return 0
	fi
	if [[ ${RESET:-0} == 1 && -f $work ]]; then
		local bak stamp i=1
		stamp=$work.$(date +%Y%m%d-%H%M%S)
		bak=$stamp.bak
		# Two resets in one second: a backup is never overwritten.
		while [[ -e $bak ]]; do
			i=$((i + 1))
			bak=$stamp.$i.bak
		done
		mv -n "$work" "$bak"
		rm -f "$STATUS_DIR/$e" "$EX_BUILD/hint-$e"
		echo "==> starting over: your file is kept as ${bak#"$TOP_DIR"/}"
	fi
	if [[ ! -f $work ]]; then
		cp "$EX_DIR/$e/start.rs" "$work"
		echo "==> your file: exercises/$e/$mod.rs (from start.rs): fill in the bodies marked 'Your code'; exercises/$e/README.md says what to build"
	fi
	t0=$SECONDS
	need_kernel
	echo "==> $e: building exercises/$e/$mod.rs"
	if ! build_variant "$work" "$mod" "$EX_BUILD/mine"; then
		echo "$mod.rs does not build; the compiler's first error:"
		first_error "$EX_BUILD/mine/build.log" "$mod" "exercises/$e/$mod.rs" | sed 's/^/    /'
		echo failing >"$STATUS_DIR/$e"
		return 1
	fi
	local stg=$EX_BUILD/vm
	rm -rf "$stg"
	mkdir -p "$stg"
	stage "$stg" mine "$EX_BUILD/mine" "$mod" "$cases"
	echo "==> booting the VM, running the cases of $e: $cases"
	vm_grade "$stg" 150 "$EX_BUILD/run" || true
	out=$EX_BUILD/run.log
	total=$(wc -w <<<"$cases")
	report mine "$out" "$cases" "exercises/$e/$mod.rs"
	n=$R_PASSED
	local waited=
	((VM_WAIT == 0)) || waited=" (and $VM_WAIT s waiting for another VM)"
	echo "==> $e: $n of $total cases passed, checked in $((SECONDS - t0 - VM_WAIT)) s$waited"
	if ((R_OK)); then
		echo passing >"$STATUS_DIR/$e"
		echo "==> $e passes. Compare with the reference: make exercise N=${N} SOLUTION=1"
		return 0
	fi
	echo failing >"$STATUS_DIR/$e"
	local k
	k=$(cat "$EX_BUILD/hint-$e" 2>/dev/null || echo 0)
	hint=$(hints "$e" | sed -n "$((k + 1))p")
	if [[ -n $hint ]]; then
		echo "hint $((k + 1)): $hint"
		echo $((k + 1)) >"$EX_BUILD/hint-$e"
	else
		echo "no more hints: make exercise N=${N} SOLUTION=1 shows the reference"
	fi
	return 1
}

# check_build_one SRC MODULE OUT STRICT: build one variant for `check` (run by xargs).
check_build_one() {
	local extra=()
	[[ $4 == 1 ]] && extra=(CLIPPY=1 W=1)
	build_variant "$1" "$2" "$3" "${extra[@]}" || true
}

cmd_check() {
	local t0=$SECONDS e mod cases p w v expect jobs=() bad=0 stg=$EX_BUILD/check-vm waited=0
	local stuck=() shown fe
	need_kernel
	build_probe
	# The probe is userspace Rust outside any crate: rustfmt and clippy by hand.
	rustfmt --check --edition 2021 "$TOOLS_DIR/exercise/probe.rs" ||
		{ echo "FAIL tools/exercise/probe.rs is not rustfmt clean"; bad=1; }
	quiet clippy-driver --edition 2021 -D warnings -o "$EX_BUILD/probe-clippy" "$TOOLS_DIR/exercise/probe.rs" ||
		{ echo "FAIL clippy -D warnings: tools/exercise/probe.rs"; bad=1; }
	rm -rf "$EX_BUILD/check" "$stg" "$EX_BUILD/check-stuck"
	mkdir -p "$EX_BUILD/check/src" "$stg"
	: >"$stg/list"
	# Every variant: its source, its module, where it builds, whether strict.
	for e in $(ex_list); do
		mod=$(conf "$e" module)
		for v in start solution; do
			jobs+=("$EX_DIR/$e/$v.rs" "$mod" "$EX_BUILD/check/$e.$v" "$([[ $v == solution ]] && echo 1 || echo 0)")
		done
		for p in "$EX_DIR/$e"/wrong/*.patch; do
			w=$(basename "$p" .patch)
			patch --quiet -o "$EX_BUILD/check/src/$e.$w.rs" "$EX_DIR/$e/solution.rs" <"$p" ||
				{ echo "FAIL $e/wrong/$w.patch does not apply to solution.rs"; bad=1; continue; }
			jobs+=("$EX_BUILD/check/src/$e.$w.rs" "$mod" "$EX_BUILD/check/$e.wrong-$w" 0)
		done
	done
	step "exercises: building $((${#jobs[@]} / 4)) variants (starting files, references, wrong solutions)"
	export -f build_variant check_build_one
	export KDIR TOP_DIR
	printf '%s\0' "${jobs[@]}" | xargs -0 -n 4 -P 2 bash -c 'check_build_one "$@"' _
	done_step
	for e in $(ex_list); do
		mod=$(conf "$e" module)
		cases=$(conf "$e" cases)
		for v in start solution; do
			if [[ ! -f $EX_BUILD/check/$e.$v/$mod.ko ]]; then
				echo "FAIL $e/$v.rs does not build:"
				first_error "$EX_BUILD/check/$e.$v/build.log" "$mod" "exercises/$e/$v.rs" | sed 's/^/    /'
				bad=1
				continue
			fi
			if [[ $v == solution ]] && grep -qiE '(^|[^a-z])warning' "$EX_BUILD/check/$e.$v/build.log"; then
				echo "FAIL $e/solution.rs has warnings (CLIPPY=1 W=1):"
				grep -iE -A6 '(^|[^a-z])warning' "$EX_BUILD/check/$e.$v/build.log" | sed -n '1,20s/^/    /p'
				bad=1
			fi
			stage "$stg" "$e.$v" "$EX_BUILD/check/$e.$v" "$mod" "$cases"
		done
		for p in "$EX_DIR/$e"/wrong/*.patch; do
			w=$(basename "$p" .patch)
			v=$EX_BUILD/check/$e.wrong-$w
			expect=$(sed -n 's/^Expect-build: //p' "$p")
			if [[ -n $expect ]]; then
				if [[ -f $v/$mod.ko ]]; then
					echo "FAIL $e/wrong/$w.patch builds, and must not: $expect"
					bad=1
				fi
				# What `make exercise` shows a learner: the first error, at their file and line.
				shown=exercises/$e/$mod.rs
				fe=$(first_error "$v/build.log" "$mod" "$shown")
				if [[ $fe == *"$expect"* && $fe =~ "--> $shown:"[0-9]+:[0-9]+ ]]; then
					echo "ok   $e/wrong/$w.patch does not build: ${fe%%$'\n'*} ${BASH_REMATCH[0]}"
				else
					echo "FAIL $e/wrong/$w.patch does not build, but its first error shown is not '$expect' at --> $shown:LINE:COL:"
					printf '%s\n' "$fe" | sed 's/^/    /'
					bad=1
				fi
				continue
			fi
			if [[ ! -f $v/$mod.ko ]]; then
				echo "FAIL $e/wrong/$w.patch does not build, and must:"
				first_error "$v/build.log" "$mod" "$w" | sed 's/^/    /'
				bad=1
				continue
			fi
			if grep -q '^Expect-stuck: ' "$p"; then
				# It ends the VM it runs in: a VM of its own.
				stage "$EX_BUILD/check-stuck/$e.wrong-$w" "$e.wrong-$w" "$v" "$mod" "$cases"
				stuck+=("$e.wrong-$w")
				continue
			fi
			stage "$stg" "$e.wrong-$w" "$v" "$mod" "$cases"
		done
	done
	# A learner's module that oopses, sleeps past every limit or cannot be unloaded: `make
	# exercise` must name the case and what the kernel said, and stop the VM; the VMs after it
	# (the next, and the one that grades every other variant) must start clean.
	local sv got kern report
	for sv in "${stuck[@]}"; do
		e=${sv%%.wrong-*}
		w=${sv#*.wrong-}
		p=$EX_DIR/$e/wrong/$w.patch
		mod=$(conf "$e" module)
		step "exercises: $sv, in a VM of its own (it stops the VM)"
		vm_grade "$EX_BUILD/check-stuck/$sv" 120 "$EX_BUILD/check-stuck/$sv/vm" || true
		done_step
		waited=$((waited + VM_WAIT))
		report "$sv" "$EX_BUILD/check-stuck/$sv/vm.log" "$(conf "$e" cases)" "exercises/$e/$mod.rs" \
			>"$EX_BUILD/check-stuck/$sv/report"
		report=$EX_BUILD/check-stuck/$sv/report
		expect=$(sed -n 's/^Expect-stuck: //p' "$p")
		kern=$(sed -n 's/^Expect-kernel: //p' "$p")
		got=$(grep -m1 '^  STUCK   ' "$report" | sed 's/^  STUCK   //')
		if [[ -z $got || $got != *"$expect"* ]]; then
			echo "FAIL $sv: the grader did not print 'STUCK CASE: $expect'; it printed:"
			sed 's/^/    /' "$report"
			bad=1
		elif grep -qF -- "  -       ${got%%:*} (not run" "$report"; then
			echo "FAIL $sv: the grader lists the stuck case ${got%%:*} as not run; it printed:"
			sed 's/^/    /' "$report"
			bad=1
		elif [[ -n $kern && $(grep -v '^  STUCK' "$report") != *"$kern"* ]]; then
			echo "FAIL $sv: the grader did not show what the kernel said ('$kern'); it printed:"
			sed 's/^/    /' "$report"
			bad=1
		elif ! grep -q '^  (the VM was stopped; the next run boots a fresh one' "$report" ||
			! grep -q '^complete-dev-init: exit status 1' "$EX_BUILD/check-stuck/$sv/vm.log"; then
			echo "FAIL $sv: the VM was not stopped by the grader (no exit status 1 on its console); it printed:"
			sed 's/^/    /' "$report"
			bad=1
		else
			echo "ok   $sv stops the VM: $got"
			grep -m1 -F -- "$kern" "$report" | sed 's/^ */       /'
		fi
	done
	step "exercises: one VM grades $(wc -l <"$stg/list") variants"
	vm_grade "$stg" 900 "$EX_BUILD/check" || true
	done_step
	waited=$((waited + VM_WAIT))
	local log=$EX_BUILD/check.log got variants
	mapfile -t variants <"$stg/list"
	for v in "${variants[@]}"; do
		got=$(sed -n "s/^exercise: $v not ok //p" "$log" | tr -d "\r" | sed -n 1p)
		if ! grep -q "^exercise: $v done" "$log"; then
			echo "FAIL $v: not graded to its end (the VM's console: ${log#"$TOP_DIR"/})"
			grep "^exercise: $v " "$log" | tail -n 5 | sed 's/^/    /'
			bad=1
			continue
		fi
		case $v in
		*.solution)
			if [[ -n $got ]]; then
				echo "FAIL $v: the reference fails: $got"
				bad=1
			else
				echo "ok   $v: passes all $(grep -c "^exercise: $v ok " "$log") cases"
			fi
			;;
		*.start)
			if [[ -z $got ]]; then
				echo "FAIL $v: the starting file passes"
				bad=1
			else
				echo "ok   $v fails: $got"
			fi
			;;
		*)
			e=${v%%.wrong-*}
			w=${v#*.wrong-}
			expect=$(sed -n 's/^Expect: //p' "$EX_DIR/$e/wrong/$w.patch")
			if [[ -z $got ]]; then
				echo "FAIL $v passes, and must fail with: $expect"
				bad=1
			elif [[ -z $expect || $got != *"$expect"* ]]; then
				echo "FAIL $v fails, but not with '$expect': $got"
				bad=1
			else
				echo "ok   $v fails: $got"
			fi
			;;
		esac
	done
	echo "exercises: checked in $((SECONDS - t0 - waited)) s, besides $waited s waiting for another VM"
	return "$bad"
}

# One run at a time in a clone: two would share build/exercise/ (the builds, the VM's staging).
one_at_a_time() {
	mkdir -p "$EX_BUILD"
	exec 9>"$EX_BUILD/.lock"
	flock -n 9 || die "another 'make exercise' or exercise check runs in this clone: let it end first"
}

case ${1:-list} in
run | check) one_at_a_time ;;
esac
case ${1:-list} in
list) cmd_list ;;
run) cmd_run ;;
check) cmd_check ;;
*) die "usage: exercise.sh list | run | check (make exercise [N=n] [RESET=1] [SOLUTION=1])" ;;
esac
