//! LL-HLS part latency: how long after a part's last frame left the RTMP
//! publisher the part is listed (blocking playlist reload) and downloaded,
//! next to the same measure for whole segments. See benches/README.md;
//! `benches/part-latency.sh` builds and runs it.
//!
//! Send times are not observed frame by frame: ffmpeg `-re` paces its output
//! at real time, and its `-progress` reports (every 100 ms) say how much
//! media it had written by when. The earliest report, minimised over the
//! run (wall time − media time), anchors media time 0; a part's last frame
//! left at anchor + the part's media end. The anchor errs by the report
//! delay (a pipe write, well under a millisecond) plus ffmpeg's reorder
//! lead: its media time is the latest PTS, up to two frames (67 ms at 30 fps,
//! sample has 2 B-frames) ahead of the DTS the packager cuts on, which makes
//! the measured latencies up to 67 ms too high, never too low.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use nova_benches::http::Http;
use nova_benches::latency::Latencies;
use nova_benches::nova::{NovaLive, NovaOptions};
use nova_testkit::ffmpeg::publisher_command;
use nova_testkit::ll_hls::{LlPlaylist, Segment};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

#[derive(Debug, Parser)]
struct Args {
    /// The H.264/AAC sample (looped) to publish at real time.
    #[arg(long)]
    sample: PathBuf,
    /// Seconds to publish; parts and segments of all of them are measured.
    #[arg(long, default_value_t = 70)]
    seconds: u32,
    #[arg(long, default_value = "nova-live")]
    nova_live: PathBuf,
    /// PostgreSQL for nova-live; unset, it starts its embedded one.
    #[arg(long)]
    database_url: Option<String>,
    /// An extra `nova-live serve` argument (repeatable), e.g. --nova-arg=--part-target=0.3
    #[arg(long = "nova-arg", allow_hyphen_values = true)]
    nova_args: Vec<String>,
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Progress reports: (when read, media microseconds written by then).
type Progress = Arc<Mutex<Vec<(Instant, u64)>>>;

/// When the harness saw something about media ending at `media_end_ms`.
struct Sample {
    media_end_ms: u64,
    listed: Instant,
    downloaded: Option<Instant>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = Http::new(rt)?;
    let nova = NovaLive::start(
        &http,
        &NovaOptions {
            binary: &args.nova_live,
            database_url: args.database_url.as_deref(),
            extra_args: &args.nova_args,
            env: &[],
        },
    )?;
    let stream = http.create_stream(&nova.api, "part latency")?;
    let url = format!(
        "rtmp://127.0.0.1:{}/live/{}",
        nova.rtmp_port, stream.stream_key
    );
    let rendition = format!("{}/live/{}/source", nova.api.base, stream.id);
    let report = http.rt.block_on(measure(&args, &url, rendition))?;
    // Stopped (SIGTERM: it ends the stream and stops its PostgreSQL)
    // before the report is printed.
    drop(nova);
    #[allow(clippy::print_stdout)] // the table is the harness's output
    {
        println!("{}", report.0);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report.1)?)?;
    }
    Ok(())
}

/// Publishes to `url` and follows the parts and segments of `rendition`.
async fn measure(args: &Args, url: &str, rendition: String) -> Result<(String, Value)> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()?;

    let progress = Progress::default();
    let mut publisher = publish(args, url)?;
    let reader = tokio::spawn(read_progress(
        publisher.stdout.take().context("ffmpeg stdout")?,
        progress.clone(),
    ));
    let first = wait_for_playlist(&http, &rendition).await?;
    let segments = tokio::spawn(follow_segments(http.clone(), rendition.clone(), first.msn));
    let parts = tokio::spawn(follow_parts(http.clone(), rendition.clone(), first));
    let status = publisher.wait().await?;
    if !status.success() {
        bail!("ffmpeg failed publishing: {status}");
    }
    reader.await?;
    let (parts, segments) = (parts.await??, segments.await??);
    let anchor = progress
        .lock()
        .unwrap()
        .iter()
        .map(|&(at, media_us)| at.checked_sub(Duration::from_micros(media_us)))
        .min()
        .flatten()
        .context("ffmpeg reported no progress")?;
    Ok(summarise(anchor, &parts, &segments))
}

/// ffmpeg `-re`, its `-progress` reports on stdout.
fn publish(args: &Args, url: &str) -> Result<Child> {
    publisher_command(&args.ffmpeg, url, |command| {
        command
            .args(["-nostats", "-re", "-stream_loop", "-1", "-i"])
            .arg(&args.sample)
            .args(["-t", &args.seconds.to_string(), "-c", "copy"])
            .args(["-progress", "pipe:1", "-stats_period", "0.1"]);
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .context("starting ffmpeg")
}

async fn read_progress(stdout: tokio::process::ChildStdout, progress: Progress) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(us) = line
            .strip_prefix("out_time_us=")
            .and_then(|v| v.parse::<u64>().ok())
        {
            progress.lock().unwrap().push((Instant::now(), us));
        }
    }
}

