//! What clients may send to the webhook routes, checked before SQL (the
//! schema repeats the URL and event-type rules as a backstop).

use std::net::IpAddr;

use reqwest::Url;
use serde::Deserialize;

use super::destination::{check_host, is_loopback_name};
use super::outbox::WebhookEvent;
use crate::error::{ApiError, FieldError};

pub(crate) const URL_MAX_CHARS: usize = 2000;

/// `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateWebhookBody {
    /// Where deliveries are POSTed: `https://…` on a public address.
    /// Loopback, private, link-local and metadata destinations are refused,
    /// here and again at each delivery (on the address connected to), unless
    /// the operator allows private destinations for development; then plain
    /// `http://` is accepted for loopback hosts (`localhost`, `127.0.0.0/8`,
    /// `[::1]`) too.
    #[schema(example = "https://example.com/hooks/nova")]
    pub url: String,
    /// At least one of `stream.started`, `stream.ended`, `recording.ready`,
    /// `recording.paused`, `recording.resumed`, `super_chat.created`.
    pub event_types: Vec<String>,
}

/// A create request that passed validation.
#[derive(Debug)]
pub(crate) struct NewEndpoint {
    /// As the URL parser writes it back (lower-case scheme and host, …),
    /// which is what deliveries use.
    pub url: String,
    pub event_types: Vec<String>,
}

impl CreateWebhookBody {
    /// `allow_private`: the operator's `--webhooks-allow-private`.
    pub fn validate(self, allow_private: bool) -> Result<NewEndpoint, ApiError> {
        let mut errors = Vec::new();
        let url = match check_url(&self.url, allow_private) {
            Ok(url) => url,
            Err(detail) => {
                errors.push(FieldError::new(&["url"], detail));
                String::new()
            }
        };
        if self.event_types.is_empty() {
            errors.push(FieldError::new(
                &["event_types"],
                format!("must name at least one of {}", event_list()),
            ));
        }
        let mut event_types: Vec<String> = Vec::new();
        for (index, name) in self.event_types.iter().enumerate() {
            match WebhookEvent::parse(name) {
                Some(event) => {
                    // A repeated name is the same subscription.
                    if !event_types.iter().any(|seen| seen == event.as_str()) {
                        event_types.push(event.as_str().to_owned());
                    }
                }
                None => errors.push(FieldError::new(
                    &["event_types", &index.to_string()],
                    format!("{name:?} is not an event type: use one of {}", event_list()),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(NewEndpoint { url, event_types })
    }
}

fn event_list() -> String {
    WebhookEvent::ALL.map(WebhookEvent::as_str).join(", ")
}

fn check_url(text: &str, allow_private: bool) -> Result<String, String> {
    let url = Url::parse(text.trim())
        .map_err(|_| "must be an absolute URL such as https://example.com/hooks/nova".to_owned())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private && is_loopback(&url) => {}
        "http" => return Err("must use https://".to_owned()),
        _ => return Err("must be an https:// URL".to_owned()),
    }
    if url.host().is_none() {
        return Err("must name a host".to_owned());
    }
    // The first line only: names are resolved, and checked, at delivery.
    if !allow_private && url.host_str().is_some_and(is_loopback_name) {
        return Err("must be a public destination, not a loopback name".to_owned());
    }
    if let Err(refused) = check_host(&url, allow_private) {
        return Err(format!(
            "must be a public destination: {}",
            refused.to_string().trim_start_matches("refused: ")
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry credentials: check each delivery's signature instead".to_owned(),
        );
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment: it is never sent to the server".to_owned());
    }
    let normalized = String::from(url);
    let chars = normalized.chars().count();
    if chars > URL_MAX_CHARS {
        return Err(format!(
            "must be at most {URL_MAX_CHARS} characters (it has {chars})"
        ));
    }
    Ok(normalized)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    // IPv6 literals come bracketed, as in the URL.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(url: &str, events: &[&str]) -> CreateWebhookBody {
        CreateWebhookBody {
            url: url.to_owned(),
            event_types: events.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    fn pointers(result: Result<NewEndpoint, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_public_https_and_with_the_development_setting_loopback_http() {
        for url in ["https://example.com/hooks", "HTTPS://Example.COM"] {
            let endpoint = body(url, &["stream.started"]).validate(false).unwrap();
            assert!(endpoint.url.starts_with("https://"), "{url}");
        }
        for url in [
            "http://localhost:3000/hook",
            "http://127.0.0.1:9/x",
            "http://127.8.9.10/x",
            "http://[::1]:8080/",
            "https://10.0.0.1/hook",
        ] {
            let endpoint = body(url, &["stream.started"]).validate(true).unwrap();
            assert!(endpoint.url.starts_with("http"), "{url}");
            assert_eq!(
                pointers(body(url, &["stream.started"]).validate(false)),
                ["#/url"],
                "{url} without the development setting"
            );
        }
        assert_eq!(
            body("HTTPS://Example.COM", &["stream.ended"])
                .validate(false)
                .unwrap()
                .url,
            "https://example.com/"
        );
    }

    #[test]
    fn refuses_other_urls() {
        for url in [
            "http://example.com/hook",
            "http://10.0.0.1/hook",
            "https://10.0.0.1/hook",
            "https://[fd00::1]/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::ffff:169.254.169.254]/",
            "https://metadata.google.internal/",
            "https://localhost/hook",
            "ftp://example.com",
            "example.com/hook",
            "",
            "https://user:pass@example.com/",
            "https://example.com/#frag",
            &format!("https://example.com/{}", "a".repeat(2000)),
        ] {
            assert_eq!(
                pointers(body(url, &["stream.started"]).validate(false)),
                ["#/url"],
                "{url}"
            );
        }
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://metadata.google.internal/",
            "http://10.0.0.1/hook",
        ] {
            assert_eq!(
                pointers(body(url, &["stream.started"]).validate(true)),
                ["#/url"],
                "{url} even with the development setting"
            );
        }
    }

    #[test]
    fn event_types_come_from_the_list_once_each() {
        let endpoint = body(
            "https://example.com",
            &["stream.ended", "recording.ready", "stream.ended"],
        )
        .validate(false)
        .unwrap();
        assert_eq!(endpoint.event_types, ["stream.ended", "recording.ready"]);
        assert_eq!(
            pointers(body("https://example.com", &[]).validate(false)),
            ["#/event_types"]
        );
        assert_eq!(
            pointers(body("ftp://x", &["stream.started", "stream.paused"]).validate(false)),
            ["#/url", "#/event_types/1"]
        );
    }
}
