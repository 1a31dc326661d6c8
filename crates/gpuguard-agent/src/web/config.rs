//! `--web.config.file`: the web configuration format of the Prometheus exporter-toolkit, which
//! node_exporter and every official exporter read (`docs/web-configuration.md` there), so one
//! file and one habit serve every exporter on the node:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/gpuguard/web/tls.crt
//!   key_file: /etc/gpuguard/web/tls.key
//!   # client_ca_file: /etc/gpuguard/web/ca.crt
//!   # client_auth_type: RequireAndVerifyClientCert
//! basic_auth_users:
//!   prometheus: $2y$10$...   # htpasswd -nBC 10 "" | tr -d ':\n'
//! auth_excluded_paths: [/healthz, /livez]   # kubelet probes carry no password
//! ```
//!
//! Like exporter-toolkit: unknown keys are errors, relative paths are relative to the file's
//! directory, TLS is on when any TLS key is set, client CAs without a client auth type are an
//! error. What rustls cannot do (TLS 1.0/1.1, Go cipher suite and curve names) and what would
//! accept an unverified client certificate (`RequestClientCert`, `RequireAnyClientCert`) is
//! refused with the reason, never silently ignored: a security setting that does nothing is
//! worse than an error at start.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most a web config, certificate or key file may hold.
const FILE_MAX: u64 = 1 << 20;

/// A web configuration file that cannot be used, with the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WebConfigError {
    /// The file at fault (the web config, or a certificate or key it names).
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl WebConfigError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> Self {
        WebConfigError { path: path.to_owned(), message: message.into() }
    }
}

/// The file as written (exporter-toolkit's field names).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    auth_excluded_paths: Option<Vec<String>>,
    rate_limit: Option<serde_yaml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Option<String>,
    key_file: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    client_ca_file: Option<String>,
    client_ca: Option<String>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// PEM text and where it came from (a file, or inline in the web config).
#[derive(Debug, Clone)]
pub struct Pem {
    /// The file it was read from, or the web config for inline PEM.
    pub origin: PathBuf,
    /// The PEM bytes.
    pub bytes: Vec<u8>,
}

/// When a client certificate is asked for and how it is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `NoClientCert` (the default).
    None,
    /// `VerifyClientCertIfGiven`: a client may send none; one it sends must verify.
    VerifyIfGiven,
    /// `RequireAndVerifyClientCert`: every client must present a certificate that verifies.
    RequireAndVerify,
}

/// A TLS protocol version exporter-toolkit names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `TLS12`.
    Tls12,
    /// `TLS13`.
    Tls13,
}

/// The TLS side of the web config, files read.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The server's certificate chain.
    pub cert: Pem,
    /// Its private key.
    pub key: Pem,
    /// CAs that client certificates must chain to.
    pub client_ca: Option<Pem>,
    /// The client certificate policy.
    pub client_auth: ClientAuth,
    /// Lowest version offered (default TLS 1.2).
    pub min_version: TlsVersion,
    /// Highest version offered (default TLS 1.3).
    pub max_version: TlsVersion,
    /// Choose the cipher suite by the server's preference (default true).
    pub prefer_server_cipher_suites: bool,
}

/// A web configuration, read and checked.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// TLS, when the file turns it on.
    pub tls: Option<TlsSettings>,
    /// User name → bcrypt hash; empty means no basic auth.
    pub basic_auth_users: BTreeMap<String, String>,
    /// Paths served without authentication (kubelet probes carry no password).
    pub auth_excluded_paths: Vec<String>,
    /// Headers added to every answer (`http_server_config.headers`).
    pub headers: Vec<(String, String)>,
    /// Every file the configuration was read from, to notice a change (certificate rotation).
    pub files: Vec<PathBuf>,
}

/// Reads a small regular file: opened without blocking and checked, so a FIFO or a device
/// named in the config is an error, not a hang.
pub(crate) fn read_small(path: &Path) -> Result<Vec<u8>, WebConfigError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| WebConfigError::new(path, format!("cannot be read: {e}"));
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(err)?;
    if !file.metadata().map_err(err)?.is_file() {
        return Err(WebConfigError::new(path, "is not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(FILE_MAX + 1).read_to_end(&mut bytes).map_err(err)?;
    if bytes.len() as u64 > FILE_MAX {
        return Err(WebConfigError::new(path, format!("is larger than {} KiB", FILE_MAX >> 10)));
    }
    Ok(bytes)
}

fn version(path: &Path, key: &str, v: Option<&str>, default: TlsVersion) -> Result<TlsVersion, WebConfigError> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(v @ ("TLS10" | "TLS11")) => {
            Err(WebConfigError::new(path, format!("{key}: {v} is not offered (rustls speaks TLS 1.2 and 1.3 only)")))
        }
        Some(v) => Err(WebConfigError::new(path, format!("{key}: unknown TLS version {v:?} (TLS12 or TLS13)"))),
    }
}