/// The stream's first segment, once the rendition playlist exists (it
/// does once that segment is complete: players start from one, RFC
/// 8216bis §6.2.5.1).
async fn wait_for_playlist(http: &reqwest::Client, rendition: &str) -> Result<Segment> {
    let by = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http.get(format!("{rendition}/index.m3u8")).send().await?;
        if response.status().is_success() {
            let playlist = LlPlaylist::parse(&response.text().await?);
            return playlist
                .segments
                .first()
                .cloned()
                .context("a playlist without segments");
        }
        if Instant::now() > by {
            bail!("no playlist 30 s after publishing began");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asks for every part in order with a blocking reload, then downloads it,
/// from the segment after `first`: the first segment's parts were all
/// there before the playlist was, so how late they are listed measures
/// when this harness arrived, not the server.
async fn follow_parts(
    http: reqwest::Client,
    rendition: String,
    first: Segment,
) -> Result<Vec<Sample>> {
    let (mut msn, mut index, mut media_ms) = (first.msn + 1, 0u32, first.duration_ms);
    let mut samples = Vec::new();
    loop {
        let url = format!("{rendition}/index.m3u8?_HLS_msn={msn}&_HLS_part={index}");
        let response = http.get(&url).send().await?;
        let listed = Instant::now();
        if !response.status().is_success() {
            // 503 when the stream stopped between parts.
            break;
        }
        let playlist = LlPlaylist::parse(&response.text().await?);
        if let Some(part) = playlist.part(msn, index) {
            let body = http
                .get(format!("{rendition}/{}", part.uri))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            let downloaded = Instant::now();
            anyhow::ensure!(!body.is_empty(), "empty part {}", part.uri);
            media_ms += part.duration_ms;
            samples.push(Sample {
                media_end_ms: media_ms,
                listed,
                downloaded: Some(downloaded),
            });
            index += 1;
        } else if playlist.segment(msn).is_some() {
            // The segment closed with fewer parts than asked for.
            msn += 1;
            index = 0;
        } else if playlist.ended {
            break;
        } else {
            bail!("{url} answered without part {msn}.{index}");
        }
    }
    Ok(samples)
}

/// Asks for every segment in order with a blocking reload (`_HLS_msn` only):
/// the answer comes when the segment is listed.
async fn follow_segments(
    http: reqwest::Client,
    rendition: String,
    first: u64,
) -> Result<Vec<Sample>> {
    let (mut msn, mut media_ms) = (first, 0u64);
    let mut samples = Vec::new();
    loop {
        let url = format!("{rendition}/index.m3u8?_HLS_msn={msn}");
        let response = http.get(&url).send().await?;
        let listed = Instant::now();
        if !response.status().is_success() {
            break;
        }
        let playlist = LlPlaylist::parse(&response.text().await?);
        match playlist.segment(msn) {
            Some(segment) => {
                media_ms += segment.duration_ms;
                samples.push(Sample {
                    media_end_ms: media_ms,
                    listed,
                    downloaded: None,
                });
                msn += 1;
            }
            None if playlist.ended => break,
            None => bail!("{url} answered without segment {msn}"),
        }
    }
    Ok(samples)
}

fn summarise(anchor: Instant, parts: &[Sample], segments: &[Sample]) -> (String, Value) {
    let latencies = |samples: &[Sample], pick: fn(&Sample) -> Option<Instant>| {
        let mut out = Latencies::default();
        for sample in samples {
            let sent = anchor + Duration::from_millis(sample.media_end_ms);
            if let Some(at) = pick(sample) {
                // Earlier than the anchor says (anchor error): count as 0.
                out.record(at.saturating_duration_since(sent));
            }
        }
        out
    };
    let rows = [
        ("part listed", latencies(parts, |s| Some(s.listed))),
        ("part downloaded", latencies(parts, |s| s.downloaded)),
        ("segment listed", latencies(segments, |s| Some(s.listed))),
    ];
    let mut table = String::from(
        "| measure | samples | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|\n",
    );
    let mut json = serde_json::Map::new();
    for (name, l) in &rows {
        table.push_str(&format!(
            "| {name} | {} | {:.0} | {:.0} | {:.0} |\n",
            l.len(),
            l.percentile_ms(0.50),
            l.percentile_ms(0.95),
            l.percentile_ms(1.0),
        ));
        json.insert(
            (*name).to_owned(),
            json!({
                "samples": l.len(),
                "p50_ms": l.percentile_ms(0.50),
                "p95_ms": l.percentile_ms(0.95),
                "max_ms": l.percentile_ms(1.0),
            }),
        );
    }
    (table, Value::Object(json))
}
