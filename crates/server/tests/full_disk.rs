//! A full disk and a full upload spool: recording pauses (a health warning,
//! `recording.paused`), live playback goes on, recording resumes when
//! space returns, and nothing already stored is lost.
//!
//! The disk is a real filesystem of 64 MiB the test mounts (tmpfs), used
//! as the server's data directory; a ballast file fills it.

mod support;

use std::path::Path;
use std::process::Command;

use nova_testkit::probe::probe_segment;
use nova_testkit::s3::S3sServer;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use support::fixture::LIMIT;
use support::server::{Server, ServerOptions, TestDatabase, stream_key_url};
use support::{publish, wait_for};

const MIB: u64 = 1 << 20;
const WATERMARK_MIB: u64 = 24;

/// A tmpfs of `size_mib`, unmounted on drop.
struct SmallDisk {
    mount_point: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size_mib: u64) -> Self {
        let mount_point = tempfile::Builder::new()
            .prefix("nova-small-disk")
            .tempdir()
            .unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(mount_point.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a {size_mib} MiB tmpfs failed ({status}): this test needs root (or CAP_SYS_ADMIN)"
        );
        Self { mount_point }
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }

    fn free_bytes(&self) -> u64 {
        let path = std::ffi::CString::new(self.path().to_str().unwrap()).unwrap();
        // SAFETY: statvfs is plain integers, for which all zeroes is valid.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: a NUL-terminated path and a struct to fill.
        assert_eq!(unsafe { libc::statvfs(path.as_ptr(), &mut stat) }, 0);
        stat.f_bavail as u64 * stat.f_frsize as u64
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.mount_point.path())
            .status();
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    rendition: String,
    sequence: i64,
    object_key: String,
    init_object_key: Option<String>,
    byte_size: i64,
    discontinuity: bool,
}

async fn rows(database_url: &str, stream: &str) -> Vec<Row> {
    let mut db = PgConnection::connect(database_url).await.unwrap();
    sqlx::query_as(
        "SELECT rendition, sequence, object_key, init_object_key, byte_size, discontinuity \
         FROM stream_segments WHERE stream_id = $1::uuid ORDER BY rendition, sequence",
    )
    .bind(stream)
    .fetch_all(&mut db)
    .await
    .unwrap()
}

async fn webhook_payloads(database_url: &str, event: &str) -> Vec<Value> {
    let mut db = PgConnection::connect(database_url).await.unwrap();
    sqlx::query_scalar("SELECT payload FROM webhook_deliveries WHERE event_type = $1")
        .bind(event)
        .fetch_all(&mut db)
        .await
        .unwrap()
}

