//! CONNECT target parsing: never panics; what it accepts is a usable host and port.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(t) = shunt::proxy::connect::parse_target(data) {
        assert!(!t.host.is_empty());
        assert_ne!(t.port, 0);
        assert_eq!(t.host, t.host.to_ascii_lowercase());
        // Parsing is stable: the rendered target parses to the same thing.
        let rendered = if t.host.contains(':') { format!("[{}]:{}", t.host, t.port) } else { format!("{}:{}", t.host, t.port) };
        assert_eq!(shunt::proxy::connect::parse_target(&rendered), Ok(t));
    }
});
