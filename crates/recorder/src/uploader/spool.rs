//! Jobs kept on local disk while the store cannot take them.
//!
//! Job `seq` is two files: `{seq}.data` (the body) and `{seq}.json` (its
//! [`JobHeader`]). Each is written to a `.tmp-` name, fsync'd and renamed, the
//! header last: a header on disk means the data beside it is complete. Removal
//! goes the other way round. Zero-padded names sort in submission order.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::job::JobHeader;

const FORMAT_VERSION: u32 = 1;
const TMP_PREFIX: &str = ".tmp-";
const LOCK_FILE: &str = ".lock";

/// A header file: the job's header (tag included) beside the format version
/// and the job's number. `H` is the header, borrowed to write, owned to read.
#[derive(Debug, Serialize, Deserialize)]
struct Record<H> {
    version: u32,
    seq: u64,
    #[serde(flatten)]
    header: H,
}

/// A job found in the spool when the uploader starts.
#[derive(Debug, PartialEq)]
pub(crate) struct Recovered<T> {
    pub seq: u64,
    pub header: JobHeader<T>,
}

/// What the spool holds at start-up.
#[derive(Debug, PartialEq)]
pub(crate) struct Recovery<T> {
    pub jobs: Vec<Recovered<T>>,
    /// Above every number in use, skipped entries included, so a new job
    /// never overwrites one left for inspection.
    pub next_seq: u64,
}

fn seq_of(path: &Path) -> Option<u64> {
    path.file_stem()?.to_str()?.parse().ok()
}

