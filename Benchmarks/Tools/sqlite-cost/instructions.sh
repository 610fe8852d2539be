#!/bin/sh
# Instructions per entry (callgrind, user space) for a schema: a run of N entries minus a run of 0.
# Usage: instructions.sh SCHEMA.sql [N] [PRAGMAS]; environment: MULTI (rows per statement, 0 = one
# row per statement), NOTRIG (turn triggers off on the connection), PREFILL (entries appended first).
schema=$1; n=${2:-4000}; pragmas=${3:-}
here=$(dirname "$0")
count() { ROUNDS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$here/insert-cost" "$schema" "$1" 1000 "$pragmas" 2>&1 | awk '/Collected/ {print $4}'; }
a=$(count "$n"); b=$(count 0)
echo "$schema [$pragmas] MULTI=${MULTI:-0} NOTRIG=${NOTRIG:-}: $(( (a - b) / n )) instructions per entry"
