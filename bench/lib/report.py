#!/usr/bin/env python3
"""Aggregate bench/run's raw results (OUT/raw) into OUT/table.md and OUT/results.json.

Per (target, c): medians over repetitions of successful req/s, p50/p90/p99 latency and the
server's CPU µs per request (utime+stime delta / responses); peak RSS is the largest VmHWM
(reset before each point). Exit 1 if a point of shunt or a direct server did not complete
(no run, a non-200 answer, or a client error), or the SSE streams did not all complete.
"""

import json
import statistics
import sys
from pathlib import Path

out = Path(sys.argv[1])
raw = out / "raw"

SCENARIO = {
    "ka.direct-http": "direct nginx, plain HTTP, keep-alive",
    "ka.direct-tls": "direct nginx, TLS RSA-2048, keep-alive",
    "ka.shunt-upstream": "(1) shunt → nginx upstream, keep-alive",
    "ka.shunt-upstream-logwarn": "(1) same, `--log warn`",
    "ka.shunt-record": "(1) shunt `--record` → nginx TLS, keep-alive",
    "ka.shunt-builtin": "(2) shunt built-in mock, keep-alive",
    "ka.mitmproxy": "mitmproxy → nginx, keep-alive",
    "new.direct-http": "direct nginx, plain HTTP, new conn",
    "new.direct-tls": "direct nginx, TLS RSA-2048, new conn",
    "new.shunt-upstream": "(3) shunt → nginx, new conn",
    "new.shunt-upstream-logwarn": "(3) same, `--log warn`",
    "newhost.shunt-upstream": "(4) shunt → nginx, new conn + new host",
    "new.mitmproxy": "mitmproxy → nginx, new conn",
    "newhost.mitmproxy": "mitmproxy → nginx, new conn + new host",
    "mock.shunt-mock": "(6) `shunt mock`, plain HTTP, keep-alive",
    "mock.fastapi": "(6) FastAPI+uvicorn mock, plain HTTP, keep-alive",
}
ORDER = list(SCENARIO)
REFERENCE = {  # ratio column: req/s of the row over req/s of this reference, same c
    "ka.direct-http": "ka.direct-tls",
    "ka.shunt-upstream": "ka.direct-tls",
    "ka.shunt-upstream-logwarn": "ka.direct-tls",
    "ka.shunt-record": "ka.shunt-upstream",
    "ka.shunt-builtin": "ka.direct-tls",
    "ka.mitmproxy": "ka.direct-tls",
    "new.direct-http": "new.direct-tls",
    "new.shunt-upstream": "new.direct-tls",
    "new.shunt-upstream-logwarn": "new.direct-tls",
    "newhost.shunt-upstream": "new.direct-tls",
    "new.mitmproxy": "new.direct-tls",
    "newhost.mitmproxy": "new.direct-tls",
    "mock.shunt-mock": "mock.fastapi",
}
REFERENCE_ONLY = ("mitmproxy", "fastapi")  # their failures are reported, never fatal


def load_points():
    points = {}
    for meta_path in sorted(raw.glob("*.meta.json")):
        if meta_path.name.startswith("sse."):
            continue
        meta = json.loads(meta_path.read_text())
        base = str(meta_path)[: -len(".meta.json")]
        p = {"meta": meta, "ok": False, "problem": None}
        try:
            d = json.loads(Path(base + ".json").read_text())
        except Exception as e:  # noqa: BLE001
            p["problem"] = f"no oha result ({e.__class__.__name__}, exit {meta['rc']})"
            points.setdefault((meta["target"], meta["c"]), []).append(p)
            continue
        status = {k: int(v) for k, v in d.get("statusCodeDistribution", {}).items()}
        errors = d.get("errorDistribution", {})
        total_s = d["summary"]["total"]
        n200 = status.get("200", 0)
        n_all = sum(status.values())
        lat = d.get("latencyPercentilesSuccessful") or d.get("latencyPercentiles") or {}
        p.update(
            rps=n200 / total_s if total_s else 0.0,
            p50=(lat.get("p50") or 0) * 1e3,
            p90=(lat.get("p90") or 0) * 1e3,
            p99=(lat.get("p99") or 0) * 1e3,
            n200=n200,
            non200=n_all - n200,
            errors=sum(errors.values()),
            error_kinds=errors,
            cpu_us=(meta["cpu_ticks"] / meta["clk_tck"] * 1e6 / n_all) if n_all else None,
            hwm_mib=meta["hwm_kb"] / 1024,
        )
        if meta["rc"] != 0:
            p["problem"] = f"oha exit {meta['rc']}"
        elif n200 == 0:
            p["problem"] = "no 200 response"
        elif n_all != n200:
            p["problem"] = f"non-200 answers {dict((k, v) for k, v in status.items() if k != '200')}"
        elif errors:
            p["problem"] = f"client errors {errors}"
        else:
            p["ok"] = True
        points.setdefault((meta["target"], meta["c"]), []).append(p)
    return points


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(points):
    rows = {}
    for (target, c), ps in points.items():
        good = [p for p in ps if "rps" in p]
        rows[(target, c)] = {
            "target": target,
            "c": c,
            "reps": len(ps),
            "rps": med([p["rps"] for p in good]),
            "p50": med([p["p50"] for p in good]),
            "p90": med([p["p90"] for p in good]),
            "p99": med([p["p99"] for p in good]),
            "cpu_us": med([p["cpu_us"] for p in good]),
            "hwm_mib": max([p["hwm_mib"] for p in good], default=None),
            "ok": all(p["ok"] for p in ps),
            "problems": [p["problem"] for p in ps if p["problem"]],
        }
    for (target, c), row in rows.items():
        ref = rows.get((REFERENCE.get(target), c))
        row["ratio_ref"] = REFERENCE.get(target)
        row["ratio"] = row["rps"] / ref["rps"] if ref and ref["rps"] and row["rps"] is not None else None
    return rows


