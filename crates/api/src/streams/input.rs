//! What clients may send, and the rules it must follow before it reaches SQL
//! (the schema enforces the same limits as a backstop).

use serde::Deserialize;
use serde_json::Value;

use super::body::{nullable_object, optional_object};
use crate::access::Visibility;
use crate::error::{ApiError, FieldError};
use crate::stream_settings::{SettingsChange, SettingsPatch, nullable};

pub(crate) const TITLE_MAX_CHARS: usize = 200;
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 5000;

/// `POST /api/v1/streams`. Unknown fields are refused: a misspelt optional
/// field would otherwise be dropped without a word.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateStreamBody {
    /// 1 to 200 characters, one line.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Up to 5000 characters.
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// Who can see the stream (default `public`).
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// The stream's own settings; left out, the server's defaults apply.
    #[serde(default, deserialize_with = "optional_object")]
    pub settings: Option<SettingsPatch>,
}

/// A create request that passed validation.
#[derive(Debug)]
pub(crate) struct NewStream {
    pub title: String,
    pub description: String,
    pub visibility: Visibility,
    /// The stored `settings` object.
    pub settings: Value,
}

impl CreateStreamBody {
    /// Every problem at once, so a form can mark all bad fields together.
    pub fn validate(self) -> Result<NewStream, ApiError> {
        let mut errors = Vec::new();
        let title = check_title(&self.title, &mut errors);
        let description = self.description.unwrap_or_default();
        check_description(&description, &mut errors);
        let settings = self
            .settings
            .unwrap_or_default()
            .validate(&["settings"], &mut errors);
        match settings {
            Some(settings) if errors.is_empty() => Ok(NewStream {
                title,
                description,
                visibility: self.visibility.unwrap_or_default(),
                settings: settings.into_new_settings(),
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// `PATCH /api/v1/streams/{id}`: only the fields present change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateStreamBody {
    /// 1 to 200 characters, one line. Owner or co-host.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200)]
    pub title: Option<Option<String>>,
    /// Up to 5000 characters; `null` empties it. Owner or co-host.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    /// Owner only.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Visibility, required = false)]
    pub visibility: Option<Option<Visibility>>,
    /// Owner only. Keys left out keep their values, `null` keys go back to
    /// the server's default, and `"settings": null` resets them all.
    #[serde(default, deserialize_with = "nullable_object")]
    #[schema(value_type = Option<SettingsPatch>)]
    pub settings: Option<Option<SettingsPatch>>,
}

/// A PATCH that passed validation: `None` keeps the current value.
#[derive(Debug, Default)]
pub(crate) struct StreamChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
    pub settings: Option<SettingsChange>,
}

impl UpdateStreamBody {
    /// Visibility or settings: what only the owner may change (co-hosts
    /// may change the rest).
    pub fn changes_settings(&self) -> bool {
        self.visibility.is_some() || self.settings.is_some()
    }

    pub fn validate(self) -> Result<StreamChanges, ApiError> {
        let mut errors = Vec::new();
        let title = match self.title {
            None => None,
            Some(None) => {
                errors.push(FieldError::new(
                    &["title"],
                    "must be a string: a stream always has a title (leave the field out to keep it)",
                ));
                None
            }
            Some(Some(title)) => Some(check_title(&title, &mut errors)),
        };
        let description = self.description.map(|description| {
            let description = description.unwrap_or_default();
            check_description(&description, &mut errors);
            description
        });
        let visibility = match self.visibility {
            None => None,
            Some(None) => {
                errors.push(FieldError::new(
                    &["visibility"],
                    "must be public, unlisted or private (leave the field out to keep it)",
                ));
                None
            }
            Some(Some(visibility)) => Some(visibility),
        };
        let settings = match self.settings {
            None => None,
            Some(None) => Some(SettingsChange::reset()),
            Some(Some(patch)) => patch.validate(&["settings"], &mut errors),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(StreamChanges {
            title,
            description,
            visibility,
            settings,
        })
    }
}

/// `POST /api/v1/streams/{id}/reset-stream-key`; the body may be left out.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetStreamKeyBody {
    /// Disconnect the encoder publishing now (default `true`: a key is
    /// reset because it leaked, and whoever holds it should not keep the
    /// stream). The stream stays live for the reconnect window, so an
    /// encoder that comes back with the new key continues the same
    /// broadcast. `false` lets the current encoder go on until it
    /// reconnects, which needs the new key.
    #[serde(default = "disconnect_by_default")]
    #[schema(default = true)]
    pub disconnect_publisher: bool,
}

impl Default for ResetStreamKeyBody {
    fn default() -> Self {
        Self {
            disconnect_publisher: disconnect_by_default(),
        }
    }
}

fn disconnect_by_default() -> bool {
    true
}

/// Trimmed: surrounding whitespace is an artifact of copy and paste, not intent.
fn check_title(title: &str, errors: &mut Vec<FieldError>) -> String {
    let title = title.trim().to_owned();
    let chars = title.chars().count();
    if chars == 0 {
        errors.push(FieldError::new(&["title"], "must not be empty or blank"));
    } else if chars > TITLE_MAX_CHARS {
        errors.push(FieldError::new(
            &["title"],
            format!("must be at most {TITLE_MAX_CHARS} characters (it has {chars})"),
        ));
    }
    if title.chars().any(char::is_control) {
        errors.push(FieldError::new(
            &["title"],
            "must be one line without control characters",
        ));
    }
    title
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    let chars = description.chars().count();
    if chars > DESCRIPTION_MAX_CHARS {
        errors.push(FieldError::new(
            &["description"],
            format!("must be at most {DESCRIPTION_MAX_CHARS} characters (it has {chars})"),
        ));
    }
    // Line breaks and tabs are text; other control characters (NUL above
    // all, which PostgreSQL text cannot store) are not.
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            &["description"],
            "must not contain control characters other than line breaks and tabs",
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(title: &str, description: Option<&str>) -> CreateStreamBody {
        CreateStreamBody {
            title: title.to_owned(),
            description: description.map(str::to_owned),
            visibility: None,
            settings: None,
        }
    }

    fn pointers<T: std::fmt::Debug>(result: Result<T, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn update(body: serde_json::Value) -> UpdateStreamBody {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn trims_the_title_and_defaults_the_rest() {
        let stream = body("  Morning show \n", None).validate().unwrap();
        assert_eq!(stream.title, "Morning show");
        assert_eq!(stream.description, "");
        assert_eq!(stream.visibility, Visibility::Public);
        assert_eq!(stream.settings, json!({}));
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
        let mut bad = body("   ", Some(&"x".repeat(5001)));
        bad.settings = Some(
            serde_json::from_value(json!({ "profile": "NO", "dvr_window_seconds": -5 })).unwrap(),
        );
        assert_eq!(
            pointers(bad.validate()),
            [
                "#/title",
                "#/description",
                "#/settings/profile",
                "#/settings/dvr_window_seconds"
            ]
        );
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

    #[test]
    fn an_update_tells_absent_from_null() {
        let empty = update(json!({}));
        assert!(!empty.changes_settings());
        let changes = empty.validate().unwrap();
        assert!(changes.title.is_none() && changes.description.is_none());
        assert!(changes.visibility.is_none() && changes.settings.is_none());

        let cleared = update(json!({ "description": null, "settings": null }))
            .validate()
            .unwrap();
        assert_eq!(cleared.description.as_deref(), Some(""));
        assert_eq!(cleared.settings, Some(SettingsChange::reset()));

        assert_eq!(
            pointers(update(json!({ "title": null, "visibility": null })).validate()),
            ["#/title", "#/visibility"]
        );
    }

    #[test]
    fn an_update_says_which_permission_it_needs() {
        let details = update(json!({ "title": "New" }));
        assert!(!details.changes_settings());
        let description = update(json!({ "description": null }));
        assert!(!description.changes_settings());
        let settings = update(json!({ "settings": { "latency_mode": "low" } }));
        assert!(settings.changes_settings());
        let visibility = update(json!({ "visibility": "private" }));
        assert!(visibility.changes_settings());
    }

    #[test]
    fn an_update_validates_every_field_at_once() {
        let result = update(json!({
            "title": " ",
            "description": "\u{1}",
            "settings": { "latency_mode": "ultra" }
        }))
        .validate();
        assert_eq!(
            pointers(result),
            ["#/title", "#/description", "#/settings/latency_mode"]
        );
    }
}
