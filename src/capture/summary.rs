//! `shunt capture summary FILE`: per-route counts, status mix and latency percentiles
//! from a JSONL or HAR capture, and for the model calls the mock answered (JSONL records
//! carry their tokens) calls, tokens and estimated cost per model, schema title and
//! function, priced with a price table (`--prices`, else the built-in one). A model the
//! table does not price is reported as unpriced, never as free. Formats: `text` (aligned
//! columns), `md`, `csv`, `json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::cost::{Prices, Tokens};

/// How the summary is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Md,
    Csv,
    Json,
}

#[derive(Debug, Default)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    durations: Vec<f64>,
}

/// Calls, tokens and cost of one model, schema or function.
#[derive(Debug, Default, Clone)]
struct Usage {
    calls: u64,
    tokens_in: u64,
    tokens_out: u64,
    cost_usd: f64,
    /// Calls no price rule covered.
    unpriced: u64,
}

impl Usage {
    fn add(&mut self, tokens_in: u64, tokens_out: u64, cost: Option<f64>) {
        self.calls += 1;
        self.tokens_in += tokens_in;
        self.tokens_out += tokens_out;
        match cost {
            Some(c) => self.cost_usd += c,
            None => self.unpriced += 1,
        }
    }

    /// The cost as printed: dollars, or `unpriced` when any call was.
    fn cost_text(&self) -> String {
        match (self.unpriced, self.calls) {
            (0, _) => format!("{:.6}", self.cost_usd),
            (u, c) if u == c => "unpriced".into(),
            (u, _) => format!("{:.6} (+{u} unpriced)", self.cost_usd),
        }
    }

    fn to_json(&self, key: &str) -> Value {
        json!({
            "key": key, "calls": self.calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
            "cost_usd": (self.unpriced < self.calls).then_some(self.cost_usd), "unpriced_calls": self.unpriced,
        })
    }
}

/// Everything a summary reports.
#[derive(Debug, Default)]
struct Summary {
    routes: BTreeMap<String, RouteStats>,
    models: BTreeMap<String, Usage>,
    schemas: BTreeMap<String, Usage>,
    functions: BTreeMap<String, Usage>,
    total: Usage,
    skipped: u64,
}

/// Percentile by nearest rank over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Read a capture file and render its summary.
pub fn summarize(path: &Path, prices: &Prices, format: Format) -> Result<String, String> {
    let summary = read(path, prices)?;
    Ok(match format {
        Format::Text => text(&summary),
        Format::Md => markdown(&summary),
        Format::Csv => csv(&summary),
        Format::Json => serde_json::to_string_pretty(&as_json(&summary)).unwrap_or_default() + "\n",
    })
}

fn read(path: &Path, prices: &Prices) -> Result<Summary, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut s = Summary::default();
    let add_route = |s: &mut Summary, route: &str, status: u16, ms: f64| {
        let stats = s.routes.entry(route.to_string()).or_default();
        *stats.statuses.entry(status).or_default() += 1;
        stats.durations.push(ms);
    };
    if path.extension().and_then(|e| e.to_str()) == Some("har") {
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: not HAR JSON: {e}", path.display()))?;
        let entries = doc["log"]["entries"]
            .as_array()
            .ok_or_else(|| format!("{}: not a HAR capture (no log.entries)", path.display()))?;
        for e in entries {
            let route = e["comment"]
                .as_str()
                .and_then(|c| c.strip_prefix("shunt route "))
                .unwrap_or("unknown");
            let status = e["response"]["status"].as_u64().unwrap_or(0) as u16;
            add_route(&mut s, route, status, e["time"].as_f64().unwrap_or(0.0));
        }
        return Ok(s);
    }
    let mut records = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // A line cut by a crash mid-write is skipped and counted, not fatal.
        let Ok(r) = serde_json::from_str::<Value>(line) else {
            s.skipped += 1;
            continue;
        };
        if !matches!(r["type"].as_str(), Some("exchange" | "tunnel" | "denial")) {
            s.skipped += 1;
            continue;
        }
        records += 1;
        let route = r["route"].as_str().unwrap_or("unknown");
        let status = match r["type"].as_str() {
            Some("exchange") => r["status"].as_u64().unwrap_or(0) as u16,
            Some("denial") => 403,
            _ => 200,
        };
        add_route(&mut s, route, status, r["duration_ms"].as_f64().unwrap_or(0.0));
        let llm = &r["llm"];
        if llm.is_object() {
            let (input, output) = (
                llm["tokens_in"].as_u64().unwrap_or(0),
                llm["tokens_out"].as_u64().unwrap_or(0),
            );
            let provider = llm["provider"].as_str().unwrap_or("");
            let model = llm["model"].as_str().unwrap_or("unknown");
            let tokens = Tokens {
                input,
                output,
                ..Tokens::default()
            };
            let cost = prices.estimate(provider, model, tokens);
            s.total.add(input, output, cost);
            s.models
                .entry(model.to_string())
                .or_default()
                .add(input, output, cost);
            if let Some(schema) = llm["schema"].as_str() {
                s.schemas
                    .entry(schema.to_string())
                    .or_default()
                    .add(input, output, cost);
            }
            for f in llm["functions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                s.functions
                    .entry(f.to_string())
                    .or_default()
                    .add(input, output, cost);
            }
        }
    }
    if records == 0 && s.skipped > 0 {
        return Err(format!(
            "{}: not a shunt capture ({} line(s), none a capture record)",
            path.display(),
            s.skipped
        ));
    }
    Ok(s)
}

