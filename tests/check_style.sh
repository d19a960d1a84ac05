#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# STYLE.md: C sources stay within 80 columns and indent with spaces.
set -u
cd "${1:-.}" || exit 1
bad=0
while IFS= read -r f; do
    if awk -v f="$f" 'length($0) > 80 { print f ":" FNR ": over 80 columns"; n++ }
                      /\t/ { print f ":" FNR ": tab"; n++ }
                      END { exit n > 0 }' "$f"; then
        :
    else
        bad=1
    fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]')
exit $bad
