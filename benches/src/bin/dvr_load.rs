//! DVR benchmark: N real-time publishers into nova-live twice, first with
//! `--storage off` (live packaging only) then with `--storage s3` against a
//! local s3s-fs, measuring nova-live's CPU in both and, in the second run,
//! how long each live segment takes to become an object in the bucket and
//! the upload throughput. See benches/README.md; `benches/dvr-load.sh`
//! installs, builds and runs it.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use nova_benches::dvr_report::{Report, Run};
use nova_benches::dvr_watch::{LiveReport, StoreReport, StoreWatch, count_files, watch_live};
use nova_benches::host::{machine_description, probe_sample};
use nova_benches::http::Http;
use nova_benches::interrupt;
use nova_benches::nova::{NovaLive, NovaOptions};
use nova_benches::procfs::{self, CpuReading, MachineTicks};
use nova_benches::publish::Publisher;
use nova_testkit::s3::S3sServer;

/// A publisher needing more wall time than this × its media time was slowed
/// down (by the server or by the machine).
const PACE_TOLERANCE: f64 = 1.05;
/// After the publishers leave: the reconnect window (1 s) closes each stream
/// and its last segment; the pollers keep watching this long for it.
const SETTLE: Duration = Duration::from_secs(3);
/// Longest wait for uploads to finish after the publishers left.
const UPLOAD_LIMIT: Duration = Duration::from_secs(60);
/// The window ends with the first QUIET_INTERVAL in which nova-live uses at
/// most QUIET_CPU seconds (2 % of a core), or after QUIET_LIMIT.
const QUIET_INTERVAL: Duration = Duration::from_millis(250);
const QUIET_CPU: f64 = 0.005;
const QUIET_LIMIT: Duration = Duration::from_secs(15);

/// Records N live streams to a local S3 server and measures what it costs.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Args {
    /// The H.264/AAC sample to push (any file ffmpeg can copy into FLV).
    #[arg(long)]
    sample: PathBuf,

    /// Simultaneous publishers.
    #[arg(long, default_value_t = 16)]
    streams: usize,

    /// Seconds each publisher pushes (the sample loops).
    #[arg(long, default_value_t = 60)]
    seconds: u32,

    /// How often the live playlists and the bucket directory are polled, ms.
    #[arg(long, default_value_t = 50)]
    poll_ms: u64,

    #[arg(long, default_value = "nova-live")]
    nova_live: PathBuf,

    /// s3s-fs (`cargo install s3s-fs --version 0.14.1 --features binary`).
    #[arg(long, env = "NOVA_S3S_FS", default_value = "s3s-fs")]
    s3s_fs: PathBuf,

    /// PostgreSQL for nova-live. Unset: its embedded cluster.
    #[arg(long)]
    database_url: Option<String>,

    /// An extra `nova-live serve` argument for both runs; repeatable
    /// (e.g. --nova-arg=--upload-concurrency=8).
    #[arg(long = "nova-arg", allow_hyphen_values = true)]
    nova_args: Vec<String>,

    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,

    #[arg(long, default_value = "ffprobe")]
    ffprobe: PathBuf,

    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    if let Err(err) = run(&args) {
        eprintln!("dvr_load: {err:#}");
        std::process::exit(if interrupt::is_set() { 2 } else { 1 });
    }
}

fn run(args: &Args) -> Result<()> {
    if args.streams == 0 || args.seconds == 0 || args.poll_ms == 0 {
        bail!("--streams, --seconds and --poll-ms must be positive");
    }
    // Two workers: the N playlist pollers must keep to their interval.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    interrupt::watch(&rt, "dvr_load");
    let http = Http::new(rt)?;
    let sample = std::fs::canonicalize(&args.sample)
        .with_context(|| format!("sample {}", args.sample.display()))?;
    let probe = probe_sample(&args.ffprobe, &sample)?;
    let work = tempfile::Builder::new()
        .prefix("nova-dvr-load-")
        .tempdir()?;

    let report = Report {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        machine: machine_description(),
        sample: sample.display().to_string(),
        sample_bit_rate: probe.bit_rate,
        streams: args.streams,
        seconds: args.seconds,
        poll_ms: args.poll_ms,
        runs: vec![
            measure(args, &http, &sample, false, work.path())?,
            measure(args, &http, &sample, true, work.path())?,
        ],
    };
    let text = report.render();
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&report.to_json())? + "\n",
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// CPU readings taken together.
struct Snapshot {
    at: Instant,
    nova: CpuReading,
    db: Option<CpuReading>,
    s3: Option<CpuReading>,
    machine: MachineTicks,
    clients: u64,
}

