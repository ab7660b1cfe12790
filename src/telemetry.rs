//! Logging setup: `tracing` to stderr, text or JSON, filtered by `--log`.
//!
//! Lines are formatted on the task that logs them but written by a dedicated thread
//! (tracing-appender's non-blocking writer), so the write to stderr — the costly part of the
//! per-exchange line — stays off the data path. The writer is not lossy: if the thread
//! falls behind by 128k lines, logging waits rather than dropping lines silently.

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Log output format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Install the global subscriber. Keep the returned guard alive until exit: dropping it
/// flushes the lines still queued. Errors if the `--log` filter does not parse.
pub fn init(format: LogFormat, filter: &str) -> Result<WorkerGuard, String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| format!("--log `{filter}`: {e}"))?;
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("shunt-log")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        // On a failed write (a closed log pipe) tracing-subscriber would report it with
        // eprintln!, which panics on that same broken stderr and takes the request down.
        .log_internal_errors(false);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| format!("cannot install the logger: {e}"))?;
    Ok(guard)
}
