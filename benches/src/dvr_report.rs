//! Figures of the DVR benchmark (`src/bin/dvr_load.rs`): the two runs'
//! CPU, and for the recording run, live segments matched to bucket objects.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde_json::{Value, json};

use crate::dvr_watch::{LiveReport, StoreReport};
use crate::latency::Latencies;
use crate::playlist::expected_segments;

/// The packager cuts 2 s segments on the sample's 2 s keyframes.
const SEGMENT_SECONDS: f64 = 2.0;
/// Log lines quoted per level.
const QUOTED_LINES: usize = 6;

/// One run: `--storage off` or `--storage s3`.
pub struct Run {
    pub storage: &'static str,
    pub streams: usize,
    /// All streams together.
    pub media_seconds: f64,
    /// First publisher's start to the last one's exit.
    pub publishing_seconds: f64,
    /// The CPU window: from just before the publishers start until uploads
    /// are done and nova-live has gone quiet.
    pub window_seconds: f64,
    /// Time, after the publishers and the settling pause, until every live
    /// segment was in the bucket.
    pub upload_wait_seconds: f64,
    pub nova_cpu: f64,
    pub nova_cpu_source: &'static str,
    /// nova-live's embedded PostgreSQL, which the recorder's indexing uses.
    pub db_cpu: Option<f64>,
    pub s3_cpu: Option<f64>,
    /// The ffmpeg publishers together.
    pub clients_cpu: f64,
    pub machine_busy: f64,
    pub min_speed: f64,
    pub slow_publishers: usize,
    pub failed_publishers: usize,
    pub started: Instant,
    pub live: LiveReport,
    pub store: Option<StoreReport>,
    pub spool_left: usize,
    /// nova-live's whole log.
    pub log: String,
}

impl Run {
    /// nova-live CPU ms per media-second of one stream.
    pub fn cpu_ms_per_stream_second(&self) -> f64 {
        self.nova_cpu * 1000.0 / self.media_seconds
    }

    /// The same with its PostgreSQL's CPU added.
    pub fn cpu_with_db_ms_per_stream_second(&self) -> f64 {
        (self.nova_cpu + self.db_cpu.unwrap_or(0.0)) * 1000.0 / self.media_seconds
    }

    fn log_lines(&self, level: &str) -> Vec<String> {
        self.log
            .lines()
            .map(strip_ansi)
            .filter(|line| line.split_whitespace().take(3).any(|word| word == level))
            .collect()
    }
}

/// Live segments matched to bucket objects.
pub struct Matching {
    pub expected_per_stream: u64,
    pub live_segments: usize,
    pub min_per_stream: usize,
    pub matched: usize,
    /// (stream, file name) of live segments with no object.
    pub missing: Vec<(usize, String)>,
    /// Objects found by the scan that preceded the playlist poll that first
    /// listed their segment (counted as 0 ms).
    pub before_playlist: usize,
    pub size_mismatches: usize,
    pub latencies: Latencies,
    pub objects: usize,
    pub bytes: u64,
    /// Objects with no live segment of that name (init segments).
    pub other_objects: usize,
    /// From the first publisher's start to the last object's appearance.
    pub last_object_seconds: f64,
}

impl Matching {
    pub fn of(run: &Run, seconds: u32) -> Option<Self> {
        let store = run.store.as_ref()?;
        let mut per_stream: HashMap<usize, usize> = HashMap::new();
        let mut latencies = Latencies::default();
        let mut missing = Vec::new();
        let (mut matched, mut before_playlist, mut size_mismatches) = (0, 0, 0);
        for segment in &run.live.segments {
            *per_stream.entry(segment.stream).or_default() += 1;
            let Some(object) = store.objects.get(&segment.name) else {
                missing.push((segment.stream, segment.name.clone()));
                continue;
            };
            matched += 1;
            if object.seen < segment.seen {
                before_playlist += 1;
            }
            latencies.record(object.seen.saturating_duration_since(segment.seen));
            if segment.size.is_some_and(|size| size != object.size) || object.size == 0 {
                size_mismatches += 1;
            }
        }
        let live_names: std::collections::HashSet<&str> =
            run.live.segments.iter().map(|s| s.name.as_str()).collect();
        let last = store.objects.values().map(|o| o.seen).max();
        Some(Self {
            expected_per_stream: expected_segments(f64::from(seconds), SEGMENT_SECONDS).0,
            live_segments: run.live.segments.len(),
            min_per_stream: (0..run.streams)
                .map(|i| per_stream.get(&i).copied().unwrap_or(0))
                .min()
                .unwrap_or(0),
            matched,
            missing,
            before_playlist,
            size_mismatches,
            latencies,
            objects: store.objects.len(),
            bytes: store.objects.values().map(|o| o.size).sum(),
            other_objects: store
                .objects
                .keys()
                .filter(|name| !live_names.contains(name.as_str()))
                .count(),
            last_object_seconds: last.map_or(0.0, |t| {
                t.saturating_duration_since(run.started).as_secs_f64()
            }),
        })
    }