/// Per route: count, status mix, p50/p90/p99/max milliseconds.
fn route_rows(s: &Summary) -> Vec<(String, u64, String, [f64; 4])> {
    s.routes
        .iter()
        .map(|(route, stats)| {
            let mut d = stats.durations.clone();
            d.sort_by(f64::total_cmp);
            let mix = stats
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}:{n}"))
                .collect::<Vec<_>>()
                .join(" ");
            let count = stats.statuses.values().sum();
            let p = [
                percentile(&d, 50.0),
                percentile(&d, 90.0),
                percentile(&d, 99.0),
                d.last().copied().unwrap_or(0.0),
            ];
            (route.clone(), count, mix, p)
        })
        .collect()
}

/// The usage sections: (title, key column, rows).
fn usage_sections(s: &Summary) -> [(&'static str, &'static str, &BTreeMap<String, Usage>); 3] {
    [
        ("model calls by model", "model", &s.models),
        ("model calls by response schema", "schema", &s.schemas),
        ("model calls by function called", "function", &s.functions),
    ]
}

fn text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:>8}  {:<28} {:>9} {:>9} {:>9} {:>9}",
        "route", "count", "status mix", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (route, count, mix, p) in route_rows(s) {
        let _ = writeln!(
            out,
            "{route:<18} {count:>8}  {mix:<28} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            p[0], p[1], p[2], p[3]
        );
    }
    for (title, column, rows) in usage_sections(s) {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title} (estimated cost, USD)");
        let _ = writeln!(
            out,
            "{column:<40} {:>8} {:>12} {:>12}  cost",
            "calls", "tokens in", "tokens out"
        );
        for (key, u) in rows {
            let _ = writeln!(
                out,
                "{key:<40} {:>8} {:>12} {:>12}  {}",
                u.calls,
                u.tokens_in,
                u.tokens_out,
                u.cost_text()
            );
        }
    }
    if s.total.calls > 0 {
        let _ = writeln!(
            out,
            "\nmodel calls: {}, tokens in {}, out {}, estimated cost {}",
            s.total.calls,
            s.total.tokens_in,
            s.total.tokens_out,
            s.total.cost_text()
        );
    }
    if s.skipped > 0 {
        let _ = writeln!(out, "({} unreadable lines skipped)", s.skipped);
    }
    out
}

