//! Transcoding-ladder benchmark: nova's `Ladder` against the ffmpeg CLI doing
//! the same ladder (one decode, `split=3`, scale, libx264 with the same
//! rate control and keyframe forcing), each in its own child process so
//! both are charged the same way: user + system CPU from `wait4`. See
//! benches/README.md; `benches/ladder.sh` makes the source and runs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Parser;
use nova_media::flv::{VideoTag, parse_video_tag};
use nova_media::{Frame, Track, VideoConfig};
use nova_packager::ladder::{EncodeOptions, Ladder, LadderOutput, LadderProfile};
use serde_json::json;

#[derive(Debug, Parser)]
struct Args {
    /// H.264 FLV source (the script makes a 60 s 1080p30 one).
    #[arg(long)]
    source: PathBuf,
    /// x264 preset for both.
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// Which to run: `both`, or `nova` / `ffmpeg` alone.
    #[arg(long, default_value = "both")]
    only: String,
    /// Internal: run nova's ladder in this process (what `both` spawns).
    #[arg(long, hide = true)]
    child: bool,
    /// Also write the results here, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The default ladder for a 1080p source, for the CLI side.
const RUNGS: [(u32, u32, u32); 3] = [
    (1280, 720, 3_000_000),
    (854, 480, 1_500_000),
    (640, 360, 800_000),
];

fn main() -> Result<()> {
    let args = Args::parse();
    if args.child {
        return run_nova(&args.source, &args.preset);
    }
    let media_seconds = media_seconds(&args.source)?;
    let mut results = Vec::new();
    if args.only == "both" || args.only == "nova" {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command
            .arg("--child")
            .arg("--source")
            .arg(&args.source)
            .args(["--preset", &args.preset]);
        results.push(("nova-live Ladder", measure(command)?));
    }
    if args.only == "both" || args.only == "ffmpeg" {
        results.push((
            "ffmpeg CLI",
            measure(ffmpeg_ladder(&args.source, &args.preset))?,
        ));
    }
    eprintln!(
        "source: {} ({media_seconds:.1} s), preset {}",
        args.source.display(),
        args.preset
    );
    eprintln!(
        "{:<18} {:>8} {:>8} {:>8} {:>8} {:>16}",
        "", "user s", "sys s", "CPU s", "wall s", "CPU-s per out-s"
    );
    for (name, usage) in &results {
        eprintln!(
            "{name:<18} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>16.3}",
            usage.user,
            usage.system,
            usage.cpu(),
            usage.wall.as_secs_f64(),
            usage.cpu() / media_seconds
        );
    }
    let ratio = match &results[..] {
        [(_, nova), (_, cli)] => {
            let ratio = nova.cpu() / cli.cpu();
            eprintln!("nova / ffmpeg CPU: {ratio:.3}");
            Some(ratio)
        }
        _ => None,
    };
    if let Some(path) = args.json {
        let runs: Vec<_> = results
            .iter()
            .map(|(name, usage)| {
                json!({
                    "name": name,
                    "user_s": usage.user,
                    "system_s": usage.system,
                    "cpu_s": usage.cpu(),
                    "wall_s": usage.wall.as_secs_f64(),
                    "cpu_s_per_output_s": usage.cpu() / media_seconds,
                })
            })
            .collect();
        let report = json!({ "media_seconds": media_seconds, "runs": runs, "ratio": ratio });
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

/// The same ladder as nova's default for 1080p: keyframes where the source
/// has them and nowhere else, VBV at 2× the bitrate, decoder and x264
/// threads on `auto` (the CLI's default, and the `Ladder` default).
fn ffmpeg_ladder(source: &Path, preset: &str) -> Command {
    let mut command = Command::new("ffmpeg");
    command.args([
        "-hide_banner",
        "-v",
        "error",
        "-nostdin",
        "-y",
        "-threads",
        "auto",
        "-i",
    ]);
    command.arg(source);
    let labels: Vec<String> = RUNGS.iter().map(|(_, h, _)| format!("v{h}")).collect();
    let mut graph = format!(
        "[0:v]split={}{}",
        RUNGS.len(),
        labels
            .iter()
            .map(|l| format!("[in{l}]"))
            .collect::<String>()
    );
    for ((width, height, _), label) in RUNGS.iter().zip(&labels) {
        graph.push_str(&format!(";[in{label}]scale={width}:{height}[{label}]"));
    }
    command.args(["-filter_complex", &graph]);
    for ((_, _, bitrate), label) in RUNGS.iter().zip(&labels) {
        command
            .args(["-map", &format!("[{label}]"), "-an", "-c:v", "libx264"])
            .args(["-preset", preset, "-threads", "auto"])
            .args([
                "-b:v",
                &bitrate.to_string(),
                "-maxrate",
                &bitrate.to_string(),
            ])
            .args(["-bufsize", &(2 * bitrate).to_string()])
            .args(["-force_key_frames", "source", "-forced-idr", "1"])
            .args(["-x264-params", "keyint=infinite:scenecut=0"])
            .args(["-f", "null", "-"]);
    }
    command
}

/// nova's side: parse the FLV, push every frame as fast as the ladder takes
/// them, drain the outputs, flush.
fn run_nova(source: &Path, preset: &str) -> Result<()> {
    let (config, frames) = read_flv(&std::fs::read(source)?)?;
    let options = EncodeOptions {
        preset: preset.to_owned(),
        max_lag: None,
        ..EncodeOptions::default()
    };
    let ladder = Ladder::start(&config, &LadderProfile::default_ladder(), options)?;
    let mut bytes = std::collections::BTreeMap::<String, (u64, u64)>::new();
    let mut count = |output: LadderOutput| {
        if let LadderOutput::Frame { rendition, frame } = output {
            let entry = bytes.entry(rendition.to_string()).or_default();
            entry.0 += 1;
            entry.1 += frame.data.len() as u64;
        }
    };
    for frame in frames {
        ladder.push(frame);
        while let Some(output) = ladder.try_recv() {
            count(output);
        }
    }
    let (rest, stats) = ladder.finish_with_stats();
    rest.into_iter().for_each(&mut count);
    for rendition in &stats.renditions {
        if let Some(reason) = &rendition.dropped {
            bail!("{} was dropped: {reason}", rendition.name);
        }
    }
    for (name, (frames, size)) in bytes {
        eprintln!("  nova {name}: {frames} frames, {} kB", size / 1000);
    }
    Ok(())
}

/// Video configuration and frames of an FLV file (Adobe FLV v10.1 §E.2–E.3).
fn read_flv(file: &[u8]) -> Result<(VideoConfig, Vec<Frame>)> {
    if file.get(..3) != Some(b"FLV") || file.len() < 9 {
        bail!("not an FLV file");
    }
    let header_len = u32::from_be_bytes(file[5..9].try_into()?) as usize;
    let mut at = header_len + 4;
    let mut config = None;
    let mut frames = Vec::new();
    while at + 11 <= file.len() {
        let kind = file[at] & 0x1f;
        let size = u32::from_be_bytes([0, file[at + 1], file[at + 2], file[at + 3]]) as usize;
        let ts = u32::from_be_bytes([file[at + 7], file[at + 4], file[at + 5], file[at + 6]]);
        let body = file
            .get(at + 11..at + 11 + size)
            .context("FLV tag runs past the end")?;
        at += 11 + size + 4;
        if kind != 9 {
            continue;
        }
        match parse_video_tag(Bytes::copy_from_slice(body))? {
            VideoTag::Config(c) => config = Some(c),
            VideoTag::Frame {
                keyframe,
                composition_time,
                data,
            } => frames.push(Frame {
                track: Track::Video,
                dts: i64::from(ts),
                pts: i64::from(ts) + i64::from(composition_time),
                keyframe,
                data,
            }),
            _ => {}
        }
    }
    Ok((config.context("no video sequence header")?, frames))
}

fn media_seconds(source: &Path) -> Result<f64> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(source)
        .output()
        .context("running ffprobe")?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .context("ffprobe gave no duration")
}

struct Usage {
    user: f64,
    system: f64,
    wall: Duration,
}

impl Usage {
    fn cpu(&self) -> f64 {
        self.user + self.system
    }
}

/// Runs `command` to completion and returns its own CPU time (and that of
/// its threads), from `wait4`.
fn measure(mut command: Command) -> Result<Usage> {
    let started = Instant::now();
    let child = command.spawn().context("spawning")?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our un-reaped child; both pointers are valid for the
    // call. `child` is never waited on by std afterwards.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    drop(child);
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("{command:?} failed (status {status})");
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        user: seconds(usage.ru_utime),
        system: seconds(usage.ru_stime),
        wall,
    })
}
