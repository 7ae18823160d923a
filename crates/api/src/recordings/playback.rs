//! Recorded playback: `/vod/{recording}/…` (a finished recording as HLS and
//! DASH, and the segments every recorded playlist lists), `/clips/{clip}/…`
//! and `/dvr/{stream}/…` (the live stream's DVR window).
//!
//! Segments are proxied from the object store rather than redirected to
//! presigned S3 URLs: players on closed networks may not reach the bucket,
//! the filesystem store has no URLs at all, and one origin keeps CORS and
//! caching in one place; an edge cache in front (see `nginx/`) takes the
//! load off this origin, as it does for live segments.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use nova_dvr::index::{self, RecordingState, SegmentRow};
use nova_dvr::keys;
use nova_dvr::vod::{self, MediaPlaylistKind};
use nova_media::{ObjectStoreError, SegmentContainer, StreamId};
use uuid::Uuid;

use crate::error::{ApiError, DbResultExt};
use crate::state::AppState;

const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";
const MASTER: &str = "master.m3u8";
const MEDIA: &str = "index.m3u8";
const MPD: &str = "manifest.mpd";
const MPD_TYPE: &str = "application/dash+xml";
/// Recorded playlists do not change; clips and recordings can be deleted,
/// so not forever.
const VOD_PLAYLIST_CACHE: &str = "public, max-age=60";
const WINDOW_PLAYLIST_CACHE: &str = "public, max-age=1";
const SEGMENT_CACHE: &str = "public, max-age=31536000, immutable";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/vod/{recording}/{file}", get(vod_master))
        .route("/vod/{recording}/{rendition}/{file}", get(vod_object))
        .route("/clips/{clip}/{file}", get(clip_master))
        .route("/clips/{clip}/{rendition}/{file}", get(clip_media))
        .route("/dvr/{stream}/{file}", get(dvr_master))
        .route("/dvr/{stream}/{rendition}/{file}", get(dvr_media))
}

async fn vod_master(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (recording, file) = parse(path)?;
    if file != MASTER && file != MPD {
        return Err(not_found(&file));
    }
    let row = complete_recording(&state, &recording).await?;
    let renditions = renditions(&state, row.id).await?;
    let inits = inits(&state, row.id).await?;
    if file == MASTER {
        return Ok(playlist(
            vod::master_playlist(&renditions, &inits),
            VOD_PLAYLIST_CACHE,
        ));
    }
    let mut by_rendition = BTreeMap::new();
    for summary in &renditions {
        let rows = segments(&state, row.id, &summary.rendition).await?;
        by_rendition.insert(summary.rendition.clone(), rows);
    }
    let duration = std::time::Duration::from_millis(row.duration_ms.max(0) as u64);
    let mpd = vod::static_mpd(&renditions, &by_rendition, &inits, duration).ok_or_else(|| {
        ApiError::NotFound(
            "this recording has no CMAF renditions (it was recorded as MPEG-TS): play its HLS \
             playlist"
                .to_owned(),
        )
    })?;
    let mut response = mpd.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MPD_TYPE));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(VOD_PLAYLIST_CACHE),
    );
    Ok(response)
}

/// A rendition's VOD playlist, or one of the recording's objects.
async fn vod_object(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (recording, rendition, file) = parse(path)?;
    check_rendition(&rendition)?;
    if file == MEDIA {
        let row = complete_recording(&state, &recording).await?;
        let rows = segments(&state, row.id, &rendition).await?;
        return Ok(playlist(
            vod::media_playlist(&rows, MediaPlaylistKind::Vod, ""),
            VOD_PLAYLIST_CACHE,
        ));
    }
    if !keys::is_object_name(&file) {
        return Err(not_found(&file));
    }
    // Segments of a recording in progress play in the DVR window too.
    let row = recording_row(&state, &recording)
        .await?
        .filter(|row| row.state != RecordingState::Deleting)
        .ok_or_else(|| not_found(&recording))?;
    let store = state.recording_store()?;
    let key = keys::object_key(StreamId(row.stream_id), row.id, &rendition, &file);
    let body = store.get(&key).await.map_err(|error| match error {
        ObjectStoreError::NotFound { .. } | ObjectStoreError::InvalidKey { .. } => not_found(&file),
        other => ApiError::StorageUnavailable(other.to_string()),
    })?;
    Ok(object(body, content_type(&rendition, &file)))
}

async fn clip_master(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (clip, file) = parse(path)?;
    expect(&file, MASTER)?;
    let clip = clip_row(&state, &clip).await?;
    let renditions = renditions(&state, clip.recording_id).await?;
    let inits = inits(&state, clip.recording_id).await?;
    Ok(playlist(
        vod::master_playlist(&renditions, &inits),
        VOD_PLAYLIST_CACHE,
    ))
}

async fn clip_media(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (clip, rendition, file) = parse(path)?;
    check_rendition(&rendition)?;
    expect(&file, MEDIA)?;
    let clip = clip_row(&state, &clip).await?;
    let rows = segments(&state, clip.recording_id, &rendition).await?;
    let clipped = index::clip_segments(&rows, clip.start_ms, clip.end_ms);
    let prefix = recording_objects(clip.recording_id, &rendition);
    Ok(playlist(
        vod::media_playlist(clipped, MediaPlaylistKind::Vod, &prefix),
        VOD_PLAYLIST_CACHE,
    ))
}

