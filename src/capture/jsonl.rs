//! JSONL sink: one JSON object per record, each line written with a single `write` on
//! an append-mode file, so a reader (`tail -f`) or a `kill -9` never sees a torn line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Sink;
use super::record::Record;

pub struct JsonlSink {
    path: PathBuf,
    file: File,
    line: Vec<u8>,
}

impl JsonlSink {
    pub fn open(path: &Path) -> Result<JsonlSink, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("--capture {}: {e}", path.display()))?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            file,
            line: Vec::with_capacity(4096),
        })
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, record: &Record) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        // One write_all on an O_APPEND file: the kernel has the whole line at once.
        self.file.write_all(&self.line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}
