//! What clients send to the super chat routes, and the rules it must follow
//! before it reaches SQL (the schema enforces the same limits as a backstop).

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::currency::Currency;
use super::tiers::MESSAGE_MAX_CHARS;
use crate::error::{ApiError, FieldError};

/// The largest amount one super chat may carry, so per-currency sums of a
/// stream stay far inside a bigint: ten billion dollars in cents.
pub(crate) const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
const REFERENCE_MAX_LEN: usize = 255;
const IDEMPOTENCY_KEY_MAX_LEN: usize = 255;
/// References this API derives start with this; clients may not use it, so
/// theirs can never collide with a derived one.
const DERIVED_REFERENCE_PREFIX: &str = "nova-sc-";
const PIN_MAX_SECONDS: u32 = 86_400;

/// `POST /api/v1/streams/{id}/super-chats`. The amount is a JSON integer:
/// `5.0` and `"500"` are refused, so no float ever touches money.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSuperChatBody {
    /// In minor units of `currency` (cents for USD, yen for JPY): a
    /// positive integer. The amount's tier decides colour, pin time and
    /// message length.
    #[schema(minimum = 1, maximum = 1e12, example = 500)]
    pub amount_minor: i64,
    /// ISO 4217 code of money in circulation, upper case.
    #[schema(example = "USD", pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// Shown with the super chat; its tier limits its length.
    #[serde(default)]
    pub message: Option<String>,
    /// The payment provider's id of the captured payment. Left out, the
    /// API derives one from you and the `Idempotency-Key`.
    #[serde(default)]
    pub payment_reference: Option<String>,
}

/// A super chat request that passed the rules that do not depend on tiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewSuperChat {
    pub amount_minor: i64,
    pub currency: Currency,
    /// Trimmed; empty when there is none.
    pub message: String,
    pub payment_reference: String,
}

