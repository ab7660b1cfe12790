//! NSS key log output (`SSLKEYLOGFILE` format) for intercepted TLS sessions, so
//! Wireshark / tshark can decrypt a packet capture of the app's traffic.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

/// Appends one `LABEL <client_random hex> <secret hex>` line per secret.
pub struct KeyLogFile {
    file: Mutex<File>,
}

impl std::fmt::Debug for KeyLogFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyLogFile").finish_non_exhaustive()
    }
}

impl KeyLogFile {
    /// Open (create, mode 0600: these secrets decrypt traffic) for appending.
    pub fn open(path: &Path) -> Result<KeyLogFile, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("key log {}: {e}", path.display()))?;
        Ok(KeyLogFile {
            file: Mutex::new(file),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl rustls::KeyLog for KeyLogFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::warn!(error = %e, "cannot write the TLS key log");
        }
    }
}
