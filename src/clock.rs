//! Wall-clock timestamps in RFC 3339, for capture records and mock replies.

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
