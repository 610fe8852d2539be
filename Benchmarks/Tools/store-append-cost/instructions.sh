#!/bin/sh
# instructions per timed entry inside SQLiteStore.append: (COUNT=8000) - (COUNT=4000), over 4000 entries
bin=$1; mode=${2:-engine}
run() { MODE=$mode ROUNDS=1 COUNT=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='$s13FissionSQLite0B5StoreC6append_21expectingLastSequenceySay0A7Storage12JournalEntryVG_s5Int64Vt0A4Core0A5ErrorVYKF' $bin 2>&1 | grep Collected | awk '{print $4}'; }
a=$(run 8000); b=$(run 4000)
echo "$bin $mode: $(( (a - b) / 4000 )) instructions per entry in append"
