//! RTMP load harness: pushes N real-time copies of a sample to nova-live and
//! to nginx-rtmp, one server after the other on the same machine, and
//! measures each server's CPU time per media-second and whether every stream
//! kept up. See benches/README.md; `benches/load.sh` installs, builds and
//! runs it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, ValueEnum};
use nova_benches::host::{Probe, machine_description, probe_sample};
use nova_benches::http::{Http, NovaApi};
use nova_benches::interrupt;
use nova_benches::nova::{NovaLive, NovaOptions, ServerProcess};
use nova_benches::playlist::expected_segments;
use nova_benches::process::{Guarded, is_root, tail};
use nova_benches::procfs::{self, CpuReading, CpuSource, MachineTicks};
use nova_benches::progress::Progress;
use nova_benches::publish::Publisher;
use nova_testkit::free_port;
use nova_testkit::ll_hls::LlPlaylist;
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
    interrupt::watch(&rt, "load");
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
        if interrupt::is_set() {
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
                if interrupt::is_set() {
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

// ---------------------------------------------------------------------------
// One measurement

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
    interrupt::pause(IDLE_WINDOW)?;
    let before = Snapshot::take(&server);
    let idle_cpu_ms_per_second = before.server.seconds_since(&idle_start.server).0 * 1000.0
        / (before.at - idle_start.at).as_secs_f64();
    let clients_before = procfs::reaped_children_ticks();
    let start = before.at;

    let mut publishers = Vec::with_capacity(n);
    for (i, target) in targets.iter().enumerate() {
        let paced = match mode {
            Mode::Paced { seconds } => Some(seconds),
            Mode::Fast => None,
        };
        publishers.push(Publisher::spawn(
            &http.rt,
            &args.ffmpeg,
            sample,
            paced,
            &target.publish_url,
            work,
            i,
        )?);
    }

    // Wait for every publisher, bounded.
    let give_up = start + deadline;
    loop {
        interrupt::check()?;
        let mut running = 0;
        for publisher in &mut publishers {
            if publisher.poll() {
                running += 1;
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
                publisher.stop();
                (publisher.started.elapsed(), None)
            }
        };
        results.push(PublisherResult {
            wall,
            progress: publisher.last_progress(),
            status,
            segments: 0,
            log_tail: tail(&publisher.log, 3),
        });
    }
    drop(publishers);
    let after = drain(&server)?;
    let window = after.at - start;

    interrupt::pause(SETTLE)?;
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
        interrupt::pause(QUIET_INTERVAL)?;
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

struct Server {
    kind: ServerKind,
    /// Stopped (with nova-live's embedded PostgreSQL) when dropped.
    process: ServerProcess,
    rtmp_port: u16,
    api: Option<NovaApi>,
    /// Removed after the processes are stopped (fields drop after `drop`).
    dir: tempfile::TempDir,
}

impl Server {
    fn start_nova(args: &Args, http: &Http) -> Result<Self> {
        let nova = NovaLive::start(
            http,
            &NovaOptions {
                binary: &args.nova_live,
                database_url: args.database_url.as_deref(),
                extra_args: &args.nova_args,
                env: &[],
            },
        )?;
        Ok(Self {
            kind: ServerKind::NovaLive,
            process: nova.process,
            rtmp_port: nova.rtmp_port,
            api: Some(nova.api),
            dir: nova.dir,
        })
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
        let rtmp_port = free_port();
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
        let process = ServerProcess {
            process: Guarded::new(child, "nginx", libc::SIGTERM, Duration::from_secs(10)),
            postmaster_pid_file: None,
        };
        let mut server = Self {
            kind: ServerKind::Nginx,
            process,
            rtmp_port,
            api: None,
            dir,
        };
        let ready_by = Instant::now() + Duration::from_secs(10);
        loop {
            interrupt::check()?;
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
                    interrupt::check()?;
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
        self.process.postmaster_pid()
    }

    fn read_playlist(&self, http: &Http, at: &PlaylistAt) -> Option<LlPlaylist> {
        let text = match at {
            PlaylistAt::File(path) => fs::read_to_string(path).ok()?,
            PlaylistAt::Http(url) => http.get_text(url)?,
        };
        Some(LlPlaylist::parse(&text))
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
