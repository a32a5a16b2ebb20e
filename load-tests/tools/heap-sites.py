#!/usr/bin/env python3
"""Sums a heaptrack flamegraph (heaptrack_print --print-flamegraph, one `frame;frame;... cost`
line per stack) by the innermost frame of rookery's own code (`src/...`), so the allocation
sites that hold memory show up as the code that asked for it, not as the allocator or a
library. Usage: heap-sites.py FILE [TOP]"""
import collections
import re
import sys

OURS = re.compile(r"\((?:[^()]*/)?(src/[^():]+:\d+)\)")


def site(frames):
    for frame in reversed(frames):
        m = OURS.search(frame)
        if m and "/.cargo/" not in frame and "/rustc/" not in frame:
            return f"{frame.split(' (')[0]} ({m.group(1)})"
    return frames[-1] if frames else "?"


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    sums = collections.Counter()
    for line in open(path):
        stack, _, cost = line.rstrip().rpartition(" ")
        if not cost.isdigit():
            continue
        sums[site([f for f in stack.split(";") if f])] += int(cost)
    total = sum(sums.values())
    print(f"live at the end: {total / 2**20:.1f} MiB; by the code that allocated it:")
    for where, cost in sums.most_common(top):
        print(f"{cost / 2**20:8.2f} MiB  {where}")


main()
