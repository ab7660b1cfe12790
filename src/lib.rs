//! shunt: an `HTTPS_PROXY` sidecar that diverts an application's Google Vertex AI
//! traffic to a mock without touching the application's code.
//!
//! # Layout
//!
//! - [`config`]: the command line (clap; every flag also reads `SHUNT_*`).
//! - [`server`]: accept loops, per-connection tasks, the shutdown sequence.
//! - [`stall`]: the write-stall guard on every client connection (`--stall-timeout`).
//! - [`proxy`]: the client-facing side: CONNECT, tunnels, TLS interception,
//!   absolute-form and origin-form requests.
//! - [`policy`]: `decide(host)`: intercept / tunnel / deny, from the host table.
//! - [`route`]: `classify(request)`: which backend answers an intercepted request.
//! - [`backend`]: token, metadata, upstream forwarding, the built-in mock, admin.
//! - [`tls`]: the CA, leaf minting and cache, and the trust kit.
//! - [`error`]: errors shunt produces and the one place they become responses.
//! - [`capture`]: JSONL / HAR capture of exchanges, fed by body tees off the data path.
//! - [`doctor`]: `shunt doctor`, the in-container check of env, trust and reachability.
//! - [`clock`]: RFC 3339 timestamps.
//! - [`metrics`]: Prometheus metrics.
//! - [`app`]: the shared state connection tasks hold.
//! - [`body`]: the body type and its helpers.
#![forbid(unsafe_code)]

pub mod app;
pub mod backend;
pub mod body;
pub mod capture;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod error;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod route;
pub mod server;
pub mod stall;
pub mod telemetry;
pub mod tls;
