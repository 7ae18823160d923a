//! Segment events → upload jobs, one recording per packaging run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use nova_dvr::RecordingObserver;
use nova_dvr::index::{self, InitRow, NewSegment, RenditionSummary, SegmentRow};
use nova_dvr::keys;
use nova_dvr::vod::{self, MediaPlaylistKind};
use nova_media::{
    InitSegment, MUXED_RENDITION, MediaSegment, ObjectMeta, SegmentContainer, SegmentEvent,
    StreamId,
};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::tag::UploadTag;
use crate::gate::RecordingGate;
use crate::uploader::{Ordering, Submitter, UploadJob};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const PLAYLIST_CACHE: &str = "public, max-age=60";
const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

/// A stream's recording in progress.
struct Run {
    recording: Uuid,
    /// (rendition, packager init name) → its object key: renditions of a
    /// run share their naming token, so a name alone is ambiguous.
    inits: HashMap<(String, String), String>,
    /// The run's described init segments: the master playlist's `CODECS`
    /// and `RESOLUTION`.
    described: Vec<InitRow>,
    /// Renditions whose next segment follows a new init segment: it waits
    /// for the init's upload, so no row ever names a missing init.
    after_init: HashSet<String>,
    /// What was submitted, per rendition: the finished recording's playlists.
    segments: BTreeMap<String, Vec<NewSegment>>,
    /// While the gate keeps segments out: how many were skipped. The
    /// observer hears of the pause once, and of the resume once.
    paused: Option<u64>,
    /// Renditions that lost segments to a pause: their next stored segment
    /// starts with a discontinuity, so players and the VOD playlist see a
    /// gap rather than a timeline jump inside one period.
    after_gap: HashSet<String>,
    /// CMAF streams are recorded as their separate tracks (what VOD's master
    /// playlist and DASH use); the muxed copy for legacy players would only
    /// double the storage.
    skip_muxed: bool,
}

impl Run {
    fn records(&self, rendition: &str) -> bool {
        !(self.skip_muxed && rendition == MUXED_RENDITION)
    }
}

pub(super) async fn run(
    pool: PgPool,
    submitter: Submitter<UploadTag>,
    mut events: mpsc::UnboundedReceiver<(SegmentEvent, Instant)>,
    gate: Arc<RecordingGate>,
    observer: Arc<dyn RecordingObserver>,
) {
    let mut runs: HashMap<StreamId, Run> = HashMap::new();
    while let Some((event, arrived)) = events.recv().await {
        match event {
            SegmentEvent::Started { stream, settings } => {
                if let Some(previous) = runs.remove(&stream) {
                    finish(&submitter, stream, previous);
                }
                let recording = open(&pool, stream).await;
                tracing::info!(%stream, %recording, "recording started");
                runs.insert(
                    stream,
                    Run {
                        recording,
                        inits: HashMap::new(),
                        described: Vec::new(),
                        after_init: HashSet::new(),
                        segments: BTreeMap::new(),
                        paused: None,
                        after_gap: HashSet::new(),
                        skip_muxed: settings.container == SegmentContainer::Fmp4,
                    },
                );
            }
            SegmentEvent::Init(init) => {
                if let Some(run) = runs
                    .get_mut(&init.stream)
                    .filter(|r| r.records(&init.rendition))
                {
                    store_init(&submitter, run, &init);
                }
            }
            SegmentEvent::Segment(segment) => {
                if let Some(run) = runs
                    .get_mut(&segment.stream)
                    .filter(|r| r.records(&segment.rendition))
                {
                    match gate.paused() {
                        Some(reason) => skip_segment(run, &segment, &reason, observer.as_ref()),
                        None => {
                            if let Some(skipped) = run.paused.take() {
                                tracing::info!(stream = %segment.stream, recording = %run.recording, skipped, "recording resumed");
                                observer.recording_resumed(
                                    segment.stream.0,
                                    run.recording,
                                    skipped,
                                );
                            }
                            store_segment(&submitter, run, &segment, arrived);
                        }
                    }
                }
            }
            SegmentEvent::Ended { stream } => {
                if let Some(run) = runs.remove(&stream) {
                    finish(&submitter, stream, run);
                }
            }
        }
    }
}

