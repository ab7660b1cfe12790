//! AWS event-stream framing (`application/vnd.amazon.eventstream`), as Bedrock's
//! streaming calls send it: each message is a prelude (total length, headers length, CRC32
//! of those 8 bytes), string headers (`:event-type`, `:content-type`, `:message-type`, or
//! `:exception-type` for in-stream errors), the payload, and a CRC32 of everything before.
//! botocore's decoder checks both CRCs; the e2e suite decodes shunt's streams with it.

use bytes::{BufMut, Bytes, BytesMut};

/// The content type of an event stream.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// One `:message-type: event` message carrying a JSON payload.
pub fn event(event_type: &str, payload: &serde_json::Value) -> Bytes {
    message(
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

/// One `:message-type: exception` message (e.g. `ModelStreamErrorException`), which
/// botocore raises as an `EventStreamError` with that code.
pub fn exception(exception_type: &str, message_text: &str) -> Bytes {
    let payload = serde_json::json!({ "message": message_text }).to_string();
    message(
        &[
            (":exception-type", exception_type),
            (":content-type", "application/json"),
            (":message-type", "exception"),
        ],
        payload.as_bytes(),
    )
}

/// Encode a message with string-valued headers (type 7).
pub fn message(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = BytesMut::new();
    for (name, value) in headers {
        encoded_headers.put_u8(name.len() as u8);
        encoded_headers.put_slice(name.as_bytes());
        encoded_headers.put_u8(7);
        encoded_headers.put_u16(value.len() as u16);
        encoded_headers.put_slice(value.as_bytes());
    }
    let total = 12 + encoded_headers.len() + payload.len() + 4;
    let mut out = BytesMut::with_capacity(total);
    out.put_u32(total as u32);
    out.put_u32(encoded_headers.len() as u32);
    let prelude_crc = crc32fast::hash(&out[..8]);
    out.put_u32(prelude_crc);
    out.put_slice(&encoded_headers);
    out.put_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.put_u32(message_crc);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The framing of an example from the AWS event-stream specification: lengths and both
    /// CRCs, checked by decoding.
    #[test]
    fn frames_decode() {
        let m = event("chunk", &serde_json::json!({"bytes": "e30="}));
        let total = u32::from_be_bytes(m[0..4].try_into().expect("4 bytes")) as usize;
        let headers = u32::from_be_bytes(m[4..8].try_into().expect("4 bytes")) as usize;
        assert_eq!(total, m.len());
        assert_eq!(
            u32::from_be_bytes(m[8..12].try_into().expect("4 bytes")),
            crc32fast::hash(&m[..8])
        );
        assert_eq!(
            u32::from_be_bytes(m[total - 4..].try_into().expect("4 bytes")),
            crc32fast::hash(&m[..total - 4])
        );
        let payload = &m[12 + headers..total - 4];
        assert_eq!(payload, br#"{"bytes":"e30="}"#);
        // First header: `:event-type` = `chunk`.
        assert_eq!(m[12] as usize, ":event-type".len());
        assert_eq!(&m[13..24], b":event-type");
        assert_eq!(m[24], 7);
        assert_eq!(u16::from_be_bytes([m[25], m[26]]), 5);
        assert_eq!(&m[27..32], b"chunk");
    }
}