fn markdown(s: &Summary) -> String {
    let mut out = String::from("| route | count | status mix | p50 ms | p90 ms | p99 ms | max ms |\n");
    out.push_str("| --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
    for (route, count, mix, p) in route_rows(s) {
        let _ = writeln!(
            out,
            "| {route} | {count} | {mix} | {:.1} | {:.1} | {:.1} | {:.1} |",
            p[0], p[1], p[2], p[3]
        );
    }
    for (title, column, rows) in usage_sections(s) {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n**{title}**\n");
        let _ = writeln!(
            out,
            "| {column} | calls | tokens in | tokens out | estimated cost (USD) |\n| --- | ---: | ---: | ---: | ---: |"
        );
        for (key, u) in rows {
            let _ = writeln!(
                out,
                "| {key} | {} | {} | {} | {} |",
                u.calls,
                u.tokens_in,
                u.tokens_out,
                u.cost_text()
            );
        }
    }
    if s.total.calls > 0 {
        let _ = writeln!(
            out,
            "\nModel calls: {}, tokens in {}, out {}, estimated cost {} USD.",
            s.total.calls,
            s.total.tokens_in,
            s.total.tokens_out,
            s.total.cost_text()
        );
    }
    out
}

fn csv(s: &Summary) -> String {
    let mut out = String::from(
        "section,key,calls,tokens_in,tokens_out,cost_usd,unpriced_calls,p50_ms,p90_ms,p99_ms,max_ms\n",
    );
    let quote = |k: &str| {
        if k.contains([',', '"', '\n']) {
            format!("\"{}\"", k.replace('"', "\"\""))
        } else {
            k.to_string()
        }
    };
    for (route, count, _, p) in route_rows(s) {
        let _ = writeln!(
            out,
            "route,{},{count},,,,,{:.1},{:.1},{:.1},{:.1}",
            quote(&route),
            p[0],
            p[1],
            p[2],
            p[3]
        );
    }
    for (_, column, rows) in usage_sections(s) {
        for (key, u) in rows {
            let cost = if u.unpriced == u.calls {
                String::new()
            } else {
                format!("{:.6}", u.cost_usd)
            };
            let _ = writeln!(
                out,
                "{column},{},{},{},{},{cost},{},,,,",
                quote(key),
                u.calls,
                u.tokens_in,
                u.tokens_out,
                u.unpriced
            );
        }
    }
    out
}

fn as_json(s: &Summary) -> Value {
    let routes: Vec<Value> = route_rows(s)
        .into_iter()
        .map(|(route, count, mix, p)| {
            json!({"route": route, "count": count, "status_mix": mix,
                   "p50_ms": p[0], "p90_ms": p[1], "p99_ms": p[2], "max_ms": p[3]})
        })
        .collect();
    let rows = |m: &BTreeMap<String, Usage>| -> Vec<Value> { m.iter().map(|(k, u)| u.to_json(k)).collect() };
    json!({
        "routes": routes,
        "models": rows(&s.models),
        "schemas": rows(&s.schemas),
        "functions": rows(&s.functions),
        "total": s.total.to_json("total"),
        "skipped_lines": s.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest-rank percentiles on a small set.
    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
    }

    /// Costs are tokens × the table's prices, per model; a model the table lacks is
    /// unpriced in every format, never zero.
    #[test]
    fn costs_per_model() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cap.jsonl");
        let record = |model: &str, tin: u64, tout: u64, function: Option<&str>| {
            json!({"type": "exchange", "id": 1, "conn": 1, "start": "", "duration_ms": 5.0, "route": "openai",
                   "host": "api.openai.com", "status": 200,
                   "llm": {"provider": "openai", "model": model, "tokens_in": tin, "tokens_out": tout,
                           "cost_usd": null, "functions": function.map(|f| vec![f]).unwrap_or_default()}})
            .to_string()
        };
        let lines = [
            record("priced-1", 1_000_000, 500_000, Some("get_weather")),
            record("priced-1", 2_000_000, 0, None),
            record("missing", 10, 10, None),
        ];
        std::fs::write(&path, lines.join("\n")).expect("write");
        let prices =
            Prices::parse("[[price]]\nmodel = \"priced-*\"\ninput = 2.0\noutput = 10.0\n").expect("prices");
        let json: Value =
            serde_json::from_str(&summarize(&path, &prices, Format::Json).expect("summary")).expect("json");
        let model = |name: &str| {
            json["models"]
                .as_array()
                .and_then(|m| m.iter().find(|r| r["key"] == name))
                .cloned()
                .expect("model row")
        };
        // (1M + 2M) × $2 + 0.5M × $10 = $11.
        assert_eq!(model("priced-1")["calls"], 2);
        assert!((model("priced-1")["cost_usd"].as_f64().expect("cost") - 11.0).abs() < 1e-9);
        assert_eq!(model("missing")["cost_usd"], Value::Null);
        assert_eq!(model("missing")["unpriced_calls"], 1);
        assert_eq!(json["functions"][0]["key"], "get_weather");
        let md = summarize(&path, &prices, Format::Md).expect("md");
        assert!(md.contains("| missing | 1 | 10 | 10 | unpriced |"), "{md}");
        assert!(
            md.contains("| priced-1 | 2 | 3000000 | 500000 | 11.000000 |"),
            "{md}"
        );
        let csv = summarize(&path, &prices, Format::Csv).expect("csv");
        assert!(csv.contains("model,missing,1,10,10,,1,,,,"), "{csv}");
        let text = summarize(&path, &prices, Format::Text).expect("text");
        assert!(text.contains("estimated cost 11.000000 (+1 unpriced)"), "{text}");
    }
}
