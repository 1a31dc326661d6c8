//! The rustls server configuration for a web config's `tls_server_config`: the certificate
//! chain and key from PEM, TLS 1.2/1.3 bounds, client certificates verified against the
//! configured CAs (webpki), ALPN `http/1.1`. The crypto provider is ring.

use super::config::{ClientAuth, Pem, TlsSettings, TlsVersion, WebConfigError};
use rustls::ServerConfig;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

fn certs(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs = CertificateDer::pem_slice_iter(&pem.bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebConfigError::new(&pem.origin, format!("{what}: not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(WebConfigError::new(&pem.origin, format!("{what}: no CERTIFICATE block")));
    }
    Ok(certs)
}

/// Builds the server side of TLS from checked settings.
///
/// # Errors
/// A certificate or key that does not parse, a key that does not match the certificate, or CA
/// certificates webpki rejects, naming the file.
pub fn server_config(t: &TlsSettings) -> Result<Arc<ServerConfig>, WebConfigError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs(&t.cert, "cert_file")?;
    let key = PrivateKeyDer::from_pem_slice(&t.key.bytes)
        .map_err(|e| WebConfigError::new(&t.key.origin, format!("key_file: no usable private key: {e}")))?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(TlsVersion::Tls12, &rustls::version::TLS12), (TlsVersion::Tls13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (t.min_version..=t.max_version).contains(v))
            .map(|(_, p)| p)
            .collect();
    let origin = &t.cert.origin;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| WebConfigError::new(origin, format!("TLS versions: {e}")))?;
    let builder = match (&t.client_ca, t.client_auth) {
        (Some(ca), auth) if auth != ClientAuth::None => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certs(ca, "client_ca_file")? {
                roots.add(c).map_err(|e| WebConfigError::new(&ca.origin, format!("client_ca_file: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if auth == ClientAuth::VerifyIfGiven { verifier.allow_unauthenticated() } else { verifier };
            let verifier =
                verifier.build().map_err(|e| WebConfigError::new(&ca.origin, format!("client_ca_file: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| WebConfigError::new(&t.key.origin, format!("certificate and key do not go together: {e}")))?;
    config.ignore_client_order = t.prefer_server_cipher_suites;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