    /// Upload throughput over the publishing time, MB/s (10^6 bytes).
    pub fn megabytes_per_second(&self, run: &Run) -> f64 {
        self.bytes as f64 / 1e6 / run.publishing_seconds
    }

    pub fn objects_per_second(&self, run: &Run) -> f64 {
        self.objects as f64 / run.publishing_seconds
    }
}

pub struct Report {
    pub date: String,
    pub machine: String,
    pub sample: String,
    pub sample_bit_rate: f64,
    pub streams: usize,
    pub seconds: u32,
    pub poll_ms: u64,
    /// `off` first, then `s3`.
    pub runs: Vec<Run>,
}

impl Report {
    fn run(&self, storage: &str) -> Option<&Run> {
        self.runs.iter().find(|r| r.storage == storage)
    }

    /// s3 / off of nova-live's CPU per stream-second.
    pub fn ratio(&self) -> Option<f64> {
        Some(
            self.run("s3")?.cpu_ms_per_stream_second()
                / self.run("off")?.cpu_ms_per_stream_second(),
        )
    }

    pub fn ratio_with_db(&self) -> Option<f64> {
        Some(
            self.run("s3")?.cpu_with_db_ms_per_stream_second()
                / self.run("off")?.cpu_with_db_ms_per_stream_second(),
        )
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "nova-live DVR benchmark, {}", self.date);
        let _ = writeln!(out, "machine: {}", self.machine);
        let _ = writeln!(
            out,
            "sample: {} ({:.2} Mb/s); {} streams × {} s each; polling every {} ms\n",
            self.sample,
            self.sample_bit_rate / 1e6,
            self.streams,
            self.seconds,
            self.poll_ms
        );
        out.push_str(&self.cpu_table());
        if let (Some(ratio), Some(with_db)) = (self.ratio(), self.ratio_with_db()) {
            let _ = writeln!(
                out,
                "\nrecording's extra CPU (nova-live, s3 / off): {ratio:.3} = {:+.1} % per stream (target ≤ +10 %)",
                (ratio - 1.0) * 100.0
            );
            let _ = writeln!(
                out,
                "with its PostgreSQL (indexing) counted:        {with_db:.3} = {:+.1} %",
                (with_db - 1.0) * 100.0
            );
        }
        if let Some(run) = self.run("s3")
            && let Some(m) = Matching::of(run, self.seconds)
        {
            out.push_str(&render_matching(run, &m));
        }
        for run in &self.runs {
            out.push_str(&render_log(run));
        }
        out
    }

    fn cpu_table(&self) -> String {
        let headers = [
            "storage",
            "N",
            "media s",
            "window s",
            "nova CPU s",
            "ms/stream-s",
            "DB CPU s",
            "s3s-fs CPU s",
            "ffmpeg CPU s",
            "busy",
            "min speed",
            "slow/failed",
        ];
        let rows: Vec<Vec<String>> = self
            .runs
            .iter()
            .map(|r| {
                vec![
                    r.storage.to_owned(),
                    r.streams.to_string(),
                    format!("{:.0}", r.media_seconds),
                    format!("{:.1}", r.window_seconds),
                    format!("{:.2}", r.nova_cpu),
                    format!("{:.2}", r.cpu_ms_per_stream_second()),
                    r.db_cpu.map_or("-".into(), |s| format!("{s:.2}")),
                    r.s3_cpu.map_or("-".into(), |s| format!("{s:.2}")),
                    format!("{:.2}", r.clients_cpu),
                    format!("{:.0}%", r.machine_busy * 100.0),
                    format!("{:.3}x", r.min_speed),
                    format!("{}/{}", r.slow_publishers, r.failed_publishers),
                ]
            })
            .collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.len());
            }
        }
        let line = |cells: Vec<String>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            padded.join("  ").trim_end().to_owned() + "\n"
        };
        let mut out = line(headers.map(str::to_owned).to_vec());
        for row in rows {
            out.push_str(&line(row));
        }
        for r in &self.runs {
            let _ = writeln!(
                out,
                "{}: nova-live CPU from {}; publishing {:.1} s; playlist polls {} ({} failed)",
                r.storage,
                r.nova_cpu_source,
                r.publishing_seconds,
                r.live.polls,
                r.live.failed_polls
            );
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|r| {
                let matching = Matching::of(r, self.seconds).map(|m| {
                    json!({
                        "expected_segments_per_stream": m.expected_per_stream,
                        "live_segments": m.live_segments,
                        "min_live_segments_per_stream": m.min_per_stream,
                        "matched": m.matched,
                        "missing": m.missing.iter().map(|(s, n)| json!({"stream": s, "name": n})).collect::<Vec<_>>(),
                        "objects_before_playlist": m.before_playlist,
                        "size_mismatches": m.size_mismatches,
                        "latency": {
                            "mean_ms": m.latencies.mean_ms(),
                            "p50_ms": m.latencies.percentile_ms(0.50),
                            "p95_ms": m.latencies.percentile_ms(0.95),
                            "p99_ms": m.latencies.percentile_ms(0.99),
                            "max_ms": m.latencies.percentile_ms(1.0),
                        },
                        "objects": m.objects,
                        "other_objects": m.other_objects,
                        "bytes": m.bytes,
                        "megabytes_per_second": m.megabytes_per_second(r),
                        "objects_per_second": m.objects_per_second(r),
                        "last_object_seconds": m.last_object_seconds,
                        "upload_wait_seconds": r.upload_wait_seconds,
                    })
                });
                json!({
                    "storage": r.storage,
                    "streams": r.streams,
                    "media_seconds": r.media_seconds,
                    "publishing_seconds": r.publishing_seconds,
                    "window_seconds": r.window_seconds,
                    "nova_cpu_seconds": r.nova_cpu,
                    "nova_cpu_source": r.nova_cpu_source,
                    "cpu_ms_per_stream_second": r.cpu_ms_per_stream_second(),
                    "db_cpu_seconds": r.db_cpu,
                    "s3s_fs_cpu_seconds": r.s3_cpu,
                    "ffmpeg_cpu_seconds": r.clients_cpu,
                    "machine_busy": r.machine_busy,
                    "min_ffmpeg_speed": r.min_speed,
                    "slow_publishers": r.slow_publishers,
                    "failed_publishers": r.failed_publishers,
                    "spool_max_files": r.store.as_ref().map(|s| s.spool_max_files),
                    "spool_files_left": r.spool_left,
                    "log_errors": r.log_lines("ERROR"),
                    "log_warnings": r.log_lines("WARN"),
                    "recording": matching,
                })
            })
            .collect();
        json!({
            "date": self.date,
            "machine": self.machine,
            "sample": self.sample,
            "sample_bit_rate": self.sample_bit_rate,
            "streams": self.streams,
            "seconds": self.seconds,
            "poll_ms": self.poll_ms,
            "cpu_ratio_s3_over_off": self.ratio(),
            "cpu_ratio_with_db": self.ratio_with_db(),
            "runs": runs,
        })
    }
}

