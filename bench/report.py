#!/usr/bin/env python3
"""Turns the criterion estimates and the loadgen results into the tables of
BENCHMARKS.md (bench/results/summary.md, .json) and the chart
docs/benchmarks.png.

Every figure is the median over runs: criterion's median estimate of each
run (baselines run1..runN), then the median of those; loadgen's per-run
figures, then their median. Ratios are taken between medians of the same
invocation of bench/run-all.sh.
"""

import argparse
import glob
import json
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def criterion_medians(runs):
    """{full_id: median ns} over baselines run1..runN."""
    per_id = {}
    for path in glob.glob(os.path.join(ROOT, "target", "criterion", "**", "benchmark.json"), recursive=True):
        base = os.path.basename(os.path.dirname(path))
        if not base.startswith("run") or int(base[3:] or 0) > runs:
            continue
        with open(path) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(os.path.dirname(path), "estimates.json")) as f:
            ns = json.load(f)["median"]["point_estimate"]
        per_id.setdefault(full_id, []).append(ns)
    return {k: (statistics.median(v), len(v)) for k, v in sorted(per_id.items())}


def loadgen_medians(doc):
    out = {}
    for s in doc["scenarios"]:
        runs = s["runs"]
        med = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_us", "p99_us") if all(k in r for r in runs)}
        med["errors"] = sum(r.get("errors", 0) for r in runs)
        if any("refused_503" in r for r in runs):
            med["refused_503"] = sum(r.get("refused_503", 0) for r in runs)
        med["runs"] = len(runs)
        med["tool"] = s["tool"]
        med["server"] = s["server"]
        out[s["name"]] = med
    return out


