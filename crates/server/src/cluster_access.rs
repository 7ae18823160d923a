//! Letting the embedded PostgreSQL's service user reach its cluster.
//!
//! As root the cluster belongs to `postgres`, which must pass through every
//! directory above it. A data directory made by `mktemp -d` (0700) or kept
//! in root's home closes that path. Rather than moving the cluster out of
//! the data directory (where deleting the data directory would leave it
//! behind), each closed directory on the way gets search permission for
//! others (`o+x`): enough to pass through to a known name, not to list or
//! read anything. Every change is logged; when one is not possible the
//! server refuses to start and says what to do.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// Makes `cluster_dir`'s parent reachable by `user`, opening (`o+x`) the
/// directories above it that are closed to it.
pub fn make_reachable(cluster_dir: &Path, user: &str) -> Result<()> {
    let Some(parent) = cluster_dir.parent() else {
        return Ok(());
    };
    if can_search(user, parent) {
        return Ok(());
    }
    // Top-down: each check runs once every directory above it is open, so
    // it judges this directory alone.
    let mut closed = parent.ancestors().collect::<Vec<_>>();
    closed.reverse();
    for dir in closed {
        if can_search(user, dir) {
            continue;
        }
        let mode = std::fs::metadata(dir)?.permissions().mode();
        let opened = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o001));
        if let Err(error) = opened {
            bail!(
                "the {user} user that runs the embedded PostgreSQL cannot reach {cluster}: {dir} \
                 (mode {mode:04o}) is closed to it, and granting it passage failed ({error}). \
                 Run `chmod o+x {dir}` or `setfacl -m u:{user}:x {dir}`, or keep the cluster \
                 elsewhere with --database-dir / NOVA_DATABASE_DIR",
                cluster = cluster_dir.display(),
                dir = dir.display(),
                mode = mode & 0o7777,
            );
        }
        tracing::warn!(
            dir = %dir.display(),
            "the {user} user could not pass through {} (mode {:04o}) to the embedded PostgreSQL cluster; \
             granted search permission to others (o+x): they can pass through, not list it",
            dir.display(),
            mode & 0o7777
        );
    }
    if !can_search(user, parent) {
        bail!(
            "the {user} user that runs the embedded PostgreSQL still cannot reach {} \
             (an ACL or a mount option?); keep the cluster elsewhere with --database-dir / NOVA_DATABASE_DIR",
            parent.display()
        );
    }
    Ok(())
}

/// Whether `user` can pass through `dir` (and every directory above it).
fn can_search(user: &str, dir: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}