impl NewSuperChatBody {
    /// Every problem at once. `sender` and `key` derive the payment
    /// reference when the client sends none, so a retry derives the same.
    pub fn validate(self, sender: Uuid, key: &IdempotencyKey) -> Result<NewSuperChat, ApiError> {
        let mut errors = Vec::new();
        if !(1..=MAX_AMOUNT_MINOR).contains(&self.amount_minor) {
            errors.push(FieldError::new(
                &["amount_minor"],
                format!(
                    "must be a positive whole number of minor units (cents for USD), at most \
                     {MAX_AMOUNT_MINOR}; it was {}",
                    self.amount_minor
                ),
            ));
        }
        let currency = Currency::find(&self.currency);
        if currency.is_none() {
            let upper = self.currency.to_ascii_uppercase();
            let detail = if Currency::find(&upper).is_some() {
                format!("ISO 4217 codes are upper case: send {upper:?}")
            } else {
                format!(
                    "{:?} is not the ISO 4217 code of a currency in circulation: send three \
                     upper-case letters such as \"USD\" or \"EUR\"",
                    self.currency
                )
            };
            errors.push(FieldError::new(&["currency"], detail));
        }
        // Surrounding whitespace is an artifact of typing, not content.
        let message = self.message.unwrap_or_default().trim().to_owned();
        let message_chars = message.chars().count();
        if message_chars > MESSAGE_MAX_CHARS {
            errors.push(FieldError::new(
                &["message"],
                format!("must be at most {MESSAGE_MAX_CHARS} characters (it has {message_chars})"),
            ));
        }
        if message.chars().any(char::is_control) {
            errors.push(FieldError::new(
                &["message"],
                "must be one line without control characters",
            ));
        }
        let payment_reference = match self.payment_reference {
            None => key.derived_reference(sender),
            Some(reference) => {
                if let Some(problem) = reference_problem(&reference) {
                    errors.push(FieldError::new(&["payment_reference"], problem));
                }
                reference
            }
        };
        match currency {
            Some(currency) if errors.is_empty() => Ok(NewSuperChat {
                amount_minor: self.amount_minor,
                currency,
                message,
                payment_reference,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

fn reference_problem(reference: &str) -> Option<String> {
    if reference.is_empty()
        || reference.len() > REFERENCE_MAX_LEN
        || !reference.bytes().all(|b| b.is_ascii_graphic())
    {
        return Some(format!(
            "must be 1 to {REFERENCE_MAX_LEN} visible ASCII characters (letters, digits, \
             punctuation; no spaces): your payment provider's id of the payment"
        ));
    }
    reference.starts_with(DERIVED_REFERENCE_PREFIX).then(|| {
        format!(
            "references starting with {DERIVED_REFERENCE_PREFIX:?} are reserved for the ones \
             this API derives: leave payment_reference out to get one"
        )
    })
}

/// The `Idempotency-Key` header: the client's name for one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IdempotencyKey(pub String);

impl IdempotencyKey {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let mut values = headers.get_all("idempotency-key").iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(ApiError::BadRequest(
                "send one `Idempotency-Key` header naming this payment (a UUID you generate \
                 works): repeating the request with the same key returns the same super chat \
                 instead of paying twice"
                    .to_owned(),
            ));
        };
        let bytes = value.as_bytes();
        if bytes.is_empty()
            || bytes.len() > IDEMPOTENCY_KEY_MAX_LEN
            || !bytes.iter().all(u8::is_ascii_graphic)
        {
            return Err(ApiError::BadRequest(format!(
                "the `Idempotency-Key` header must be 1 to {IDEMPOTENCY_KEY_MAX_LEN} visible ASCII \
                 characters (no spaces); a UUID works"
            )));
        }
        Ok(Self(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// `nova-sc-` and the hex SHA-256 of the sender's id and the key: the
    /// same for every retry, distinct across senders, and short enough
    /// for the column whatever the key's length.
    pub fn derived_reference(&self, sender: Uuid) -> String {
        let mut digest = Sha256::new();
        digest.update(sender.as_bytes());
        digest.update(self.0.as_bytes());
        let hex: String = digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{DERIVED_REFERENCE_PREFIX}{hex}")
    }
}

/// `POST .../super-chats/{super_chat_id}/pin`; the body is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinBody {
    /// How long to pin, 1 to 86400 seconds. Left out: the tier's pin time,
    /// or 60 seconds for tiers that are not pinned on their own.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub duration_seconds: Option<u32>,
}

impl PinBody {
    pub fn validate(&self) -> Result<Option<u32>, ApiError> {
        match self.duration_seconds {
            Some(seconds) if !(1..=PIN_MAX_SECONDS).contains(&seconds) => {
                Err(ApiError::Validation(vec![FieldError::new(
                    &["duration_seconds"],
                    format!("must be 1 to {PIN_MAX_SECONDS} seconds (it was {seconds})"),
                )]))
            }
            seconds => Ok(seconds),
        }
    }
}

/// A JSON body that may be left out: an empty body (or `null`) is `None`.
/// A body that is there must be JSON, as `ApiJson` requires.
pub(crate) fn optional_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            let essence = value.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json")
                || essence.to_ascii_lowercase().ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON, with `Content-Type: application/json`, or send none".to_owned(),
        ));
    }
    axum::Json::<Option<T>>::from_bytes(body)
        .map(|axum::Json(value)| value)
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn body(amount: i64, currency: &str, message: Option<&str>) -> NewSuperChatBody {
        NewSuperChatBody {
            amount_minor: amount,
            currency: currency.to_owned(),
            message: message.map(str::to_owned),
            payment_reference: None,
        }
    }

    fn key() -> IdempotencyKey {
        IdempotencyKey("key-1".to_owned())
    }

    fn pointers(result: Result<NewSuperChat, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn accepts_a_plain_super_chat_and_derives_its_reference() {
        let sender = Uuid::new_v4();
        let chat = body(500, "USD", Some("  hi  "))
            .validate(sender, &key())
            .unwrap();
        assert_eq!(chat.message, "hi");
        assert_eq!(chat.currency.code, "USD");
        assert_eq!(chat.payment_reference, key().derived_reference(sender));
        assert!(
            chat.payment_reference.starts_with("nova-sc-") && chat.payment_reference.len() == 72
        );
        assert_ne!(
            key().derived_reference(sender),
            key().derived_reference(Uuid::new_v4())
        );
    }

    #[test]
    fn reports_every_bad_field() {
        let mut bad = body(0, "usd", Some("a\u{7}b"));
        bad.payment_reference = Some("has space".to_owned());
        assert_eq!(
            pointers(bad.validate(Uuid::new_v4(), &key())),
            [
                "#/amount_minor",
                "#/currency",
                "#/message",
                "#/payment_reference"
            ]
        );
        assert_eq!(
            pointers(body(MAX_AMOUNT_MINOR + 1, "USD", None).validate(Uuid::new_v4(), &key())),
            ["#/amount_minor"]
        );
        assert_eq!(
            pointers(body(-5, "XAU", Some(&"x".repeat(501))).validate(Uuid::new_v4(), &key())),
            ["#/amount_minor", "#/currency", "#/message"]
        );
    }

    #[test]
    fn derived_references_are_reserved() {
        let mut taken = body(500, "USD", None);
        taken.payment_reference = Some("nova-sc-abc".to_owned());
        assert_eq!(
            pointers(taken.validate(Uuid::new_v4(), &key())),
            ["#/payment_reference"]
        );
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        let with = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", HeaderValue::from_bytes(value).unwrap());
            IdempotencyKey::from_headers(&headers)
        };
        assert_eq!(
            with(b"abc-123").unwrap(),
            IdempotencyKey("abc-123".to_owned())
        );
        assert!(with(&[b'k'; 255]).is_ok());
        assert!(with(&[b'k'; 256]).is_err());
        assert!(with(b"a b").is_err());
        assert!(with(b"").is_err());
        assert!(with("é".as_bytes()).is_err());
        assert!(IdempotencyKey::from_headers(&HeaderMap::new()).is_err());
        let mut twice = HeaderMap::new();
        twice.append("idempotency-key", HeaderValue::from_static("a"));
        twice.append("idempotency-key", HeaderValue::from_static("b"));
        assert!(IdempotencyKey::from_headers(&twice).is_err());
    }

    #[test]
    fn pin_durations_are_bounded() {
        let pin = |seconds| PinBody {
            duration_seconds: seconds,
        };
        assert_eq!(pin(None).validate().unwrap(), None);
        assert_eq!(pin(Some(1)).validate().unwrap(), Some(1));
        assert_eq!(pin(Some(86_400)).validate().unwrap(), Some(86_400));
        assert!(pin(Some(0)).validate().is_err());
        assert!(pin(Some(86_401)).validate().is_err());
    }

    #[test]
    fn optional_bodies_may_be_empty_or_null_but_not_another_type() {
        let json = {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers
        };
        let parse = |headers: &HeaderMap, body: &'static str| {
            optional_json::<PinBody>(headers, &Bytes::from_static(body.as_bytes()))
        };
        assert!(parse(&HeaderMap::new(), "").unwrap().is_none());
        assert!(parse(&json, "null").unwrap().is_none());
        assert_eq!(
            parse(&json, r#"{"duration_seconds": 5}"#)
                .unwrap()
                .unwrap()
                .duration_seconds,
            Some(5)
        );
        assert!(matches!(
            parse(&HeaderMap::new(), "{}"),
            Err(ApiError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse(&json, r#"{"seconds": 5}"#),
            Err(ApiError::Validation(_))
        ));
    }
}