async fn subscribe(server: &Server, token: &str) {
    let response = server
        .client
        .post(format!("{}/api/v1/webhooks", server.http))
        .bearer_auth(token)
        .json(&json!({
            "url": "https://hooks.example.com/nova",
            "event_types": ["recording.paused", "recording.resumed"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

async fn warnings(server: &Server, token: &str, stream: &str) -> Vec<String> {
    let stream = server.get_stream(token, stream).await;
    stream["health"]["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|w| w.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn paused_warning(warnings: &[String]) -> Option<&String> {
    warnings
        .iter()
        .find(|w| w.starts_with("Recording is paused"))
}

/// The live playlist's last media sequence number.
async fn live_sequence(server: &Server, url: &str) -> Option<u64> {
    let text = server.fetch_text(url).await?;
    match m3u8_rs::parse_playlist_res(text.as_bytes()) {
        Ok(m3u8_rs::Playlist::MediaPlaylist(p)) => Some(p.media_sequence + p.segments.len() as u64),
        _ => None,
    }
}

async fn live_grows_by(server: &Server, url: &str, segments: u64, what: &str) {
    let start = wait_for("the live playlist", LIMIT, || live_sequence(server, url)).await;
    wait_for(what, LIMIT, || async {
        let now = live_sequence(server, url).await?;
        (now >= start + segments).then_some(())
    })
    .await;
}

/// Every row's object is stored with its size and decodes (with its init).
fn assert_stored_and_decodable(rows: &[Row], root: &Path, scratch: &Path) {
    for row in rows {
        let path = root.join(&row.object_key);
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{} is indexed but not stored: {e}", row.object_key));
        assert_eq!(bytes.len() as i64, row.byte_size, "{}", row.object_key);
        let init = row
            .init_object_key
            .as_ref()
            .map(|key| std::fs::read(root.join(key)).unwrap());
        let name = format!("{}-{}.mp4", row.rendition, row.sequence);
        let report = probe_segment(scratch, &name, init.as_deref(), &bytes);
        assert!(
            !report.packets.is_empty(),
            "{} holds no packet",
            row.object_key
        );
        assert!(
            report.decode_errors.is_empty(),
            "{}: {}",
            row.object_key,
            report.decode_errors
        );
    }
}

#[tokio::test]
async fn a_full_disk_pauses_recording_and_keeps_what_was_stored() {
    // Declared first: unmounted last, after the server and its data dir.
    let disk = SmallDisk::mount(64);
    let data_dir = tempfile::Builder::new()
        .prefix("data")
        .tempdir_in(disk.path())
        .unwrap();
    let database = TestDatabase::create().await;
    let watermark = format!("{WATERMARK_MIB}MiB");
    let server = Server::start_in(
        ServerOptions {
            database_url: Some(&database.url),
            extra_args: &["--reconnect-window", "1", "--min-free-disk", &watermark],
            log_filter: None,
            tls: None,
        },
        data_dir,
    )
    .await;
    let token = server.token_for(uuid::Uuid::new_v4());
    subscribe(&server, &token).await;
    let stream = server
        .create_stream(&token, json!({ "title": "Full disk" }))
        .await;
    let id = stream["id"].as_str().unwrap().to_owned();
    let live_url = stream["playback"]["hls_url"].as_str().unwrap().to_owned();
    let mut encoder = publish(
        &stream_key_url(&server, &stream),
        &["-stream_loop", "-1"],
        300.0,
    );
    wait_for("4 segments recorded", LIMIT, || async {
        (rows(&database.url, &id).await.len() >= 4).then_some(())
    })
    .await;
    assert!(
        paused_warning(&warnings(&server, &token, &id).await).is_none(),
        "not paused while the disk has room"
    );

    // The disk fills up to below the watermark.
    let ballast = disk.path().join("ballast");
    let fill = disk.free_bytes().saturating_sub((WATERMARK_MIB / 2) * MIB);
    std::fs::write(&ballast, vec![0u8; fill as usize]).unwrap();
    assert!(disk.free_bytes() < WATERMARK_MIB * MIB);
    let filled = std::time::Instant::now();

    let warning = wait_for(
        "a health warning that recording is paused",
        LIMIT,
        || async { paused_warning(&warnings(&server, &token, &id).await).cloned() },
    )
    .await;
    assert!(warning.contains("--min-free-disk"), "{warning}");
    eprintln!(
        "recording paused {:?} after the disk filled ({} MiB free)",
        filled.elapsed(),
        disk.free_bytes() / MIB
    );
    let paused = wait_for("a recording.paused webhook", LIMIT, || async {
        webhook_payloads(&database.url, "recording.paused")
            .await
            .pop()
    })
    .await;
    assert_eq!(paused["data"]["stream_id"], id.as_str(), "{paused}");
    assert!(
        paused["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("recordings directory"),
        "{paused}"
    );
    // What was submitted before the pause settles, then nothing more is stored.
    live_grows_by(&server, &live_url, 1, "a live segment after the pause").await;
    let before_gap = rows(&database.url, &id).await;
    live_grows_by(
        &server,
        &live_url,
        3,
        "3 more live segments while recording is paused",
    )
    .await;
    let during_gap = rows(&database.url, &id).await;
    assert_eq!(
        during_gap.len(),
        before_gap.len(),
        "segments were recorded while the disk was full"
    );
    assert!(
        webhook_payloads(&database.url, "recording.resumed")
            .await
            .is_empty()
    );

    // Space returns: recording resumes by itself.
    std::fs::remove_file(&ballast).unwrap();
    let resumed = wait_for("a recording.resumed webhook", LIMIT, || async {
        webhook_payloads(&database.url, "recording.resumed")
            .await
            .pop()
    })
    .await;
    assert!(
        resumed["data"]["skipped_segments"].as_u64().unwrap() >= 3,
        "{resumed}"
    );
    eprintln!(
        "recording resumed; {} segments stored before the gap, {} skipped",
        before_gap.len(),
        resumed["data"]["skipped_segments"]
    );
    wait_for("3 segments recorded after the gap", LIMIT, || async {
        (rows(&database.url, &id).await.len() >= during_gap.len() + 3).then_some(())
    })
    .await;
    wait_for("the warning to clear", LIMIT, || async {
        paused_warning(&warnings(&server, &token, &id).await)
            .is_none()
            .then_some(())
    })
    .await;
    encoder.kill().await.unwrap();
    server.wait_for_status(&token, &id, "ended", LIMIT).await;

    let after = rows(&database.url, &id).await;
    let root = server.data_path().join("recordings");
    let scratch = tempfile::tempdir().unwrap();
    // Everything stored before the pause is still there and decodes, and
    // so is everything after it.
    for row in &before_gap {
        assert!(
            after.iter().any(|r| r.object_key == row.object_key),
            "{} was lost",
            row.object_key
        );
    }
    assert_stored_and_decodable(&after, &root, scratch.path());
    // Each rendition marks the gap as a discontinuity.
    let renditions: std::collections::BTreeSet<&str> =
        after.iter().map(|r| r.rendition.as_str()).collect();
    for rendition in renditions {
        let marked = after.iter().any(|r| {
            r.rendition == rendition
                && r.discontinuity
                && !before_gap.iter().any(|b| b.object_key == r.object_key)
        });
        assert!(marked, "{rendition}: no discontinuity after the gap");
    }

    let (status, _dir) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    database.drop_database().await;
}

/// The object store is down and the spool reaches `--max-spool-bytes`:
/// recording pauses (health warning, `recording.paused`) instead of the
/// spool (or memory) growing; live playback goes on; when the store is
/// back the spool drains, recording resumes, and every spooled segment
/// arrives in the store.
#[tokio::test]
async fn a_full_spool_pauses_recording_until_the_store_returns() {
    const SPOOL_CAP: u64 = 2 * MIB;
    let mut s3 = S3sServer::start();
    let database = TestDatabase::create().await;
    let mut args: Vec<String> = s3.nova_args();
    args.extend(
        [
            "--reconnect-window",
            "1",
            "--max-spool-bytes",
            "2MiB",
            // Only the spool's cap is under test, not the host's free space.
            "--min-free-disk",
            "0",
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start(ServerOptions {
        database_url: Some(&database.url),
        extra_args: &args,
        log_filter: None,
        tls: None,
    })
    .await;
    let token = server.token_for(uuid::Uuid::new_v4());
    subscribe(&server, &token).await;
    let stream = server
        .create_stream(&token, json!({ "title": "Full spool" }))
        .await;
    let id = stream["id"].as_str().unwrap().to_owned();
    let live_url = stream["playback"]["hls_url"].as_str().unwrap().to_owned();
    // A higher bitrate than the sample's, so the 2 MiB spool fills in seconds.
    let mut encoder = support::publish_720p(&stream_key_url(&server, &stream), 300.0);
    wait_for("2 segments recorded", LIMIT, || async {
        (rows(&database.url, &id).await.len() >= 2).then_some(())
    })
    .await;
    let stored_before = rows(&database.url, &id).await;

    s3.stop();
    let warning = wait_for(
        "a health warning that recording is paused",
        LIMIT,
        || async { paused_warning(&warnings(&server, &token, &id).await).cloned() },
    )
    .await;
    assert!(warning.contains("--max-spool-bytes"), "{warning}");
    let paused = wait_for("a recording.paused webhook", LIMIT, || async {
        webhook_payloads(&database.url, "recording.paused")
            .await
            .pop()
    })
    .await;
    assert!(
        paused["data"]["reason"].as_str().unwrap().contains("spool"),
        "{paused}"
    );
    let spool = server.data_path().join("spool");
    live_grows_by(
        &server,
        &live_url,
        4,
        "4 more live segments while the spool is full",
    )
    .await;
    let spooled = spool_bytes(&spool);
    eprintln!("spool while paused: {spooled} bytes (cap {SPOOL_CAP})");
    assert!(
        spooled <= SPOOL_CAP,
        "the spool holds {spooled} bytes, over its {SPOOL_CAP} cap"
    );

    s3.resume();
    wait_for("a recording.resumed webhook", LIMIT, || async {
        webhook_payloads(&database.url, "recording.resumed")
            .await
            .pop()
    })
    .await;
    wait_for("the spool to drain", LIMIT, || async {
        (spool_bytes(&spool) == 0).then_some(())
    })
    .await;
    let count = rows(&database.url, &id).await.len();
    wait_for("2 segments recorded after the gap", LIMIT, || async {
        (rows(&database.url, &id).await.len() >= count + 2).then_some(())
    })
    .await;
    encoder.kill().await.unwrap();
    server.wait_for_status(&token, &id, "ended", LIMIT).await;

    let after = rows(&database.url, &id).await;
    for row in &stored_before {
        assert!(
            after.iter().any(|r| r.object_key == row.object_key),
            "{} was lost",
            row.object_key
        );
    }
    let scratch = tempfile::tempdir().unwrap();
    assert_stored_and_decodable(&after, &s3.bucket_dir(), scratch.path());

    let (status, _dir) = server.terminate().await;
    assert!(status.success(), "server exited with {status}");
    database.drop_database().await;
}

/// Bytes of job bodies in the spool directory.
fn spool_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".data"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
