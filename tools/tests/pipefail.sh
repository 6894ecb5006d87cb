#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# No pipeline of the project's scripts can turn a match into a failure under pipefail.
#
# `producer | grep -q PATTERN` stops reading at the first match; the producer's next write
# then kills it with SIGPIPE (status 141), and pipefail makes the whole pipeline false. The
# same holds for every consumer that exits before its input ends: grep -q/-m/--quiet,
# head, an awk program that calls exit. shellcheck does not see it. This test
#   1. shows the failure happen (so the rule is not folklore on this machine),
#   2. checks that the scanner finds each bad shape and lets the safe ones through,
#   3. scans every shell script that runs under pipefail (it sets it, or sources lib.sh).
# A safe rewrite reads the whole output first: `out=$(producer); [[ $out == *x* ]]`,
# `grep -q x <<<"$out"`, or `sed -n 1p` instead of `head -n1`.
source "$(dirname "$0")/../lib.sh"

# early_exit_pipes FILE...: print FILE:LINE: TEXT for each pipeline stage (after the
# first) that may stop reading before its input ends. Continued lines are joined first.
early_exit_pipes() {
	awk '
		FNR == 1 { buf = ""; start = 0; heredoc = "" }
		heredoc != "" { if ($0 ~ "^[[:space:]]*" heredoc "$") heredoc = ""; next }
		/^[[:space:]]*#/ && buf == "" { next }
		{
			# The body of a here-document is text, not commands.
			if (match($0, /<<-?[[:space:]]*[\047"]?[A-Za-z_]+/)) {
				heredoc = substr($0, RSTART, RLENGTH)
				sub(/^<<-?[[:space:]]*[\047"]?/, "", heredoc)
			}
			if (buf == "") start = FNR
			line = $0
			sub(/[[:space:]]+#[^\047"]*$/, "", line)
			buf = buf " " line
			if (line ~ /(\||\\|&&)[[:space:]]*$/) next
			s = buf
			buf = ""
			gsub(/\|\|/, "\001", s)
			n = split(s, seg, "|")
			for (i = 2; i <= n; i++) {
				t = seg[i]
				sub(/^[[:space:]]*(![[:space:]]+)?(env[[:space:]]+)?([A-Z_]+=[^[:space:]]*[[:space:]]+)*/, "", t)
				bad = 0
				if (t ~ /^grep([[:space:]]|$)/) {
					m = split(t, w, /[[:space:]]+/)
					for (j = 2; j <= m; j++) {
						if (w[j] !~ /^-/) break
						if (w[j] ~ /^-[A-Za-z]*[qm]/ || w[j] ~ /^--(quiet|silent|max-count)/) bad = 1
					}
				}
				if (t ~ /^head([[:space:]]|$)/) bad = 1
				if (t ~ /^awk[[:space:]]/ && t ~ /[^[:alnum:]_]exit([^[:alnum:]_]|$)/) bad = 1
				if (bad) {
					gsub(/\001/, "||", s)
					gsub(/^[[:space:]]+/, "", s)
					printf "%s:%d: %s\n", FILENAME, start, s
					break
				}
			}
		}' "$@"
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 1. The failure, shown: a match that turns false once the producer writes after it.
cat >"$dir/demo.sh" <<'EOF'
set -o pipefail
producer() {
	echo 'Candidate: 1.0'
	sleep 0.2
	echo 'more output after the match'
}
if [[ $1 == pipe ]]; then
	producer | grep -q 'Candidate: [0-9]'
else
	out=$(producer)
	grep -q 'Candidate: [0-9]' <<<"$out"
fi
EOF
rc=0
bash "$dir/demo.sh" pipe || rc=$?
((rc != 0)) || die "a matching grep -q after a pipe was true under pipefail: the shell no longer shows the failure this test guards against"
bash "$dir/demo.sh" captured || die "the captured output did not match"

# 2. The scanner, on shapes it must flag and shapes it must let through.
cat >"$dir/bad.sh" <<'EOF'
apt-cache policy x | grep -q 'Candidate: [0-9]' && echo y
! readelf -lW "$bin" | grep -q 'program interpreter' ||
	rustup component list --installed 2>/dev/null | LC_ALL=C grep -qE "^x"
v=$(clang --version | head -n1)
m=$(cat f |
	awk '/^URIs:/ { print $2; exit }')
n=$(producer | grep -m1 x)
o=$(producer | grep --quiet x)
EOF
cat >"$dir/good.sh" <<'EOF'
# apt-cache policy x | grep -q comment
out=$(apt-cache policy x); grep -q 'Candidate: [0-9]' <<<"$out" || true
[[ $(readelf -lW "$bin") != *'program interpreter'* ]] || false
v=$(clang --version | sed -n 1p)
a=$(grep -E 'a|b' f | grep -v c || grep -q d f)
p=$(producer | grep -c x | awk '{ print $1 }')
EOF
found=$(early_exit_pipes "$dir/bad.sh" | sed "s|^$dir/||; s|: .*||" | paste -sd" " -)
[[ $found == 'bad.sh:1 bad.sh:2 bad.sh:4 bad.sh:5 bad.sh:7 bad.sh:8' ]] ||
	die "the scanner found '$found' in its bad examples, not bad.sh:1 2 4 5 7 8"
found=$(early_exit_pipes "$dir/good.sh")
[[ -z $found ]] || die "the scanner flagged a safe shape: $found"

# 3. The project's scripts that run under pipefail.
files=()
while IFS= read -r f; do
	out=$(<"$TOP_DIR/$f")
	if grep -qE 'pipefail|source .*lib\.sh' <<<"$out"; then
		files+=("$TOP_DIR/$f")
	fi
done < <(shell_scripts)
((${#files[@]} > 10)) || die "found only ${#files[@]} scripts under pipefail: is shell_scripts broken?"
found=$(early_exit_pipes "${files[@]}")
if [[ -n $found ]]; then
	printf '%s\n' "${found//$TOP_DIR\//}" >&2
	die "a pipeline under pipefail ends in a reader that may stop early (grep -q/-m, head, awk exit): read the whole output first"
fi
echo "pipefail: ${#files[@]} scripts, no pipeline that stops reading early"
