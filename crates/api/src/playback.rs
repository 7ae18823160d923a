//! `GET /live/{stream}/{*path}`: the live window (playlists, MPD and
//! segments) straight from memory, with the cache headers that let an edge
//! cache or CDN take the load off the origin. `path` is a name (the muxed
//! rendition, `master.m3u8`, `manifest.mpd`) or `{rendition}/{name}`.

use axum::Router;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nova_media::{CachePolicy, LiveEdge, LivePlayback, PlaybackObject, StreamId};
use serde::Deserialize;

use crate::error::ApiError;
use crate::metrics::{self, Held};
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/live/{stream}/{*path}", get(live_object))
}

/// LL-HLS blocking playlist reload (RFC 8216bis §6.2.5.2): the client asks
/// for the playlist once it holds segment `_HLS_msn` or its part `_HLS_part`.
#[derive(Debug, Default, Deserialize)]
struct Reload {
    #[serde(rename = "_HLS_msn")]
    msn: Option<u64>,
    #[serde(rename = "_HLS_part")]
    part: Option<u32>,
}

async fn live_object(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    reload: Result<Query<Reload>, QueryRejection>,
) -> Response {
    match serve(&state, path, reload).await {
        Ok(object) => {
            let mut response = object.body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(object.content_type),
            );
            headers.insert(header::CACHE_CONTROL, cache_control(object.cache));
            if let CachePolicy::Refreshed { modified, .. } = object.cache {
                headers.insert(header::LAST_MODIFIED, http_date(modified));
            }
            response
        }
        Err(error) => {
            let mut response = error.into_response();
            // Players poll a playlist that does not exist yet (the stream is
            // about to go live) as hard as a live one: let caches absorb
            // that too, for as briefly as a live playlist.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                cache_control(CachePolicy::LivePlaylist),
            );
            response
        }
    }
}

async fn serve(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    reload: Result<Query<Reload>, QueryRejection>,
) -> Result<PlaybackObject, ApiError> {
    let Path((stream, name)) =
        path.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let Query(reload) = reload.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let not_found = || ApiError::NotFound(format!("no {name:?} in stream {stream:?} right now"));
    let stream_id: StreamId = stream.parse().map_err(|_| not_found())?;
    if !is_object_path(&name) {
        return Err(ApiError::BadRequest(format!(
            "{name:?} is not a playback object name: use the names the playlist lists"
        )));
    }
    let playback = state.playback.as_ref();
    if reload.msn.is_some() || reload.part.is_some() {
        blocking_reload(playback, stream_id, &name, reload).await?;
    }
    match playback.get(stream_id, &name) {
        Some(object) => Ok(object),
        None => preload_hint(playback, stream_id, &name)
            .await?
            .ok_or_else(not_found),
    }
}

/// RFC 8216bis §4.4.5.3: a client may request the part an
/// `EXT-X-PRELOAD-HINT` names before it exists; the request is held until
/// the part is there (at most three target durations). Anything else that
/// does not exist is `None` at once.
async fn preload_hint(
    playback: &dyn LivePlayback,
    stream: StreamId,
    name: &str,
) -> Result<Option<PlaybackObject>, ApiError> {
    let Some((rendition, file)) = name.split_once('/') else {
        return Ok(None);
    };
    let Some(mut changes) = playback.changes(stream) else {
        return Ok(None);
    };
    let mut deadline = None;
    // Counted as waiting from the first wait until this returns or is
    // dropped (the client went away).
    let mut held = None;
    loop {
        if let Some(object) = playback.get(stream, name) {
            return Ok(Some(object));
        }
        let Some(edge) = playback.live_edge(stream, rendition) else {
            return Ok(None);
        };
        if edge.ended || !may_come(file, &edge) {
            return Ok(None);
        }
        let deadline = *deadline.get_or_insert_with(|| {
            tokio::time::Instant::now() + Duration::from_secs(3 * edge.target_duration.max(1))
        });
        held.get_or_insert_with(|| Held::new(metrics::BLOCKING_RELOADS_WAITING));
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Ok(None),
            Err(_) => {
                return Err(ApiError::NotYet(format!(
                    "the hinted part {name:?} did not appear in three target durations: reload the playlist"
                )));
            }
        }
    }
}

