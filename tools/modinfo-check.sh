#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Check that each module's modinfo has a license, an author, a description
# and a description for every parameter. Usage: tools/modinfo-check.sh KO...
source "$(dirname "$0")/lib.sh"

modinfo=$(command -v modinfo || echo /sbin/modinfo)
bad=0
for ko in "$@"; do
	for field in license author description; do
		[[ -n $("$modinfo" -F "$field" "$ko") ]] ||
			{ echo "  $(basename "$ko"): no $field" >&2; bad=1; }
	done
	# Every parameter the module declares (parmtype) has a description (parm).
	while IFS=: read -r name _; do
		grep -q "^$name:." <<<"$("$modinfo" -F parm "$ko")" ||
			{ echo "  $(basename "$ko"): parameter $name has no description" >&2; bad=1; }
	done < <("$modinfo" -F parmtype "$ko")
done
((bad == 0))
