use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore, ObjectStoreError};

/// An object store over a local directory: key `a/b/c.m4s` is file `root/a/b/c.m4s`.
///
/// Writes go to a temporary sibling and are renamed into place, so a reader
/// (or a crash) never sees half an object. [`ObjectMeta`] is not kept: the
/// HTTP layer that serves these files sets the headers from the key's kind.
pub struct FsObjectStore {
    root: PathBuf,
    temp_counter: AtomicU64,
}

impl FsObjectStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            temp_counter: AtomicU64::new(0),
        }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, ObjectStoreError> {
        let invalid = |reason| ObjectStoreError::InvalidKey {
            key: key.to_owned(),
            reason,
        };
        if key.is_empty() {
            return Err(invalid("empty"));
        }
        for segment in key.split('/') {
            match segment {
                "" | "." | ".." => {
                    return Err(invalid(
                        "must be a relative path without empty, . or .. segments",
                    ));
                }
                s if s.starts_with(".tmp-") => {
                    return Err(invalid("names starting with .tmp- are reserved"));
                }
                _ => {}
            }
        }
        let relative = Path::new(key);
        Ok(self.root.join(relative))
    }
}

fn unavailable(action: &'static str, key: &str, source: std::io::Error) -> ObjectStoreError {
    ObjectStoreError::Unavailable {
        action,
        key: key.to_owned(),
        source: Box::new(source),
    }
}

/// Writes `body` to `temp`, flushes it to the disk, renames it to `path`,
/// then flushes the directory: once this returns, a power cut leaves the
/// whole object at `path` (or, before the rename, the old one), never an
/// empty or torn file, which ext4 and XFS can otherwise show after a
/// rename of unflushed data.
fn write_durably(
    parent: &Path,
    temp: &Path,
    path: &Path,
    body: &[u8],
) -> Result<(), (&'static str, std::io::Error)> {
    use std::io::Write;
    std::fs::create_dir_all(parent).map_err(|e| ("creating the directory for", e))?;
    let mut file = std::fs::File::create(temp).map_err(|e| ("writing", e))?;
    let flushed = file
        .write_all(body)
        .map_err(|e| ("writing", e))
        .and_then(|()| file.sync_all().map_err(|e| ("flushing to disk", e)));
    drop(file);
    if let Err(error) =
        flushed.and_then(|()| std::fs::rename(temp, path).map_err(|e| ("renaming into place", e)))
    {
        let _ = std::fs::remove_file(temp);
        return Err(error);
    }
    std::fs::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|e| ("flushing the directory of", e))
}

