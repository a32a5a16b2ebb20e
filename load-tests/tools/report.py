#!/usr/bin/env python3
"""Assembles the results of one load-tests/run: the measured phases (k6 summaries, loadgen
reports, redis-benchmark CSV), the process samples (RSS, CPU, node metrics), the machine, and
writes OUT.json and a short OUT.md table with every figure next to its floor."""
import argparse
import csv
import json
import os
import platform
import subprocess
import time


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def machine():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "free_h": free,
        "kernel": platform.release(),
        "commit": commit + (" (+ uncommitted src changes)" if dirty else ""),
    }


def window(samples, label, start, end):
    return [s for s in samples if s["label"] == label and start <= s["t"] <= end + 1.5]


def before(samples, label, start):
    prior = [s for s in samples if s["label"] == label and s["t"] < start]
    return prior[-1] if prior else None


def cpu_percent(samples, label, start, end):
    b = before(samples, label, start)
    w = ([b] if b else []) + window(samples, label, start, end)
    if len(w) < 2:
        return None
    return round(100 * (w[-1]["cpu_s"] - w[0]["cpu_s"]) / max(0.001, w[-1]["t"] - w[0]["t"]), 1)


def trend(m, name):
    v = m.get(name, {}).get("values")
    if not v:
        return None
    return {k: v.get(k) for k in ("med", "p(95)", "p(99)", "max", "count")}


def counter(m, name):
    v = m.get(name, {}).get("values")
    return None if not v else {"count": v.get("count"), "rate": v.get("rate")}


def k6_figures(path):
    with open(path) as f:
        data = json.load(f)
    m = data["metrics"]
    out = {"thresholds": {}}
    for name in ("move_to_opponent", "move_ack", "matchup_wait", "start_to_playing", "resume_latency",
                 "playable_again", "ws_connect"):
        t = trend(m, name)
        if t and t["count"]:
            out[name] = t
    for name in ("games_completed", "games_failed", "games_resumed", "moves_acked", "lost_acked_moves",
                 "reconnects", "protocol_errors", "sockets_opened", "sockets_failed", "sockets_dropped"):
        c = counter(m, name)
        if c:
            out[name] = c
    if "game_ok" in m:
        out["game_ok_rate"] = m["game_ok"]["values"]["rate"]
    for name, metric in m.items():
        for th, res in (metric.get("thresholds") or {}).items():
            out["thresholds"][f"{name}: {th}"] = "ok" if res.get("ok") else "crossed"
    return out


def redis_csv(path):
    # With --cluster, redis-benchmark first prints the cluster's nodes: the CSV starts at its header.
    with open(path) as f:
        lines = f.readlines()
    start = next((i for i, l in enumerate(lines) if l.startswith('"test"')), 0)
    rows = list(csv.DictReader(lines[start:]))
    row = rows[-1]
    return {"rps": float(row["rps"]), "p50_ms": float(row["p50_latency_ms"]), "p99_ms": float(row["p99_latency_ms"])}


def main():
    ap = argparse.ArgumentParser()
    for a in ("--scenario", "--work", "--out", "--nodes", "--profile", "--pin", "--target", "--snapshot-bytes", "--redis"):
        ap.add_argument(a)
    args = ap.parse_args()
    phases = load_jsonl(os.path.join(args.work, "phases.jsonl"))
    samples = load_jsonl(os.path.join(args.work, "samples.jsonl"))
    labels = sorted({s["label"] for s in samples})
    nodes = [l for l in labels if l.startswith("node")]
    result = {
        "scenario": args.scenario,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "cluster": {"nodes": int(args.nodes), "build": args.profile or "release",
                    "pinned": args.pin == "1", "target": args.target, "redis": args.redis or "standalone",
                    # Node settings given to this run (the runner's own defaults are in its help).
                    "settings": {k: v for k, v in sorted(os.environ.items()) if k.startswith("ROOKERY_")}},
        "phases": [],
    }
    kill = os.path.join(args.work, "kill.json")
    if os.path.exists(kill):
        with open(kill) as f:
            result["killed"] = json.load(f)
    by_name = {}
    for p in phases:
        entry = dict(p)
        entry["seconds"] = round(p["end"] - p["start"], 2)
        out = p["output"]
        if p["tool"] == "k6" and os.path.exists(out):
            entry["figures"] = k6_figures(out)
        elif p["tool"] == "rookery-loadgen" and os.path.exists(out):
            with open(out) as f:
                entry["figures"] = json.load(f)
        elif p["tool"] == "redis-benchmark" and os.path.exists(out):
            entry["figures"] = redis_csv(out)
        entry["cpu_percent"] = {l: cpu_percent(samples, l, p["start"], p["end"]) for l in labels}
        # Memory: the process under load at the plateau against just before the phase.
        mem = {}
        for l in labels:
            w = window(samples, l, p["start"], p["end"])
            b = before(samples, l, p["start"])
            if not w:
                continue
            peak = max(w, key=lambda s: s["rss_kb"])
            # The plateau: the last sample with the most sockets (sessions for a node, fds otherwise).
            plateau = max(reversed(w), key=lambda s: (s.get("sessions") or 0, s["fds"]))
            mem[l] = {"rss_kb_before": b["rss_kb"] if b else None, "rss_kb_peak": peak["rss_kb"],
                      "rss_kb_plateau": plateau["rss_kb"], "sessions_at_plateau": plateau.get("sessions"),
                      "fds_at_plateau": plateau["fds"], "fds_peak": max(s["fds"] for s in w)}
        entry["memory"] = mem
        result["phases"].append(entry)
        by_name[p["name"]] = entry
    result["summary"] = summarize(args, by_name, nodes)
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(markdown(result))