/// Whether `file` is a part still to come: the hinted one, or a later part
/// of the open segment or the first of the next (a player that read an
/// older playlist, or reloads late, may ask for one ahead of the hint).
fn may_come(file: &str, edge: &LiveEdge) -> bool {
    let Some(hinted) = edge.next_part.as_deref() else {
        return false;
    };
    if file == hinted {
        return true;
    }
    // Parts are named `{run}-{sequence}.{index}.m4s`.
    let parse = |name: &str| -> Option<(String, u64, u32)> {
        let (stem, _) = name
            .rsplit_once(".m4s")
            .filter(|(_, rest)| rest.is_empty())?;
        let (segment, index) = stem.rsplit_once('.')?;
        let (run, sequence) = segment.rsplit_once('-')?;
        Some((run.to_owned(), sequence.parse().ok()?, index.parse().ok()?))
    };
    let (Some((run, sequence, index)), Some((hinted_run, _, _))) = (parse(file), parse(hinted))
    else {
        return false;
    };
    run == hinted_run
        && ((sequence == edge.open_segment && index >= edge.open_parts)
            || (sequence == edge.open_segment + 1 && index == 0))
}

/// Waits until the rendition playlist `name` holds what `reload` asks for,
/// at most three target durations (§6.2.5.2), woken by the window's own
/// change notifications rather than by polling.
async fn blocking_reload(
    playback: &dyn LivePlayback,
    stream_id: StreamId,
    name: &str,
    reload: Reload,
) -> Result<(), ApiError> {
    let Some(msn) = reload.msn else {
        return Err(ApiError::BadRequest(
            "_HLS_part needs _HLS_msn: ask for a part of a given segment".to_owned(),
        ));
    };
    let Some((rendition, "index.m3u8")) = name.split_once('/') else {
        // Not an LL-HLS playlist: the parameters mean nothing here.
        return Ok(());
    };
    // Subscribed before the first look, so no change is missed.
    let Some(mut changes) = playback.changes(stream_id) else {
        return Ok(());
    };
    let mut deadline = None;
    // Counted as waiting from the first wait until this returns or is
    // dropped (the client went away).
    let mut held = None;
    loop {
        let Some(edge) = playback.live_edge(stream_id, rendition) else {
            return Ok(());
        };
        let last = edge.last_segment;
        if edge.ended || last.is_some_and(|last| last >= msn) {
            return Ok(());
        }
        if msn > last.map_or(1, |last| last + 2) {
            return Err(ApiError::BadRequest(format!(
                "_HLS_msn={msn} is more than two segments past the playlist's last ({}): reload the playlist without it",
                last.map_or_else(|| "none".to_owned(), |l| l.to_string())
            )));
        }
        let part_exists = reload.part.is_some_and(|part| {
            edge.open_segment > msn || (edge.open_segment == msn && edge.open_parts > part)
        });
        if part_exists {
            return Ok(());
        }
        let deadline = *deadline.get_or_insert_with(|| {
            tokio::time::Instant::now() + Duration::from_secs(3 * edge.target_duration.max(1))
        });
        held.get_or_insert_with(|| Held::new(metrics::BLOCKING_RELOADS_WAITING));
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            // The stream's window is gone: answer with what there is.
            Ok(Err(_)) => return Ok(()),
            Err(_) => {
                return Err(ApiError::NotYet(format!(
                    "segment {msn} part {:?} did not appear in three target durations: reload the playlist",
                    reload.part
                )));
            }
        }
    }
}