#[async_trait]
impl ObjectStore for FsObjectStore {
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        _meta: &ObjectMeta,
    ) -> Result<(), ObjectStoreError> {
        let path = self.path_of(key)?;
        let parent = path.parent().unwrap_or(&self.root).to_path_buf();
        let temp = parent.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.temp_counter.fetch_add(1, Ordering::Relaxed)
        ));
        let written =
            tokio::task::spawn_blocking(move || write_durably(&parent, &temp, &path, &body))
                .await
                .map_err(|e| unavailable("writing", key, std::io::Error::other(e)))?;
        written.map_err(|(action, e)| unavailable(action, key, e))
    }

    async fn get(&self, key: &str) -> Result<Bytes, ObjectStoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(data.into()),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(ObjectStoreError::NotFound {
                key: key.to_owned(),
            }),
            Err(e) => Err(unavailable("reading", key, e)),
        }
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            // A directory is a key prefix, not an object.
            Ok(_) => Ok(None),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(unavailable("inspecting", key, e)),
        }
    }

    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectStoreError> {
        // Validate every key first so a bad one deletes nothing.
        for key in keys {
            self.path_of(key)?;
        }
        for key in keys {
            self.delete(key).await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable("deleting", key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let keys = tokio::task::spawn_blocking(move || list_files(&root, &prefix))
            .await
            .map_err(|e| unavailable("listing", "", std::io::Error::other(e)))?
            .map_err(|e| unavailable("listing", "", e))?;
        Ok(keys)
    }
}

/// Walks the whole tree: fine for a laptop's recordings, and the S3 store
/// lists by prefix natively.
fn list_files(root: &Path, prefix: &str) -> std::io::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                pending.push(path);
                continue;
            }
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if key.starts_with(prefix) {
                keys.push(key);
            }
        }
    }
    keys.sort();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(content_type: &str) -> ObjectMeta {
        ObjectMeta::new(content_type, "max-age=1")
    }

    #[tokio::test]
    async fn stores_reads_lists_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path());
        store
            .put(
                "s1/r1/seg-1.m4s",
                Bytes::from_static(b"one"),
                &meta("video/mp4"),
            )
            .await
            .unwrap();
        store
            .put(
                "s1/r1/seg-0.m4s",
                Bytes::from_static(b"zero"),
                &meta("video/mp4"),
            )
            .await
            .unwrap();
        store
            .put(
                "s2/index.m3u8",
                Bytes::from_static(b"#EXTM3U"),
                &meta("application/vnd.apple.mpegurl"),
            )
            .await
            .unwrap();
        assert_eq!(store.get("s1/r1/seg-1.m4s").await.unwrap(), "one");
        assert_eq!(
            store.list("s1/").await.unwrap(),
            vec!["s1/r1/seg-0.m4s", "s1/r1/seg-1.m4s"]
        );
        store.delete("s1/r1/seg-0.m4s").await.unwrap();
        store.delete("s1/r1/seg-0.m4s").await.unwrap();
        assert!(matches!(
            store.get("s1/r1/seg-0.m4s").await,
            Err(ObjectStoreError::NotFound { .. })
        ));
        assert_eq!(
            store.list("").await.unwrap(),
            vec!["s1/r1/seg-1.m4s", "s2/index.m3u8"]
        );
    }

    #[tokio::test]
    async fn heads_and_deletes_many() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path());
        for key in ["r/a", "r/b", "r/c"] {
            store
                .put(key, Bytes::from_static(b"12345"), &meta("video/mp4"))
                .await
                .unwrap();
        }
        assert_eq!(store.head("r/a").await.unwrap(), Some(5));
        assert_eq!(store.head("r/missing").await.unwrap(), None);
        assert_eq!(store.head("r").await.unwrap(), None);
        store
            .delete_many(&["r/a".into(), "r/c".into(), "r/missing".into()])
            .await
            .unwrap();
        assert_eq!(store.list("").await.unwrap(), vec!["r/b"]);
        assert!(matches!(
            store.delete_many(&["r/b".into(), "../x".into()]).await,
            Err(ObjectStoreError::InvalidKey { .. })
        ));
        assert_eq!(store.list("").await.unwrap(), vec!["r/b"]);
    }

    #[tokio::test]
    async fn overwrites_whole_objects() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path());
        store
            .put(
                "a",
                Bytes::from_static(b"first version"),
                &meta("text/plain"),
            )
            .await
            .unwrap();
        store
            .put("a", Bytes::from_static(b"2nd"), &meta("text/plain"))
            .await
            .unwrap();
        assert_eq!(store.get("a").await.unwrap(), "2nd");
        assert_eq!(store.list("").await.unwrap(), vec!["a"]);
    }

    #[tokio::test]
    async fn refuses_keys_that_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsObjectStore::new(dir.path().join("inner"));
        for key in ["../outside", "/etc/passwd", "a/./b", "", "a/.tmp-1"] {
            assert!(
                matches!(
                    store.put(key, Bytes::new(), &meta("x")).await,
                    Err(ObjectStoreError::InvalidKey { .. })
                ),
                "{key} was accepted"
            );
        }
        assert!(!dir.path().join("outside").exists());
    }
}
