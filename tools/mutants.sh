#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make mutants`: the project's own mutation check (docs/testing.md, "Mutation check").
#
# Usage: mutants.sh [--check-apply | --list | --diff | --build-only] [ID...]
#   (none)         every mutant of tools/tests/mutants.txt, or the IDs given (also MUTANTS=id,id)
#   --check-apply  only check that every mutant applies: each hunk's original text occurs
#                  exactly once in its file, and its cases: are kselftest cases (make check runs
#                  this; no build, no VM)
#   --list         print each mutant's id, file and bug (and its kernel: and cases: if given)
#   --diff         print the diff each mutant (or each ID given) makes to this tree
#   --build-only   build each mutant (or each ID given) against its kernel, no VM: which ones
#                  are invalid
#
# For each mutant: a scratch copy of the clone's tracked files (as they are in the working tree)
# under $MUTANTS_DIR/tree (tree-sanitize for a mutant of that kernel, see kernel: below) gets the
# one mutation; the modules are built there against the test kernel (incrementally: the copy
# starts from a snapshot of the unmutated build, so only the modules whose sources changed are
# rebuilt); then the VM check job of this clone's tools
# (tools/vm-run.sh check: KUnit, smoke, kselftest, kernel log) boots with those modules
# (MODULE_DIR) and the kselftest built once from this clone. The real tree is never changed.
#
# A mutant's entry may name the kernel its VM boots, `kernel: sanitize` (default `debug`, the test
# kernel): the sanitizer kernel of `make check SANITIZE=1` (KVARIANT=sanitize: KASAN, kmemleak),
# for a bug only it sees, such as a leak its final kmemleak scan reports. Such a mutant is built
# in a scratch copy of its own against that kernel, whose VM gets check.sh's sanitizer arguments
# (SANITIZE_VM_ARGS of lib.sh: cdsanitize=1, a longer kselftest timeout, no5lvl; no soak). And
# `cases: a,b` runs only those kselftest cases in its VM (cdksft_cases=), to keep a slow kernel's
# VM short; MUTANTS_CASES, if set, overrides it.
#
# A mutant is KILLED if the job fails (a `not ok` of the guest check or of a kselftest case, an
# error report in the kernel log, a non-zero status, a timeout); the VM is stopped at the first
# such line of its console log. It SURVIVED if the job passes. A mutant that does not build is
# INVALID (an error of the list, not a kill). The unmutated tree runs first, once on each kernel
# that a selected mutant names, with the cases of that kernel's selected mutants (all of them if
# one names none): if it fails, every kill would mean nothing, so nothing else runs
# (MUTANTS_BASELINE=0 skips it).
#
# Every VM runs under `flock /tmp/complete-dev-vm.lock`, one VM per hold. The next mutant is
# built while the previous one's VM runs.
#
# A VM whose console stays silent for MUTANT_STALL seconds (default 240, longer than any case
# takes; 600 on the sanitizer kernel) is stopped too: the mutant hung a case, which the
# kselftest runner's timeout would fail.
#
# Environment: MUTANTS (ids, comma- or space-separated), MUTANT_VM_TIMEOUT (seconds per VM;
# default three times the unmutated run's on the same kernel, at least 300, else 900, 3600 on
# the sanitizer kernel), MUTANTS_BASELINE (1),
# MUTANTS_SEED (a seed for the kselftest's random cases, `model` and the soak, passed to every
# VM as COMPLETE_TEST_SEED=; default: each run draws its own from the clock and prints it),
# MUTANTS_CASES (kselftest case names, comma-separated: each VM runs only those, as
# cdksft_cases=; for trying new cases on their mutants, not for the score),
# KDIR (the debug kernel; default: the test kernel of `make kernel`; a sanitize mutant always
# uses the cached sanitizer kernel, built first if missing), BUILD_DIR, MUTANTS_VM_LOCK (the
# lock file, default /tmp/complete-dev-vm.lock: two runs with different files run side by side).
# Output: one line per mutant (id, killed/survived/invalid, by what, seconds), then the score;
# the same lines are added to $MUTANTS_DIR/results.txt, the logs go to $MUTANTS_DIR/run/ID/.
# MUTANTS_DIR is outside the clone (default: the cache, one directory per clone): a module build
# of the clone (`make check`'s strict build starts with `make M=<clone> clean`, which deletes
# every *.ko below the clone) must not delete the mutants' modules under a running VM.
source "$(dirname "$0")/lib.sh"

