#!/usr/bin/env python3
"""Where a rookery node's CPU goes, by component: reads `perf script` output of a profile taken
with DWARF call stacks (frame pointers are off in the release build, so `perf record -g` alone
loses the callers) and puts each sample in the first component its stack passes through.

    perf record -F 199 --call-graph dwarf,16384 -p <rookery pid> -o perf.data -- sleep 8
    perf script -i perf.data -F comm,tid,ip,sym > perf.txt
    python3 load-tests/peers/perf-breakdown.py perf.txt

The order of RULES matters: a SQLite call made for the event stream counts as the event stream,
not as the game actor that caused it."""

import collections
import sys

# (component, substrings of a frame's symbol), first match wins.
RULES = [
    ("event stream: listeners' reads (SQLite)", ["events::sqlite::{impl#0}::take", "events::sqlite::{impl#2}::read"]),
    ("event stream: listeners' acks (SQLite)", ["events::sqlite::{impl#2}::ack"]),
    ("event stream: appends (SQLite)", ["events::sqlite::{impl#2}::append"]),
    ("event stream: other SQLite", ["events::sqlite"]),
    ("store (SQLite): finished games, accounts", ["store::sqlite"]),
    ("jobs, audit (SQLite)", ["jobs::sqlite", "audit::sqlite"]),
    ("listeners, async side", ["events::listener", "rookery::listeners"]),
    ("queue actor (matchmaking, game creation)", ["QueueActor", "actors::queue"]),
    ("game actor (rules, clocks, snapshot)", ["GameActor", "actors::game"]),
    ("session actor (frames, JSON, fan-out)", ["SessionActor", "rookery::session"]),
    ("websocket and HTTP (actix-web, actix-ws)", ["actix_http", "actix_ws", "rookery::http", "actix_web"]),
    ("router", ["cluster::router", "cluster::memory"]),
    ("blocking pool: hand-offs, idle", ["tokio::runtime::blocking"]),
]


def component(stack):
    joined = "\n".join(stack)
    for name, patterns in RULES:
        if any(p in joined for p in patterns):
            return name
    if stack and "finish_task_switch" in stack[0]:
        return "context switches (elsewhere)"
    return "other"


def main(path):
    counts = collections.Counter()
    stack, in_sample = [], False
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if in_sample:
                    counts[component(stack)] += 1
                stack, in_sample = [], False
            elif line[0] not in " \t":
                in_sample = True  # the sample's header: comm and tid
            else:
                stack.append(line.strip())
    if in_sample:
        counts[component(stack)] += 1
    total = sum(counts.values())
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f}%  {name}")
    print(f"{total} samples")


if __name__ == "__main__":
    main(sys.argv[1])
