#!/usr/bin/env python3
"""The report of `load-tests/run compare` (load-tests/peers/compare): reads the driver's JSON of
every run (<game>-<pairs>-<system>-<run>.json), takes the median of each figure over the runs of
one system, game and pair count, and the ratio rookery/Colyseus of moves per server CPU-second
(the median of the per-run ratios: each rookery run against the Colyseus run next to it), and
writes OUT.json (everything, each run included) and OUT.md (the tables)."""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import time
from pathlib import Path

SYSTEMS = ("rookery", "colyseus")


def cmd(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def package_version(name):
    try:
        return json.loads(Path(f"load-tests/peers/colyseus/node_modules/{name}/package.json").read_text())["version"]
    except OSError:
        return None


def machine(args):
    cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "nproc": os.cpu_count(),
        "kernel": platform.release(),
        "node": cmd(args.node, "--version"),
        "colyseus": {p: package_version(p) for p in ("@colyseus/core", "@colyseus/ws-transport", "@colyseus/sdk", "@colyseus/schema")},
        "rookery_commit": args.rookery_commit,
        "pinned": args.pin == "1",
    }


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs):
    """One row per (game, pairs): each system's medians and the per-run ratios."""
    rows = []
    for game, pairs in sorted({(r["game"], r["pairs"]) for r in runs}, key=lambda k: (k[0] != "tictactoe", k[0], k[1])):
        row = {"game": game, "pairs": pairs}
        by_run = {}
        for system in SYSTEMS:
            mine = sorted((r for r in runs if (r["game"], r["pairs"], r["system"]) == (game, pairs, system)), key=lambda r: r["run"])
            by_run[system] = {r["run"]: r for r in mine}
            row[system] = {
                "runs": len(mine),
                "moves_per_cpu_s": median([r["moves_per_cpu_s"] for r in mine]),
                "us_per_move": median([r["us_per_move"] for r in mine]),
                "moves_per_sec": median([r["moves_per_sec"] for r in mine]),
                "p50_ms": median([r["move_to_opponent_ms"]["p50"] for r in mine]),
                "p99_ms": median([r["move_to_opponent_ms"]["p99"] for r in mine]),
                "server_busy": median([r["server_busy"] for r in mine]),
                "driver_busy": median([r["driver_busy"] for r in mine]),
                "server_rss_kib": median([r["server_rss_kib"] for r in mine]),
                "loadavg_before": [r["loadavg_before"] for r in mine],
                "errors": sum(sum(r["errors"].values()) for r in mine),
            }
        ratios = [
            by_run["rookery"][i]["moves_per_cpu_s"] / by_run["colyseus"][i]["moves_per_cpu_s"]
            for i in sorted(set(by_run["rookery"]) & set(by_run["colyseus"]))
            if by_run["rookery"][i]["moves_per_cpu_s"] and by_run["colyseus"][i]["moves_per_cpu_s"]
        ]
        row["ratio_per_run"] = [round(x, 3) for x in ratios]
        row["ratio"] = round(median(ratios), 3) if ratios else None
        rows.append(row)
    return rows


def fmt(x, digits=0):
    if x is None:
        return "-"
    if digits == 0:
        return f"{round(x):,}"
    return f"{x:.{digits}f}"


def loads(xs):
    return " / ".join(f"{x:.2f}" for x in xs)


