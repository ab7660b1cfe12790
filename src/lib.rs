//! shunt: an `HTTPS_PROXY` sidecar that diverts an application's LLM traffic (Vertex AI,
//! the Gemini API, OpenAI, Azure OpenAI, Anthropic, Bedrock) to a mock without touching the
//! application's code.
//!
//! # Layout
//!
//! Layers point down only: `main` → [`config`] → [`server`] → [`proxy`] → `exchange` →
//! [`route`] → `backends` → [`mock`] / [`providers`] → [`capture`] → `error` → [`body`].
//!
//! - [`config`]: the command line ([`config::cli`]) and the validated [`config::Config`].
//! - [`server`]: [`serve`] / [`Server`]: start (CA, trust kit, capture, backends), accept,
//!   shut down; `conn`: the accept loop, lifecycle and drain it shares with the mock's
//!   server; `stall`: the write-stall guard on every client connection.
//! - [`proxy`]: the client-facing side: CONNECT, tunnels, TLS interception, plain-HTTP
//!   and origin-form requests. [`policy`] decides intercept / tunnel / deny per host.
//! - `exchange`: one request from route to log line, metric and capture record.
//! - [`route`]: what answers a request; every Google-specific fact about paths.
//! - `backends`: token, metadata, origin forwarding and the model source (built-in
//!   mock, mock-llm forwarding, record, replay).
//! - [`mock`]: the built-in mock LLM and `shunt mock`; [`providers`]: one module per API
//!   (Gemini, Claude/Anthropic, OpenAI/Azure, Bedrock) behind one trait: its paths, its
//!   requests, its replies, its errors.
//! - [`tls`]: the CA, leaf minting and cache, the trust kit; [`doctor`]: `shunt doctor`.
//! - [`capture`]: JSONL / HAR capture; `admin`: shunt's own pages (health, CA, metrics,
//!   the dashboard, the knob API) and who may see them; `dashboard`: live statistics
//!   behind `/ui` and the GenAI metrics; [`cost`]: the price table.
//! - [`metrics`], [`telemetry`], `clock`, `error`, [`body`]: the shared ground floor.
#![forbid(unsafe_code)]

pub(crate) mod admin;
pub mod app;
pub(crate) mod backends;
pub mod body;
pub mod capture;
pub(crate) mod clock;
pub mod config;
pub(crate) mod conn;
pub mod cost;
pub(crate) mod dashboard;
pub mod doctor;
pub(crate) mod error;
pub(crate) mod exchange;
pub mod metrics;
pub mod mock;
pub mod policy;
pub mod providers;
pub mod proxy;
pub mod route;
pub mod server;
pub(crate) mod stall;
pub mod telemetry;
pub mod tls;

pub use server::{Server, serve};