LIST=$TOOLS_DIR/tests/mutants.txt
VM_LOCK=${MUTANTS_VM_LOCK:-/tmp/complete-dev-vm.lock}

# --- The list -----------------------------------------------------------------------------------

# The kernels a mutant can name (kernel:), each a KVARIANT of tools/kernel-build.sh: the VM
# arguments, default VM timeout and console silence limit of each.
K_NAMES=(debug sanitize)
declare -A K_ARGS=([debug]='' [sanitize]="${SANITIZE_VM_ARGS[*]}")
declare -A K_TIMEOUT=([debug]=900 [sanitize]=3600)
declare -A K_STALL=([debug]=240 [sanitize]=600)

ids=()
declare -A m_file m_bug m_hunks m_kernel m_cases
# m_hunks[ID] = number of hunks; hunk K of ID: h_orig[ID.K], h_repl[ID.K]
declare -A h_orig h_repl

# parse_list: read $LIST into the arrays above; die on any malformed line.
parse_list() {
	local line n=0 id='' k=0 side='' text
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		case $line in
		'[ '*) die "$LIST:$n: an id has no spaces: $line" ;;
		'['*']')
			id=${line#[}
			id=${id%]}
			[[ $id =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$LIST:$n: bad id '$id' (lowercase, digits, -)"
			[[ -z ${m_hunks[$id]+x} ]] || die "$LIST:$n: duplicate id $id"
			ids+=("$id")
			m_hunks[$id]=0
			k=0
			side=''
			;;
		'file: '*)
			[[ -n $id ]] || die "$LIST:$n: file: outside a mutant"
			m_file[$id]=${line#file: }
			;;
		'bug: '*)
			[[ -n $id ]] || die "$LIST:$n: bug: outside a mutant"
			m_bug[$id]=${line#bug: }
			;;
		'kernel: '*)
			[[ -n $id ]] || die "$LIST:$n: kernel: outside a mutant"
			[[ -z ${m_kernel[$id]+x} ]] || die "$LIST:$n: mutant $id has a second kernel: line"
			text=${line#kernel: }
			[[ -n ${K_ARGS[$text]+x} ]] ||
				die "$LIST:$n: mutant $id: unknown kernel '$text' (want one of: ${K_NAMES[*]})"
			m_kernel[$id]=$text
			;;
		'cases: '*)
			[[ -n $id ]] || die "$LIST:$n: cases: outside a mutant"
			[[ -z ${m_cases[$id]+x} ]] || die "$LIST:$n: mutant $id has a second cases: line"
			text=${line#cases: }
			[[ $text =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] ||
				die "$LIST:$n: mutant $id: cases: wants kselftest case names separated by commas, no spaces (got '$text')"
			m_cases[$id]=$text
			;;
		'@@') side='' ;;
		- | '- '* | + | '+ '*)
			[[ -n $id ]] || die "$LIST:$n: a hunk line outside a mutant"
			text=${line:2}
			if [[ ${line:0:1} == - ]]; then
				if [[ $side != - ]]; then
					k=$((k + 1))
					m_hunks[$id]=$k
					h_orig[$id.$k]=$text
					h_repl[$id.$k]=''
				else
					h_orig[$id.$k]+=$'\n'$text
				fi
				side=-
			else
				[[ $side == - || $side == + ]] || die "$LIST:$n: a + line with no - line before it"
				if [[ $side == - ]]; then
					h_repl[$id.$k]=$text
				else
					h_repl[$id.$k]+=$'\n'$text
				fi
				side=+
			fi
			;;
		'' | '#'*) id='' ;;
		*) die "$LIST:$n: not a mutant line (want [id], file:, bug:, kernel:, cases:, - , + , @@): $line" ;;
		esac
		# A blank or comment line ends a mutant: hunk lines after it belong to no mutant.
	done <"$LIST"
	local i
	for i in "${ids[@]}"; do
		[[ -n ${m_file[$i]:-} && -n ${m_bug[$i]:-} ]] || die "$LIST: mutant $i lacks file: or bug:"
		[[ ${m_hunks[$i]} -gt 0 ]] || die "$LIST: mutant $i has no hunk"
		m_kernel[$i]=${m_kernel[$i]:-debug}
	done
}