/// The headers exporter-toolkit allows, with the values it allows where it restricts them.
fn check_header(path: &Path, name: &str, value: &str) -> Result<(), WebConfigError> {
    let allowed: Option<&[&str]> = match name {
        "Content-Security-Policy" | "X-XSS-Protection" | "Strict-Transport-Security" => None,
        "X-Frame-Options" => Some(&["deny", "sameorigin"]),
        "X-Content-Type-Options" => Some(&["nosniff"]),
        _ => {
            return Err(WebConfigError::new(
                path,
                format!("http_server_config.headers: {name:?} is not one of the headers exporter-toolkit allows"),
            ));
        }
    };
    match allowed {
        Some(values) if !values.iter().any(|v| v.eq_ignore_ascii_case(value)) => Err(WebConfigError::new(
            path,
            format!("http_server_config.headers: {name} must be one of {values:?}, not {value:?}"),
        )),
        _ => Ok(()),
    }
}

impl WebConfig {
    /// Reads and checks the web configuration at `path`, and the certificate and key files it
    /// names.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("web.yml");
    /// std::fs::write(&path, "basic_auth_users:\n  prometheus: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n").unwrap();
    /// let config = gpuguard_agent::web::WebConfig::load(&path).unwrap();
    /// assert!(config.tls.is_none() && config.basic_auth_users.contains_key("prometheus"));
    /// std::fs::write(&path, "tls_server_config:\n  client_auth_type: NoClientCert\n").unwrap();
    /// let e = gpuguard_agent::web::WebConfig::load(&path).unwrap_err();
    /// assert!(e.to_string().contains("key_file"), "{e}");
    /// ```
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = read_small(path)?;
        let raw: RawConfig = if text.iter().all(u8::is_ascii_whitespace) {
            RawConfig::default()
        } else {
            serde_yaml::from_slice(&text).map_err(|e| WebConfigError::new(path, e.to_string()))?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut files = vec![path.to_owned()];
        if raw.rate_limit.is_some() {
            return Err(WebConfigError::new(path, "rate_limit is not supported by the gpuguard agent"));
        }
        let tls = match raw.tls_server_config {
            Some(t) => Self::tls(path, dir, t, &mut files)?,
            None => None,
        };
        let users = raw.basic_auth_users.unwrap_or_default();
        for (user, hash) in &users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(WebConfigError::new(
                    path,
                    format!(
                        "basic_auth_users: the password of {user:?} is not a bcrypt hash (make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                    ),
                ));
            }
        }
        let mut headers = Vec::new();
        if let Some(http) = raw.http_server_config {
            // http2 is accepted for compatibility; the agent speaks HTTP/1.1 (all Prometheus needs).
            let _ = http.http2;
            for (name, value) in http.headers.unwrap_or_default() {
                check_header(path, &name, &value)?;
                if !value.is_empty() {
                    headers.push((name, value));
                }
            }
        }
        Ok(WebConfig {
            tls,
            basic_auth_users: users,
            auth_excluded_paths: raw.auth_excluded_paths.unwrap_or_default(),
            headers,
            files,
        })
    }

    fn tls(
        path: &Path,
        dir: &Path,
        t: RawTls,
        files: &mut Vec<PathBuf>,
    ) -> Result<Option<TlsSettings>, WebConfigError> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        let on = set(&t.cert_file)
            || set(&t.key_file)
            || set(&t.cert)
            || set(&t.key)
            || set(&t.client_auth_type)
            || set(&t.client_ca_file)
            || set(&t.client_ca);
        if !on {
            return Ok(None);
        }
        let refuse = |what: &str| Err(WebConfigError::new(path, format!("tls_server_config: {what}")));
        if t.cipher_suites.as_ref().is_some_and(|v| !v.is_empty()) {
            return refuse("cipher_suites is not supported (rustls offers only its own safe suites)");
        }
        if t.curve_preferences.as_ref().is_some_and(|v| !v.is_empty()) {
            return refuse("curve_preferences is not supported (rustls chooses among X25519, P-256 and P-384)");
        }
        if t.client_allowed_sans.as_ref().is_some_and(|v| !v.is_empty()) {
            return refuse("client_allowed_sans is not supported: limit clients by their CA (client_ca_file)");
        }
        // A PEM given as a file (relative to the web config) or inline, never both.
        let mut pem = |file: &Option<String>, inline: &Option<String>, fkey: &str, ikey: &str| match (file, inline) {
            (Some(f), Some(_)) if !f.is_empty() => {
                Err(WebConfigError::new(path, format!("tls_server_config: {fkey} and {ikey} are both set")))
            }
            (Some(f), _) if !f.is_empty() => {
                let p = dir.join(f);
                let bytes = read_small(&p)?;
                files.push(p.clone());
                Ok(Some(Pem { origin: p, bytes }))
            }
            (_, Some(i)) if !i.is_empty() => Ok(Some(Pem { origin: path.to_owned(), bytes: i.as_bytes().to_vec() })),
            _ => Ok(None),
        };
        let cert = pem(&t.cert_file, &t.cert, "cert_file", "cert")?;
        let key = pem(&t.key_file, &t.key, "key_file", "key")?;
        let client_ca = pem(&t.client_ca_file, &t.client_ca, "client_ca_file", "client_ca")?;
        let (Some(cert), Some(key)) = (cert, key) else {
            return refuse("TLS needs both cert_file and key_file (or cert and key)");
        };
        let client_auth = match t.client_auth_type.as_deref().unwrap_or("") {
            "" | "NoClientCert" => ClientAuth::None,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
            v @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
                return refuse(&format!(
                    "client_auth_type {v} accepts client certificates without verifying them; use RequireAndVerifyClientCert"
                ));
            }
            v => return refuse(&format!("unknown client_auth_type {v:?}")),
        };
        if client_ca.is_some() && client_auth == ClientAuth::None {
            return refuse("client CAs are configured without a client_auth_type");
        }
        if client_ca.is_none() && client_auth != ClientAuth::None {
            return refuse("client_auth_type needs client_ca_file to verify client certificates against");
        }
        let min_version = version(path, "min_version", t.min_version.as_deref(), TlsVersion::Tls12)?;
        let max_version = version(path, "max_version", t.max_version.as_deref(), TlsVersion::Tls13)?;
        if min_version > max_version {
            return refuse("min_version is above max_version");
        }
        Ok(Some(TlsSettings {
            cert,
            key,
            client_ca,
            client_auth,
            min_version,
            max_version,
            prefer_server_cipher_suites: t.prefer_server_cipher_suites.unwrap_or(true),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<WebConfig, WebConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("c.pem"), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
            .expect("write");
        let path = dir.path().join("web.yml");
        std::fs::write(&path, text).expect("write");
        WebConfig::load(&path)
    }

    #[test]
    fn refusals_name_the_setting() {
        for (text, want) in [
            ("tls_server_config:\n  cert_fil: x\n", "unknown field `cert_fil`"),
            ("tls_server_config:\n  key_file: c.pem\n", "needs both"),
            (
                "tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n  client_ca_file: c.pem\n",
                "without a client_auth_type",
            ),
            (
                "tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n  client_auth_type: RequireAnyClientCert\n",
                "without verifying",
            ),
            (
                "tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n  min_version: TLS10\n",
                "TLS 1.2 and 1.3 only",
            ),
            (
                "tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "cipher_suites",
            ),
            ("tls_server_config:\n  cert_file: missing.pem\n  key_file: c.pem\n", "missing.pem: cannot be read"),
            ("basic_auth_users:\n  prometheus: hunter2\n", "not a bcrypt hash"),
            ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "must be one of"),
            ("rate_limit:\n  interval: 1s\n", "rate_limit"),
        ] {
            let e = load(text).expect_err(text);
            assert!(e.to_string().contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn paths_are_relative_to_the_file_and_an_empty_file_is_no_tls_no_auth() {
        let c = load("tls_server_config:\n  cert_file: c.pem\n  key_file: c.pem\n").expect("load");
        let tls = c.tls.expect("tls");
        assert!(tls.cert.origin.ends_with("c.pem") && tls.min_version == TlsVersion::Tls12);
        assert_eq!(c.files.len(), 3);
        let empty = load("").expect("load");
        assert!(empty.tls.is_none() && empty.basic_auth_users.is_empty());
    }

    #[test]
    fn a_fifo_as_the_config_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("web.yml");
        let c = std::ffi::CString::new(path.to_str().expect("utf8")).expect("cstring");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = WebConfig::load(&path).expect_err("fifo");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
}
