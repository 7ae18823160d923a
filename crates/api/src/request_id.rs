//! Every request gets an id, `x-request-id`: the client's (a proxy's or a
//! load balancer's, so one id follows the request through every tier) when
//! it is sane, else a new UUID. The request log's span carries it and the
//! response returns it, so a user's report can be matched to the log.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longer ids are replaced: an id is copied into every log line of its
/// request, so a client must not choose how big those get.
const MAX_LEN: usize = 128;

/// Replaces a missing or unusable `x-request-id` before anything reads it,
/// and returns the one used on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(&REQUEST_ID) {
        Some(given) if is_sane(given) => given.clone(),
        _ => {
            let made = HeaderValue::from_str(&Uuid::new_v4().to_string())
                .expect("a UUID is a valid header value");
            request.headers_mut().insert(REQUEST_ID, made.clone());
            made
        }
    };
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// The request's id; [`assign`] has made sure there is one.
pub fn of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default()
}

/// Visible ASCII only (no spaces, no control characters that could forge
/// log lines), and not too long.
fn is_sane(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_ascii_up_to_the_limit_is_kept_and_anything_else_replaced() {
        let sane = |s: &str| is_sane(&HeaderValue::from_str(s).unwrap());
        assert!(sane("abc-123"));
        assert!(sane("01HZX3J5T7Q9R2M4N6P8S0V1W3"));
        assert!(sane(&"a".repeat(MAX_LEN)));
        assert!(!sane(&"a".repeat(MAX_LEN + 1)));
        assert!(!sane(""));
        assert!(!sane("two words"));
        assert!(!sane("tab\there"));
        assert!(!is_sane(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()));
    }
}
