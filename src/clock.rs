//! Time for people and records: RFC 3339 timestamps (capture records, mock replies) and
//! rounded milliseconds (log lines).

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds read cleanly.
    #[test]
    fn millis() {
        assert_eq!(Millis(Duration::from_micros(32_178)).to_string(), "32.2");
        assert_eq!(Millis(Duration::from_micros(800)).to_string(), "0.8");
        assert_eq!(Millis(Duration::from_millis(1520)).to_string(), "1520");
    }
}