#[derive(Debug, Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Creates the directory if needed.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// An exclusive lock on the directory (released when the file is
    /// dropped, or by the OS when the process dies); `None` if another
    /// holder has it.
    pub fn lock(&self) -> std::io::Result<Option<File>> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn data_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.data"))
    }

    fn header_path(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}.json"))
    }

    /// Writes one job; durable once [`Spool::sync_dir`] returns.
    pub fn write<T: Serialize>(
        &self,
        seq: u64,
        header: &JobHeader<T>,
        body: &[u8],
    ) -> std::io::Result<()> {
        self.write_atomically(&self.data_path(seq), body)?;
        let record = Record {
            version: FORMAT_VERSION,
            seq,
            header,
        };
        let json = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        self.write_atomically(&self.header_path(seq), &json)
    }

    /// The renames are durable only once the directory itself is synced;
    /// once per batch of writes is enough.
    pub fn sync_dir(&self) -> std::io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }

    #[cfg(test)]
    fn write_all<T: Serialize>(
        &self,
        jobs: &[(u64, &JobHeader<T>, &Bytes)],
    ) -> std::io::Result<()> {
        for (seq, header, body) in jobs {
            self.write(*seq, header, body)?;
        }
        self.sync_dir()
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temp = self.dir.join(format!("{TMP_PREFIX}{name}"));
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    }

    pub fn read_body(&self, seq: u64) -> std::io::Result<Bytes> {
        fs::read(self.data_path(seq)).map(Bytes::from)
    }

    /// Forgets a job once its object is in the store (or refused for good).
    pub fn remove(&self, seq: u64) -> std::io::Result<()> {
        for path in [self.header_path(seq), self.data_path(seq)] {
            match fs::remove_file(path) {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// The complete jobs, in submission order. Removes leftovers of writes a
    /// crash interrupted (temp files, data without a header) and logs jobs
    /// whose files do not match their header. A header this build cannot
    /// read (another format version, a tag it does not know) is left in
    /// place with its data.
    pub fn recover<T: DeserializeOwned>(&self) -> std::io::Result<Recovery<T>> {
        let mut found = Vec::new();
        let mut unreadable = Vec::new();
        let mut data_files = Vec::new();
        let mut next_seq = 0;
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if let Some(seq) = seq_of(&path) {
                next_seq = next_seq.max(seq.saturating_add(1));
            }
            if name.starts_with(TMP_PREFIX) {
                fs::remove_file(&path)?;
            } else if name.ends_with(".data") {
                data_files.push(path);
            } else if name.ends_with(".json") {
                match self.read_record(&path) {
                    Ok(record) => found.push(Recovered {
                        seq: record.seq,
                        header: record.header,
                    }),
                    Err(e) => {
                        tracing::error!(
                            path = %path.display(),
                            error = %e,
                            "unreadable spool entry left in place; remove it by hand once inspected"
                        );
                        unreadable.extend(seq_of(&path));
                    }
                }
            }
        }
        found.sort_by_key(|r| r.seq);
        for path in data_files {
            let has_header = seq_of(&path).is_some_and(|seq| {
                found.binary_search_by_key(&seq, |r| r.seq).is_ok() || unreadable.contains(&seq)
            });
            if !has_header {
                fs::remove_file(&path)?;
            }
        }
        found.retain(|r| {
            let size = fs::metadata(self.data_path(r.seq)).map(|m| m.len());
            match size {
                Ok(size) if size == r.header.size => true,
                other => {
                    tracing::error!(
                        key = r.header.key,
                        expected = r.header.size,
                        found = ?other.ok(),
                        dir = %self.dir.display(),
                        "spooled data does not match its header; skipped, and left in place for inspection"
                    );
                    false
                }
            }
        });
        Ok(Recovery {
            jobs: found,
            next_seq,
        })
    }

    fn read_record<T: DeserializeOwned>(
        &self,
        path: &Path,
    ) -> std::io::Result<Record<JobHeader<T>>> {
        let record: Record<JobHeader<T>> =
            serde_json::from_slice(&fs::read(path)?).map_err(std::io::Error::other)?;
        if record.version != FORMAT_VERSION {
            return Err(std::io::Error::other(format!(
                "spool format version {} (this build reads {FORMAT_VERSION})",
                record.version
            )));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uploader::Ordering;
    use nova_media::ObjectMeta;

    fn header(key: &str, size: u64) -> JobHeader<serde_json::Value> {
        JobHeader {
            key: key.into(),
            meta: ObjectMeta::new("video/mp4", "public, max-age=31536000, immutable"),
            group: "stream-1".into(),
            ordering: Ordering::AfterEarlier,
            tag: serde_json::json!({"sequence": 7, "duration": 2.002}),
            size,
        }
    }

    #[test]
    fn round_trips_jobs_in_submission_order() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path().join("spool")).unwrap();
        let (a, b) = (header("s/a.m4s", 3), header("s/b.m4s", 0));
        let (body_a, body_b) = (Bytes::from_static(b"abc"), Bytes::new());
        spool
            .write_all(&[(11, &b, &body_b), (2, &a, &body_a)])
            .unwrap();

        let reopened = Spool::open(spool.dir()).unwrap();
        assert_eq!(
            reopened.recover().unwrap(),
            Recovery {
                jobs: vec![
                    Recovered { seq: 2, header: a },
                    Recovered { seq: 11, header: b },
                ],
                next_seq: 12,
            }
        );
        assert_eq!(reopened.read_body(2).unwrap(), body_a);
        reopened.remove(2).unwrap();
        reopened.remove(2).unwrap();
        assert_eq!(
            reopened.recover::<serde_json::Value>().unwrap().jobs.len(),
            1
        );
    }

    #[test]
    fn recovery_drops_interrupted_writes() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let h = header("k", 4);
        spool
            .write_all(&[(1, &h, &Bytes::from_static(b"full"))])
            .unwrap();
        // A crash after the data but before the header, and one mid-write.
        fs::write(dir.path().join(format!("{:020}.data", 2)), b"orphan").unwrap();
        fs::write(dir.path().join(".tmp-00000000000000000003.data"), b"x").unwrap();
        // A header whose data was truncated behind the uploader's back.
        let short = header("short", 10);
        spool
            .write_all(&[(4, &short, &Bytes::from_static(b"0123456789"))])
            .unwrap();
        fs::write(dir.path().join(format!("{:020}.data", 4)), b"012").unwrap();

        let recovered = spool.recover().unwrap();
        assert_eq!(recovered.jobs, vec![Recovered { seq: 1, header: h }]);
        assert_eq!(recovered.next_seq, 5);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                format!("{:020}.data", 1),
                format!("{:020}.json", 1),
                format!("{:020}.data", 4),
                format!("{:020}.json", 4),
            ]
        );
    }

    #[test]
    fn a_header_this_build_cannot_read_stays_with_its_data() {
        #[derive(Debug, PartialEq, Deserialize)]
        struct Numbered {
            sequence: u64,
        }
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let known = header("known", 1);
        let mut unknown = header("unknown", 1);
        unknown.tag = serde_json::json!({ "kind": "from_a_newer_build" });
        spool
            .write_all(&[
                (1, &known, &Bytes::from_static(b"a")),
                (2, &unknown, &Bytes::from_static(b"b")),
            ])
            .unwrap();

        let recovered = spool.recover::<Numbered>().unwrap();
        let jobs: Vec<_> = recovered
            .jobs
            .iter()
            .map(|r| (r.seq, r.header.key.as_str(), &r.header.tag))
            .collect();
        assert_eq!(jobs, vec![(1, "known", &Numbered { sequence: 7 })]);
        assert_eq!(recovered.next_seq, 3);
        assert!(dir.path().join(format!("{:020}.json", 2)).exists());
        assert_eq!(
            spool.read_body(2).unwrap(),
            Bytes::from_static(b"b"),
            "left in place for a build that reads it"
        );
    }

    #[test]
    fn header_file_is_plain_json_with_a_version() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        spool
            .write_all(&[(5, &header("k", 1), &Bytes::from_static(b"x"))])
            .unwrap();
        let text = fs::read_to_string(dir.path().join(format!("{:020}.json", 5))).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["seq"], 5);
        assert_eq!(value["key"], "k");
        assert_eq!(value["ordering"], "AfterEarlier");
        assert_eq!(value["tag"]["sequence"], 7);
        assert_eq!(
            value["meta"]["cache_control"],
            "public, max-age=31536000, immutable"
        );
    }
}
