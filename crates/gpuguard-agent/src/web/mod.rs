//! The agent's web side: `/metrics`, `/healthz`, `/livez` over HTTP/1.1 (hyper on tokio, see
//! `server.rs`; its bounds are [`WebLimits`]), with TLS and basic auth from an exporter-toolkit
//! web config ([`WebConfig`]).

mod auth;
mod config;
pub(crate) mod server;
mod tls;

pub use auth::BasicAuth;
pub use config::{ClientAuth, Pem, TlsSettings, TlsVersion, WebConfig, WebConfigError};
pub use server::{DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_REQUESTS, WebLimits};
pub use tls::server_config;
