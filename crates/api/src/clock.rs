//! `GET /api/v1/clock`: the server's wall clock as an xs:dateTime, the
//! `urn:mpeg:dash:utc:http-xsdate:2014` scheme of ISO/IEC 23009-1 §5.8.5.7.
//!
//! DASH players place the live edge of a dynamic MPD by the clock its
//! `UTCTiming` names. The MPD's times come from this server's clock, so
//! players synchronise to it rather than to a public time server (which
//! they may not be able to reach).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{SecondsFormat, Utc};

use crate::state::AppState;

pub(crate) const CLOCK_PATH: &str = "/api/v1/clock";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route(CLOCK_PATH, get(clock))
}

async fn clock() -> Response {
    let mut response = now_text().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    // Every answer is a new time: no cache may keep one.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::now_text;

    #[test]
    fn answers_an_xs_date_time_in_utc() {
        let text = now_text();
        let parsed = chrono::DateTime::parse_from_rfc3339(&text).unwrap();
        assert!(text.ends_with('Z'), "{text}");
        let skew = (chrono::Utc::now() - parsed.to_utc()).num_seconds().abs();
        assert!(skew < 60, "{text}");
    }
}