/// Opens the recording, waiting out a database outage: segments queue in
/// memory meanwhile and none is dropped.
async fn open(pool: &PgPool, stream: StreamId) -> Uuid {
    let mut delay = Duration::from_millis(200);
    loop {
        match index::open_recording(pool, stream.0).await {
            Ok(id) => return id,
            Err(error) => {
                tracing::warn!(%stream, "cannot start a recording yet, retrying: {error}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn store_init(submitter: &Submitter<UploadTag>, run: &mut Run, init: &InitSegment) {
    let key = keys::object_key(init.stream, run.recording, &init.rendition, &init.name);
    run.inits
        .insert((init.rendition.to_string(), init.name.clone()), key.clone());
    // `None` for an init segment that is not a single CMAF track.
    let description = init
        .track
        .as_ref()
        .and_then(|track| InitRow::describe(run.recording, &init.rendition, &key, track));
    run.described.extend(description.clone());
    run.after_init.insert(init.rendition.to_string());
    submit(
        submitter,
        UploadJob::new(
            key,
            init.data.clone(),
            ObjectMeta::new(
                SegmentContainer::Fmp4.media_type(&init.rendition),
                IMMUTABLE,
            ),
        )
        .in_group(init.stream.to_string(), Ordering::Parallel)
        .with_tag(UploadTag::Init { description }),
    );
}

/// Leaves a segment out of the recording while the gate is closed. Init
/// segments are still stored (a few hundred bytes, and segments after the
/// pause name them); media segments are what fills a disk.
fn skip_segment(
    run: &mut Run,
    segment: &MediaSegment,
    reason: &str,
    observer: &dyn RecordingObserver,
) {
    let rendition = segment.rendition.to_string();
    run.after_gap.insert(rendition);
    match &mut run.paused {
        Some(skipped) => *skipped += 1,
        None => {
            run.paused = Some(1);
            tracing::warn!(stream = %segment.stream, recording = %run.recording, "recording paused: {reason}");
            observer.recording_paused(segment.stream.0, run.recording, reason);
        }
    }
}

/// `closed`: when the packager handed the segment over.
fn store_segment(
    submitter: &Submitter<UploadTag>,
    run: &mut Run,
    segment: &MediaSegment,
    closed: Instant,
) {
    let rendition = segment.rendition.to_string();
    let after_gap = run.after_gap.remove(&rendition);
    let key = keys::object_key(segment.stream, run.recording, &rendition, &segment.name);
    let row = NewSegment {
        stream_id: segment.stream.0,
        recording_id: run.recording,
        rendition: rendition.clone(),
        sequence: i64::try_from(segment.sequence).unwrap_or(i64::MAX),
        media_start_ms: segment.start_ms,
        program_date_time: DateTime::<Utc>::from(segment.program_date_time),
        duration_ms: i32::try_from(segment.duration_ms.max(1)).unwrap_or(i32::MAX),
        byte_size: segment.data.len() as i64,
        object_key: key.clone(),
        init_object_key: segment
            .init_name
            .as_ref()
            .and_then(|name| run.inits.get(&(rendition.clone(), name.clone())).cloned()),
        container: segment.container.as_str().to_owned(),
        discontinuity: segment.discontinuity || after_gap,
        base_decode_time: segment
            .fragment
            .and_then(|info| i64::try_from(info.base_decode_time).ok()),
    };
    let ordering = if run.after_init.remove(&rendition) {
        Ordering::AfterEarlier
    } else {
        Ordering::Parallel
    };
    let content_type = segment.container.media_type(&rendition);
    submit(
        submitter,
        UploadJob::new(
            key,
            segment.data.clone(),
            ObjectMeta::new(content_type, IMMUTABLE),
        )
        .in_group(segment.stream.to_string(), ordering)
        .ready_since(closed)
        .with_tag(UploadTag::Segment(row.clone())),
    );
    run.segments.entry(rendition).or_default().push(row);
}

/// Writes the finished recording's playlists next to its segments (so the
/// bucket alone can serve it, e.g. through a CDN), each after everything
/// before it; the master goes last and completes the recording.
fn finish(submitter: &Submitter<UploadTag>, stream: StreamId, run: Run) {
    let prefix = keys::recording_prefix(stream, run.recording);
    let group = stream.to_string();
    let mut summaries = Vec::new();
    for (rendition, segments) in &run.segments {
        let rows: Vec<SegmentRow> = segments.iter().map(SegmentRow::from).collect();
        let body = vod::media_playlist(&rows, MediaPlaylistKind::Vod, "");
        summaries.push(summary(rendition, &rows));
        submit(
            submitter,
            UploadJob::new(
                format!("{prefix}{rendition}/index.m3u8"),
                body,
                ObjectMeta::new(PLAYLIST_TYPE, PLAYLIST_CACHE),
            )
            .in_group(group.clone(), Ordering::AfterEarlier)
            .with_tag(UploadTag::Playlist),
        );
    }
    summaries.sort_by_key(|s| std::cmp::Reverse(s.peak_bps));
    let master = if summaries.is_empty() {
        Bytes::from_static(b"#EXTM3U\n")
    } else {
        vod::master_playlist(&summaries, &run.described)
    };
    submit(
        submitter,
        UploadJob::new(
            format!("{prefix}master.m3u8"),
            master,
            ObjectMeta::new(PLAYLIST_TYPE, PLAYLIST_CACHE),
        )
        .in_group(group, Ordering::AfterEarlier)
        .with_tag(UploadTag::Finish {
            recording: run.recording,
        }),
    );
    tracing::info!(%stream, recording = %run.recording, "recording ended; finishing its uploads");
}

fn summary(rendition: &str, rows: &[SegmentRow]) -> RenditionSummary {
    let duration_ms: i64 = rows.iter().map(|r| i64::from(r.duration_ms)).sum();
    RenditionSummary {
        rendition: rendition.to_owned(),
        segments: rows.len() as i64,
        duration_ms,
        byte_size: rows.iter().map(|r| r.byte_size).sum(),
        peak_bps: rows
            .iter()
            .map(|r| r.byte_size * 8000 / i64::from(r.duration_ms.max(1)))
            .max()
            .unwrap_or(0),
        container: rows
            .first()
            .map_or_else(String::new, |r| r.container.clone()),
    }
}

fn submit(submitter: &Submitter<UploadTag>, job: UploadJob<UploadTag>) {
    if let Err(error) = submitter.submit(job) {
        tracing::error!("recording upload not queued: {error}");
    }
}
