//! RTMP load harness: pushes N real-time copies of a sample to nova-live and
//! to nginx-rtmp, one server after the other on the same machine, and
//! measures each server's CPU time per media-second and whether every stream
//! kept up. See benches/README.md; `benches/load.sh` installs, builds and
//! runs it.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use nova_benches::playlist::{MediaPlaylist, expected_segments};
use nova_benches::procfs::{self, CpuReading, CpuSource, MachineTicks};
use nova_benches::progress::Progress;
use serde_json::{Value, json};

/// Both servers are configured for 2 s segments and the sample has a
/// keyframe every 2 s.
const SEGMENT_SECONDS: f64 = 2.0;
/// A paced publisher that needs more wall time than this × its media time
/// was slowed down by the server.
const PACE_TOLERANCE: f64 = 1.05;
/// Time given to servers to write their last segment and playlist after the
/// publishers leave, before playlists are read.
const SETTLE: Duration = Duration::from_millis(1500);
const POLL: Duration = Duration::from_millis(20);
/// After the publishers have left, the measurement window ends with the
/// first QUIET_INTERVAL in which the server uses at most QUIET_CPU seconds
/// of CPU (2% of a core), or after DRAIN_LIMIT.
const QUIET_INTERVAL: Duration = Duration::from_millis(250);
const QUIET_CPU: f64 = 0.005;
const DRAIN_LIMIT: Duration = Duration::from_secs(15);
/// Server CPU is first measured this long with nothing published.
const IDLE_WINDOW: Duration = Duration::from_secs(2);
/// `sub` of the API token the harness uses.
const BENCH_USER: &str = "6e6f7661-6c69-4076-a562-656e63680001";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Pushes a sample to nova-live and nginx-rtmp and compares their CPU cost.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Args {
    /// The H.264/AAC sample to push (any file ffmpeg can copy into FLV).
    #[arg(long)]
    sample: PathBuf,

    /// Numbers of simultaneous publishers, run one after the other.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    streams: Vec<usize>,

    /// Seconds each paced publisher pushes (the sample loops).
    #[arg(long, default_value_t = 30)]
    seconds: u32,

    /// Servers to measure, in this order.
    #[arg(long, value_delimiter = ',', default_value = "nova-live,nginx")]
    servers: Vec<ServerKind>,

    /// The nova-live binary.
    #[arg(long, default_value = "nova-live")]
    nova_live: PathBuf,

    /// PostgreSQL for nova-live. Unset: nova-live starts its own embedded
    /// cluster in its temporary data directory.
    #[arg(long)]
    database_url: Option<String>,

    /// An extra argument for `nova-live serve`; repeat for more
    /// (e.g. --nova-arg=--hls-container=ts).
    #[arg(long = "nova-arg", allow_hyphen_values = true)]
    nova_args: Vec<String>,

    /// The nginx binary.
    #[arg(long, default_value = "nginx")]
    nginx: PathBuf,

    /// nginx's RTMP module (ngx_rtmp_module.so). Default: looked up under
    /// /usr/lib/nginx/modules and the like.
    #[arg(long)]
    nginx_rtmp_module: Option<PathBuf>,

    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,

    #[arg(long, default_value = "ffprobe")]
    ffprobe: PathBuf,

    /// Skip the as-fast-as-possible single-stream run.
    #[arg(long)]
    no_fast: bool,

    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ServerKind {
    NovaLive,
    Nginx,
}

impl ServerKind {
    fn name(self) -> &'static str {
        match self {
            Self::NovaLive => "nova-live",
            Self::Nginx => "nginx-rtmp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `ffmpeg -re -stream_loop -1 -t SECONDS`: real time.
    Paced { seconds: u32 },
    /// `ffmpeg` over the sample once, as fast as the server reads.
    Fast,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Paced { .. } => "paced",
            Self::Fast => "fast",
        }
    }
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("load: {err:#}");
            std::process::exit(2);
        }
    }
}

