//! The JSON body extractor of the API: axum's `Json`, with its rejections
//! turned into problem documents instead of plain text.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;

use crate::error::{ApiError, FieldError};

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            // Well-formed JSON of the wrong shape: a field is wrong, so say which.
            JsonRejection::JsonDataError(error) => {
                ApiError::Validation(vec![data_error_field(&error)])
            }
            JsonRejection::JsonSyntaxError(error) => {
                ApiError::BadRequest(format!("the body is not valid JSON: {}", innermost(&error)))
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON, with `Content-Type: application/json`".to_owned(),
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge("the request body is too large".to_owned())
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

/// axum keeps serde_path_to_error's error (which knows where in the document
/// deserialization failed) as the source of its rejection; a pointer to the
/// document root is the fallback should that ever change.
fn data_error_field(error: &(dyn std::error::Error + 'static)) -> FieldError {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(located) =
            current.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>()
        {
            let path: Vec<String> = located
                .path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            return FieldError::new(&path, without_position(&located.inner().to_string()));
        }
        cause = current.source();
    }
    FieldError::new(&[], innermost(error))
}

/// serde_json's message without its "at line 1 column 9" suffix: the
/// pointer already says where, and columns mean nothing to most clients.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