def fmt(v, spec=".0f"):
    return "–" if v is None else format(v, spec)


def targets_check(rows, sse):
    """The issue's targets, as ratios from this run: (name, c, value, goal, met)."""
    checks = []

    def r(t, c):
        return rows.get((t, c), {}).get("rps")

    def ratio(a, b, c):
        x, y = r(a, c), r(b, c)
        return x / y if x and y else None

    cs = sorted({c for _, c in rows})
    for c in cs:
        checks.append(("(1) shunt ÷ direct TLS, keep-alive", c, ratio("ka.shunt-upstream", "ka.direct-tls", c), 0.5, "≥"))
        checks.append(("(1) shunt ÷ mitmproxy, keep-alive", c, ratio("ka.shunt-upstream", "ka.mitmproxy", c), 50, "≥"))
        a, b = rows.get(("ka.shunt-upstream", c)), rows.get(("ka.direct-tls", c))
        d = a["p99"] - b["p99"] if a and b and a["p99"] is not None and b["p99"] is not None else None
        checks.append(("(1) p99 shunt − p99 direct TLS (ms)", c, d, 1.0, "≤"))
        checks.append(("(1) --record ÷ forwarding, keep-alive", c, ratio("ka.shunt-record", "ka.shunt-upstream", c), 0.5, "≥"))
        checks.append(("(3) shunt ÷ direct TLS, new conn", c, ratio("new.shunt-upstream", "new.direct-tls", c), 1.0, "≥"))
        checks.append(("(3) shunt ÷ mitmproxy, new conn", c, ratio("new.shunt-upstream", "new.mitmproxy", c), 10, "≥"))
        checks.append(("(4) new host ÷ (3) new conn", c, ratio("newhost.shunt-upstream", "new.shunt-upstream", c), 0.9, "≥"))
        checks.append(("(6) shunt mock ÷ FastAPI", c, ratio("mock.shunt-mock", "mock.fastapi", c), 10, "≥"))
    if sse:
        checks.append(("(5) SSE peak RSS (MiB)", sse["client"].get("streams"), sse["hwm_mib"], 150, "≤"))
        checks.append(
            ("(5) SSE streams complete", sse["client"].get("streams"), sse["client"].get("completed"), sse["client"].get("streams"), "=")
        )
    out = []
    for name, c, v, goal, op in checks:
        if v is None:
            met = None
        elif op == "≥":
            met = v >= goal
        elif op == "≤":
            met = v <= goal
        else:
            met = v == goal
        out.append({"target": name, "c": c, "value": v, "goal": f"{op} {goal}", "met": met})
    return out


def read_machine():
    machine = {}
    mfile = out / "machine.txt"
    if mfile.exists():
        for line in mfile.read_text().splitlines():
            k, _, v = line.partition("=")
            machine[k] = v
    return machine


