//! The uploader against a real S3 server (s3s-fs): outages, restarts,
//! ordering barriers, shutdown and the memory budget.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore, ObjectStoreError};
use nova_recorder::{Completion, Ordering, UploadJob, UploadTag, Uploader, UploaderConfig};
use serde_json::json;
use support::{S3sServer, wait_for};
use tokio::sync::{Semaphore, mpsc};

const PATIENCE: Duration = Duration::from_secs(30);

/// Fast retries and probes, so an outage test takes seconds.
fn quick_config() -> UploaderConfig {
    UploaderConfig {
        concurrency: 4,
        attempts_before_spool: 2,
        retry_base: Duration::from_millis(10),
        retry_cap: Duration::from_millis(50),
        probe_base: Duration::from_millis(50),
        probe_cap: Duration::from_millis(250),
        ..UploaderConfig::default()
    }
}

/// A body that differs per job, so a mix-up cannot go unnoticed.
fn body(i: usize) -> Bytes {
    (0..(1000 + i * 37))
        .map(|b| (b * 7 + i * 13) as u8)
        .collect::<Vec<_>>()
        .into()
}

fn meta() -> ObjectMeta {
    ObjectMeta::new("video/mp4", "public, max-age=31536000, immutable")
}

async fn collect<T: std::fmt::Debug>(
    rx: &mut mpsc::UnboundedReceiver<Completion<T>>,
    n: usize,
) -> Vec<Completion<T>> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while got.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(c)) => got.push(c),
            Ok(None) => panic!("completion channel closed after {} of {n}", got.len()),
            Err(_) => panic!(
                "only {} of {n} completions within {PATIENCE:?}: {got:?}",
                got.len()
            ),
        }
    }
    got
}

fn spool_files(dir: &Path) -> (usize, usize) {
    let names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    (
        names.iter().filter(|n| n.ends_with(".data")).count(),
        names.iter().filter(|n| n.ends_with(".json")).count(),
    )
}

