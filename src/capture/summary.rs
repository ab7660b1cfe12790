//! `shunt capture summary FILE`: per-route counts, status mix and latency percentiles
//! from a JSONL or HAR capture, for the end of a load test.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

#[derive(Debug, Default)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    durations: Vec<f64>,
}

/// Percentile by nearest rank over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Read a capture file and render the summary table.
pub fn summarize(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut routes: BTreeMap<String, RouteStats> = BTreeMap::new();
    let mut skipped = 0;
    let mut add = |route: &str, status: u16, ms: f64| {
        let stats = routes.entry(route.to_string()).or_default();
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
            add(route, status, e["time"].as_f64().unwrap_or(0.0));
        }
    } else {
        let mut records = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // A line cut by a crash mid-write is skipped and counted, not fatal.
            let Ok(r) = serde_json::from_str::<Value>(line) else {
                skipped += 1;
                continue;
            };
            if !matches!(r["type"].as_str(), Some("exchange" | "tunnel" | "denial")) {
                skipped += 1;
                continue;
            }
            records += 1;
            let route = r["route"].as_str().unwrap_or("unknown");
            let status = match r["type"].as_str() {
                Some("exchange") => r["status"].as_u64().unwrap_or(0) as u16,
                Some("denial") => 403,
                _ => 200,
            };
            add(route, status, r["duration_ms"].as_f64().unwrap_or(0.0));
        }
        if records == 0 && skipped > 0 {
            return Err(format!(
                "{}: not a shunt capture ({skipped} line(s), none a capture record)",
                path.display()
            ));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:>8}  {:<28} {:>9} {:>9} {:>9} {:>9}",
        "route", "count", "status mix", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (route, mut stats) in routes {
        stats.durations.sort_by(f64::total_cmp);
        let count: u64 = stats.statuses.values().sum();
        let mix = stats
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let d = &stats.durations;
        let _ = writeln!(
            out,
            "{route:<18} {count:>8}  {mix:<28} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            percentile(d, 50.0),
            percentile(d, 90.0),
            percentile(d, 99.0),
            d.last().copied().unwrap_or(0.0)
        );
    }
    if skipped > 0 {
        let _ = writeln!(out, "({skipped} unreadable lines skipped)");
    }
    Ok(out)
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
}
