//! Secrets kept in the data directory when the environment gives none.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use rand::RngCore;
use uuid::Uuid;

const JWT_SECRET_FILE: &str = "jwt-secret";
const ADMIN_USER_FILE: &str = "admin-user-id";

/// `NOVA_JWT_SECRET`, else a random secret generated once and kept in the
/// data directory, so `nova-live token` and the server agree.
pub fn jwt_secret(data_dir: &Path) -> Result<Vec<u8>> {
    if let Ok(secret) = std::env::var("NOVA_JWT_SECRET") {
        anyhow::ensure!(
            secret.len() >= 32,
            "NOVA_JWT_SECRET must be at least 32 characters (HS256 needs 256 bits)"
        );
        return Ok(secret.into_bytes());
    }
    let text = read_or_create(data_dir, JWT_SECRET_FILE, || {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })?;
    Ok(text.into_bytes())
}

/// The admin user's id, stable across restarts, and whether this call
/// created it (the server's first start in this data directory).
pub fn admin_user(data_dir: &Path) -> Result<(Uuid, bool)> {
    let first = !data_dir.join(ADMIN_USER_FILE).exists();
    let text = read_or_create(data_dir, ADMIN_USER_FILE, || Uuid::new_v4().to_string())?;
    let id = text
        .parse()
        .with_context(|| format!("{} is not a UUID", data_dir.join(ADMIN_USER_FILE).display()))?;
    Ok((id, first))
}

/// A random password, for the embedded PostgreSQL superuser.
pub fn read_or_create_password(data_dir: &Path, name: &str) -> Result<String> {
    read_or_create(data_dir, name, || {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

fn read_or_create(data_dir: &Path, name: &str, create: impl FnOnce() -> String) -> Result<String> {
    let path = data_dir.join(name);
    match fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let value = create();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_kept_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = read_or_create_password(dir.path(), "pw").unwrap();
        let second = read_or_create_password(dir.path(), "pw").unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 48);
        let mode = fs::metadata(dir.path().join("pw"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (admin, first) = admin_user(dir.path()).unwrap();
        assert!(first);
        assert_eq!(admin_user(dir.path()).unwrap(), (admin, false));
    }
}
