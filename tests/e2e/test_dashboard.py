"""The live dashboard (`/ui`) in a real headless browser, and the Grafana dashboard.

The browser is Debian's `chromium` (/usr/bin/chromium, or SHUNT_CHROMIUM), driven by
Playwright for Python pointed at that executable: no browser is ever downloaded. A missing
chromium or playwright fails these tests; nothing is skipped.

Screenshots go to target/test-artifacts/ (their paths are printed).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import REPO_ROOT, Shunt

CHROMIUM = Path(os.environ.get("SHUNT_CHROMIUM") or "/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "target" / "test-artifacts"
GRAFANA_JSON = REPO_ROOT / "deploy" / "grafana" / "shunt-dashboard.json"
PROMETHEUS_YML = REPO_ROOT / "deploy" / "prometheus.yml"
COMPOSE = REPO_ROOT / "docker-compose.yaml"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TOKEN = "dash-s3cret"
# How long after its traffic ended the page must show it: snapshots come every second.
UPDATE_WITHIN_MS = 2000


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright (never a downloaded browser)."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"chromium not found at {CHROMIUM}: apt-get install chromium (or set SHUNT_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.fail(f"playwright is not installed in this venv ({e}): pip install -r tests/e2e/requirements.txt")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield b
        b.close()


class Page:
    """A browser page on one shunt's dashboard that records every request it makes."""

    def __init__(self, browser, base: str, viewport=LAPTOP):
        self.base = base
        self.origin = urlsplit(base).netloc
        self.context = browser.new_context(viewport=viewport, device_scale_factor=1)
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        # Anything not for the shunt listener is recorded and never leaves the browser.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        # Script errors fail the test; the browser's own note of an HTTP error status
        # ("Failed to load resource") does not: the knobs test gets 400s on purpose.
        self.page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                     and self.errors.append(f"console: {m.text}"))

    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.netloc == self.origin:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def open(self, query: str = ""):
        res = self.page.goto(f"{self.base}/ui{query}")
        return res

    def wait_live(self, timeout_ms: int = 5000):
        """Wait until the page rendered a snapshot from /ui/stream."""
        self.page.wait_for_function("document.body.dataset.updated !== undefined", timeout=timeout_ms)
        self.page.wait_for_function("document.getElementById('conn').textContent === 'live'", timeout=timeout_ms)

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector).strip()

    def wait_text(self, selector: str, want: str, timeout_ms: int):
        """Wait until `selector`'s text is exactly `want`; fail with what it showed."""
        js = "([s, w]) => { const e = document.querySelector(s); return e && e.textContent.trim() === w; }"
        try:
            self.page.wait_for_function(js, arg=[selector, want], timeout=timeout_ms, polling=50)
        except Exception as e:  # playwright's TimeoutError
            pytest.fail(f"{selector} did not show {want!r} within {timeout_ms} ms "
                        f"(it shows {self.text(selector)!r}): {e}")

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    def breakdown(self, dim: str) -> dict[str, dict[str, str]]:
        """The breakdown table for `dim` (its tab clicked): key -> requests, errors, cost."""
        self.page.click(f"#dims button[data-dim='{dim}']")
        self.page.wait_for_function(
            "d => document.getElementById('dim-head').textContent === d", arg=dim, timeout=2000)
        rows = self.page.eval_on_selector_all(
            "#breakdown-table tbody tr[data-key]",
            "rows => rows.map(r => [r.dataset.key, Array.from(r.cells).map(c => c.textContent.trim())])")
        return {k: {"requests": c[1], "errors": c[2], "tokens_in": c[3], "tokens_out": c[4], "cost": c[5]}
                for k, c in rows}

    def recent(self) -> list[dict]:
        return self.page.eval_on_selector_all(
            "#recent-table tbody tr",
            """rows => rows.filter(r => r.cells.length > 1).map(r => ({
                 request: r.cells[1].textContent.trim(), model: r.cells[2].textContent.trim(),
                 status: r.cells[3].textContent.trim(), cost: r.cells[7].textContent.trim(),
                 record: (r.cells[9].querySelector('a') || {}).href || null}))""")

    def close(self):
        assert not self.errors, f"the page logged errors: {self.errors}"
        self.context.close()


@pytest.fixture
def open_page(browser):
    pages: list[Page] = []

    def open_(base: str, viewport=LAPTOP) -> Page:
        p = Page(browser, base, viewport)
        pages.append(p)
        return p

    yield open_
    for p in pages:
        p.close()


