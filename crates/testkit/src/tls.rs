//! A self-signed certificate for `localhost` and `127.0.0.1`, made by the
//! openssl CLI, for servers started with `--tls-cert`/`--tls-key`.

use std::path::PathBuf;

pub struct TestCertificate {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The certificate, PEM: clients add it as their only trusted root.
    pub pem: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl TestCertificate {
    pub fn generate() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let output = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            // A server's own certificate, not a CA's (which webpki refuses
            // to accept as a server's).
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl is installed (scripts/test installs it)");
        assert!(
            output.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pem = std::fs::read(&cert).unwrap();
        Self {
            cert,
            key,
            pem,
            _dir: dir,
        }
    }

    /// A client that trusts only this certificate.
    pub fn client(&self, builder: reqwest::ClientBuilder) -> reqwest::Client {
        builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&self.pem).unwrap())
            .build()
            .unwrap()
    }
}