def fmt_us(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    crit = criterion_medians(args.runs)
    with open(os.path.join(RESULTS, "loadgen.json")) as f:
        lg = json.load(f)
    load = loadgen_medians(lg)

    def c_ns(full_id):
        return crit.get(full_id, (None, 0))[0]

    def rate(full_id):
        ns = c_ns(full_id)
        return 1e9 / ns if ns else None

    lines = ["## Micro-benchmarks (criterion; median of the per-run medians)", "",
             "| benchmark | time | per second (one core) | runs |", "|---|---:|---:|---:|"]
    for full_id, (ns, n) in crit.items():
        t = f"{ns / 1000:.2f} µs" if ns < 1e6 else f"{ns / 1e6:.2f} ms"
        lines.append(f"| `{full_id}` | {t} | {1e9 / ns:,.0f} | {n} |")

    lines += ["", "## Load (loadgen / wrk; median of runs)", "",
              "| scenario | tool | req/s | p50 | p99 | errors | runs |", "|---|---|---:|---:|---:|---:|---:|"]
    for name, m in load.items():
        lines.append(f"| {name} | {m['tool']} | {m['rps']:,.0f} | {fmt_us(m['p50_us'])} | {fmt_us(m['p99_us'])} | {m['errors']} | {m['runs']} |")

    argon_raw = statistics.median(lg["argon2id_raw"]["runs_hashes_per_s"])
    g = lambda name, key="rps": load.get(name, {}).get(key)

    targets = []

    def target(what, measured, goal, ok, note=""):
        if ok == "info":
            verdict = "(no target)"
        else:
            verdict = "met" if ok else ("**not met**" if ok is not None else "not measured")
        targets.append((what, measured, goal, verdict, note))

    def ratio(a, b):
        return a / b if a and b else None

    r = ratio(g("resource_me_same_token"), g("resource_healthz"))
    target("1a. `/api/me`, reused token ÷ `/healthz` (same server, same run)",
           f"{r:.2f}× ({g('resource_me_same_token'):,.0f} vs {g('resource_healthz'):,.0f} req/s)" if r else "–", "≥ 0.8×", r >= 0.8 if r else None)
    raw_verify = rate("token/EdDSA/verify")
    r = ratio(g("resource_me_distinct_tokens"), raw_verify)
    target("1b. `/api/me`, distinct token per request ÷ raw EdDSA verify rate (one core)",
           f"{r:.2f}× ({g('resource_me_distinct_tokens'):,.0f} req/s vs {raw_verify:,.0f} verifies/s)" if r else "–", "≥ 0.8×", r >= 0.8 if r else None)
    for backend, label in (("sqlite", "SQLite"), ("sqlite_pool1", "SQLite, `--db-pool-size 1`"), ("postgres", "PostgreSQL")):
        raw = rate(f"rotation/{'postgres' if backend == 'postgres' else 'sqlite'}")
        got = g(f"auth_refresh_chains_{backend}")
        r = ratio(got, raw)
        target(f"2. refresh chains ({label}) ÷ raw rotation transactions/s",
               f"{r:.2f}× ({got:,.0f} req/s vs {raw:,.0f} tx/s; p99 {fmt_us(g(f'auth_refresh_chains_{backend}', 'p99_us'))})" if r else "–",
               "≥ 0.6×", r >= 0.6 if r else None)
    cc = g("auth_client_credentials")
    target("3. client_credentials", f"{cc:,.0f} req/s" if cc else "–", "≥ 5,000 req/s", cc >= 5000 if cc else None)
    logins = g("auth_password_logins")
    r = ratio(logins, argon_raw)
    target("4a. password grant ÷ raw argon2id rate (all cores)",
           f"{r:.2f}× ({logins:,.1f} logins/s vs {argon_raw:,.1f} hashes/s)" if r else "–", "≥ 0.8×", r >= 0.8 if r else None)
    for probe in ("refresh", "healthz"):
        idle = g(f"auth_{probe}_probe_idle", "p99_us")
        busy = g(f"auth_{probe}_probe_during_logins", "p99_us")
        r = ratio(busy, idle)
        target(f"4b. p99 of {probe} during logins ÷ idle",
               f"{r:.2f}× ({fmt_us(busy)} vs {fmt_us(idle)})" if r else "–", "≤ 2×", r <= 2 if r else None)
    for probe in ("refresh", "healthz"):
        idle = g(f"auth_{probe}_probe_idle", "p99_us")
        busy = g(f"auth_{probe}_probe_during_overload", "p99_us")
        r = ratio(busy, idle)
        target(f"4c. p99 of {probe} during a login overload (hash queue full, 503s) ÷ idle",
               f"{r:.2f}× ({fmt_us(busy)} vs {fmt_us(idle)})" if r else "–", "≤ 2×", r <= 2 if r else None)
    over = load.get("auth_password_overload")
    if over:
        refused = over.get("refused_503", 0)
        target("4d. login overload (96 clients, 10 tries/s each): logins served, refused with 503, p99 of all answers",
               f"{over['rps']:,.1f} logins/s; {refused:,} refused over {over['runs']} runs; p99 {fmt_us(over['p99_us'])}",
               "bounded queue, no timeouts", "info")
    mem = lg["memory_kib"]
    rs = mem["resource-server"]["vm_hwm"] / 1024
    target("5a. resource-server peak RSS (VmHWM) after all its scenarios", f"{rs:.1f} MiB", "< 30 MiB", rs < 30)
    au = mem["auth-server"]["vm_hwm"] / 1024
    pool = lg["settings"]["cores"] * 19
    target("5b. auth-server peak RSS (VmHWM) after all its scenarios", f"{au:.1f} MiB",
           f"< 64 MiB + {pool} MiB (hash pool: {lg['settings']['cores']} × 19 MiB)", au < 64 + pool)

    lines += ["", "## Targets of issue 5", "", "| target | measured | goal | verdict |", "|---|---|---|---|"]
    for what, measured, goal, verdict, _ in targets:
        lines.append(f"| {what} | {measured} | {goal} | {verdict} |")

    lines += ["", f"Raw argon2id rate (loadgen, {lg['argon2id_raw']['threads']} threads, m=19 MiB t=2 p=1): "
              f"{argon_raw:.1f} hashes/s (runs: {', '.join(f'{x:.1f}' for x in lg['argon2id_raw']['runs_hashes_per_s'])}).",
              f"Memory (KiB): {json.dumps(mem)}.", f"Load settings: {json.dumps(lg['settings'])}."]

    lines += soak_lines()

    summary = "\n".join(lines) + "\n"
    with open(os.path.join(RESULTS, "summary.md"), "w") as f:
        f.write(summary)
    with open(os.path.join(RESULTS, "summary.json"), "w") as f:
        json.dump({"criterion_ns": {k: v[0] for k, v in crit.items()}, "load": load,
                   "argon2id_raw_per_s": argon_raw, "memory_kib": mem}, f, indent=2)
    print(summary)
    chart(load)


def soak_lines():
    """The soak's table, when bench/results/soak.json exists."""
    path = os.path.join(RESULTS, "soak.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        soak = json.load(f)
    lines = ["", f"## Soak ({soak['seconds']:.0f} s of mixed load, every answer checked)", "",
             "| workload | requests | req/s | p99 | unexpected answers |", "|---|---:|---:|---:|---:|"]
    for w in soak["workloads"]:
        lines.append(f"| {w['name']} | {w['requests']:,} | {w['rps']:,.0f} | {fmt_us(w['p99_us'])} | {w['errors']} |")
    lines.append("")
    for server in ("auth-server", "resource-server"):
        m = soak["memory"][server]
        samples = ", ".join(f"{kib / 1024:.1f}" for kib in m["rss_kib_per_window"])
        lines.append(f"- {server} RSS per {soak['window_s']} s window (MiB): {samples}; "
                     f"growth over the last third {m['growth_last_third_kib'] / 1024:+.1f} MiB "
                     f"({'flat' if m['flat'] else '**growing**'}).")
    lines.append(f"- Verdict: {'passed' if soak['passed'] else '**failed**'} "
                 f"({soak['errors']} unexpected answers).")
    return lines


def chart(load):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no chart", file=sys.stderr)
        return
    names = [n for n in load if "probe" not in n] + [n for n in load if "probe" in n]
    rps = [load[n]["rps"] for n in names]
    p99 = [load[n]["p99_us"] / 1000 for n in names]
    fig, (a, b) = plt.subplots(1, 2, figsize=(14, 6.5))
    y = range(len(names))
    a.barh(y, rps, color="#3b7dd8")
    a.set_xscale("log")
    a.set_yticks(list(y), names)
    a.invert_yaxis()
    a.set_xlabel("requests per second (log scale, median of runs)")
    a.set_title("Throughput")
    for i, v in enumerate(rps):
        a.text(v, i, f" {v:,.0f}", va="center", fontsize=8)
    b.barh(y, p99, color="#d8673b")
    b.set_xscale("log")
    b.set_yticks(list(y), [""] * len(names))
    b.invert_yaxis()
    b.set_xlabel("p99 latency, ms (log scale, median of runs)")
    b.set_title("p99 latency")
    for i, v in enumerate(p99):
        b.text(v, i, f" {v:.2f}", va="center", fontsize=8)
    fig.suptitle("auth-server and resource-server on 2 cores (servers on core 0, load on core 1)")
    fig.tight_layout()
    out = os.path.join(ROOT, "docs", "benchmarks.png")
    fig.savefig(out, dpi=110)
    print(f"chart: {out}")


if __name__ == "__main__":
    main()
