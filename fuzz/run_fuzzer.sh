#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run_fuzzer.sh FUZZER SECONDS SEED_CORPUS WORK_CORPUS
# Runs FUZZER for SECONDS on the committed seeds; new inputs go to the
# work corpus in the build tree, so the repository is never modified.
set -euo pipefail
fuzzer=$1 seconds=$2 seeds=$3 work=$4
mkdir -p "$work"
cd "$(dirname "$work")"
exec "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
    -max_len=4096 -timeout=10 "$work" "$seeds"
