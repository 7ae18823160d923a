//! HTTPS for the API and playback: rustls with ALPN `h2` and `http/1.1`,
//! so browsers get HTTP/2 (one connection for LL-HLS's blocking playlist
//! requests and the parts they wait for) and older clients HTTP/1.1.
//!
//! Handshakes run in each connection's task, bounded in number and time:
//! see `http_server`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The server's certificate chain and key, from PEM files (as issued by
/// Let's Encrypt: `fullchain.pem` and `privkey.pem`).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the TLS certificate chain {}", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the TLS private key {}", key.display()))?;
    // rustls is built with two crypto providers in this binary (the S3
    // client brings aws-lc-rs): name one rather than rely on a default.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate does not match its key")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    // The certificate the end-to-end tests serve with.
    use nova_testkit::tls::TestCertificate;

    fn error_of(cert: &Path, key: &Path) -> String {
        format!("{:#}", server_config(cert, key).unwrap_err())
    }

    #[test]
    fn a_certificate_and_its_key_offer_http2_then_http1() {
        let certificate = TestCertificate::generate();
        let config = server_config(&certificate.cert, &certificate.key).unwrap();
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn bad_files_are_refused_with_what_is_wrong() {
        let (ours, other) = (TestCertificate::generate(), TestCertificate::generate());
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();

        let message = error_of(&missing, &ours.key);
        assert!(message.contains("missing.pem"), "{message}");
        let message = error_of(&text, &ours.key);
        assert!(message.contains("holds no PEM certificate"), "{message}");
        let message = error_of(&ours.cert, &text);
        assert!(message.contains("private key"), "{message}");
        let message = error_of(&ours.cert, &other.key);
        assert!(message.contains("does not match its key"), "{message}");
    }
}
