#!/usr/bin/env python3
"""Per-event costs from one callgrind dump, by function.

callgrind_annotate cannot name the functions of the second and later dumps that
`--dump-after` writes (it charges everything to `__libc_start_main`); this reads the file itself.
Run callgrind with `--compress-strings=no --compress-pos=no` (Documentation/Contributing.md).

    callgrind-costs.py FILE EVENTS [--top N]            self cost per event, by function
    callgrind-costs.py FILE EVENTS --callees PATTERN    inclusive cost of what PATTERN calls
    callgrind-costs.py FILE EVENTS --callers PATTERN    who calls PATTERN, calls per event

EVENTS divides every figure (the number of events the dump covers). A function's "self" cost
includes the code inlined into it. Cost lines are read as "line Ir": a dump written with
`--dump-instr=yes` puts an address first and needs the columns shifted.
"""
import argparse
import collections


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("events", type=int)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callees")
    parser.add_argument("--callers")
    arguments = parser.parse_args()

    self_cost = collections.Counter()
    callee_cost = collections.Counter()
    caller_calls = collections.Counter()
    function = callee = None
    pending_call = None  # the call line just read: its next cost line is the call's inclusive cost
    for line in open(arguments.file, errors="replace"):
        if line.startswith("fn="):
            function = line[3:].strip()
        elif line.startswith("cfn="):
            callee = line[4:].strip()
        elif line.startswith("calls="):
            pending_call = int(line[6:].split()[0])
            if arguments.callers and callee and arguments.callers in callee:
                caller_calls[function] += pending_call
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) < 2:
                continue
            cost = int(fields[1])
            if pending_call is not None:
                if arguments.callees and function and arguments.callees in function:
                    callee_cost[callee] += cost
                pending_call = None
            else:
                self_cost[function] += cost

    per_event = lambda value: value / arguments.events
    if arguments.callers:
        for name, calls in caller_calls.most_common(arguments.top):
            print(f"{per_event(calls):8.2f}  {name}")
    elif arguments.callees:
        own = sum(cost for name, cost in self_cost.items() if name and arguments.callees in name)
        print(f"{per_event(own):10.1f}  (self)")
        for name, cost in callee_cost.most_common(arguments.top):
            print(f"{per_event(cost):10.1f}  {name}")
    else:
        print(f"{per_event(sum(self_cost.values())):10.1f}  total")
        for name, cost in self_cost.most_common(arguments.top):
            print(f"{per_event(cost):10.1f}  {name}")


if __name__ == "__main__":
    main()
