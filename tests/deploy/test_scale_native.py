"""`scripts/scale-test native` end to end: shunt mock + shunt serve + a real Parlant
server (examples/parlant/agent.py on the Vertex adapter, local JSON stores) + Locust, a
short load, zero failed turns, the report files written."""

import os
import re
import subprocess

from conftest import REPO


def test_native_scale_run(tmp_path, shunt_bin):
    out = tmp_path / "report"
    env = {**os.environ, "SHUNT_BIN": str(shunt_bin),
           # Off the defaults, so a stack someone left running does not collide.
           "SCALE_PORT_BASE": os.environ.get("SCALE_PORT_BASE", "28000")}
    proc = subprocess.run(
        [str(REPO / "scripts/scale-test"), "native", "--users", "2", "--spawn-rate", "2",
         "--duration", "30s", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=900,
    )
    logs = ""
    for name in ("parlant.log", "shunt.log", "mock-llm.log"):
        path = out / "logs" / name
        if path.exists():
            logs += f"\n--- {name} (tail)\n" + path.read_text()[-3000:]
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}{logs}"

    summary = (out / "summary.txt").read_text()
    m = re.search(r"turns=(\d+) failed=(\d+) p50=(\d+)ms p90=(\d+)ms p99=(\d+)ms", summary)
    assert m, summary
    turns, failed = int(m[1]), int(m[2])
    assert turns > 0 and failed == 0, summary
    assert "turn latency:" in proc.stdout
    for name in ("report.html", "locust_stats.csv", "locust_failures.csv",
                 "locust_stats_history.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "turn" in (out / "locust_stats.csv").read_text()
    # What the agent did, per conversation: every record counted, no lost sessions.
    work = (out / "work.md").read_text()
    records = (out / "conversations.jsonl").read_text().splitlines()
    assert records and f"conversations: {len(records)}," in work, work
    assert "- session_not_found: 0" in work, work
    assert "| GenericObservationalGuidelineMatchesSchema |" in work, work
    # The same run's tokens and estimated cost on the real provider, per model.
    cost = re.search(r"^\| gemini-2\.5-flash \| (\d+) \| (\d+) \| ([0-9.]+) \|", work, re.M)
    assert cost and int(cost[1]) > 0 and int(cost[2]) > 0 and float(cost[3]) > 0, work
    # The agent's Vertex calls went through shunt (token + model calls) to the mock.
    shunt_log = (out / "logs/shunt.log").read_text()
    assert ' route=token ' in shunt_log
    assert ":generateContent" in shunt_log and ":predict" in shunt_log
    print(summary)
