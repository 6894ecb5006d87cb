#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Which kernel series complete-dev builds on, as declared in tools/kernels.
#
#   kernel-series.sh verdict X.Y   print "supported", or why X.Y is refused (exit 1)
#   kernel-series.sh kdir KDIR     the same for a kernel tree; a refusal is an error
#   kernel-series.sh supported     the supported series, newest first
#   kernel-series.sh pick          the series to fetch, from `apt-cache madison`
#                                  output on stdin; KSERIES= forces one; notes on stderr
#   kernel-series.sh table         README's "Supported kernels" table
#
# KERNELS_FILE= reads another declaration (the tests do). The Kbuild guard runs
# `verdict`, so it must stay quick and must not write anything.
source "$(dirname "$0")/lib.sh"

KERNELS_FILE=${KERNELS_FILE:-$TOOLS_DIR/kernels}

# rows: the declaration, checked, one "series|status|debian|reason|own" a line.
rows() {
	[[ -r $KERNELS_FILE ]] || die "cannot read $KERNELS_FILE, the declaration of supported kernels"
	awk -F'|' -v file="$KERNELS_FILE" '
		/^[[:space:]]*(#|$)/ { next }
		{
			for (i = 1; i <= 5; i++) gsub(/^[[:space:]]+|[[:space:]]+$/, "", $i)
			if ((NF != 4 && NF != 5) || $1 !~ /^([0-9]+\.[0-9]+|older)$/ ||
			    $2 !~ /^(supported|refused)$/ || ($2 == "refused") != ($4 != "")) {
				printf "error: %s:%d: expected \"X.Y|supported|debian|[|own]\" or \"X.Y|refused|debian|reason[|own]\"\n", file, NR > "/dev/stderr"
				bad = 1
				exit
			}
			print $1 "|" $2 "|" $3 "|" $4 "|" $5
		}
		END { exit bad }' "$KERNELS_FILE" || die "fix the declaration of supported kernels in $KERNELS_FILE"
}

# newer A B: A is a later series than B.
newer() {
	[[ $1 != "$2" && $(printf '%s\n' "$1" "$2" | sort -V | tail -n1) == "$1" ]]
}

# verdict X.Y: "supported" (exit 0), or one sentence saying why not (exit 1).
verdict() {
	local series=$1 decl newest row
	[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "'$series' is not a kernel series (X.Y, e.g. 7.3)"
	decl=$(rows)
	newest=$(awk -F'|' '$1 != "older" { print $1; exit }' <<<"$decl")
	row=$(awk -F'|' -v s="$series" '$1 == s' <<<"$decl")
	if [[ -z $row ]] && newer "$series" "$newest"; then
		printf 'Linux %s is not yet declared supported (the newest declared series is %s): to declare it, add "%s | supported | <where Debian ships it> |" to tools/kernels and keep that line only if "make check KSERIES=%s" (or "make check KDIR=<a %s build tree>") passes\n' \
			"$series" "$newest" "$series" "$series" "$series"
		return 1
	fi
	[[ -n $row ]] || row=$(awk -F'|' '$1 == "older"' <<<"$decl")
	[[ -n $row ]] || die "tools/kernels declares nothing for $series and has no \"older\" line"
	IFS='|' read -r _ status _ reason _ <<<"$row"
	if [[ $status == supported ]]; then
		echo supported
		return 0
	fi
	printf 'Linux %s is refused: %s\n' "$series" "$reason"
	return 1
}

# kdir_series KDIR: the X.Y of a kernel tree, from its Makefile (following the
# `include` of an O= build directory) or from include/config/kernel.release.
kdir_series() {
	local kdir=$1 mk=$1/Makefile v='' p='' inc=''
	if [[ -r $mk ]]; then
		v=$(awk '/^VERSION *=/ { print $3; exit }' "$mk")
		p=$(awk '/^PATCHLEVEL *=/ { print $3; exit }' "$mk")
		inc=$(awk '/^include / { print $2; exit }' "$mk")
		if [[ -z $v && -n $inc && -r $inc ]]; then
			v=$(awk '/^VERSION *=/ { print $3; exit }' "$inc")
			p=$(awk '/^PATCHLEVEL *=/ { print $3; exit }' "$inc")
		fi
	fi
	if [[ -z $v || -z $p ]] && [[ -r $kdir/include/config/kernel.release ]]; then
		IFS=. read -r v p _ <"$kdir/include/config/kernel.release"
	fi
	[[ $v =~ ^[0-9]+$ && $p =~ ^[0-9]+$ ]] ||
		die "KDIR=$kdir: cannot tell its kernel version (no VERSION/PATCHLEVEL in its Makefile, no include/config/kernel.release); is it a kernel build tree?"
	printf '%s.%s\n' "$v" "${p%%[!0-9]*}"
}

# available: madison lines on stdin -> "X.Y suite,suite" lines, newest first.
available() {
	awk -F'|' '
		{
			pkg = $1; gsub(/[[:space:]]/, "", pkg)
			if (pkg !~ /^linux-source-[0-9]+\.[0-9]+$/) next
			split($3, w, " "); suite = w[2]; sub(/\/.*/, "", suite)
			s = substr(pkg, 14)
			if ((s, suite) in seen) next
			seen[s, suite] = 1
			sep = (s in suites) ? "," : ""
			suites[s] = suites[s] sep suite
		}
		END { for (s in suites) print s, suites[s] }' | sort -rV
}

# describe: "X.Y (suites: status)" for each available series, or "nothing".
describe() {
	local series suites v out=
	while read -r series suites; do
		[[ -n $series ]] || continue
		if v=$(verdict "$series"); then
			v=supported
		elif [[ $v == *"not yet declared"* ]]; then
			v="not yet declared"
		else
			v=refused
		fi
		out+="${out:+, }$series (${suites//,/ }: $v)"
	done
	printf '%s\n' "${out:-nothing}"
}

# pick: the series to fetch, from madison output on stdin.
pick() {
	local avail series suites msg undeclared=()
	avail=$(available)
	if [[ -n ${KSERIES:-} ]]; then
		[[ $KSERIES =~ ^[0-9]+\.[0-9]+$ ]] || die "KSERIES=$KSERIES is not a kernel series (X.Y, e.g. 7.3)"
		msg=$(verdict "$KSERIES") || die "KSERIES=$KSERIES: $msg"
		suites=$(awk -v s="$KSERIES" '$1 == s { print $2 }' <<<"$avail")
		[[ -n $suites ]] ||
			die "KSERIES=$KSERIES: linux-source-$KSERIES is not on the mirror (${KSUITES:-}); it has: $(describe <<<"$avail")"
		printf '    kernel series %s (forced by KSERIES=; from %s)\n' "$KSERIES" "${suites//,/, }" >&2
		echo "$KSERIES"
		return
	fi
	while read -r series suites; do
		[[ -n $series ]] || continue
		if msg=$(verdict "$series"); then
			if ((${#undeclared[@]})); then
				printf 'note: %s on the mirror: not yet declared supported in tools/kernels; building %s, the newest supported series\n' \
					"${undeclared[*]}" "$series" >&2
			fi
			printf '    kernel series %s: the newest supported series on the mirror (from %s; KSERIES= forces another)\n' \
				"$series" "${suites//,/, }" >&2
			echo "$series"
			return
		fi
		if [[ $msg == *"not yet declared"* ]]; then
			undeclared+=("linux-source-$series (${suites//,/, })")
		fi
	done <<<"$avail"
	die "no supported kernel series on the mirror (${KSUITES:-}): it has $(describe <<<"$avail"); supported: $(supported | paste -sd' '). See README, \"Supported kernels\""
}

# supported: the supported series, newest first.
supported() {
	rows | awk -F'|' '$2 == "supported" { print $1 }'
}

# table: the declaration as README's markdown table.
table() {
	local decl oldest
	decl=$(rows)
	oldest=$(awk -F'|' '$1 != "older" { s = $1 } END { print s }' <<<"$decl")
	echo "| series | Debian (when declared) | status | Debian's own kernel, unmodified (make check KERNEL=debian) | why refused |"
	echo '|---|---|---|---|---|'
	awk -F'|' -v oldest="$oldest" '{
		s = $1 == "older" ? "older than " oldest : $1
		own = $5 == "" ? "-" : $5 " passes"
		printf "| %s | %s | %s | %s |%s|\n", s, $3, $2, own, $4 == "" ? " " : " " $4 " "
	}' <<<"$decl"
}

# Every command reads the declaration: a malformed one fails here, closed.
rows >/dev/null
case ${1:-} in
verdict) verdict "${2:?usage: kernel-series.sh verdict X.Y}" ;;
kdir)
	series=$(kdir_series "${2:?usage: kernel-series.sh kdir KDIR}")
	msg=$(verdict "$series") || die "KDIR=$2: $msg"
	;;
supported) supported ;;
pick) pick ;;
table) table ;;
*) die "usage: kernel-series.sh verdict X.Y | kdir KDIR | supported | pick | table" ;;
esac