fn render_matching(run: &Run, m: &Matching) -> String {
    let mut out = String::new();
    let l = &m.latencies;
    let _ = writeln!(
        out,
        "\nsegment-to-object latency (live playlist → object in the bucket), {} segments:",
        l.len()
    );
    let _ = writeln!(
        out,
        "  p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms, mean {:.0} ms",
        l.percentile_ms(0.50),
        l.percentile_ms(0.95),
        l.percentile_ms(0.99),
        l.percentile_ms(1.0),
        l.mean_ms()
    );
    let _ = writeln!(
        out,
        "  live segments {} (fewest per stream {}, expected ≈ {}); in the bucket {}; missing {}; \
         object seen before the playlist listed it {}; size differs from the live copy {}",
        m.live_segments,
        m.min_per_stream,
        m.expected_per_stream,
        m.matched,
        m.missing.len(),
        m.before_playlist,
        m.size_mismatches
    );
    for (stream, name) in m.missing.iter().take(10) {
        let _ = writeln!(out, "  missing: stream {stream} {name}");
    }
    let _ = writeln!(
        out,
        "upload: {} objects ({} not in the followed playlists: the audio track, init segments), {:.1} MB; \
         {:.2} MB/s and {:.2} objects/s over the {:.1} s of publishing; last object at {:.1} s; \
         all live segments stored {:.1} s after the settling pause",
        m.objects,
        m.other_objects,
        m.bytes as f64 / 1e6,
        m.megabytes_per_second(run),
        m.objects_per_second(run),
        run.publishing_seconds,
        m.last_object_seconds,
        run.upload_wait_seconds
    );
    if let Some(store) = &run.store {
        let _ = writeln!(
            out,
            "spool: at most {} files during the run, {} left after shutdown; bucket scans {} (slowest {:.0} ms)",
            store.spool_max_files,
            run.spool_left,
            store.scans,
            store.slowest_scan.as_secs_f64() * 1000.0
        );
    }
    out
}

fn render_log(run: &Run) -> String {
    let mut out = String::new();
    let errors = run.log_lines("ERROR");
    let warnings = run.log_lines("WARN");
    let _ = writeln!(
        out,
        "\nnova-live log (--storage {}): {} ERROR, {} WARN lines",
        run.storage,
        errors.len(),
        warnings.len()
    );
    for line in errors.iter().chain(&warnings).take(QUOTED_LINES) {
        let short: String = line.chars().take(300).collect();
        let _ = writeln!(out, "  {short}");
    }
    out
}

/// Removes ANSI colour sequences (`ESC [ … letter`) from a log line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours_from_log_lines() {
        assert_eq!(
            strip_ansi("2026 \u{1b}[33m WARN\u{1b}[0m nova: x"),
            "2026  WARN nova: x"
        );
    }
}