def main():
    failures = []
    points = load_points()
    rows = aggregate(points)
    sse = None
    sse_meta = raw / "sse.meta.json"
    if sse_meta.exists():
        meta = json.loads(sse_meta.read_text())
        try:
            client = json.loads((raw / "sse.client.json").read_text())
        except Exception:  # noqa: BLE001
            client = {}
        sse = {
            "client": client,
            "rc": meta["rc"],
            "hwm_mib": meta["hwm_kb"] / 1024,
            "rss_after_mib": meta["rss_kb_after"] / 1024,
            "cpu_us_per_chunk": (meta["cpu_ticks"] / meta["clk_tck"] * 1e6 / client["chunks"]) if client.get("chunks") else None,
        }
        if meta["rc"] != 0 or not client or client.get("completed") != client.get("streams"):
            failures.append(f"sse: {client.get('completed', 0)}/{client.get('streams', '?')} streams complete (exit {meta['rc']})")
    elif not read_machine().get("only"):
        failures.append("sse: did not run")

    if not rows:
        failures.append("no request/response point ran")
    for (target, c), row in sorted(rows.items()):
        if not row["ok"] and not any(x in target for x in REFERENCE_ONLY):
            failures.append(f"{target} c={c}: {'; '.join(row['problems'])}")

    machine = read_machine()
    checks = targets_check(rows, sse)

    lines = ["# shunt benchmark", ""]
    if machine:
        lines += [
            f"Machine: {machine.get('nproc')} cores, {machine.get('cpu')}, kernel {machine.get('kernel')}; "
            f"{machine.get('oha')}; {machine.get('nginx')}; mitmproxy: {machine.get('mitmproxy') or 'not run'}; "
            f"FastAPI {machine.get('fastapi')}; shunt build: {machine.get('build')}.",
            f"Run: {machine.get('mode')}, {machine.get('duration')} s per point, medians of {machine.get('reps')}, "
            f"c = {machine.get('conc')}; every target alternated within each repetition; all inside one "
            "network namespace with only loopback, oha on the same 2 cores."
            + (f" Only targets matching `{machine['only']}`." if machine.get("only") else "")
            + (f" TOKIO_WORKER_THREADS={machine['tokio_worker_threads']}." if machine.get("tokio_worker_threads") else "")
            + (f" shunt binary: `{machine['shunt']}`." if machine.get("shunt") and not machine["shunt"].endswith(("target/release/shunt", "target/debug/shunt")) else ""),
            "",
        ]
    lines += [
        "req/s counts 200 answers only; latency in ms; CPU µs/req is the server's (the proxy's for "
        "proxied rows: shunt or mitmproxy, not nginx behind them) utime+stime per request; peak RSS "
        "is VmHWM, reset before each point. `vs` is req/s over the named row at the same c.",
        "",
        "| scenario | target | c | req/s | p50 | p90 | p99 | CPU µs/req | peak RSS MiB | vs | ratio | ok |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for target in ORDER:
        for c in sorted({c for t, c in rows if t == target}):
            row = rows[(target, c)]
            lines.append(
                f"| {SCENARIO[target]} | {target} | {c} | {fmt(row['rps'])} | {fmt(row['p50'], '.2f')} | "
                f"{fmt(row['p90'], '.2f')} | {fmt(row['p99'], '.2f')} | {fmt(row['cpu_us'])} | "
                f"{fmt(row['hwm_mib'], '.1f')} | {row['ratio_ref'] or ''} | {fmt(row['ratio'], '.2f')} | "
                f"{'yes' if row['ok'] else 'NO: ' + '; '.join(row['problems'])[:120]} |"
            )
    if sse:
        cl = sse["client"]
        lines += [
            "",
            "## (5) SSE: concurrent streams from the built-in mock (`--ttft 1s --gap 50ms`, 6 chunks each)",
            "",
            "| streams | connected | complete | failed | chunks | chunks/s | first chunk p50 / p99 s | stream p50 / p99 / max s | setup s | peak RSS MiB | CPU µs/chunk |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: |",
            f"| {cl.get('streams', '–')} | {cl.get('connected', '–')} | {cl.get('completed', '–')} | "
            f"{cl.get('failed', 0) + cl.get('short', 0) if cl else '–'} | {cl.get('chunks', '–')} | "
            f"{fmt(cl.get('chunks_per_s'))} | {fmt(cl.get('first_chunk_p50_s'), '.3f')} / {fmt(cl.get('first_chunk_p99_s'), '.3f')} | "
            f"{fmt(cl.get('stream_p50_s'), '.3f')} / {fmt(cl.get('stream_p99_s'), '.3f')} / {fmt(cl.get('stream_max_s'), '.3f')} | "
            f"{fmt(cl.get('setup_s'), '.1f')} | {fmt(sse['hwm_mib'], '.1f')} | {fmt(sse['cpu_us_per_chunk'])} |",
        ]
    lines += ["", "## Targets (ratios from this run)", "", "| target | c | value | goal | met |", "| --- | ---: | ---: | --- | --- |"]
    for ch in checks:
        v = ch["value"]
        lines.append(
            f"| {ch['target']} | {ch['c']} | {fmt(v, '.2f') if isinstance(v, float) else fmt(v, '')} | {ch['goal']} | "
            f"{'–' if ch['met'] is None else ('yes' if ch['met'] else 'no')} |"
        )
    lines += ["", "## Completion", ""]
    lines += [f"- FAILED: {f}" for f in failures] or ["- every scenario completed"]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    (out / "results.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "rows": [dict(v) for _, v in sorted(rows.items())],
                "sse": sse,
                "targets": checks,
                "failures": failures,
            },
            indent=1,
        )
    )
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