def http(url: str, method: str = "GET", body: dict | None = None, token: str | None = None):
    """(status, body text) of a plain request to shunt's own listener (no proxy)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as r:
            # /ui/stream never ends: read its first event only.
            text = r.readline().decode() if r.headers.get("content-type") == "text/event-stream" else r.read().decode()
            return r.status, text
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def timed_calls(shunt: Shunt, n: int, *args: str, env=None) -> dict:
    """n chat completions through shunt with the openai SDK (clients/openai_timed.py)."""
    out = shunt.client("openai_timed.py", str(n), *args, env=env)
    assert len(out["elapsed"]) == n, out
    return out


# ---------------------------------------------------------------------------- the page

def test_page_is_self_contained_and_makes_no_external_request(start_shunt, open_page):
    shunt = start_shunt()
    status, html = http(f"{shunt.url}/ui")
    assert status == 200
    # Statically: no asset from elsewhere (scripts, styles, fonts, images, imports).
    for ref in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html):
        assert ref.startswith(("data:", "/", "#")) or "://" not in ref, f"external reference {ref!r}"
    assert not re.search(r"@import|@font-face|url\(\s*['\"]?(?:https?:)?//", html), "external CSS asset"
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)

    page = open_page(shunt.url)
    res = page.open()
    assert res.status == 200
    page.wait_live()
    page.wait_text("#t-requests", "0", 3000)
    # Run a little traffic and a knob read so every code path that fetches has run.
    timed_calls(shunt, 2)
    page.wait_text("#t-requests", "2", 3000)
    page.page.wait_for_timeout(1200)
    page.screenshot("dashboard-no-external")
    assert page.foreign == [], f"requests to other hosts: {page.foreign}"
    assert page.requests, "no request recorded"
    for url in page.requests:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("http", shunt.addr), f"request outside shunt: {url}"
    paths = {urlsplit(u).path for u in page.requests}
    assert paths == {"/ui", "/ui/stream"}, paths


def test_counts_match_the_traffic_and_update_within_two_seconds(start_shunt, open_page, tmp_path):
    shunt = start_shunt("--capture", str(tmp_path / "cap.jsonl"))
    page = open_page(shunt.url)
    page.open()
    page.wait_live()
    page.wait_text("#t-requests", "0", 3000)
    assert "No exchange yet" in page.text("#recent-table")

    n = 7
    out = timed_calls(shunt, n)
    done = time.monotonic()
    page.wait_text("#t-requests", str(n), UPDATE_WITHIN_MS)
    shown_after = time.monotonic() - done
    print(f"the page showed {n} requests {shown_after * 1000:.0f} ms after the client ended")
    assert out["status"] == [200] * n
    page.wait_text("#t-tokens-in", f"{out['tokens_in']:,}", 1000)
    page.wait_text("#t-tokens-out", f"{out['tokens_out']:,}", 1000)
    assert page.text("#t-errors") == "0"
    assert page.text("#t-faults") == "0"
    cost = page.text("#t-cost")
    assert re.fullmatch(r"\$0\.\d+", cost), f"estimated cost for a priced model: {cost!r}"
    assert float(cost[1:]) > 0
    assert page.text("#t-ttfb-p50").endswith("ms") and page.text("#t-total-p99").endswith("ms")

    for dim, key in (("route", "openai"), ("provider", "openai"), ("model", "gpt-4o-mini")):
        rows = page.breakdown(dim)
        assert set(rows) == {key}, (dim, rows)
        assert rows[key]["requests"] == str(n) and rows[key]["errors"] == "0", (dim, rows)
        assert rows[key]["tokens_in"] == f"{out['tokens_in']:,}", (dim, rows)

    recent = page.recent()
    assert len(recent) == n, recent
    for r in recent:
        assert r["request"] == "POST /v1/chat/completions", r
        assert r["status"] == "200" and r["model"].startswith("gpt-4o-mini"), r
        assert r["cost"].startswith("$"), r
        assert re.fullmatch(rf"http://{re.escape(shunt.addr)}/ui/records/\d+", r["record"]), r
    # The newest record link opens the full capture record.
    rec = page.context.request.get(recent[0]["record"])
    assert rec.status == 200
    record = rec.json()
    assert record["url"] == "https://api.openai.com/v1/chat/completions", record
    page.screenshot("dashboard-counts", full_page=True)

    # A model with no known price: counted as unpriced, never shown as $0.
    more = timed_calls(shunt, 1, "--model", "shunt-e2e-unpriced-model")
    assert more["status"] == [200]
    page.wait_text("#t-requests", str(n + 1), UPDATE_WITHIN_MS)
    page.wait_text("#t-unpriced", "+ 1 unpriced call (no known price)", 1000)
    assert page.text("#t-cost") == cost, "an unpriced call changed the estimated cost"
    newest = page.recent()[0]
    assert newest["model"].startswith("shunt-e2e-unpriced-model") and newest["cost"] == "unpriced", newest
    row = page.breakdown("model")["shunt-e2e-unpriced-model"]
    assert row["cost"] == "unpriced ×1", row
    assert "$0" not in row["cost"]


def test_knob_changed_from_the_page_changes_the_mock_latency(start_shunt, open_page):
    shunt = start_shunt()
    page = open_page(shunt.url)
    page.open()
    page.wait_live()
    page.page.wait_for_selector("#knob-ttft")
    assert page.page.input_value("#knob-ttft") == "fixed:0ms"

    before = timed_calls(shunt, 3)
    assert max(before["elapsed"]) < 0.25, f"calls before the change were already slow: {before['elapsed']}"

    page.page.fill("#knob-ttft", "300ms")
    page.page.click("#knob-apply")
    page.wait_text("#knob-msg", "Applied: ttft = fixed:300ms", 3000)
    assert "ok" in page.page.get_attribute("#knob-msg", "class")
    status, body = http(f"{shunt.url}/admin/mock")
    assert status == 200 and json.loads(body)["ttft"] == "fixed:300ms", body
    # The change is listed and marked on the charts.
    page.page.wait_for_function(
        "document.getElementById('markers').textContent.includes('ttft: fixed:0ms → fixed:300ms')", timeout=3000)

    after = timed_calls(shunt, 3)
    assert all(0.29 <= t < 3.0 for t in after["elapsed"]), f"ttft 300ms not seen by the client: {after['elapsed']}"
    page.page.wait_for_function(
        "parseFloat(document.getElementById('t-total-p99').textContent) >= 290", timeout=UPDATE_WITHIN_MS)

    # A bad value: the server's 400 message is shown and nothing changes.
    page.page.fill("#knob-fault_429", "1.5")
    page.page.click("#knob-apply")
    page.wait_text("#knob-msg", "Refused (400): fault_429: expected a number between 0 and 1, got 1.5", 3000)
    assert "error" in page.page.get_attribute("#knob-msg", "class")
    page.screenshot("dashboard-knob-refused")
    page.page.fill("#knob-fault_429", "0")
    page.page.fill("#knob-ttft", "soon")
    page.page.click("#knob-apply")
    page.page.wait_for_function(
        "document.getElementById('knob-msg').textContent.startsWith('Refused (400): ttft: `soon`')", timeout=3000)
    status, body = http(f"{shunt.url}/admin/mock")
    knobs = json.loads(body)
    assert knobs["ttft"] == "fixed:300ms" and knobs["fault_429"] == 0, knobs
    page.screenshot("dashboard-knobs", full_page=True)


def test_phone_layout_fits_the_screen(start_shunt, open_page):
    shunt = start_shunt()
    page = open_page(shunt.url, viewport=PHONE)
    page.open()
    page.wait_live()
    timed_calls(shunt, 3)
    page.wait_text("#t-requests", "3", 3000)
    page.page.wait_for_timeout(500)
    width = page.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
    # Tiles two by two, charts one per row.
    boxes = [page.page.locator(f"#{c}").bounding_box() for c in ("chart-rps", "chart-latency")]
    assert boxes[1]["y"] > boxes[0]["y"] and boxes[0]["width"] > 300, boxes
    page.screenshot("dashboard-phone", full_page=True)


# ---------------------------------------------------------------------------- access

class WideShunt(Shunt):
    """A shunt listening on every interface (reached here through 127.0.0.1)."""

    def command(self, args: list[str]) -> list[str]:
        return [*super().command([])[:2], "--listen", "0.0.0.0:0", "--certs", str(self.certs), *args]


@pytest.fixture
def start_wide(tmp_path_factory):
    started: list[WideShunt] = []

    def start(*args: str) -> WideShunt:
        s = WideShunt(tmp_path_factory.mktemp("wide"), list(args))
        s.url = f"http://127.0.0.1:{s.port}"
        s.addr = f"127.0.0.1:{s.port}"
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop_and_check()


def test_beyond_loopback_the_token_is_required(start_wide, open_page, tmp_path):
    shunt = start_wide("--admin-token", TOKEN, "--capture", str(tmp_path / "cap.jsonl"))
    for path in ("/ui", "/ui/stream", "/admin/mock", "/ui/records/1"):
        status, body = http(shunt.url + path)
        assert status == 401, (path, status, body)
        assert "--admin-token" in json.loads(body)["error"]
        assert http(shunt.url + path, token="wrong")[0] == 401, path
        assert http(f"{shunt.url}{path}?token=wrong")[0] == 401, path
    assert http(f"{shunt.url}/admin/mock", "PUT", {"ttft": "1s"})[0] == 401
    assert http(f"{shunt.url}/admin/mock", token=TOKEN)[0] == 200
    assert http(f"{shunt.url}/ui/stream?token={TOKEN}")[1].startswith("data: {")
    # Health and metrics stay open for probes and Prometheus.
    assert http(f"{shunt.url}/healthz")[0] == 200
    assert http(f"{shunt.url}/metrics")[0] == 200

    page = open_page(shunt.url)
    assert page.open().status == 401
    assert page.open(f"?token={TOKEN}").status == 200
    page.wait_live()
    # The page passes its token on: the stream, the knobs and the record links work.
    env = shunt.env(HTTPS_PROXY=shunt.url, https_proxy=shunt.url, HTTP_PROXY=shunt.url, http_proxy=shunt.url)
    timed_calls(shunt, 2, env=env)
    page.wait_text("#t-requests", "2", UPDATE_WITHIN_MS)
    link = page.recent()[0]["record"]
    assert link and link.endswith(f"?token={TOKEN}"), link
    assert page.context.request.get(link).status == 200
    page.page.wait_for_selector("#knob-gap")
    page.page.fill("#knob-gap", "5ms")
    page.page.click("#knob-apply")
    page.wait_text("#knob-msg", "Applied: gap = fixed:5ms", 3000)
    assert json.loads(http(f"{shunt.url}/admin/mock", token=TOKEN)[1])["gap"] == "fixed:5ms"
    for url in page.requests:
        parts = urlsplit(url)
        assert parts.netloc == shunt.addr, url
        if parts.path in ("/ui/stream", "/admin/mock"):
            assert f"token={TOKEN}" in parts.query, url
    page.screenshot("dashboard-token")


def test_beyond_loopback_without_a_token_they_are_refused(start_wide, open_page):
    shunt = start_wide()
    for path in ("/ui", "/ui/stream", "/admin/mock"):
        for query in ("", f"?token={TOKEN}"):
            status, body = http(shunt.url + path + query)
            assert status == 403, (path, query, status, body)
            assert "--admin-token" in json.loads(body)["error"]
    assert http(f"{shunt.url}/admin/mock", "PUT", {"ttft": "1s"}, token=TOKEN)[0] == 403
    assert http(f"{shunt.url}/metrics")[0] == 200
    page = open_page(shunt.url)
    assert page.open().status == 403


# ---------------------------------------------------------------------------- Grafana

# A JSON Schema for the parts of Grafana's dashboard model this dashboard uses: what
# Grafana needs to load it and draw every panel from a Prometheus query.
DATASOURCE_REF = {
    "type": "object", "required": ["type", "uid"],
    "properties": {"type": {"const": "prometheus"}, "uid": {"const": "${datasource}"}},
}
GRID_POS = {
    "type": "object", "required": ["x", "y", "w", "h"],
    "properties": {"x": {"type": "integer", "minimum": 0, "maximum": 23},
                   "y": {"type": "integer", "minimum": 0},
                   "w": {"type": "integer", "minimum": 1, "maximum": 24},
                   "h": {"type": "integer", "minimum": 1}},
}
QUERY_PANEL = {
    "type": "object",
    "required": ["id", "type", "title", "gridPos", "datasource", "targets", "fieldConfig"],
    "properties": {
        "id": {"type": "integer"},
        "type": {"enum": ["timeseries", "stat", "gauge", "bargauge", "table"]},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "gridPos": GRID_POS,
        "datasource": DATASOURCE_REF,
        "targets": {
            "type": "array", "minItems": 1,
            "items": {"type": "object", "required": ["refId", "expr", "datasource"],
                      "properties": {"refId": {"type": "string", "pattern": "^[A-Z]$"},
                                     "expr": {"type": "string", "minLength": 1},
                                     "legendFormat": {"type": "string"},
                                     "datasource": DATASOURCE_REF}},
        },
        "fieldConfig": {"type": "object", "required": ["defaults"],
                        "properties": {"defaults": {"type": "object", "required": ["unit"]}}},
    },
}
DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "templating", "time", "refresh"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "time": {"type": "object", "required": ["from", "to"]},
        "templating": {"type": "object", "required": ["list"], "properties": {"list": {
            "type": "array", "items": {"type": "object", "required": ["name", "type"],
                                       "properties": {"type": {"enum": ["datasource", "query", "custom"]}}}}}},
        "panels": {"type": "array", "minItems": 1, "items": {"oneOf": [
            {"type": "object", "required": ["type", "id", "title", "gridPos"],
             "properties": {"type": {"const": "row"}, "id": {"type": "integer"}, "gridPos": GRID_POS}},
            {"allOf": [QUERY_PANEL, {"not": {"properties": {"type": {"const": "row"}}}}]},
        ]}},
    },
}
# Grafana's template variables, replaced by values PromQL accepts before parsing.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "15m",
                "$job": ".*", "$model": ".*", "${job}": ".*", "${model}": ".*"}


def grafana_dashboard() -> dict:
    return json.loads(GRAFANA_JSON.read_text())


def query_panels(dash: dict) -> list[dict]:
    return [p for p in dash["panels"] if p["type"] != "row"]


def promql(expr: str):
    import promql_parser

    for var, value in sorted(GRAFANA_VARS.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
    return promql_parser.parse(expr)


def selectors(node) -> list:
    """Every vector selector in a parsed PromQL expression."""
    import promql_parser as pp

    if isinstance(node, pp.VectorSelector):
        return [node]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.Call):
        return [s for a in node.args for s in selectors(a)]
    if isinstance(node, pp.AggregateExpr):
        out = selectors(node.expr)
        return out + (selectors(node.param) if node.param is not None else [])
    if isinstance(node, pp.BinaryExpr):
        return selectors(node.lhs) + selectors(node.rhs)
    if isinstance(node, pp.ParenExpr):
        return selectors(node.expr)
    if isinstance(node, pp.UnaryExpr):
        return selectors(node.expr)
    if isinstance(node, pp.SubqueryExpr):
        return selectors(node.expr)
    if isinstance(node, (pp.NumberLiteral, pp.StringLiteral)):
        return []
    raise AssertionError(f"unexpected PromQL node {type(node).__name__}: {node}")


def grouping_labels(node) -> set[str]:
    """Labels named in `by (...)` clauses."""
    import promql_parser as pp

    out: set[str] = set()
    if isinstance(node, pp.AggregateExpr):
        if node.modifier is not None and node.modifier.type == pp.AggModifierType.By:
            out |= set(node.modifier.labels)
        out |= grouping_labels(node.expr)
    elif isinstance(node, pp.Call):
        for a in node.args:
            out |= grouping_labels(a)
    elif isinstance(node, pp.BinaryExpr):
        out |= grouping_labels(node.lhs) | grouping_labels(node.rhs)
    elif isinstance(node, (pp.ParenExpr, pp.UnaryExpr, pp.SubqueryExpr)):
        out |= grouping_labels(node.expr)
    return out


def exported(metrics_text: str) -> dict[str, set[str]]:
    """Sample name -> the label names it carries, from Prometheus / OpenMetrics text."""
    out: dict[str, set[str]] = {}
    for line in metrics_text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        assert m, f"unparsable sample line {line!r}"
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or ""))
        out.setdefault(m.group(1), set()).update(labels)
    return out


def test_grafana_dashboard_is_valid():
    import jsonschema

    dash = grafana_dashboard()
    jsonschema.validate(dash, DASHBOARD_SCHEMA)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), f"duplicate panel ids {ids}"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    # Panels do not overlap on Grafana's 24-column grid.
    cells: dict[tuple[int, int], str] = {}
    for p in dash["panels"]:
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]
    panels = query_panels(dash)
    for p in panels:
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            promql(t["expr"])  # raises on a PromQL syntax error
            used = set(re.findall(r"\$\{?(\w+)", t["expr"])) - {"__rate_interval", "__range", "__interval"}
            assert used <= set(variables), f"{p['title']}: undefined variables {used - set(variables)}"
    for v in variables.values():
        if v["type"] == "query":
            promql(re.fullmatch(r"label_values\((\w+), \w+\)", v["definition"]).group(1))
    titles = " | ".join(p["title"] for p in panels)
    for what in ("Tokens / s by type and model", "Operation duration", "Time to first token",
                 "Time per output token", "Requests / s by route", "Errors / s by route",
                 "Estimated cost", "Open connections"):
        assert what in titles, f"no panel for {what!r}: {titles}"


def test_grafana_queries_use_only_exported_metrics(start_shunt):
    shunt = start_shunt("--fault-429", "0.3", "--seed", "7")
    # Traffic of every kind the panels count: unary and streamed calls, faults included.
    timed_calls(shunt, 6)
    timed_calls(shunt, 4, "--stream")
    status, text = http(f"{shunt.url}/metrics")
    assert status == 200
    samples = exported(text)
    dash = grafana_dashboard()
    checked = set()
    exprs = [t["expr"] for p in query_panels(dash) for t in p["targets"]]
    exprs += [re.fullmatch(r"label_values\((\w+), \w+\)", v["definition"]).group(1)
              for v in dash["templating"]["list"] if v["type"] == "query"]
    for expr in exprs:
        ast = promql(expr)
        sels = selectors(ast)
        assert sels, f"no metric in {expr!r}"
        labels = {"job", "instance", "le"}
        for sel in sels:
            name = sel.name
            assert name, f"selector without a metric name in {expr!r}"
            assert name in samples, f"{name} (in {expr!r}) is not exported; exported: {sorted(samples)}"
            family = re.sub(r"_(bucket|sum|count|total)$", "", name)
            have = set().union(*(v for k, v in samples.items() if k.startswith(family)))
            for matcher in sel.matchers.matchers:
                assert matcher.name in have | {"job", "instance"}, f"{name} has no label {matcher.name} ({expr!r})"
            labels |= have
            checked.add(name)
        missing = grouping_labels(ast) - labels
        assert not missing, f"{expr!r} groups by labels its metrics lack: {missing}"
    for family in ("gen_ai_client_token_usage", "gen_ai_client_operation_duration_seconds",
                   "gen_ai_server_time_to_first_token_seconds", "gen_ai_server_time_per_output_token_seconds",
                   "shunt_genai_cost_usd_total", "shunt_requests_total", "shunt_open_connections"):
        assert any(c.startswith(family) for c in checked), f"the dashboard does not use {family}"
    print(f"{len(exprs)} queries over {len(checked)} exported series names: {sorted(checked)}")


def test_prometheus_and_grafana_compose_wiring():
    import yaml

    prom = yaml.safe_load(PROMETHEUS_YML.read_text())
    targets = {c["job_name"]: [t for s in c["static_configs"] for t in s["targets"]]
               for c in prom["scrape_configs"]}
    assert targets == {"shunt": ["shunt:8080"], "mock-llm": ["mock-llm:8000"]}, targets
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert services["shunt"]["environment"]["SHUNT_LISTEN"].endswith(":8080")
    assert services["mock-llm"]["environment"]["SHUNT_LISTEN"].endswith(":8000")
    for name, image in (("prometheus", "prom/prometheus:"), ("grafana", "grafana/grafana:")):
        svc = services[name]
        assert svc["profiles"] == ["observability"], name
        assert svc["image"].startswith(image), svc["image"]
        for spec in svc["volumes"]:
            src = spec.split(":")[0]
            assert (REPO_ROOT / src).exists(), f"{name} mounts missing {src}"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["grafana"]["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    provider = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/dashboards/shunt.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert any(t.startswith(path + "/") and t.endswith(".json") and s == "./deploy/grafana/shunt-dashboard.json"
               for t, s in mounts.items()), (path, mounts)
    ds = yaml.safe_load((REPO_ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    # Nothing in the default set depends on the observability services.
    for name, svc in services.items():
        if "observability" not in (svc.get("profiles") or []):
            assert not {"prometheus", "grafana"} & set(svc.get("depends_on") or {}), name