def markdown(report):
    m = report["machine"]
    s = report["settings"]
    c = m["colyseus"]
    out = [
        f"# compare: rookery against Colyseus 0.18 ({report['date']})",
        "",
        "`load-tests/run compare`: N pairs play game after game with no think time, the same fixed draw"
        " for both systems (tic-tac-toe 9 moves, connect-four 42), driven by load-tests/peers/driver.mjs."
        " rookery: one embedded node (release, no Redis; SQLite). Colyseus: load-tests/peers/colyseus/server.mjs"
        " (a relay room, no schema state). A fresh server per run. Moves are counted when the opponent"
        " receives them; CPU is the server process's utime + stime over the measured window.",
        "",
        f"- machine: {m['cpu']}, nproc {m['nproc']}, kernel {m['kernel']}; "
        + ("server pinned to core 0, driver to core 1" if m["pinned"] else "not pinned"),
        f"- rookery: {m['rookery_commit']}; Node {m['node']}, @colyseus/core {c['@colyseus/core']}, "
        f"ws-transport {c['@colyseus/ws-transport']}, @colyseus/sdk {c['@colyseus/sdk']} (driver)",
        f"- {s['runs']} runs per system and pair count, {s['warmup_s']} s warm-up, {s['measure_s']} s measured; figures are medians;"
        " the ratio is the median of the per-run ratios (runs back to back)",
        "",
    ]
    for game in dict.fromkeys(r["game"] for r in report["summary"]):
        out += [
            f"## {game}",
            "",
            "| pairs | rookery moves per CPU-s | Colyseus moves per CPU-s | ratio rookery/Colyseus | rookery moves/s | Colyseus moves/s "
            "| rookery p50 / p99 ms | Colyseus p50 / p99 ms | server busy r / C | driver busy r / C | load avg before (r; C) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in (r for r in report["summary"] if r["game"] == game):
            r, k = row["rookery"], row["colyseus"]
            out.append(
                f"| {row['pairs']} | {fmt(r['moves_per_cpu_s'])} ({fmt(r['us_per_move'], 1)} µs) | {fmt(k['moves_per_cpu_s'])} ({fmt(k['us_per_move'], 1)} µs) "
                f"| **{fmt(row['ratio'], 2)}** ({', '.join(f'{x:.2f}' for x in row['ratio_per_run'])}) "
                f"| {fmt(r['moves_per_sec'])} | {fmt(k['moves_per_sec'])} "
                f"| {fmt(r['p50_ms'], 2)} / {fmt(r['p99_ms'], 2)} | {fmt(k['p50_ms'], 2)} / {fmt(k['p99_ms'], 2)} "
                f"| {fmt(r['server_busy'], 2)} / {fmt(k['server_busy'], 2)} | {fmt(r['driver_busy'], 2)} / {fmt(k['driver_busy'], 2)} "
                f"| {loads(r['loadavg_before'])}; {loads(k['loadavg_before'])} |"
            )
        errors = {sys: sum(row[sys]["errors"] for row in report["summary"] if row["game"] == game) for sys in SYSTEMS}
        out += ["", f"Errors reported by the servers or sockets: rookery {errors['rookery']}, Colyseus {errors['colyseus']}.", ""]
    out += [
        "## Every run",
        "",
        "| game | pairs | system | run | load avg before | moves/s | moves per CPU-s | server busy | driver busy | p50 ms | p99 ms | p99.9 ms | games | RSS MiB | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        lat = r["move_to_opponent_ms"]
        out.append(
            f"| {r['game']} | {r['pairs']} | {r['system']} | {r['run']} | {r['loadavg_before']:.2f} | {fmt(r['moves_per_sec'])} "
            f"| {fmt(r['moves_per_cpu_s'])} | {fmt(r['server_busy'], 2)} | {fmt(r['driver_busy'], 2)} | {fmt(lat['p50'], 3)} "
            f"| {fmt(lat['p99'], 3)} | {fmt(lat['p999'], 3)} | {fmt(r['games'])} | {fmt((r['server_rss_kib'] or 0) / 1024, 1)} "
            f"| {', '.join(f'{k} {v}' for k, v in r['errors'].items()) or '-'} |"
        )
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", required=True, help="folder of <game>-<pairs>-<system>-<run>.json")
    p.add_argument("--out", required=True, help="OUT.json and OUT.md")
    p.add_argument("--pin", default="1")
    p.add_argument("--node", default="node")
    p.add_argument("--rookery-commit", default="?", help="what the rookery binary was built from")
    p.add_argument("--warmup", type=float)
    p.add_argument("--measure", type=float)
    args = p.parse_args()

    runs = []
    for f in sorted(Path(args.runs).glob("*.json")):
        r = json.loads(f.read_text())
        r["run"] = int(f.stem.rsplit("-", 1)[1])
        runs.append(r)
    runs.sort(key=lambda r: (r["game"] != "tictactoe", r["game"], r["pairs"], r["run"], r["system"]))
    report = {
        "scenario": "compare",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(args),
        "settings": {"warmup_s": args.warmup, "measure_s": args.measure, "runs": max((r["run"] for r in runs), default=0)},
        "summary": summarise(runs),
        "runs": runs,
    }
    Path(args.out + ".json").write_text(json.dumps(report, indent=2) + "\n")
    Path(args.out + ".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