async fn dvr_master(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (stream, file) = parse(path)?;
    expect(&file, MASTER)?;
    let (recording, _) = dvr_recording(&state, &stream).await?;
    let renditions = renditions(&state, recording).await?;
    let inits = inits(&state, recording).await?;
    Ok(playlist(
        vod::master_playlist(&renditions, &inits),
        WINDOW_PLAYLIST_CACHE,
    ))
}

async fn dvr_media(
    State(state): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (stream, rendition, file) = parse(path)?;
    check_rendition(&rendition)?;
    expect(&file, MEDIA)?;
    let (recording, depth) = dvr_recording(&state, &stream).await?;
    let rows = segments(&state, recording, &rendition).await?;
    let (window, discontinuities_before) = vod::dvr_window(&rows, depth, chrono::Utc::now());
    let prefix = recording_objects(recording, &rendition);
    Ok(playlist(
        vod::media_playlist(
            window,
            MediaPlaylistKind::Window {
                discontinuities_before,
            },
            &prefix,
        ),
        WINDOW_PLAYLIST_CACHE,
    ))
}

/// The live recording of a stream with DVR on, and its window's depth.
async fn dvr_recording(
    state: &AppState,
    stream: &str,
) -> Result<(Uuid, chrono::Duration), ApiError> {
    let not_live = || ApiError::NotFound(format!("stream {stream:?} is not recording right now"));
    let stream = Uuid::parse_str(stream).map_err(|_| not_live())?;
    let configured = index::dvr_window_seconds(&state.pool, stream)
        .await
        .db_err("reading a stream's DVR window")?;
    let Some(configured) = configured else {
        return Err(not_live());
    };
    let seconds = configured.map_or(state.config.dvr_window.as_secs() as i64, i64::from);
    if seconds <= 0 {
        return Err(ApiError::NotFound(
            "this stream's DVR window is off (dvr_window_seconds is 0)".to_owned(),
        ));
    }
    let recording = index::live_recording(&state.pool, stream)
        .await
        .db_err("finding a live recording")?
        .ok_or_else(not_live)?;
    Ok((recording, chrono::Duration::seconds(seconds)))
}

async fn recording_row(
    state: &AppState,
    id: &str,
) -> Result<Option<index::RecordingRow>, ApiError> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    index::recording(&state.pool, id)
        .await
        .db_err("reading a recording")
}

/// VOD playlists exist once a recording is complete.
async fn complete_recording(state: &AppState, id: &str) -> Result<index::RecordingRow, ApiError> {
    match recording_row(state, id).await? {
        Some(row) if row.state == RecordingState::Complete => Ok(row),
        Some(row) if row.state == RecordingState::Recording => Err(ApiError::NotFound(format!(
            "recording {id} is still being made: watch it live at /dvr/{}/master.m3u8",
            row.stream_id
        ))),
        _ => Err(not_found(id)),
    }
}

async fn clip_row(state: &AppState, id: &str) -> Result<index::ClipRow, ApiError> {
    let Ok(uuid) = Uuid::parse_str(id) else {
        return Err(not_found(id));
    };
    index::clip(&state.pool, uuid)
        .await
        .db_err("reading a clip")?
        .ok_or_else(|| not_found(id))
}

/// The recording's described init segments: its master playlist's
/// `CODECS` and `RESOLUTION`, its MPD's representations.
async fn inits(state: &AppState, recording: Uuid) -> Result<Vec<index::InitRow>, ApiError> {
    index::inits(&state.pool, recording)
        .await
        .db_err("reading a recording's init segments")
}

async fn renditions(
    state: &AppState,
    recording: Uuid,
) -> Result<Vec<index::RenditionSummary>, ApiError> {
    let renditions = index::renditions(&state.pool, recording)
        .await
        .db_err("reading a recording's renditions")?;
    if renditions.is_empty() {
        return Err(ApiError::NotFound(
            "nothing of this recording is stored yet".to_owned(),
        ));
    }
    Ok(renditions)
}

async fn segments(
    state: &AppState,
    recording: Uuid,
    rendition: &str,
) -> Result<Vec<SegmentRow>, ApiError> {
    let rows = index::segments(&state.pool, recording, rendition)
        .await
        .db_err("reading a recording")?;
    if rows.is_empty() {
        return Err(not_found(rendition));
    }
    Ok(rows)
}

/// The recording's objects, relative to a `/{clips|dvr}/{id}/{rendition}/`
/// playlist: relative URIs keep working behind a proxy that mounts nova-live
/// under a path prefix.
fn recording_objects(recording: Uuid, rendition: &str) -> String {
    format!("../../../vod/{recording}/{rendition}/")
}

fn parse<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    crate::extract::path(path)
}

fn expect(file: &str, name: &str) -> Result<(), ApiError> {
    if file == name {
        Ok(())
    } else {
        Err(not_found(file))
    }
}

fn check_rendition(rendition: &str) -> Result<(), ApiError> {
    if keys::is_rendition_name(rendition) {
        Ok(())
    } else {
        Err(not_found(rendition))
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::NotFound(format!("no {what:?} here"))
}

fn playlist(body: Bytes, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PLAYLIST_TYPE),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

fn object(body: Bytes, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(SEGMENT_CACHE),
    );
    response
}

fn content_type(rendition: &str, file: &str) -> &'static str {
    if file.ends_with(".m3u8") {
        PLAYLIST_TYPE
    } else if file.ends_with(".ts") {
        SegmentContainer::Ts.media_type(rendition)
    } else {
        SegmentContainer::Fmp4.media_type(rendition)
    }
}