/// Ok(false): some measurement failed (the others are still reported).
fn run(args: &Args) -> Result<bool> {
    if args.streams.is_empty() || args.streams.contains(&0) {
        bail!("--streams needs positive numbers");
    }
    if args.seconds == 0 {
        bail!("--seconds must be positive");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.spawn(watch_signals());
    let http = Http::new(rt)?;

    let sample = fs::canonicalize(&args.sample)
        .with_context(|| format!("sample {}", args.sample.display()))?;
    let probe = probe_sample(&args.ffprobe, &sample)?;
    let work = tempfile::Builder::new().prefix("nova-load-").tempdir()?;
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let machine = machine_description();

    let mut header = String::new();
    header.push_str(&format!("nova-live load harness, {date}\n"));
    header.push_str(&format!("machine: {machine}\n"));
    header.push_str(&format!(
        "sample: {} ({:.1} s, {:.2} Mb/s); paced runs push {} s per stream\n",
        sample.display(),
        probe.duration,
        probe.bit_rate / 1e6,
        args.seconds
    ));
    eprint!("{header}");

    let mut plan: Vec<(ServerKind, usize, Mode)> = Vec::new();
    for &n in &args.streams {
        for &kind in &args.servers {
            plan.push((
                kind,
                n,
                Mode::Paced {
                    seconds: args.seconds,
                },
            ));
        }
    }
    if !args.no_fast {
        for &kind in &args.servers {
            plan.push((kind, 1, Mode::Fast));
        }
    }

    let mut rows = Vec::new();
    let mut all_ok = true;
    for (kind, n, mode) in plan {
        if INTERRUPTED.load(Ordering::SeqCst) {
            bail!("interrupted");
        }
        eprintln!("==> {} {} N={n}", kind.name(), mode.name());
        let started = Instant::now();
        let outcome = measure(args, &http, &sample, &probe, kind, n, mode, work.path());
        match outcome {
            Ok(row) => {
                eprintln!(
                    "    {:.2} ms CPU per media-second, {}/{} kept up; server busy {:.2} s after the last publisher left ({:.0} s in all)",
                    row.cpu_ms_per_media_second(),
                    row.kept_up,
                    row.streams,
                    row.drain_seconds,
                    started.elapsed().as_secs_f64()
                );
                for problem in &row.problems {
                    eprintln!("    {problem}");
                }
                rows.push(row);
            }
            Err(err) => {
                if INTERRUPTED.load(Ordering::SeqCst) {
                    return Err(err);
                }
                eprintln!("    failed: {err:#}");
                all_ok = false;
                rows.push(Row::failed(kind, n, mode, format!("{err:#}")));
            }
        }
    }

    let table = render_table(&rows);
    let mut stdout = io::stdout().lock();
    write!(stdout, "{header}\n{table}")?;
    stdout.flush()?;
    if let Some(path) = &args.json {
        let doc = json!({
            "date": date,
            "machine": machine,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "sample": {
                "path": sample,
                "duration_seconds": probe.duration,
                "bit_rate": probe.bit_rate,
            },
            "paced_seconds": args.seconds,
            "segment_seconds": SEGMENT_SECONDS,
            "results": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        });
        fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(all_ok)
}

async fn watch_signals() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
    eprintln!("load: interrupted, stopping servers and publishers");
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps, waking early with an error on SIGINT/SIGTERM.
fn pause(duration: Duration) -> Result<()> {
    let until = Instant::now() + duration;
    loop {
        check_interrupted()?;
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

// ---------------------------------------------------------------------------
// One measurement

struct Publisher {
    process: Guarded,
    started: Instant,
    finished: Option<(Duration, ExitStatus)>,
    log: PathBuf,
    progress: PathBuf,
}

struct PublisherResult {
    /// From its spawn to its exit.
    wall: Duration,
    /// ffmpeg's own account, start-up excluded.
    progress: Option<Progress>,
    status: Option<ExitStatus>,
    segments: u64,
    log_tail: String,
}

#[allow(clippy::too_many_arguments)]
fn measure(
    args: &Args,
    http: &Http,
    sample: &Path,
    probe: &Probe,
    kind: ServerKind,
    n: usize,
    mode: Mode,
    work: &Path,
) -> Result<Row> {
    let server = match kind {
        ServerKind::NovaLive => Server::start_nova(args, http)?,
        ServerKind::Nginx => Server::start_nginx(args)?,
    };
    let targets = server.create_streams(http, n)?;
    let (media_per_stream, deadline) = match mode {
        Mode::Paced { seconds } => (
            f64::from(seconds),
            Duration::from_secs(u64::from(seconds) * 2 + 30),
        ),
        Mode::Fast => (
            probe.duration,
            Duration::from_secs_f64(probe.duration * 2.0 + 30.0),
        ),
    };

    // What the server costs with its N streams created but nothing published.
    let idle_start = Snapshot::take(&server);
    pause(IDLE_WINDOW)?;
    let before = Snapshot::take(&server);
    let idle_cpu_ms_per_second = before.server.seconds_since(&idle_start.server).0 * 1000.0
        / (before.at - idle_start.at).as_secs_f64();
    let clients_before = procfs::reaped_children_ticks();
    let start = before.at;

    let mut publishers = Vec::with_capacity(n);
    for (i, target) in targets.iter().enumerate() {
        let log_path = work.join(format!("publisher-{i}.log"));
        let progress_path = work.join(format!("publisher-{i}.progress"));
        let log = File::create(&log_path)?;
        let mut cmd = Command::new(&args.ffmpeg);
        cmd.args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-progress",
        ])
        .arg(&progress_path);
        if let Mode::Paced { seconds } = mode {
            cmd.args(["-re", "-stream_loop", "-1"]);
            cmd.arg("-i").arg(sample);
            cmd.args(["-t", &seconds.to_string()]);
        } else {
            cmd.arg("-i").arg(sample);
        }
        cmd.args(["-c", "copy", "-f", "flv", &target.publish_url]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", args.ffmpeg.display()))?;
        publishers.push(Publisher {
            process: Guarded::new(child, "ffmpeg", libc::SIGKILL, Duration::ZERO),
            started: Instant::now(),
            finished: None,
            log: log_path,
            progress: progress_path,
        });
    }

    // Wait for every publisher, bounded.
    let give_up = start + deadline;
    loop {
        check_interrupted()?;
        let mut running = 0;
        for publisher in &mut publishers {
            if publisher.finished.is_none() {
                match publisher.process.try_wait() {
                    Some(status) => {
                        publisher.finished = Some((publisher.started.elapsed(), status))
                    }
                    None => running += 1,
                }
            }
        }
        if running == 0 || Instant::now() >= give_up {
            break;
        }
        std::thread::sleep(POLL);
    }
    let publishing = start.elapsed();
    // Publishers still running past the deadline are killed (and reaped)
    // after this, so their CPU is not in `clients` either way.
    let clients_after = procfs::reaped_children_ticks();
    let mut results = Vec::with_capacity(n);
    for publisher in &mut publishers {
        let (wall, status) = match publisher.finished {
            Some((wall, status)) => (wall, Some(status)),
            None => {
                publisher.process.stop();
                (publisher.started.elapsed(), None)
            }
        };
        results.push(PublisherResult {
            wall,
            progress: fs::read_to_string(&publisher.progress)
                .ok()
                .and_then(|text| Progress::parse_last(&text)),
            status,
            segments: 0,
            log_tail: tail(&publisher.log, 3),
        });
    }
    drop(publishers);
    let after = drain(&server)?;
    let window = after.at - start;

    pause(SETTLE)?;
    for (result, target) in results.iter_mut().zip(&targets) {
        result.segments = server
            .read_playlist(http, &target.playlist)
            .map_or(0, |p| p.segments_produced());
    }
    drop(server);

    let (expected, allowed_missing) = expected_segments(media_per_stream, SEGMENT_SECONDS);
    let wall_limit = match mode {
        Mode::Paced { seconds } => Some(f64::from(seconds) * PACE_TOLERANCE),
        Mode::Fast => None,
    };
    let mut kept_up = 0;
    let mut problems = Vec::new();
    for (i, result) in results.iter().enumerate() {
        let mut why = Vec::new();
        match result.status {
            None => why.push(format!("still running after {deadline:?}, killed")),
            Some(status) if !status.success() => {
                why.push(format!("ffmpeg {status}: {}", result.log_tail))
            }
            Some(_) => {}
        }
        if let Some(limit) = wall_limit {
            // ffmpeg's own streaming time when it reported one, else from spawn.
            match result.progress.and_then(|p| p.streaming_seconds()) {
                Some(streaming) if streaming > limit => why.push(format!(
                    "streamed for {streaming:.2} s of wall time (limit {limit:.2} s; ffmpeg speed {:.3}x)",
                    result.progress.map_or(0.0, |p| p.speed)
                )),
                Some(_) => {}
                None if result.wall.as_secs_f64() > limit => why.push(format!(
                    "took {:.2} s of wall time from its start (limit {limit:.2} s; no ffmpeg progress report)",
                    result.wall.as_secs_f64()
                )),
                None => {}
            }
        }
        if result.segments + allowed_missing < expected {
            why.push(format!(
                "{} segments, expected {expected} (at most {allowed_missing} missing)",
                result.segments
            ));
        }
        if why.is_empty() {
            kept_up += 1;
        } else if problems.len() < 5 {
            problems.push(format!("stream {i}: {}", why.join("; ")));
        }
    }

    let tick = |before: u64, after: u64| procfs::ticks_to_seconds(after.saturating_sub(before));
    let (server_cpu_seconds, cpu_source) = after.server.seconds_since(&before.server);
    Ok(Row {
        server: kind,
        mode,
        streams: n,
        media_seconds: media_per_stream * n as f64,
        media_per_stream,
        window_seconds: window.as_secs_f64(),
        server_cpu_seconds,
        cpu_source,
        drain_seconds: (window - publishing).as_secs_f64(),
        idle_cpu_ms_per_second,
        db_cpu_seconds: match (before.db, after.db) {
            (Some(before), Some(after)) => Some(after.seconds_since(&before).0),
            _ => None,
        },
        clients_cpu_seconds: tick(clients_before, clients_after),
        machine_busy: after.machine.busy_since(&before.machine),
        min_speed: results
            .iter()
            .map(|r| {
                r.progress
                    .map(|p| p.speed)
                    .unwrap_or(media_per_stream / r.wall.as_secs_f64().max(1e-9))
            })
            .fold(f64::INFINITY, f64::min),
        max_wall_seconds: results
            .iter()
            .map(|r| r.wall.as_secs_f64())
            .fold(0.0, f64::max),
        min_segments: results.iter().map(|r| r.segments).min().unwrap_or(0),
        expected_segments: expected,
        kept_up,
        problems,
        error: None,
    })
}

/// CPU readings taken together.
struct Snapshot {
    at: Instant,
    server: CpuReading,
    db: Option<CpuReading>,
    machine: MachineTicks,
}

impl Snapshot {
    fn take(server: &Server) -> Self {
        Self {
            server: server.cpu(),
            db: server.db_cpu(),
            machine: MachineTicks::read(),
            at: Instant::now(),
        }
    }
}

/// Waits until the server has finished with what it has read: a publisher
/// can be done before the server has packaged all it sent (by far most
/// visibly when it pushes as fast as possible). Returns the reading that
/// starts the first quiet interval (or the last one, at the time limit).
fn drain(server: &Server) -> Result<Snapshot> {
    let limit = Instant::now() + DRAIN_LIMIT;
    let mut last = Snapshot::take(server);
    loop {
        pause(QUIET_INTERVAL)?;
        let now = Snapshot::take(server);
        let (busy, _) = now.server.seconds_since(&last.server);
        let quiet = busy <= QUIET_CPU && now.server.ticks <= last.server.ticks + 1;
        if quiet {
            return Ok(last);
        }
        if now.at >= limit {
            return Ok(now);
        }
        last = now;
    }
}

// ---------------------------------------------------------------------------
// Results

struct Row {
    server: ServerKind,
    mode: Mode,
    streams: usize,
    media_seconds: f64,
    media_per_stream: f64,
    /// From just before the publishers start to just after the last one
    /// ends and the server has gone quiet.
    window_seconds: f64,
    /// The part of the window after the last publisher ended.
    drain_seconds: f64,
    /// Server CPU with the streams created but not published, ms per second.
    idle_cpu_ms_per_second: f64,
    server_cpu_seconds: f64,
    cpu_source: CpuSource,
    /// nova-live's embedded PostgreSQL (a separate process tree).
    db_cpu_seconds: Option<f64>,
    /// All ffmpeg publishers together.
    clients_cpu_seconds: f64,
    /// Share of all cores busy during the window, 0..=1.
    machine_busy: f64,
    /// Slowest publisher from spawn to exit.
    max_wall_seconds: f64,
    /// Slowest publisher's ffmpeg `speed` (media seconds per wall second of
    /// streaming, its start-up excluded).
    min_speed: f64,
    min_segments: u64,
    expected_segments: u64,
    kept_up: usize,
    problems: Vec<String>,
    error: Option<String>,
}

impl Row {
    fn failed(server: ServerKind, streams: usize, mode: Mode, error: String) -> Self {
        Self {
            server,
            mode,
            streams,
            media_seconds: 0.0,
            media_per_stream: 0.0,
            window_seconds: 0.0,
            drain_seconds: 0.0,
            idle_cpu_ms_per_second: 0.0,
            server_cpu_seconds: 0.0,
            cpu_source: CpuSource::Ticks,
            db_cpu_seconds: None,
            clients_cpu_seconds: 0.0,
            machine_busy: 0.0,
            max_wall_seconds: 0.0,
            min_speed: 0.0,
            min_segments: 0,
            expected_segments: 0,
            kept_up: 0,
            problems: Vec::new(),
            error: Some(error),
        }
    }

    fn cpu_ms_per_media_second(&self) -> f64 {
        if self.media_seconds > 0.0 {
            self.server_cpu_seconds * 1000.0 / self.media_seconds
        } else {
            0.0
        }
    }

    fn core_share(&self) -> f64 {
        if self.window_seconds > 0.0 {
            self.server_cpu_seconds / self.window_seconds
        } else {
            0.0
        }
    }

    /// Media seconds per wall second of the slowest publisher, from its
    /// spawn to its exit.
    fn wall_speed(&self) -> f64 {
        if self.max_wall_seconds > 0.0 {
            self.media_per_stream / self.max_wall_seconds
        } else {
            0.0
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "server": self.server.name(),
            "mode": self.mode.name(),
            "streams": self.streams,
            "error": self.error,
            "media_seconds": self.media_seconds,
            "window_seconds": self.window_seconds,
            "drain_seconds": self.drain_seconds,
            "idle_cpu_ms_per_second": self.idle_cpu_ms_per_second,
            "server_cpu_seconds": self.server_cpu_seconds,
            "server_cpu_source": self.cpu_source.name(),
            "cpu_ms_per_media_second": self.cpu_ms_per_media_second(),
            "core_share": self.core_share(),
            "streams_kept_up": self.kept_up,
            "max_publisher_wall_seconds": self.max_wall_seconds,
            "speed_from_spawn": self.wall_speed(),
            "min_ffmpeg_speed": self.min_speed,
            "min_segments": self.min_segments,
            "expected_segments": self.expected_segments,
            "db_cpu_seconds": self.db_cpu_seconds,
            "clients_cpu_seconds": self.clients_cpu_seconds,
            "machine_busy": self.machine_busy,
            "problems": self.problems,
        })
    }
}

fn speed(speed: f64) -> String {
    if speed >= 10.0 {
        format!("{speed:.0}x")
    } else {
        format!("{speed:.3}x")
    }
}

fn render_table(rows: &[Row]) -> String {
    let headers = [
        "server",
        "mode",
        "N",
        "media s",
        "wall s",
        "speed",
        "ffmpeg speed",
        "server CPU s",
        "CPU ms/media-s",
        "core share",
        "kept up",
        "DB CPU s",
        "ffmpeg CPU s",
        "machine busy",
    ];
    let mut cells: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let mut line = vec![
            row.server.name().to_owned(),
            row.mode.name().to_owned(),
            row.streams.to_string(),
        ];
        if let Some(error) = &row.error {
            let first_line = error.lines().next().unwrap_or_default();
            line.push(format!("failed: {first_line}"));
        } else {
            line.extend([
                format!("{:.0}", row.media_seconds),
                format!("{:.2}", row.max_wall_seconds),
                speed(row.wall_speed()),
                speed(row.min_speed),
                format!("{:.2}", row.server_cpu_seconds),
                format!("{:.2}", row.cpu_ms_per_media_second()),
                format!("{:.1}%", row.core_share() * 100.0),
                format!("{}/{}", row.kept_up, row.streams),
                row.db_cpu_seconds
                    .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
                format!("{:.2}", row.clients_cpu_seconds),
                format!("{:.0}%", row.machine_busy * 100.0),
            ]);
        }
        cells.push(line);
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for line in &cells {
        if line.len() == headers.len() {
            for (width, cell) in widths.iter_mut().zip(line) {
                *width = (*width).max(cell.len());
            }
        }
    }
    let format_line = |line: &[String]| -> String {
        let mut out = String::new();
        for (i, cell) in line.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let width = widths.get(i).copied().unwrap_or(0);
            if i < 3 || i + 1 == line.len() && line.len() != headers.len() {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("{cell:>width$}"));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut table = format_line(&headers.map(str::to_owned));
    for line in &cells {
        table.push_str(&format_line(line));
    }
    let coarse: Vec<String> = rows
        .iter()
        .filter(|r| r.error.is_none() && r.cpu_source == CpuSource::Ticks)
        .map(|r| format!("{} {} N={}", r.server.name(), r.mode.name(), r.streams))
        .collect();
    if !coarse.is_empty() {
        table.push_str(&format!(
            "server CPU from /proc stat ticks ({} ms granularity, threads exited during the run): {}\n",
            1000 / procfs::clock_ticks_per_second(),
            coarse.join(", ")
        ));
    }
    table
}

// ---------------------------------------------------------------------------
// Servers

enum PlaylistAt {
    Http(String),
    File(PathBuf),
}

struct Target {
    publish_url: String,
    playlist: PlaylistAt,
}

struct NovaApi {
    base: String,
    token: String,
}

struct Server {
    kind: ServerKind,
    process: Guarded,
    rtmp_port: u16,
    api: Option<NovaApi>,
    /// Where nova-live's embedded PostgreSQL keeps `postmaster.pid`.
    postmaster_pid_file: Option<PathBuf>,
    /// Removed after the processes are stopped (fields drop after `drop`).
    dir: tempfile::TempDir,
}

impl Server {
    fn start_nova(args: &Args, http: &Http) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("nova-load-live-")
            .tempdir()?;
        // When run as root, nova-live runs its PostgreSQL as `postgres`, which
        // must be able to enter the data directory to keep its cluster there.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let rtmp_port = free_port()?;
        let http_port = free_port()?;
        let base = format!("http://127.0.0.1:{http_port}");
        let log = File::create(dir.path().join("nova-live.log"))?;
        let mut cmd = Command::new(&args.nova_live);
        cmd.arg("serve")
            .arg("--rtmp-addr")
            .arg(format!("127.0.0.1:{rtmp_port}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--public-url")
            .arg(&base);
        match &args.database_url {
            Some(url) => {
                cmd.arg("--database-url").arg(url);
            }
            None => {
                cmd.env_remove("DATABASE_URL");
            }
        }
        cmd.args(&args.nova_args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", args.nova_live.display()))?;
        // SIGTERM: it ends its streams and stops its PostgreSQL.
        let process = Guarded::new(child, "nova-live", libc::SIGTERM, Duration::from_secs(60));
        let postmaster_pid_file =
            (args.database_url.is_none()).then(|| dir.path().join("postgres/postmaster.pid"));
        let mut server = Self {
            kind: ServerKind::NovaLive,
            process,
            rtmp_port,
            api: None,
            postmaster_pid_file,
            dir,
        };

        let ready_by = Instant::now() + Duration::from_secs(120);
        loop {
            check_interrupted()?;
            if let Some(status) = server.process.try_wait() {
                bail!(
                    "nova-live exited ({status}) before it was ready:\n{}",
                    server.log_tail()
                );
            }
            if http.get_status(&format!("{base}/readyz")) == Some(200) {
                break;
            }
            if Instant::now() >= ready_by {
                bail!(
                    "nova-live was not ready after 120 s:\n{}",
                    server.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }

        let mut token_cmd = Command::new(&args.nova_live);
        token_cmd
            .args(["token", "--user", BENCH_USER, "--data-dir"])
            .arg(server.dir.path());
        let output = run_with_timeout(token_cmd, Duration::from_secs(30))?;
        if !output.status.success() {
            bail!(
                "nova-live token failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let token = String::from_utf8(output.stdout)?.trim().to_owned();
        if token.is_empty() {
            bail!("nova-live token printed nothing");
        }
        server.api = Some(NovaApi { base, token });
        Ok(server)
    }

    fn start_nginx(args: &Args) -> Result<Self> {
        let module = match &args.nginx_rtmp_module {
            Some(path) => path.clone(),
            None => find_rtmp_module()?,
        };
        let dir = tempfile::Builder::new()
            .prefix("nova-load-nginx-")
            .tempdir()?;
        let root = dir.path();
        let rtmp_port = free_port()?;
        let user = if is_root() {
            // Workers would otherwise run as nobody and could not write here.
            "user root;\n"
        } else {
            ""
        };
        let conf = format!(
            "load_module {module};\n\
             {user}worker_processes 1;\n\
             daemon off;\n\
             master_process on;\n\
             pid {root}/nginx.pid;\n\
             error_log {root}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             rtmp {{\n\
             \x20   server {{\n\
             \x20       listen 127.0.0.1:{rtmp_port};\n\
             \x20       application live {{\n\
             \x20           live on;\n\
             \x20           hls on;\n\
             \x20           hls_path {root}/hls;\n\
             \x20           hls_fragment 2s;\n\
             \x20           hls_playlist_length 12s;\n\
             \x20       }}\n\
             \x20   }}\n\
             }}\n",
            module = module.display(),
            root = root.display(),
        );
        let conf_path = root.join("nginx.conf");
        fs::write(&conf_path, conf)?;
        let log = File::create(root.join("nginx.out"))?;
        let mut cmd = Command::new(&args.nginx);
        cmd.arg("-e")
            .arg(root.join("error.log"))
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", args.nginx.display()))?;
        let process = Guarded::new(child, "nginx", libc::SIGTERM, Duration::from_secs(10));
        let mut server = Self {
            kind: ServerKind::Nginx,
            process,
            rtmp_port,
            api: None,
            postmaster_pid_file: None,
            dir,
        };
        let ready_by = Instant::now() + Duration::from_secs(10);
        loop {
            check_interrupted()?;
            if let Some(status) = server.process.try_wait() {
                bail!(
                    "nginx exited ({status}) before it was ready:\n{}",
                    server.log_tail()
                );
            }
            let has_worker = procfs::process_tree(server.process.pid(), &[]).len() > 1;
            if has_worker && TcpStream::connect(("127.0.0.1", rtmp_port)).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= ready_by {
                bail!(
                    "nginx did not listen on {rtmp_port} within 10 s:\n{}",
                    server.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn create_streams(&self, http: &Http, n: usize) -> Result<Vec<Target>> {
        let rtmp = format!("rtmp://127.0.0.1:{}/live", self.rtmp_port);
        match &self.api {
            None => Ok((0..n)
                .map(|i| Target {
                    publish_url: format!("{rtmp}/s{i}"),
                    playlist: PlaylistAt::File(self.dir.path().join(format!("hls/s{i}.m3u8"))),
                })
                .collect()),
            Some(api) => (0..n)
                .map(|i| {
                    check_interrupted()?;
                    let created = http.create_stream(api, &format!("load test stream {i}"))?;
                    Ok(Target {
                        publish_url: format!("{rtmp}/{}", created.stream_key),
                        playlist: PlaylistAt::Http(created.hls_url),
                    })
                })
                .collect(),
        }
    }

    /// CPU time of the server: nova-live's process (all its threads; not the
    /// embedded PostgreSQL), or nginx's master and its workers.
    fn cpu(&self) -> CpuReading {
        let postmaster: Vec<i32> = self.postmaster_pid().into_iter().collect();
        CpuReading::of_tree(self.process.pid(), &postmaster)
    }

    /// CPU time of the embedded PostgreSQL (postmaster and backends).
    fn db_cpu(&self) -> Option<CpuReading> {
        Some(CpuReading::of_tree(self.postmaster_pid()?, &[]))
    }

    fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.postmaster_pid_file.as_ref()?).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        procfs::read_stat(pid).map(|_| pid)
    }

    fn read_playlist(&self, http: &Http, at: &PlaylistAt) -> Option<MediaPlaylist> {
        let text = match at {
            PlaylistAt::File(path) => fs::read_to_string(path).ok()?,
            PlaylistAt::Http(url) => http.get_text(url)?,
        };
        Some(MediaPlaylist::parse(&text))
    }

    fn log_tail(&self) -> String {
        let name = match self.kind {
            ServerKind::NovaLive => "nova-live.log",
            ServerKind::Nginx => "error.log",
        };
        let mut out = tail(&self.dir.path().join(name), 15);
        if self.kind == ServerKind::Nginx {
            out.push_str(&tail(&self.dir.path().join("nginx.out"), 5));
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let postmaster = self.postmaster_pid();
        self.process.stop();
        // nova-live stops its PostgreSQL on SIGTERM; if it could not (it was
        // killed), stop the postmaster it left behind, found by its pid file.
        if let Some(pid) = postmaster
            && self.postmaster_pid() == Some(pid)
        {
            eprintln!("    stopping the embedded PostgreSQL nova-live left running (pid {pid})");
            signal(pid, libc::SIGINT); // PostgreSQL's "fast shutdown"
            let until = Instant::now() + Duration::from_secs(15);
            while procfs::read_stat(pid).is_some() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
            }
            if procfs::read_stat(pid).is_some() {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

fn find_rtmp_module() -> Result<PathBuf> {
    for dir in [
        "/usr/lib/nginx/modules",
        "/usr/lib64/nginx/modules",
        "/usr/share/nginx/modules",
        "/usr/local/nginx/modules",
    ] {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("rtmp") && n.ends_with(".so"))
            })
            .collect();
        found.sort();
        if let Some(path) = found.into_iter().next() {
            return Ok(path);
        }
    }
    Err(anyhow!(
        "ngx_rtmp_module.so not found (apt install libnginx-mod-rtmp, or pass --nginx-rtmp-module)"
    ))
}

// ---------------------------------------------------------------------------
// Processes

/// A child process that is stopped (signal, grace period, then SIGKILL, and
/// the same for the children it leaves) when dropped.
struct Guarded {
    child: Child,
    name: &'static str,
    stop_signal: i32,
    grace: Duration,
    status: Option<ExitStatus>,
}

impl Guarded {
    fn new(child: Child, name: &'static str, stop_signal: i32, grace: Duration) -> Self {
        Self {
            child,
            name,
            stop_signal,
            grace,
            status: None,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn stop(&mut self) {
        if self.try_wait().is_some() {
            return;
        }
        let descendants: Vec<i32> = procfs::process_tree(self.pid(), &[self.pid()])
            .iter()
            .map(|p| p.pid)
            .collect();
        signal(self.pid(), self.stop_signal);
        let until = Instant::now() + self.grace;
        while self.try_wait().is_none() && Instant::now() < until {
            std::thread::sleep(POLL);
        }
        if self.try_wait().is_none() {
            if self.stop_signal != libc::SIGKILL {
                eprintln!(
                    "    {} (pid {}) did not stop within {:?}: killing it",
                    self.name,
                    self.pid(),
                    self.grace
                );
            }
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
        // Children it had (nginx workers) that outlived it.
        let until = Instant::now() + Duration::from_secs(2);
        for pid in descendants {
            while procfs::read_stat(pid).is_some() && Instant::now() < until {
                std::thread::sleep(POLL);
            }
            if procfs::read_stat(pid).is_some() {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Result<Output> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    let mut process = Guarded::new(child, "command", libc::SIGKILL, Duration::ZERO);
    let until = Instant::now() + timeout;
    // Its output is a few lines, well under a pipe's buffer, so it cannot
    // block writing while we poll.
    while process.try_wait().is_none() {
        check_interrupted()?;
        if Instant::now() >= until {
            bail!("{:?} did not finish within {timeout:?}", cmd.get_program());
        }
        std::thread::sleep(POLL);
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(pipe) = process.child.stdout.as_mut() {
        pipe.read_to_end(&mut stdout)?;
    }
    if let Some(pipe) = process.child.stderr.as_mut() {
        pipe.read_to_end(&mut stderr)?;
    }
    let status = process.try_wait().context("exit status")?;
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------
// Sample and machine

struct Probe {
    duration: f64,
    bit_rate: f64,
}

fn probe_sample(ffprobe: &Path, sample: &Path) -> Result<Probe> {
    let mut cmd = Command::new(ffprobe);
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "format=duration,bit_rate",
        "-of",
        "default=noprint_wrappers=1",
    ])
    .arg(sample);
    let output = run_with_timeout(cmd, Duration::from_secs(30))?;
    if !output.status.success() {
        bail!(
            "ffprobe {} failed: {}",
            sample.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))?
            .trim()
            .parse()
            .ok()
    };
    let duration = field("duration").context("ffprobe gave no duration")?;
    if duration <= 0.0 {
        bail!("sample {} has no duration", sample.display());
    }
    Ok(Probe {
        duration,
        bit_rate: field("bit_rate").unwrap_or(0.0),
    })
}

fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores, {model}, Linux {kernel}")
}

// ---------------------------------------------------------------------------
// HTTP (nova-live's API and playlists)

struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct CreatedStream {
    stream_key: String,
    hls_url: String,
}

impl Http {
    fn new(rt: tokio::runtime::Runtime) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()?;
        Ok(Self { rt, client })
    }

    fn get_status(&self, url: &str) -> Option<u16> {
        self.rt
            .block_on(async { self.client.get(url).send().await })
            .ok()
            .map(|r| r.status().as_u16())
    }

    fn get_text(&self, url: &str) -> Option<String> {
        self.rt.block_on(async {
            let response = self.client.get(url).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.text().await.ok()
        })
    }

    fn create_stream(&self, api: &NovaApi, title: &str) -> Result<CreatedStream> {
        let url = format!("{}/api/v1/streams", api.base);
        let (status, body) = self.rt.block_on(async {
            let response = self
                .client
                .post(&url)
                .bearer_auth(&api.token)
                .json(&json!({ "title": title }))
                .send()
                .await?;
            let status = response.status();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        })?;
        if status.as_u16() != 201 {
            bail!("POST {url}: {status}: {body}");
        }
        let value: Value =
            serde_json::from_str(&body).with_context(|| format!("POST {url}: {body}"))?;
        let field = |pointer: &str| -> Result<String> {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("POST {url}: no {pointer} in {body}"))
        };
        Ok(CreatedStream {
            stream_key: field("/stream_key")?,
            hls_url: field("/playback/hls_url")?,
        })
    }
}
