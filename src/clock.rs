//! Time for people and records: RFC 3339 timestamps (capture records, mock replies),
//! rounded milliseconds (log lines), and the one duration syntax every flag and scenario
//! file uses ([`parse_duration`]).

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339_ago(Duration::ZERO)
}

/// The instant `ago` before now, as RFC 3339 UTC.
pub fn rfc3339_ago(ago: Duration) -> String {
    (OffsetDateTime::now_utc() - ago)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// A duration in milliseconds, rounded for people: `0.8`, `12.3`, `1520` (no float noise
/// such as `0.032178000000000005`).
#[derive(Debug, Clone, Copy)]
pub struct Millis(pub Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_secs_f64() * 1e3;
        if ms >= 100.0 {
            write!(f, "{ms:.0}")
        } else {
            write!(f, "{ms:.1}")
        }
    }
}

/// Whether a bare number (no unit) is accepted, as seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareNumber {
    /// `30` means 30 s (timeouts, grace periods).
    Seconds,
    /// Only `0` may be bare (latency, where a bare number once meant milliseconds: a
    /// unit is required so an old `--ttft 200` is refused instead of becoming 200 s).
    ZeroOnly,
}

/// A duration: a number with a unit, `250us`, `500ms`, `1.5s`, `2m`, or a bare number of
/// seconds where `bare` allows it; between 0 and `max`.
pub fn parse_duration(s: &str, bare: BareNumber, max: Duration) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale, unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3, true)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6, true)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0, true)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0, true)
    } else {
        (t, 1.0, false)
    };
    let value: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("`{s}` is not a duration (e.g. 500ms, 1.5s, 2m)"))?;
    if !unit && bare == BareNumber::ZeroOnly && value != 0.0 {
        return Err(format!("`{s}` needs a unit: {value}ms or {value}s"));
    }
    let secs = value * scale;
    if !(0.0..=max.as_secs_f64()).contains(&secs) {
        return Err(format!("`{s}` must be between 0 and {}s", max.as_secs()));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One syntax: units everywhere, bare seconds where allowed, bounds checked.
    #[test]
    fn durations() {
        let day = Duration::from_secs(86_400);
        let secs = |s| parse_duration(s, BareNumber::Seconds, day);
        assert_eq!(secs("30"), Ok(Duration::from_secs(30)));
        assert_eq!(secs("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(secs("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(secs("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(secs("40us"), Ok(Duration::from_micros(40)));
        assert!(secs("-1").is_err());
        assert!(secs("2 days").is_err());
        assert!(secs("90000").is_err());
        let latency = |s| parse_duration(s, BareNumber::ZeroOnly, day);
        assert_eq!(latency("0"), Ok(Duration::ZERO));
        assert!(latency("200").unwrap_err().contains("needs a unit"));
        assert_eq!(latency("200ms"), Ok(Duration::from_millis(200)));
    }

    /// Milliseconds read cleanly.
    #[test]
    fn millis() {
        assert_eq!(Millis(Duration::from_micros(32_178)).to_string(), "32.2");
        assert_eq!(Millis(Duration::from_micros(800)).to_string(), "0.8");
        assert_eq!(Millis(Duration::from_millis(1520)).to_string(), "1520");
    }
}