# options ID: the mutant's kernel: and cases:, if not the default, as " (kernel: K, cases: C)".
options() {
	local o=''
	[[ ${m_kernel[$1]} == debug ]] || o="kernel: ${m_kernel[$1]}"
	[[ -z ${m_cases[$1]:-} ]] || o+="${o:+, }cases: ${m_cases[$1]}"
	[[ -z $o ]] || printf ' (%s)' "$o"
}

# check_cases ID: every case of the mutant's cases: is a case of the kselftest.
check_cases() {
	local c known
	[[ -n ${m_cases[$1]:-} ]] || return 0
	known=$(tr -d ' \n' <"$TOP_DIR/userspace-test/src/cases/mod.rs" |
		grep -oE 'case\("[a-z0-9_]+"' | cut -d'"' -f2)
	for c in ${m_cases[$1]//,/ }; do
		grep -qx "$c" <<<"$known" || {
			echo "mutant $1: cases: $c is not a kselftest case (userspace-test/src/cases/mod.rs)" >&2
			return 1
		}
	done
}

# mutate ID ROOT: apply mutant ID to its file under ROOT (in place). Fails, saying why, unless
# each hunk's original text occurs exactly once (in the file as the earlier hunks left it) and
# the result differs from the original.
mutate() {
	local id=$1 root=$2 f k orig repl content rest n nh=${m_hunks[$1]}
	f=$root/${m_file[$id]}
	[[ -f $f ]] || { echo "mutant $id: no file ${m_file[$id]}" >&2; return 1; }
	# The x keeps the file's trailing newlines through the command substitution.
	content=$(
		cat "$f"
		printf x
	)
	content=${content%x}
	for ((k = 1; k <= nh; k++)); do
		orig=${h_orig[$id.$k]}
		repl=${h_repl[$id.$k]}
		[[ -n $orig ]] || { echo "mutant $id: hunk $k has an empty original" >&2; return 1; }
		[[ $orig != "$repl" ]] || { echo "mutant $id: hunk $k changes nothing" >&2; return 1; }
		rest=${content//"$orig"/}
		n=$(((${#content} - ${#rest}) / ${#orig}))
		if ((n != 1)); then
			printf 'mutant %s: hunk %d: the original text occurs %d times in %s, not once:\n%s\n' \
				"$id" "$k" "$n" "${m_file[$id]}" "$orig" >&2
			return 1
		fi
		content=${content/"$orig"/"$repl"}
	done
	printf '%s' "$content" >"$f"
}

parse_list

if [[ ${1:-} == --list ]]; then
	for id in "${ids[@]}"; do
		printf '%-38s %-20s %s%s\n' "$id" "${m_file[$id]}" "${m_bug[$id]}" "$(options "$id")"
	done
	exit 0
fi

if [[ ${1:-} == --check-apply || ${1:-} == --diff ]]; then
	mode=$1
	shift
	sel=("${ids[@]}")
	(($# == 0)) || sel=("$@")
	# Each mutant on a copy of its one file, in a temporary tree.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	bad=0
	for id in "${sel[@]}"; do
		[[ -n ${m_hunks[$id]+x} ]] || die "no mutant '$id' in $LIST (mutants.sh --list)"
		f=${m_file[$id]}
		mkdir -p "$tmp/$id/$(dirname "$f")"
		[[ ! -f $TOP_DIR/$f ]] || cp "$TOP_DIR/$f" "$tmp/$id/$f"
		if ! mutate "$id" "$tmp/$id" || ! check_cases "$id"; then
			bad=$((bad + 1))
		elif [[ $mode == --diff ]]; then
			echo "### $id: ${m_bug[$id]}$(options "$id")"
			diff -u --label "a/$f" --label "b/$f" "$TOP_DIR/$f" "$tmp/$id/$f" || true
		fi
	done
	((bad == 0)) ||
		die "$bad of ${#sel[@]} mutants do not apply to this tree, or name no kselftest case: fix $LIST"
	[[ $mode == --diff ]] ||
		echo "mutants: all ${#sel[@]} mutants of tools/tests/mutants.txt apply, each hunk exactly once; their cases: exist"
	exit 0
fi

# --- Which mutants -------------------------------------------------------------------------------

build_only=0
if [[ ${1:-} == --build-only ]]; then
	build_only=1
	shift
fi
want=()
if (($#)); then
	want=("$@")
elif [[ -n ${MUTANTS:-} ]]; then
	read -ra want <<<"${MUTANTS//,/ }"
fi
if ((${#want[@]})); then
	for id in "${want[@]}"; do
		[[ -n ${m_hunks[$id]+x} ]] || die "no mutant '$id' in $LIST (mutants.sh --list)"
	done
else
	want=("${ids[@]}")
fi

# --- Building ------------------------------------------------------------------------------------

[[ $KERNEL != debian ]] ||
	die "make mutants runs on the project's test kernel (KUnit, lockdep), not KERNEL=debian"
W=${MUTANTS_DIR:-$CACHE_DIR/mutants/$(basename "$TOP_DIR")-$(printf '%s' "$TOP_DIR" | sha256sum | cut -c1-8)}
case $W/ in "$TOP_DIR"/*) die "MUTANTS_DIR=$W is inside the clone: a module build there would delete its modules" ;; esac
echo "mutants: working in $W" >&2
vmdir=$W/vm        # the VM runs' BUILD_DIR: initramfs, kselftest, bin
results=$W/results.txt
mkdir -p "$W/run"

# The kernels the selected mutants name, in the order of K_NAMES.
kernels=()
for k in "${K_NAMES[@]}"; do
	for id in "${want[@]}"; do
		if [[ ${m_kernel[$id]} == "$k" ]]; then
			kernels+=("$k")
			break
		fi
	done
done

# Per kernel K: its build tree (KDIRS), the scratch copy the mutants are built in (TREE, a fixed
# path: incremental builds), the unmutated copy after its build (BASE), the run of the
# unmutated tree (BASERUN, under run/).
declare -A KDIRS TREE BASE BASERUN
for k in "${kernels[@]}"; do
	if [[ $k == debug ]]; then
		KDIRS[$k]=$(ensure_kernel)
		TREE[$k]=$W/tree BASE[$k]=$W/base BASERUN[$k]=baseline
	else
		# The cached kernel of that variant, whatever KDIR says (KDIR is the debug kernel's).
		KDIRS[$k]=$(
			unset KDIR
			KVARIANT=$k ensure_kernel
		)
		TREE[$k]=$W/tree-$k BASE[$k]=$W/base-$k BASERUN[$k]=baseline-$k
	fi
	# The kernel's .config has what the check job needs, before anything is built for it.
	"$TOOLS_DIR/kdir-check.sh" check "${KDIRS[$k]}"
done

# build_in_tree K LOG: build the modules in TREE[K] against kernel K with its own module-build.sh.
build_in_tree() {
	nice -n 10 env -C "${TREE[$1]}" KDIR="${KDIRS[$1]}" BUILD_DIR="${TREE[$1]}-build" V=0 STRICT=0 \
		tools/module-build.sh >"$2" 2>&1
}

# save_modules K DIR: copy the modules the build left in TREE[K] to DIR (MODULE_DIR of a VM).
# Fails if a module the check job loads is missing.
save_modules() {
	local t=${TREE[$1]} k
	rm -rf "$2"
	mkdir -p "$2/ext/kunit"
	for k in complete_dev.ko complete_kthread.ko; do
		cp "$t/$k" "$2/" || return 1
	done
	shopt -s nullglob
	for k in "$t"/ext/kunit/*.ko; do cp "$k" "$2/ext/kunit/" || return 1; done
	shopt -u nullglob
}

for k in "${kernels[@]}"; do
	t=${TREE[$k]} d=$W/run/${BASERUN[$k]}
	step "mutants: copying the tracked files to $t and building the unmutated modules ($k kernel)"
	rm -rf "$t" "${BASE[$k]}"
	mkdir -p "$t" "$d"
	git -C "$TOP_DIR" ls-files -z |
		rsync -a --from0 --files-from=- --ignore-missing-args "$TOP_DIR/" "$t/"
	build_in_tree "$k" "$d/build.log" ||
		{ cat "$d/build.log" >&2; die "the unmutated tree does not build against the $k kernel (${KDIRS[$k]})"; }
	save_modules "$k" "$d/ko" || die "the unmutated build left no modules in $t"
	cp -a "$t" "${BASE[$k]}"
	done_step
done

# build_mutant ID: restore the snapshot of its kernel, apply ID, build; modules to run/ID/ko.
# Writes the build time to run/ID/build.secs; fails if the mutant does not apply or build.
build_mutant() {
	local id=$1 k=${m_kernel[$1]} d=$W/run/$1 t0=$SECONDS
	local t=${TREE[$k]}
	rm -rf "$d" "$t"
	mkdir -p "$d"
	cp -a "${BASE[$k]}" "$t"
	# A new mtime, later than the snapshot's objects: make rebuilds what includes the file.
	mutate "$id" "$t" 2>"$d/build.log" || return 1
	touch "$t/${m_file[$id]}"
	build_in_tree "$k" "$d/build.log" || return 1
	save_modules "$k" "$d/ko" 2>>"$d/build.log" || return 1
	echo $((SECONDS - t0)) >"$d/build.secs"
}

if ((build_only)); then
	bad=()
	for id in "${want[@]}"; do
		if build_mutant "$id"; then
			printf '%-38s builds (%ss)%s\n' "$id" "$(<"$W/run/$id/build.secs")" "$(options "$id")"
		else
			printf '%-38s INVALID: does not apply or build (%s)\n' "$id" "$W/run/$id/build.log"
			bad+=("$id")
		fi
	done
	((${#bad[@]} == 0)) || die "${#bad[@]} mutants do not build: ${bad[*]}"
	echo "mutants: all ${#want[@]} build"
	exit 0
fi

step "mutants: building the kselftest once (BUILD_DIR=$vmdir)"
BUILD_DIR=$vmdir "$TOOLS_DIR/userspace-build.sh" >"$W/kselftest-build.log" 2>&1 ||
	{ cat "$W/kselftest-build.log" >&2; die "the kselftest does not build"; }
done_step

# --- Running -------------------------------------------------------------------------------------

# The console lines that fail the job, as one ERE: a guest check part, a kselftest case (the
# runner prefixes the test's KTAP with "# "), the guest's non-zero exit status.
FAIL_ERE='^(vm-check: not ok |(# )*not ok [0-9]+ |complete-dev-init: exit status [1-9])'

# descendants PID: every process below PID.
descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# first_failure LOG: the first line of LOG that fails the job (as "N:TEXT"), if any.
first_failure() {
	local a b
	a=$(LC_ALL=C grep -nE -m1 "$FAIL_ERE" "$1" 2>/dev/null || true)
	b=$(log_errors "$1" 2>/dev/null | sed -n 1p || true)
	if [[ -n $a && -n $b ]]; then
		((${a%%:*} <= ${b%%:*})) && echo "$a" || echo "$b"
	else
		echo "${a:-$b}"
	fi
}

# why LINE: a short name for a failing console line.
why() {
	local t=${1#*:}
	t=${t//$'\r'/} # the serial console ends its lines with CR LF
	if [[ $t =~ ^vm-check:\ not\ ok\ ([^ ]+) ]]; then
		echo "vm-check ${BASH_REMATCH[1]}"
	elif [[ $t =~ ^(# )*not\ ok\ [0-9]+\ ([^ ]+) ]]; then
		echo "kselftest ${BASH_REMATCH[2]}"
	elif [[ $t == hang:* ]]; then
		echo "$t"
	elif [[ $t =~ exit\ status ]]; then
		echo "guest exit status"
	else
		t=${t#\[*\] }
		echo "kernel log: ${t:0:60}"
	fi
}

# start_vm RUN K [CASES]: boot the check job of run/RUN on kernel K in the background (under the
# VM lock), with only the kselftest CASES (comma-separated; MUTANTS_CASES overrides them); sets
# vm_pid and vm_stall.
start_vm() {
	local d=$W/run/$1 k=$2 cases=${MUTANTS_CASES:-${3:-}} args
	read -ra args <<<"${K_ARGS[$k]}"
	vm_stall=${MUTANT_STALL:-${K_STALL[$k]}}
	rm -f "$d/vm.log" "$d/vm.start" "$d/vm.out"
	(
		# shellcheck disable=SC2016 # $1 and $@ are the inner bash's
		flock "$VM_LOCK" env BUILD_DIR="$vmdir" KDIR="${KDIRS[$k]}" MODULE_DIR="$d/ko" VM_LOG="$d/vm.log" \
			VM_TIMEOUT="${vm_timeout[$k]}" VM_APPEND="${VM_APPEND:-} cdksft_direct=1${MUTANTS_SEED:+ COMPLETE_TEST_SEED=$MUTANTS_SEED}${cases:+ cdksft_cases=$cases}" bash -c 'date +%s >"$1"; shift; exec "$@"' _ "$d/vm.start" \
			"$TOOLS_DIR/vm-run.sh" check "${args[@]}" >"$d/vm.out" 2>&1
	) &
	vm_pid=$!
}

# stop_qemu: stop the QEMU of the VM started last (only that one: below our own flock).
stop_qemu() {
	local p
	[[ -n ${vm_pid:-} ]] || return 0
	for p in $(descendants "$vm_pid"); do
		if [[ $(ps -o comm= -p "$p" 2>/dev/null) == qemu-system* ]]; then
			kill "$p" 2>/dev/null || true
		fi
	done
}
# Interrupted: no VM of ours runs on, nor waits for the lock to start one.
stop_all() {
	local p
	[[ -n ${vm_pid:-} ]] || return 0
	for p in $(descendants "$vm_pid") "$vm_pid"; do
		kill "$p" 2>/dev/null || true
	done
}
trap 'stop_all; exit 130' INT TERM

# finish_vm ID: watch the VM of ID until it ends, stopping it at the first failing line; then
# classify. Sets verdict, reason, vm_secs.
finish_vm() {
	local id=$1 d=$W/run/$1 rc=0 f='' stopped=0 size=-1 now changed=$SECONDS last
	while kill -0 "$vm_pid" 2>/dev/null; do
		if ((!stopped)) && [[ -f $d/vm.log ]]; then
			f=$(first_failure "$d/vm.log")
			now=$(stat -c %s "$d/vm.log")
			((now == size)) || changed=$SECONDS
			size=$now
			if [[ -z $f ]] && ((SECONDS - changed >= vm_stall)); then
				# A hang: the kselftest runner's own timeout (600 s) would fail the job.
				last=$(grep -v '^\[ *[0-9]*\.[0-9]*\] ' "$d/vm.log" | sed -n '$p')
				f="0:hang: no console line for ${vm_stall}s after '${last:0:50}'"
			fi
			if [[ -n $f ]]; then
				# vm-run.sh then checks the log and exits.
				stop_qemu
				stopped=1
			fi
		fi
		sleep 1
	done
	wait "$vm_pid" || rc=$?
	vm_secs=0
	if [[ -f $d/vm.start ]]; then
		vm_secs=$(($(date +%s) - $(<"$d/vm.start")))
	fi
	[[ -n $f ]] || f=$(first_failure "$d/vm.log")
	if ((rc == 0)) && [[ -z $f ]]; then
		verdict=survived
		reason='(job passed)'
	elif [[ -n $f ]]; then
		verdict=killed
		reason="by $(why "$f")$( ((stopped)) && echo ', VM stopped there')"
	else
		verdict=killed
		reason="by vm-run: $(grep -m1 '^FAIL' "$d/vm.out" || echo "exit $rc")"
	fi
}

declare -A vm_timeout
for k in "${kernels[@]}"; do vm_timeout[$k]=${MUTANT_VM_TIMEOUT:-${K_TIMEOUT[$k]}}; done

# base_cases K: the cases the unmutated run on K needs: every case a selected mutant of K names;
# nothing (all cases) if one of them names none.
base_cases() {
	local id c all=()
	for id in "${want[@]}"; do
		[[ ${m_kernel[$id]} == "$1" ]] || continue
		[[ -n ${m_cases[$id]:-} ]] || return 0
		for c in ${m_cases[$id]//,/ }; do
			[[ " ${all[*]} " == *" $c "* ]] || all+=("$c")
		done
	done
	(
		IFS=,
		echo "${all[*]}"
	)
}

printf '# run of %s: %d mutants\n' "$(date '+%F %T')" "${#want[@]}" >>"$results"
if [[ ${MUTANTS_BASELINE:-1} == 1 ]]; then
	for k in "${kernels[@]}"; do
		b=${BASERUN[$k]}
		cases=${MUTANTS_CASES:-$(base_cases "$k")}
		on=''
		[[ $k == debug ]] || on=" on the $k kernel"
		[[ -z $cases ]] || on+=" (cases $cases)"
		step "mutants: the unmutated tree's check job$on (it must pass)"
		start_vm "$b" "$k" "$cases"
		finish_vm "$b"
		done_step
		if [[ $verdict != survived ]]; then
			echo "baseline: the unmutated tree fails the check job$on $reason (log: $W/run/$b/vm.log)" >&2
			die "fix the tree or the tests first: every mutant would be 'killed' by this failure"
		fi
		printf 'baseline: the unmutated tree passes%s in %ss\n' "$on" "$vm_secs" | tee -a "$results"
		[[ -n ${MUTANT_VM_TIMEOUT:-} ]] || vm_timeout[$k]=$((vm_secs * 3 > 300 ? vm_secs * 3 : 300))
	done
fi

killed=0
survived=0
invalid=0
survivors=()
invalids=()
# report ID VERDICT REASON SECONDS
report() {
	printf '%-38s %-8s %-52s %5ss\n' "$1" "$2" "$3" "$4" | tee -a "$results"
}

timeouts=''
for k in "${kernels[@]}"; do timeouts+="${timeouts:+, }${vm_timeout[$k]}s"$([[ $k == debug ]] || echo " ($k)"); done
echo "mutants: ${#want[@]} to run, VM timeout $timeouts; logs in $W/run/ID/" >&2
# Pipeline: build mutant i+1 while the VM of mutant i runs.
running=''
built_ok=0
i=0
while ((i < ${#want[@]})) || [[ -n $running ]]; do
	next=''
	if ((i < ${#want[@]})); then
		next=${want[$i]}
		i=$((i + 1))
		if build_mutant "$next"; then
			built_ok=1
		else
			built_ok=0
		fi
	fi
	if [[ -n $running ]]; then
		finish_vm "$running"
		secs=$(($(<"$W/run/$running/build.secs") + vm_secs))
		case $verdict in
		killed) killed=$((killed + 1)) ;;
		survived) survived=$((survived + 1)) survivors+=("$running") ;;
		esac
		report "$running" "$verdict" "$reason" "$secs"
		running=''
	fi
	if [[ -n $next ]]; then
		if ((built_ok)); then
			start_vm "$next" "${m_kernel[$next]}" "${m_cases[$next]:-}"
			running=$next
		else
			invalid=$((invalid + 1))
			invalids+=("$next")
			report "$next" invalid "(does not apply or build: run/$next/build.log)" 0
			grep -E 'error|mutant' "$W/run/$next/build.log" | sed -n 's/^/    /; 1,8p' >&2 || true
		fi
	fi
done

total=$((killed + survived))
pct=0
((total == 0)) || pct=$((100 * killed / total))
{
	echo
	echo "score: $killed/$total killed ($pct%)$( ((invalid == 0)) || echo ", $invalid invalid")"
	((${#survivors[@]} == 0)) || echo "survivors: ${survivors[*]}"
	((${#invalids[@]} == 0)) || echo "invalid (fix them in tools/tests/mutants.txt): ${invalids[*]}"
} | tee -a "$results"
((invalid == 0))