def fig(entry, *path):
    v = entry.get("figures") if entry else None
    for k in path:
        if v is None:
            return None
        v = v.get(k)
    return v


def per_socket_kib(entry, label, opened):
    m = (entry or {}).get("memory", {}).get(label)
    if not m or not opened or m["rss_kb_before"] is None:
        return None
    return round((m["rss_kb_plateau"] - m["rss_kb_before"]) / opened, 2)


def ratio(a, b):
    return None if a is None or not b else round(a / b, 3)


def summarize(args, ph, nodes):
    rows = []

    def row(figure, tool, value, unit, floor=None, target=None, phase=None):
        rows.append({"figure": figure, "tool": tool, "value": value, "unit": unit, "floor": floor,
                     "ratio_to_floor": ratio(value, floor), "target": target,
                     "loadavg_before": (phase or {}).get("loadavg_before")})

    if "hold-node" in ph:
        h, f = ph["hold-node"], ph.get("hold-floor")
        opened = fig(h, "opened")
        row("held idle authenticated sockets (one node)", "loadgen", opened, "sockets",
            fig(f, "opened"), ">= 50,000", h)
        row("node RSS per held socket", "loadgen + /proc", per_socket_kib(h, "node1", opened), "KiB",
            per_socket_kib(f, "echo", fig(f, "opened")), "<= 8 KiB", h)
        row("sockets dropped while held", "loadgen", fig(h, "dropped_while_held"), "sockets", None, "0", h)
    if "connect-node" in ph:
        c, f = ph["connect-node"], ph.get("connect-floor")
        row("new authenticated sockets per second", "loadgen", round(fig(c, "connect_per_sec") or 0),
            "/s", round(fig(f, "connect_per_sec") or 0) or None, ">= 5,000/s", c)
        row("connect to SESSION_STARTED p99", "loadgen", fig(c, "first_frame", "p99_ms"), "ms",
            fig(f, "first_frame", "p99_ms"), None, c)
    if "connect-node-registered" in ph:
        c, f = ph["connect-node-registered"], ph.get("connect-floor")
        row("new authenticated sockets per second, registered users (store read on connect)", "loadgen",
            round(fig(c, "connect_per_sec") or 0), "/s", round(fig(f, "connect_per_sec") or 0) or None,
            ">= 5,000/s", c)
        row("connect to SESSION_STARTED p99, registered users", "loadgen", fig(c, "first_frame", "p99_ms"),
            "ms", fig(f, "first_frame", "p99_ms"), None, c)
    if "peak-node" in ph:
        p, pf = ph["peak-node"], ph.get("peak-floor")
        cross = args.scenario == "moves-cross"
        where = "across two nodes" if cross else "one node"
        row(f"persisted moves per second, peak ({where})", "loadgen", round(fig(p, "moves_per_sec") or 0), "/s",
            round(fig(pf, "moves_per_sec") or 0) or None, ">= 20,000/s per node", p)
        e, pub = ph.get("redis-eval"), ph.get("redis-publish")
        if e and pub:
            floor = 1 / (1 / fig(e, "rps") + 1 / fig(pub, "rps"))
            row("persisted moves per second vs Redis (EVAL + PUBLISH per move)", "loadgen / redis-benchmark",
                round(fig(p, "moves_per_sec") or 0), "/s", round(floor), None, e)
            row("Redis snapshot compare-and-set EVAL", "redis-benchmark", round(fig(e, "rps")), "/s", None, None, e)
            row("Redis PUBLISH", "redis-benchmark", round(fig(pub, "rps")), "/s", None, None, pub)
        node_cpu = sum(v for l, v in (p.get("cpu_percent") or {}).items() if l.startswith("node") and v)
        echo_cpu = (pf or {}).get("cpu_percent", {}).get("echo")
        mps, fmps = fig(p, "moves_per_sec"), fig(pf, "moves_per_sec")
        us = round(node_cpu / 100 / mps * 1e6, 1) if mps and node_cpu else None
        fus = round(echo_cpu / 100 / fmps * 1e6, 1) if fmps and echo_cpu else None
        row("server CPU per persisted move at the peak (all nodes)", "loadgen + /proc", us, "µs", fus, None, p)
        if us:
            row("moves/s one server core would persist (1 s / CPU per move)", "derived", round(1e6 / us), "/s",
                round(1e6 / fus) if fus else None, ">= 20,000/s per node", p)
        lg = fig(p, "loadgen_cpu_secs")
        if lg:
            row("load generator CPU during the peak (core 1, shared with Redis and FerretDB)", "loadgen", round(100 * lg / p["seconds"], 1), "%", None, None, p)
    if "half-node" in ph:
        h, hf = ph["half-node"], ph.get("half-floor")
        cross = args.scenario == "moves-cross"
        row(f"move to opponent p99 at half of peak ({'across nodes' if cross else 'one node'})", "loadgen",
            fig(h, "move_to_opponent", "p99_ms"), "ms", fig(hf, "move_to_opponent", "p99_ms"),
            "<= 10 ms" if cross else "<= 5 ms", h)
        row("move to opponent p50 at half of peak", "loadgen", fig(h, "move_to_opponent", "p50_ms"), "ms",
            fig(hf, "move_to_opponent", "p50_ms"), None, h)
        row("moves per second held at half of peak", "loadgen", round(fig(h, "moves_per_sec") or 0), "/s",
            round(fig(hf, "moves_per_sec") or 0) or None, None, h)
    k6 = ph.get(args.scenario) if args.scenario in ("play", "hold", "reconnect", "failover") else None
    if k6 and k6.get("figures"):
        f = k6["figures"]
        for name, label in (("move_to_opponent", "move to opponent"), ("matchup_wait", "matchup wait"),
                            ("resume_latency", "resume latency"), ("playable_again", "lost socket -> next move acknowledged"),
                            ("move_ack", "move acknowledged"), ("ws_connect", "socket -> first frame")):
            if name in f:
                target = {("reconnect", "resume_latency"): "p99 <= 50 ms",
                          ("failover", "playable_again"): "<= 2 s after kill -9"}.get((args.scenario, name))
                row(f"{label} p99 (max {f[name]['max']})", "k6", f[name]["p(99)"], "ms", None, target, k6)
        if args.scenario == "hold" and "sockets_opened" in f:
            opened = f["sockets_opened"]["count"]
            kib = [per_socket_kib(k6, l, opened) for l in nodes]
            kib = [v for v in kib if v is not None]
            if kib and len(nodes) == 1:
                row("node RSS per held socket (k6 hold)", "k6 + /proc", kib[0], "KiB", None, "<= 8 KiB", k6)
        for name in ("games_completed", "games_failed", "games_resumed", "lost_acked_moves", "sockets_opened",
                     "sockets_failed", "sockets_dropped"):
            if name in f:
                row(name.replace("_", " "), "k6", f[name]["count"], "", None,
                    "0" if name in ("lost_acked_moves", "sockets_failed", "sockets_dropped") else None, k6)
    return rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown(r):
    c = r["cluster"]
    lines = [
        f"# {r['scenario']}: {r['date']}",
        "",
        f"{c['nodes']} node(s), Redis {c.get('redis', 'standalone')}, {c['build']} build, {'nodes pinned to core 0, load on core 1' if c['pinned'] else 'not pinned'}; "
        f"commit {r['machine']['commit']}; {r['machine']['nproc']} x {r['machine']['cpu']}."
        + (f" Settings: {' '.join(f'{k}={v}' for k, v in c['settings'].items())}." if c.get("settings") else ""),
        "",
        "| figure | tool | measured | floor | ratio | target | load avg before |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["summary"]:
        unit = f" {row['unit']}" if row["unit"] else ""
        lines.append(f"| {row['figure']} | {row['tool']} | {fmt(row['value'])}{unit} | {fmt(row['floor'])} | "
                     f"{fmt(row['ratio_to_floor'])} | {row['target'] or ''} | {row['loadavg_before'] or ''} |")
    if "killed" in r:
        k = r["killed"]
        lines += ["", f"Killed {k['killed']} (pid {k['pid']}, {k['games_live']} live games) with kill -9."]
    lines += ["", "Server CPU (% of one core) per phase:", ""]
    for p in r["phases"]:
        cpu = ", ".join(f"{l} {v}%" for l, v in p["cpu_percent"].items() if v is not None)
        lines.append(f"- {p['name']} ({p['seconds']} s): {cpu}")
    lines += ["", "Commands:", ""]
    for p in r["phases"]:
        lines.append(f"- {p['name']}: `{p['command']}`")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