impl Snapshot {
    fn take(nova: &NovaLive, s3: Option<&S3sServer>) -> Self {
        let postmaster = nova.process.postmaster_pid();
        Self {
            nova: CpuReading::of_tree(
                nova.process.pid(),
                &postmaster.into_iter().collect::<Vec<_>>(),
            ),
            db: postmaster.map(|pid| CpuReading::of_tree(pid, &[])),
            s3: s3
                .and_then(S3sServer::pid)
                .map(|pid| CpuReading::of_tree(pid as i32, &[])),
            machine: MachineTicks::read(),
            clients: procfs::reaped_children_ticks(),
            at: Instant::now(),
        }
    }
}

fn measure(args: &Args, http: &Http, sample: &Path, record: bool, work: &Path) -> Result<Run> {
    let storage = if record { "s3" } else { "off" };
    eprintln!(
        "==> --storage {storage}, {} streams × {} s",
        args.streams, args.seconds
    );
    let s3 = record.then(|| S3sServer::start_binary(&args.s3s_fs));
    let mut serve_args: Vec<String> = vec!["--reconnect-window".into(), "1".into()];
    match &s3 {
        Some(s3) => serve_args.extend(s3.nova_args()),
        None => serve_args.extend(["--storage".into(), "off".into()]),
    }
    serve_args.extend(args.nova_args.iter().cloned());
    let nova = NovaLive::start(
        http,
        &NovaOptions {
            binary: &args.nova_live,
            database_url: args.database_url.as_deref(),
            extra_args: &serve_args,
            env: &[],
        },
    )?;
    let mut publish_urls = Vec::new();
    let mut playlists = Vec::new();
    for i in 0..args.streams {
        interrupt::check()?;
        let created = http.create_stream(&nova.api, &format!("dvr bench stream {i}"))?;
        publish_urls.push(format!(
            "rtmp://127.0.0.1:{}/live/{}",
            nova.rtmp_port, created.stream_key
        ));
        // The source rendition's playlist: CMAF streams are recorded as
        // their separate tracks, not as the muxed copy `hls_url` lists.
        let (stream_dir, _) = created
            .hls_url
            .rsplit_once('/')
            .context("an hls_url without a path")?;
        playlists.push(format!("{stream_dir}/source/index.m3u8"));
    }

    // Both runs poll the live playlists the same way, so the polling's cost
    // to nova-live is in both and cancels out of the ratio.
    let poll = Duration::from_millis(args.poll_ms);
    let stop_live = Arc::new(AtomicBool::new(false));
    let live_task = http.rt.spawn(watch_live(
        http.client.clone(),
        playlists,
        poll,
        stop_live.clone(),
    ));
    let spool = nova.dir.path().join("spool");
    let store = s3
        .as_ref()
        .map(|s3| StoreWatch::start(s3.bucket_dir(), spool.clone(), poll));

    let publisher_dir = work.join(storage);
    std::fs::create_dir_all(&publisher_dir)?;
    let before = Snapshot::take(&nova, s3.as_ref());
    let mut publishers = Vec::with_capacity(args.streams);
    for (i, url) in publish_urls.iter().enumerate() {
        publishers.push(Publisher::spawn(
            &http.rt,
            &args.ffmpeg,
            sample,
            Some(args.seconds),
            url,
            &publisher_dir,
            i,
        )?);
    }
    let give_up = before.at + Duration::from_secs(u64::from(args.seconds) * 2 + 30);
    // Every publisher is polled each time, so each exit time is recorded.
    while publishers
        .iter_mut()
        .map(Publisher::poll)
        .filter(|&r| r)
        .count()
        > 0
        && Instant::now() < give_up
    {
        interrupt::pause(Duration::from_millis(20))?;
    }
    let publishing = before.at.elapsed();
    let limit = f64::from(args.seconds) * PACE_TOLERANCE;
    let mut slow = 0;
    let mut failed = 0;
    let mut min_speed = f64::INFINITY;
    for publisher in &mut publishers {
        let progress = publisher.last_progress();
        min_speed = min_speed.min(progress.map_or(0.0, |p| p.speed));
        match publisher.finished {
            Some((_, status)) if status.success() => {}
            _ => failed += 1,
        }
        if progress
            .and_then(|p| p.streaming_seconds())
            .is_none_or(|s| s > limit)
        {
            slow += 1;
        }
    }
    drop(publishers);

    interrupt::pause(SETTLE)?;
    stop_live.store(true, Ordering::SeqCst);
    let live: LiveReport = http.rt.block_on(live_task)?;

    // Uploads still under way count in the window: they are recording's cost.
    let names: HashSet<String> = live.segments.iter().map(|s| s.name.clone()).collect();
    let uploads_from = Instant::now();
    if let Some(store) = &store {
        while store.missing(&names) > 0 && uploads_from.elapsed() < UPLOAD_LIMIT {
            interrupt::pause(poll)?;
        }
    }
    let upload_wait = uploads_from.elapsed();
    let after = wait_quiet(&nova, s3.as_ref())?;

    let (nova_cpu, nova_source) = after.nova.seconds_since(&before.nova);
    let seconds_between = |a: Option<CpuReading>, b: Option<CpuReading>| match (a, b) {
        (Some(a), Some(b)) => Some(b.seconds_since(&a).0),
        _ => None,
    };
    let db_cpu = seconds_between(before.db, after.db);
    let s3_cpu = seconds_between(before.s3, after.s3);

    // SIGTERM ends the streams; the final scan sees what it flushed on exit.
    let NovaLive { process, dir, .. } = nova;
    drop(process);
    let store: Option<StoreReport> = store.map(StoreWatch::finish);
    let log =
        std::fs::read_to_string(dir.path().join(nova_benches::nova::LOG_NAME)).unwrap_or_default();
    let spool_left = count_files(&spool);
    drop(dir);
    drop(s3);

    Ok(Run {
        storage,
        streams: args.streams,
        media_seconds: f64::from(args.seconds) * args.streams as f64,
        publishing_seconds: publishing.as_secs_f64(),
        window_seconds: (after.at - before.at).as_secs_f64(),
        upload_wait_seconds: upload_wait.as_secs_f64(),
        nova_cpu,
        nova_cpu_source: nova_source.name(),
        db_cpu,
        s3_cpu,
        clients_cpu: procfs::ticks_to_seconds(after.clients.saturating_sub(before.clients)),
        machine_busy: after.machine.busy_since(&before.machine),
        min_speed,
        slow_publishers: slow,
        failed_publishers: failed,
        started: before.at,
        live,
        store,
        spool_left,
        log,
    })
}

/// Waits for nova-live to go quiet (uploads and indexing done) and returns
/// the reading that starts the first quiet interval.
fn wait_quiet(nova: &NovaLive, s3: Option<&S3sServer>) -> Result<Snapshot> {
    let limit = Instant::now() + QUIET_LIMIT;
    let mut last = Snapshot::take(nova, s3);
    loop {
        interrupt::pause(QUIET_INTERVAL)?;
        let now = Snapshot::take(nova, s3);
        let (busy, _) = now.nova.seconds_since(&last.nova);
        if busy <= QUIET_CPU && now.nova.ticks <= last.nova.ticks + 1 {
            return Ok(last);
        }
        if now.at >= limit {
            return Ok(now);
        }
        last = now;
    }
}
