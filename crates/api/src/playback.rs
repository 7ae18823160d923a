//! `GET /live/{stream}/{*path}`: the live window (playlists, MPD and
//! segments) straight from memory, with the cache headers that let an edge
//! cache or CDN take the load off the origin. `path` is a name (the muxed
//! rendition, `master.m3u8`, `manifest.mpd`) or `{rendition}/{name}`.

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nova_media::{CachePolicy, StreamId};

use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/live/{stream}/{*path}", get(live_object))
}

async fn live_object(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    match find(&state, path) {
        Ok(object) => {
            let mut response = object.body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(object.content_type),
            );
            headers.insert(header::CACHE_CONTROL, cache_control(object.cache));
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

fn find(
    state: &AppState,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<nova_media::PlaybackObject, ApiError> {
    let Path((stream, name)) =
        path.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let not_found = || ApiError::NotFound(format!("no {name:?} in stream {stream:?} right now"));
    let stream_id: StreamId = stream.parse().map_err(|_| not_found())?;
    if !is_object_path(&name) {
        return Err(ApiError::BadRequest(format!(
            "{name:?} is not a playback object name: use the names the playlist lists"
        )));
    }
    state.playback.get(stream_id, &name).ok_or_else(not_found)
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
    })
}

#[cfg(test)]
mod tests {
    use super::{is_object_name, is_object_path};

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
}
