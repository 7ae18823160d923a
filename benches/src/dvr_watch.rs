//! Segment-to-object latency, seen from outside nova-live: when each
//! segment appears in a stream's live playlist (≈ when the packager closed
//! it) and when the object with the same file name appears in the object
//! store's directory (s3s-fs renames complete files into place). Both sides
//! are polled, so each time is late by up to one polling interval.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nova_testkit::ll_hls::LlPlaylist;

/// A segment as the live window first listed it.
#[derive(Debug, Clone)]
pub struct LiveSegment {
    pub stream: usize,
    pub name: String,
    pub seen: Instant,
    /// `Content-Length` of a HEAD on the segment in the live window.
    pub size: Option<u64>,
}

/// What the playlist pollers saw.
#[derive(Debug, Default)]
pub struct LiveReport {
    pub segments: Vec<LiveSegment>,
    /// Playlist fetches that failed (before the stream started, say).
    pub failed_polls: u64,
    pub polls: u64,
}

/// Polls every playlist each `interval` until `stop` is set.
pub async fn watch_live(
    client: reqwest::Client,
    playlists: Vec<String>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> LiveReport {
    let tasks: Vec<_> = playlists
        .into_iter()
        .enumerate()
        .map(|(stream, url)| {
            tokio::spawn(watch_one(
                client.clone(),
                stream,
                url,
                interval,
                stop.clone(),
            ))
        })
        .collect();
    let mut report = LiveReport::default();
    for task in tasks {
        if let Ok(one) = task.await {
            report.segments.extend(one.segments);
            report.failed_polls += one.failed_polls;
            report.polls += one.polls;
        }
    }
    report
}

async fn watch_one(
    client: reqwest::Client,
    stream: usize,
    url: String,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> LiveReport {
    let mut report = LiveReport::default();
    let mut known = HashSet::new();
    let Ok(base) = reqwest::Url::parse(&url) else {
        return report;
    };
    let mut ticker = tokio::time::interval(interval);
    // A slow poll must not be followed by a burst of catch-up polls.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::SeqCst) {
        ticker.tick().await;
        report.polls += 1;
        let Some(text) = get_text(&client, &url).await else {
            report.failed_polls += 1;
            continue;
        };
        let seen = Instant::now();
        for uri in LlPlaylist::parse(&text).segments.into_iter().map(|s| s.uri) {
            if !known.insert(uri.clone()) {
                continue;
            }
            let Ok(segment) = base.join(&uri) else {
                continue;
            };
            let name = object_name(segment.path());
            let size = head_length(&client, segment).await;
            report.segments.push(LiveSegment {
                stream,
                name,
                seen,
                size,
            });
        }
    }
    report
}

async fn get_text(client: &reqwest::Client, url: &str) -> Option<String> {
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

async fn head_length(client: &reqwest::Client, url: reqwest::Url) -> Option<u64> {
    let response = client.head(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response
        .headers()
        .get(reqwest::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// `{rendition}/{file}`: the last two parts of a segment's URL path or of
/// its object's path. A file name alone is not enough: every rendition of
/// a run names its segments alike (`source/` and `audio/` both hold
/// `{run}-{n}.m4s`).
fn object_name(path: &str) -> String {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    match parts.next() {
        Some(rendition) => format!("{rendition}/{file}"),
        None => file.to_owned(),
    }
}

/// An object file as the directory scans first found it.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub seen: Instant,
    pub size: u64,
    pub path: PathBuf,
}

/// What the directory scans saw.
#[derive(Debug, Default)]
pub struct StoreReport {
    /// By file name: the recorder keeps the packager's names, which are
    /// unique for the life of the server.
    pub objects: HashMap<String, StoredObject>,
    /// Most files seen at once in the spool directory (uploads waiting
    /// because the store failed them).
    pub spool_max_files: usize,
    pub scans: u64,
    /// Slowest scan, to tell whether scans kept to the interval.
    pub slowest_scan: Duration,
}

/// Directory scans of an object store running on a thread of their own;
/// the report is shared so the harness can tell when uploads are done.
pub struct StoreWatch {
    report: Arc<Mutex<StoreReport>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StoreWatch {
    /// Scans `bucket` (and counts the files under `spool`) every `interval`.
    pub fn start(bucket: PathBuf, spool: PathBuf, interval: Duration) -> Self {
        let report = Arc::new(Mutex::new(StoreReport::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (report, stop) = (report.clone(), stop.clone());
            std::thread::spawn(move || {
                loop {
                    let started = Instant::now();
                    // One more scan after `stop`, to catch the last uploads.
                    let last = stop.load(Ordering::SeqCst);
                    let spool_files = count_files(&spool);
                    {
                        let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
                        scan_store(&bucket, &mut report.objects);
                        report.spool_max_files = report.spool_max_files.max(spool_files);
                        report.scans += 1;
                        report.slowest_scan = report.slowest_scan.max(started.elapsed());
                    }
                    if last {
                        return;
                    }
                    std::thread::sleep(interval.saturating_sub(started.elapsed()));
                }
            })
        };
        Self {
            report,
            stop,
            thread: Some(thread),
        }
    }

    /// How many of `names` have no object yet.
    pub fn missing(&self, names: &HashSet<String>) -> usize {
        let report = self.report.lock().unwrap_or_else(|e| e.into_inner());
        names
            .iter()
            .filter(|name| !report.objects.contains_key(*name))
            .count()
    }

    /// Stops the scans after a final one and returns what they saw.
    pub fn finish(mut self) -> StoreReport {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.report.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for StoreWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn scan_store(dir: &Path, objects: &mut HashMap<String, StoredObject>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            scan_store(&path, objects);
            continue;
        }
        if entry
            .file_name()
            .to_str()
            .is_none_or(|name| name.starts_with('.'))
        {
            // s3s-fs's own files: partial uploads and metadata sidecars.
            continue;
        }
        let Some(name) = path.to_str().map(object_name) else {
            continue;
        };
        if objects.contains_key(&name) {
            continue;
        }
        let seen = Instant::now();
        if let Ok(meta) = entry.metadata() {
            objects.insert(
                name,
                StoredObject {
                    seen,
                    size: meta.len(),
                    path,
                },
            );
        }
    }
}

/// Regular files under `dir`, recursively (0 when it does not exist).
pub fn count_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => count_files(&entry.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_segments_by_rendition_and_file() {
        assert_eq!(
            object_name("/live/abc/source/seg-3.m4s"),
            "source/seg-3.m4s"
        );
        assert_eq!(object_name("/tmp/b/rec/audio/seg-3.m4s"), "audio/seg-3.m4s");
        assert_eq!(object_name("seg-3.m4s"), "seg-3.m4s");
    }

    #[test]
    fn scans_nested_objects_once_and_skips_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("recordings/s/r/source");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::write(nested.join("seg-1.m4s"), b"abc").unwrap();
        std::fs::write(dir.path().join(".tmp.0.internal.part"), b"x").unwrap();
        let mut objects = HashMap::new();
        scan_store(dir.path(), &mut objects);
        assert_eq!(objects.len(), 1);
        assert_eq!(objects["source/seg-1.m4s"].size, 3);
        let first = objects["source/seg-1.m4s"].seen;
        scan_store(dir.path(), &mut objects);
        assert_eq!(objects["source/seg-1.m4s"].seen, first);
        assert_eq!(count_files(dir.path()), 2);
    }
}
