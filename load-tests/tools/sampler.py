#!/usr/bin/env python3
"""Samples processes during a load-test run, once a second, until SIGTERM: RSS and CPU time from
/proc, and for rookery nodes a few figures from their Prometheus /metrics. One JSON object per
line. Usage: sampler.py OUT.jsonl LABEL=PID[@URL] ..."""
import json
import os
import re
import signal
import sys
import time
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
WANTED = {
    "rookery_sessions_connected": "sessions",
    "rookery_games_live": "games_live",
    "rookery_moves_total": "moves_total",
    "rookery_activations_total": "activations",
    "rookery_bus_published_total": "bus_published",
}


def proc(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return {"rss_kb": rss, "cpu_s": cpu, "fds": fds}
    except (OSError, AttributeError, IndexError):
        return None


def metrics(url):
    out = {}
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=0.8) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("#"):
                    continue
                name = line.split("{", 1)[0].split(" ", 1)[0]
                if name in WANTED:
                    key = WANTED[name]
                    out[key] = out.get(key, 0) + float(line.rsplit(" ", 1)[1])
    except (OSError, ValueError):
        pass
    return out


def main():
    out = open(sys.argv[1], "a", buffering=1)
    targets = []
    for spec in sys.argv[2:]:
        label, rest = spec.split("=", 1)
        pid, _, url = rest.partition("@")
        targets.append((label, int(pid), url or None))
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        now = time.time()
        for label, pid, url in targets:
            sample = proc(pid)
            if sample is None:
                continue
            sample.update({"t": round(now, 3), "label": label, "pid": pid})
            if url:
                sample.update(metrics(url))
            out.write(json.dumps(sample) + "\n")
        time.sleep(max(0.0, 1.0 - (time.time() - now)))


if __name__ == "__main__":
    main()