async fn assert_stored(store: &dyn ObjectStore, key: &str, expected: &Bytes) {
    let got = store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    assert!(
        got == *expected,
        "{key}: {} bytes differ from the {} submitted",
        got.len(),
        expected.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_spools_to_disk_and_drains_in_order_when_the_store_returns() {
    let mut server = S3sServer::start();
    let store = Arc::new(server.store().await);
    let spool = tempfile::tempdir().unwrap();
    let (uploader, mut done) = Uploader::start(store.clone(), spool.path(), quick_config())
        .await
        .unwrap();

    server.stop();
    let jobs: Vec<UploadJob<serde_json::Value>> = (0..12)
        .map(|i| {
            UploadJob::new(format!("live/s1/{i:03}.m4s"), body(i), meta())
                .in_group("s1", Ordering::AfterEarlier)
                .with_tag(json!({ "i": i }))
        })
        .collect();
    // From a plain thread, as the packager does.
    let submitter = uploader.submitter();
    let submitted = jobs.clone();
    std::thread::spawn(move || {
        for job in submitted {
            submitter.submit(job).unwrap();
        }
    })
    .join()
    .unwrap();

    wait_for("12 jobs in the spool", PATIENCE, || {
        uploader.stats().spooled == 12
    })
    .await;
    let stats = uploader.stats();
    assert!(!stats.store_available);
    assert!(stats.failures >= 1);
    assert!(stats.last_error.is_some());
    assert_eq!(
        stats.spooled_bytes,
        jobs.iter().map(|j| j.body.len() as u64).sum::<u64>()
    );
    assert_eq!(spool_files(spool.path()), (12, 12));
    assert!(
        done.try_recv().is_err(),
        "nothing may complete while the store is down"
    );

    server.resume();
    let completions = collect(&mut done, 12).await;
    let keys: Vec<&str> = completions.iter().map(|c| c.key.as_str()).collect();
    let expected: Vec<&str> = jobs.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys, expected,
        "an ordered group completes in submission order"
    );
    for (completion, job) in completions.iter().zip(&jobs) {
        assert_eq!(completion.result, Ok(()));
        assert_eq!(completion.size, job.body.len() as u64);
        assert_eq!(completion.tag, job.tag);
        assert_stored(store.as_ref(), &job.key, &job.body).await;
    }
    wait_for("an empty spool", PATIENCE, || {
        spool_files(spool.path()) == (0, 0)
    })
    .await;
    let stats = uploader.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        (stats.uploaded, stats.spooled, stats.queued, stats.in_flight),
        (12, 0, 0, 0)
    );
    assert!(stats.store_available);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_uploads_what_a_crashed_one_spooled() {
    let mut server = S3sServer::start();
    let store = Arc::new(server.store().await);
    let spool = tempfile::tempdir().unwrap();
    server.stop();

    let mut jobs = Vec::new();
    for i in 0..10 {
        let (key, ordering) = if i % 5 == 4 {
            (format!("rec/s1/index-{i}.m3u8"), Ordering::AfterEarlier)
        } else {
            (format!("rec/s1/seg-{i}.m4s"), Ordering::Parallel)
        };
        jobs.push(
            UploadJob::new(key, body(i), meta())
                .in_group("s1", ordering)
                .with_tag(json!({ "row": i, "stream": "s1" })),
        );
    }
    {
        let (crashed, _done) = Uploader::start(store.clone(), spool.path(), quick_config())
            .await
            .unwrap();
        for job in jobs.clone() {
            crashed.submit(job).unwrap();
        }
        wait_for("10 jobs in the spool", PATIENCE, || {
            crashed.stats().spooled == 10
        })
        .await;
        // Dropped without shutdown: the tasks stop where they are, like kill -9.
    }
    assert_eq!(spool_files(spool.path()), (10, 10));

    server.resume();
    let (restarted, mut done) = Uploader::start(store.clone(), spool.path(), quick_config())
        .await
        .unwrap();
    // Submitted after the restart: it must wait for the recovered jobs of its group.
    let late = UploadJob::new("rec/s1/index-late.m3u8", body(99), meta())
        .in_group("s1", Ordering::AfterEarlier)
        .with_tag(json!({ "row": 99 }));
    restarted.submit(late.clone()).unwrap();

    let completions = collect(&mut done, 11).await;
    assert_eq!(completions.last().unwrap().key, late.key);
    for job in &jobs {
        let c = completions
            .iter()
            .find(|c| c.key == job.key)
            .unwrap_or_else(|| panic!("no completion for {}", job.key));
        assert_eq!(
            (c.tag.clone(), c.size, c.result.clone()),
            (job.tag.clone(), job.body.len() as u64, Ok(()))
        );
        assert_stored(store.as_ref(), &job.key, &job.body).await;
    }
    assert_stored(store.as_ref(), &late.key, &late.body).await;
    wait_for("an empty spool", PATIENCE, || {
        spool_files(spool.path()) == (0, 0)
    })
    .await;
    assert_eq!(
        restarted.shutdown(Duration::from_secs(5)).await.uploaded,
        11
    );
}

/// Logs when each put starts and ends; puts of segments take a while, so
/// overlaps and waits show.
struct Timeline {
    inner: Arc<dyn ObjectStore>,
    events: Mutex<Vec<(String, &'static str)>>,
    running: Mutex<(usize, usize)>,
    /// When set, every put waits for a permit (tests hold the store back).
    gate: Option<Arc<Semaphore>>,
    segment_delay: Duration,
}

impl Timeline {
    fn new(inner: Arc<dyn ObjectStore>, segment_delay: Duration) -> Self {
        Self {
            inner,
            events: Mutex::default(),
            running: Mutex::default(),
            gate: None,
            segment_delay,
        }
    }

    fn index_of(&self, key: &str, what: &str) -> usize {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .position(|(k, w)| k == key && *w == what)
            .unwrap_or_else(|| panic!("no {what} of {key} in {events:?}"))
    }

    fn max_running(&self) -> usize {
        self.running.lock().unwrap().1
    }
}

#[async_trait]
impl ObjectStore for Timeline {
    async fn put(&self, key: &str, body: Bytes, meta: &ObjectMeta) -> Result<(), ObjectStoreError> {
        let _permit = match &self.gate {
            Some(gate) => Some(gate.acquire().await.unwrap()),
            None => None,
        };
        self.events.lock().unwrap().push((key.to_owned(), "start"));
        {
            let mut running = self.running.lock().unwrap();
            running.0 += 1;
            running.1 = running.1.max(running.0);
        }
        if key.ends_with(".m4s") {
            tokio::time::sleep(self.segment_delay).await;
        }
        let result = self.inner.put(key, body, meta).await;
        self.running.lock().unwrap().0 -= 1;
        self.events.lock().unwrap().push((key.to_owned(), "end"));
        result
    }
    async fn get(&self, key: &str) -> Result<Bytes, ObjectStoreError> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &str) -> Result<Option<u64>, ObjectStoreError> {
        self.inner.head(key).await
    }
    async fn delete(&self, key: &str) -> Result<(), ObjectStoreError> {
        self.inner.delete(key).await
    }
    async fn delete_many(&self, keys: &[String]) -> Result<(), ObjectStoreError> {
        self.inner.delete_many(keys).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectStoreError> {
        self.inner.list(prefix).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playlists_wait_for_their_segments_and_streams_run_in_parallel() {
    let server = S3sServer::start();
    let timeline = Arc::new(Timeline::new(
        Arc::new(server.store().await),
        Duration::from_millis(200),
    ));
    let spool = tempfile::tempdir().unwrap();
    let config = UploaderConfig {
        concurrency: 8,
        ..quick_config()
    };
    let (uploader, mut done) = Uploader::start(timeline.clone(), spool.path(), config)
        .await
        .unwrap();
    let plan = [
        ("s1/seg-0.m4s", "s1", Ordering::Parallel),
        ("s1/seg-1.m4s", "s1", Ordering::Parallel),
        ("s1/seg-2.m4s", "s1", Ordering::Parallel),
        ("s1/index.m3u8", "s1", Ordering::AfterEarlier),
        ("s1/seg-3.m4s", "s1", Ordering::Parallel),
        ("s2/seg-0.m4s", "s2", Ordering::Parallel),
        ("s2/seg-1.m4s", "s2", Ordering::Parallel),
        ("s2/index.m3u8", "s2", Ordering::AfterEarlier),
    ];
    for (i, (key, group, ordering)) in plan.iter().enumerate() {
        uploader
            .submit(UploadJob::new(*key, body(i), meta()).in_group(*group, *ordering))
            .unwrap();
    }
    let completions = collect(&mut done, plan.len()).await;
    assert!(completions.iter().all(|c| c.result.is_ok()));

    let t = &timeline;
    for (playlist, segments) in [
        (
            "s1/index.m3u8",
            &["s1/seg-0.m4s", "s1/seg-1.m4s", "s1/seg-2.m4s"][..],
        ),
        ("s2/index.m3u8", &["s2/seg-0.m4s", "s2/seg-1.m4s"][..]),
    ] {
        for segment in segments {
            assert!(
                t.index_of(playlist, "start") > t.index_of(segment, "end"),
                "{playlist} started before {segment} was stored"
            );
        }
    }
    // A later segment is not held back by the playlist before it…
    assert!(t.index_of("s1/seg-3.m4s", "start") < t.index_of("s1/index.m3u8", "start"));
    // …and the two streams' segments were in the air together.
    assert!(t.index_of("s2/seg-0.m4s", "start") < t.index_of("s1/seg-0.m4s", "end"));
    assert!(
        t.max_running() >= 6,
        "at most {} puts at once",
        t.max_running()
    );
    uploader.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded() {
    let server = S3sServer::start();
    let timeline = Arc::new(Timeline::new(
        Arc::new(server.store().await),
        Duration::from_millis(50),
    ));
    let spool = tempfile::tempdir().unwrap();
    let config = UploaderConfig {
        concurrency: 2,
        ..quick_config()
    };
    let (uploader, mut done) = Uploader::start(timeline.clone(), spool.path(), config)
        .await
        .unwrap();
    for i in 0..8 {
        uploader
            .submit(UploadJob::new(format!("s{i}/seg.m4s"), body(i), meta()))
            .unwrap();
    }
    collect(&mut done, 8).await;
    assert_eq!(timeline.max_running(), 2);
    uploader.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_budget_jobs_wait_on_disk_while_the_store_is_slow() {
    let server = S3sServer::start();
    let gate = Arc::new(Semaphore::new(0));
    let mut timeline = Timeline::new(Arc::new(server.store().await), Duration::ZERO);
    timeline.gate = Some(gate.clone());
    let timeline = Arc::new(timeline);
    let spool = tempfile::tempdir().unwrap();
    let config = UploaderConfig {
        concurrency: 1,
        // Room for two 1000-byte bodies and a bit: five submitted, three spooled.
        memory_budget: 2500,
        ..quick_config()
    };
    let (uploader, mut done) = Uploader::start(timeline.clone(), spool.path(), config)
        .await
        .unwrap();
    let jobs: Vec<UploadJob<()>> = (0..5)
        .map(|i| UploadJob::new(format!("s/seg-{i}.m4s"), body(0), meta()))
        .collect();
    for job in jobs.clone() {
        uploader.submit(job).unwrap();
    }
    wait_for("3 jobs spooled", PATIENCE, || uploader.stats().spooled == 3).await;
    let stats = uploader.stats();
    assert_eq!(stats.memory_bytes, 2000);
    assert!(stats.store_available, "a slow store is not a down one");
    assert_eq!(spool_files(spool.path()), (3, 3));

    gate.add_permits(100);
    let keys: Vec<String> = collect(&mut done, 5)
        .await
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(keys, jobs.iter().map(|j| j.key.clone()).collect::<Vec<_>>());
    for job in &jobs {
        assert_stored(timeline.as_ref(), &job.key, &job.body).await;
    }
    wait_for("an empty spool", PATIENCE, || {
        spool_files(spool.path()) == (0, 0)
    })
    .await;
    uploader.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_spools_what_it_cannot_finish_and_the_next_start_uploads_it() {
    let server = S3sServer::start();
    let store: Arc<dyn ObjectStore> = Arc::new(server.store().await);
    let gate = Arc::new(Semaphore::new(0));
    let mut stuck = Timeline::new(store.clone(), Duration::ZERO);
    stuck.gate = Some(gate.clone());
    let spool = tempfile::tempdir().unwrap();
    let (uploader, _done) = Uploader::start(Arc::new(stuck), spool.path(), quick_config())
        .await
        .unwrap();
    let jobs: Vec<UploadJob<()>> = (0..6)
        .map(|i| {
            UploadJob::new(format!("s/seg-{i}.m4s"), body(i), meta())
                .in_group("s", Ordering::AfterEarlier)
        })
        .collect();
    for job in jobs.clone() {
        uploader.submit(job).unwrap();
    }
    let submitter = uploader.submitter();
    let started = Instant::now();
    let stats = uploader.shutdown(Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((stats.spooled, stats.uploaded), (6, 0), "{stats:?}");
    assert_eq!(spool_files(spool.path()), (6, 6));
    assert!(
        submitter.submit(jobs[0].clone()).is_err(),
        "a shut-down uploader refuses jobs"
    );

    let (next, mut done) = Uploader::<()>::start(store.clone(), spool.path(), quick_config())
        .await
        .unwrap();
    let keys: Vec<String> = collect(&mut done, 6)
        .await
        .into_iter()
        .map(|c| c.key)
        .collect();
    assert_eq!(keys, jobs.iter().map(|j| j.key.clone()).collect::<Vec<_>>());
    for job in &jobs {
        assert_stored(store.as_ref(), &job.key, &job.body).await;
    }
    next.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_jobs_complete_with_an_error_and_do_not_block_their_group() {
    let server = S3sServer::start();
    let store = Arc::new(server.store().await);
    let spool = tempfile::tempdir().unwrap();
    let (uploader, mut done) = Uploader::start(store.clone(), spool.path(), quick_config())
        .await
        .unwrap();
    uploader
        .submit(UploadJob::new("s//bad", body(1), meta()).in_group("s", Ordering::AfterEarlier))
        .unwrap();
    uploader
        .submit(
            UploadJob::new("s/index.m3u8", body(2), meta()).in_group("s", Ordering::AfterEarlier),
        )
        .unwrap();
    let completions = collect(&mut done, 2).await;
    assert_eq!(completions[0].key, "s//bad");
    assert!(
        completions[0]
            .result
            .as_ref()
            .unwrap_err()
            .contains("invalid object key")
    );
    assert_eq!(completions[1].result, Ok(()));
    let stats = uploader.shutdown(Duration::from_secs(5)).await;
    assert_eq!((stats.rejected, stats.uploaded, stats.spooled), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_spool_directory_serves_one_uploader_at_a_time() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(nova_dvr::FsObjectStore::new(store_dir.path()));
    let spool = tempfile::tempdir().unwrap();
    let (first, _done) = Uploader::<()>::start(store.clone(), spool.path(), quick_config())
        .await
        .unwrap();
    let second = Uploader::<()>::start(store.clone(), spool.path(), quick_config()).await;
    let err = second.err().expect("a second uploader on the same spool");
    assert!(
        matches!(err, nova_recorder::UploaderError::SpoolInUse { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("own spool directory"), "{err}");
    drop(first);
    let (third, _done) = Uploader::<()>::start(store, spool.path(), quick_config())
        .await
        .expect("the lock goes with the uploader that held it");
    third.shutdown(Duration::from_secs(1)).await;
}

/// A header file as the build before the typed tag wrote it (the tag went
/// through a `serde_json::Value`, so its keys are sorted): the spool format
/// did not change, and the job is uploaded and reported with its tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_left_by_an_earlier_build_is_uploaded_with_its_tag() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(nova_dvr::FsObjectStore::new(store_dir.path()));
    let spool = tempfile::tempdir().unwrap();
    let key = "recordings/s/r/source/abc-3.m4s";
    std::fs::write(spool.path().join(format!("{:020}.data", 7)), b"moof").unwrap();
    std::fs::write(
        spool.path().join(format!("{:020}.json", 7)),
        r#"{"version":1,"seq":7,"key":"recordings/s/r/source/abc-3.m4s","meta":{"content_type":"video/mp4","cache_control":"public, max-age=31536000, immutable"},"group":"s","ordering":"Parallel","tag":{"base_decode_time":288000,"byte_size":4,"container":"fmp4","discontinuity":false,"duration_ms":2000,"init_object_key":"recordings/s/r/source/abc-init1.mp4","kind":"segment","media_start_ms":6000,"object_key":"recordings/s/r/source/abc-3.m4s","program_date_time":"2026-12-07T17:00:00Z","recording_id":"00000000-0000-0000-0000-000000000001","rendition":"source","sequence":3,"stream_id":"00000000-0000-0000-0000-000000000002"},"size":4}"#,
    )
    .unwrap();

    let (uploader, mut done) =
        Uploader::<UploadTag>::start(store.clone(), spool.path(), quick_config())
            .await
            .unwrap();
    let completion = collect(&mut done, 1).await.remove(0);
    assert_eq!((completion.key.as_str(), completion.result), (key, Ok(())));
    let UploadTag::Segment(segment) = completion.tag else {
        panic!("a segment's tag: {:?}", completion.tag);
    };
    assert_eq!(
        (
            segment.recording_id,
            segment.sequence,
            segment.base_decode_time,
            segment.program_date_time.to_rfc3339(),
        ),
        (
            uuid::Uuid::from_u128(1),
            3,
            Some(288_000),
            "2026-12-07T17:00:00+00:00".to_owned()
        )
    );
    assert_stored(store.as_ref(), key, &Bytes::from_static(b"moof")).await;
    uploader.shutdown(Duration::from_secs(5)).await;
    assert_eq!(spool_files(spool.path()), (0, 0));
}

/// The store is down for longer than the spool can hold: the spool stops at
/// its byte cap, memory at its budget, and what fits in neither is dropped
/// (reported failed) instead of growing either; `spool_full` tells the
/// recorder to pause. When the store returns, everything kept is uploaded
/// intact and the spool is no longer full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_cap_bounds_disk_and_memory_while_the_store_is_down() {
    const SPOOL_CAP: u64 = 12_000;
    const MEMORY_BUDGET: u64 = 6_000;
    const JOBS: usize = 40;
    let mut server = S3sServer::start();
    let store = Arc::new(server.store().await);
    let spool = tempfile::tempdir().unwrap();
    let config = UploaderConfig {
        max_spool_bytes: SPOOL_CAP,
        memory_budget: MEMORY_BUDGET,
        ..quick_config()
    };
    let (uploader, mut done) = Uploader::start(store.clone(), spool.path(), config)
        .await
        .unwrap();
    server.stop();
    let jobs: Vec<UploadJob<serde_json::Value>> = (0..JOBS)
        .map(|i| {
            UploadJob::new(format!("live/s1/{i:03}.m4s"), body(i), meta())
                .in_group("s1", Ordering::Parallel)
                .with_tag(json!({ "i": i }))
        })
        .collect();
    let submitted: u64 = jobs.iter().map(|j| j.body.len() as u64).sum();
    for job in jobs.iter().cloned() {
        uploader.submit(job).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for("every job spooled, held or dropped", PATIENCE, || {
        let s = uploader.stats();
        s.queued + s.in_flight + s.dropped == JOBS as u64 && s.dropped > 0
    })
    .await;
    let stats = uploader.stats();
    assert!(stats.spool_full, "{stats:?}");
    assert!(
        stats.spooled_bytes <= SPOOL_CAP,
        "the spool grew past its cap: {stats:?}"
    );
    assert!(
        stats.memory_bytes <= MEMORY_BUDGET + 2_500,
        "memory grew past its budget (plus the probe's body): {stats:?}"
    );
    let on_disk: u64 = std::fs::read_dir(spool.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".data"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(on_disk <= SPOOL_CAP, "{on_disk} bytes in the spool");
    assert!(submitted > SPOOL_CAP + MEMORY_BUDGET + 2_500);
    let dropped = stats.dropped as usize;

    server.resume();
    let completions = collect(&mut done, JOBS).await;
    let failed = completions.iter().filter(|c| c.result.is_err()).count();
    assert_eq!(failed, dropped, "each dropped job is reported failed");
    for completion in completions.iter().filter(|c| c.result.is_ok()) {
        let i = completion.tag["i"].as_u64().unwrap() as usize;
        assert_stored(store.as_ref(), &completion.key, &body(i)).await;
    }
    wait_for("the spool to drain", PATIENCE, || {
        let s = uploader.stats();
        s.spooled == 0 && !s.spool_full
    })
    .await;
    let stats = uploader.shutdown(Duration::from_secs(5)).await;
    assert_eq!(stats.uploaded as usize, JOBS - dropped);
}