/// A name, or a rendition's directory and a name in it: nothing deeper.
fn is_object_path(path: &str) -> bool {
    match path.split_once('/') {
        None => is_object_name(path),
        Some((rendition, name)) => is_object_name(rendition) && is_object_name(name),
    }
}

/// Names the packager gives objects (`index.m3u8`, `init-3.mp4`,
/// `seg-12.m4s`): one path segment of a safe charset. Anything else, such
/// as a decoded `%2F` or `..`, is refused before it reaches the window.
fn is_object_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn cache_control(policy: CachePolicy) -> HeaderValue {
    HeaderValue::from_static(match policy {
        // About half a segment: an edge cache answers a crowd of players
        // with one origin fetch, and players still see each new segment
        // within a second of it appearing.
        CachePolicy::LivePlaylist => "public, max-age=1",
        // Ended, but the name is reused: if the stream goes live again, a
        // new playlist replaces this one at the same URL. A short lifetime
        // still coalesces viewers arriving together, without hiding the
        // next broadcast for long.
        CachePolicy::FinalPlaylist => "public, max-age=10",
        // Segment names are never reused.
        CachePolicy::Immutable => "public, max-age=31536000, immutable",
        // Replaced in place: caches keep it until the next one is due.
        CachePolicy::Refreshed { max_age_secs, .. } => {
            // Digits and ASCII only: always a valid header value.
            return HeaderValue::from_str(&format!("public, max-age={max_age_secs}"))
                .unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
        }
    })
}

/// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(time: std::time::SystemTime) -> HeaderValue {
    let time: chrono::DateTime<chrono::Utc> = time.into();
    HeaderValue::from_str(&time.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use nova_media::{LiveEdge, LivePlayback, PlaybackObject, StreamId};
    use tokio::sync::watch;
    use tokio::time::Instant;

    use super::{Reload, blocking_reload, is_object_name, is_object_path, may_come, preload_hint};
    use crate::error::ApiError;

    /// A live window whose edge the test moves by hand.
    struct Edge {
        edge: Mutex<LiveEdge>,
        changes: watch::Sender<()>,
    }

    impl Edge {
        fn new(last_segment: u64, open_parts: u32) -> Self {
            Self {
                edge: Mutex::new(LiveEdge {
                    last_segment: Some(last_segment),
                    open_segment: last_segment + 1,
                    open_parts,
                    target_duration: 2,
                    ended: false,
                    next_part: Some(part_name(last_segment + 1, open_parts)),
                }),
                changes: watch::Sender::new(()),
            }
        }

        fn part_done(&self) {
            let mut edge = self.edge.lock().unwrap();
            edge.open_parts += 1;
            edge.next_part = Some(part_name(edge.open_segment, edge.open_parts));
            drop(edge);
            self.changes.send_replace(());
        }
    }

    fn part_name(segment: u64, index: u32) -> String {
        format!("run-{segment}.{index}.m4s")
    }

    impl LivePlayback for Edge {
        /// The open segment's parts exist, nothing else.
        fn get(&self, _: StreamId, name: &str) -> Option<PlaybackObject> {
            let edge = self.edge.lock().unwrap();
            (0..edge.open_parts)
                .any(|i| name == format!("source/{}", part_name(edge.open_segment, i)))
                .then(|| PlaybackObject {
                    body: bytes::Bytes::from_static(b"part"),
                    content_type: "video/mp4",
                    cache: nova_media::CachePolicy::Immutable,
                })
        }

        fn live_edge(&self, _: StreamId, _: &str) -> Option<LiveEdge> {
            Some(self.edge.lock().unwrap().clone())
        }

        fn changes(&self, _: StreamId) -> Option<watch::Receiver<()>> {
            Some(self.changes.subscribe())
        }
    }

    async fn ask(edge: &Edge, msn: Option<u64>, part: Option<u32>) -> Result<(), ApiError> {
        let stream = StreamId::new_random();
        blocking_reload(edge, stream, "source/index.m3u8", Reload { msn, part }).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_blocked_reload_answers_when_the_part_appears() {
        let edge = std::sync::Arc::new(Edge::new(4, 1));
        let start = Instant::now();
        // Part 0 of segment 5 exists: no wait.
        ask(&edge, Some(5), Some(0)).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        // Part 2 comes after two more parts, 400 ms apart.
        let producer = {
            let edge = edge.clone();
            tokio::spawn(async move {
                for _ in 0..2 {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    edge.part_done();
                }
            })
        };
        ask(&edge, Some(5), Some(2)).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(800));
        producer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_hinted_part_is_served_as_soon_as_it_exists() {
        let edge = std::sync::Arc::new(Edge::new(4, 1));
        let stream = StreamId::new_random();
        let start = Instant::now();
        // A part that will never come (its segment closed): none, at once.
        let other = preload_hint(edge.as_ref(), stream, "source/run-4.3.m4s").await;
        assert!(matches!(other, Ok(None)));
        assert_eq!(start.elapsed(), Duration::ZERO);
        let producer = {
            let edge = edge.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                edge.part_done();
            })
        };
        let hinted = preload_hint(edge.as_ref(), stream, "source/run-5.1.m4s").await;
        assert!(matches!(hinted, Ok(Some(_))), "{hinted:?}");
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        producer.await.unwrap();
        // The next hint never comes: 503 after three target durations.
        let never = preload_hint(edge.as_ref(), stream, "source/run-5.2.m4s").await;
        assert!(matches!(never, Err(ApiError::NotYet(_))), "{never:?}");
        assert_eq!(start.elapsed(), Duration::from_millis(6_300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_part_that_never_comes_is_503_after_three_target_durations() {
        let edge = Edge::new(4, 1);
        let start = Instant::now();
        let result = ask(&edge, Some(5), Some(3)).await;
        assert!(matches!(result, Err(ApiError::NotYet(_))), "{result:?}");
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn asking_too_far_ahead_or_for_a_part_alone_is_400() {
        let edge = Edge::new(4, 1);
        assert!(matches!(
            ask(&edge, Some(7), None).await,
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            ask(&edge, None, Some(1)).await,
            Err(ApiError::BadRequest(_))
        ));
        // A complete segment is there already.
        ask(&edge, Some(4), None).await.unwrap();
    }

    #[test]
    fn accepts_packager_names_only() {
        for good in ["index.m3u8", "seg-12.m4s", "init_3.mp4", "a.ts"] {
            assert!(is_object_name(good), "{good}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "a/b",
            "a\\b",
            "seg..m4s",
            "x%2Fy",
            "ü.ts",
            &"a".repeat(129),
        ] {
            assert!(!is_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn accepts_one_rendition_directory_at_most() {
        for good in ["master.m3u8", "source/index.m3u8", "audio/r-1.m4s"] {
            assert!(is_object_path(good), "{good}");
        }
        for bad in [
            "a/b/c",
            "/index.m3u8",
            "source/",
            "../x",
            "source/../x",
            "a//b",
        ] {
            assert!(!is_object_path(bad), "{bad}");
        }
    }

    #[test]
    fn parts_ahead_of_the_hint_may_come_and_parts_of_closed_segments_may_not() {
        let edge = Edge::new(22, 1).edge.into_inner().unwrap();
        assert!(may_come(&part_name(23, 1), &edge), "the hinted part");
        assert!(
            may_come(&part_name(23, 2), &edge),
            "later in the open segment"
        );
        assert!(
            may_come(&part_name(24, 0), &edge),
            "the next segment's first"
        );
        assert!(!may_come(&part_name(23, 0), &edge), "exists or never will");
        assert!(!may_come(&part_name(22, 3), &edge), "a closed segment's");
        assert!(!may_come(&part_name(24, 1), &edge), "too far ahead");
        assert!(!may_come("other-23.2.m4s", &edge), "another run's");
        assert!(!may_come("run-23.m4s", &edge), "a segment, not a part");
    }
}
