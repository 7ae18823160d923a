//! What clients may send, and the rules it must follow before it reaches SQL
//! (the schema enforces the same limits as a backstop).

use serde::Deserialize;

use crate::error::{ApiError, FieldError};
use crate::stream_settings::StreamOverrides;

pub(crate) const TITLE_MAX_CHARS: usize = 200;
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 5000;

/// `POST /api/v1/streams`. Unknown fields are refused: a misspelt optional
/// field would otherwise be dropped without a word.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateStreamBody {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub settings: Option<StreamOverrides>,
}

/// A create request that passed validation.
#[derive(Debug)]
pub(crate) struct NewStream {
    pub title: String,
    pub description: String,
    pub settings: StreamOverrides,
}

impl CreateStreamBody {
    /// Every problem at once, so a form can mark all bad fields together.
    pub fn validate(self) -> Result<NewStream, ApiError> {
        let mut errors = Vec::new();
        // Surrounding whitespace is an artifact of copy and paste, not intent.
        let title = self.title.trim().to_owned();
        let title_chars = title.chars().count();
        if title_chars == 0 {
            errors.push(FieldError::new(&["title"], "must not be empty or blank"));
        } else if title_chars > TITLE_MAX_CHARS {
            errors.push(FieldError::new(
                &["title"],
                format!("must be at most {TITLE_MAX_CHARS} characters (it has {title_chars})"),
            ));
        }
        if title.chars().any(char::is_control) {
            errors.push(FieldError::new(
                &["title"],
                "must be one line without control characters",
            ));
        }

        let description = self.description.unwrap_or_default();
        let description_chars = description.chars().count();
        if description_chars > DESCRIPTION_MAX_CHARS {
            errors.push(FieldError::new(
                &["description"],
                format!(
                    "must be at most {DESCRIPTION_MAX_CHARS} characters (it has {description_chars})"
                ),
            ));
        }
        // Line breaks and tabs are text; other control characters (NUL
        // above all, which PostgreSQL text cannot store) are not.
        if description
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            errors.push(FieldError::new(
                &["description"],
                "must not contain control characters other than line breaks and tabs",
            ));
        }

        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(NewStream {
            title,
            description,
            settings: self.settings.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(title: &str, description: Option<&str>) -> CreateStreamBody {
        CreateStreamBody {
            title: title.to_owned(),
            description: description.map(str::to_owned),
            settings: None,
        }
    }

    fn pointers(result: Result<NewStream, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn trims_the_title_and_defaults_the_rest() {
        let stream = body("  Morning show \n", None).validate().unwrap();
        assert_eq!(stream.title, "Morning show");
        assert_eq!(stream.description, "");
        assert_eq!(stream.settings, StreamOverrides::default());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(
            body(&"é".repeat(200), Some(&"ü".repeat(5000)))
                .validate()
                .is_ok()
        );
        assert_eq!(
            pointers(body(&"é".repeat(201), None).validate()),
            ["#/title"]
        );
    }

    #[test]
    fn reports_every_bad_field() {
        let result = body("   ", Some(&"x".repeat(5001))).validate();
        assert_eq!(pointers(result), ["#/title", "#/description"]);
    }

    #[test]
    fn refuses_control_characters() {
        assert_eq!(pointers(body("a\u{0}b", None).validate()), ["#/title"]);
        assert_eq!(
            pointers(body("ok", Some("a\u{0}b")).validate()),
            ["#/description"]
        );
        assert!(
            body("ok", Some("line one\nline two\ttab"))
                .validate()
                .is_ok()
        );
    }
}
