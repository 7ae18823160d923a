//! What clients may send to the chat API, and the rules it must follow
//! before it reaches SQL (the schema enforces the same limits as a backstop).

use std::collections::BTreeSet;

use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};

pub(crate) const MAX_SLOW_MODE_SECONDS: i64 = 3600;
pub(crate) const MAX_BANNED_WORDS: usize = 500;
pub(crate) const MAX_BANNED_WORD_CHARS: usize = 64;
pub(crate) const MAX_BAN_REASON_CHARS: usize = 500;
/// A year; a ban without `duration_seconds` lasts until it is lifted.
pub(crate) const MAX_BAN_SECONDS: i64 = 365 * 24 * 3600;

/// `POST /api/v1/streams/{id}/chat/messages`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostMessageBody {
    /// One line of text, at most the server's limit (200 characters unless
    /// configured otherwise); surrounding blanks are trimmed.
    pub body: String,
}

impl PostMessageBody {
    /// The message text as stored.
    pub fn validate(self, max_chars: usize) -> Result<String, ApiError> {
        // Surrounding whitespace is an artifact of input fields, not intent.
        let body = self.body.trim().to_owned();
        let chars = body.chars().count();
        let problem = if chars == 0 {
            Some("must not be empty or blank".to_owned())
        } else if chars > max_chars {
            Some(format!(
                "must be at most {max_chars} characters (it has {chars}): shorten it"
            ))
        } else if body.chars().any(char::is_control) {
            Some("must be one line without control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(detail) => Err(ApiError::Validation(vec![FieldError::new(
                &["body"],
                detail,
            )])),
            None => Ok(body),
        }
    }
}

/// `POST /api/v1/streams/{id}/chat/bans`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BanBody {
    pub user_id: Uuid,
    /// Why, for the other moderators (at most 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
    /// How long the ban lasts, 1 to 31536000 (a year). Without it the ban
    /// lasts until it is lifted.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 31536000)]
    pub duration_seconds: Option<i64>,
}

/// A ban request that passed validation.
#[derive(Debug)]
pub(crate) struct NewBan {
    pub user_id: Uuid,
    pub reason: String,
    pub duration_seconds: Option<i64>,
}

impl BanBody {
    pub fn validate(self) -> Result<NewBan, ApiError> {
        let mut errors = Vec::new();
        let reason = self.reason.unwrap_or_default().trim().to_owned();
        let reason_chars = reason.chars().count();
        if reason_chars > MAX_BAN_REASON_CHARS {
            errors.push(FieldError::new(
                &["reason"],
                format!(
                    "must be at most {MAX_BAN_REASON_CHARS} characters (it has {reason_chars})"
                ),
            ));
        }
        if reason.chars().any(char::is_control) {
            errors.push(FieldError::new(
                &["reason"],
                "must be one line without control characters",
            ));
        }
        if let Some(seconds) = self.duration_seconds
            && !(1..=MAX_BAN_SECONDS).contains(&seconds)
        {
            errors.push(FieldError::new(
                &["duration_seconds"],
                format!(
                    "must be between 1 and {MAX_BAN_SECONDS} (a year); leave it out for a ban until lifted"
                ),
            ));
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(NewBan {
            user_id: self.user_id,
            reason,
            duration_seconds: self.duration_seconds,
        })
    }
}

/// `PATCH /api/v1/streams/{id}/chat/settings`: absent fields stay as they are.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChatSettingsPatch {
    /// 0 (off) to 3600.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3600)]
    pub slow_mode_seconds: Option<i64>,
    /// Replaces the list: at most 500 words or phrases of 1 to 64
    /// characters, matched as whole words regardless of case. Stored
    /// lower-case, without duplicates, sorted.
    #[serde(default)]
    pub banned_words: Option<Vec<String>>,
}

/// A settings change that passed validation.
#[derive(Debug, Default)]
pub(crate) struct SettingsChange {
    pub slow_mode_seconds: Option<i32>,
    pub banned_words: Option<Vec<String>>,
}

impl ChatSettingsPatch {
    pub fn validate(self) -> Result<SettingsChange, ApiError> {
        let mut errors = Vec::new();
        let slow_mode_seconds = match self.slow_mode_seconds {
            Some(seconds @ 0..=MAX_SLOW_MODE_SECONDS) => i32::try_from(seconds).ok(),
            Some(_) => {
                errors.push(FieldError::new(
                    &["slow_mode_seconds"],
                    format!("must be between 0 (off) and {MAX_SLOW_MODE_SECONDS}"),
                ));
                None
            }
            None => None,
        };
        let banned_words = self
            .banned_words
            .map(|words| normalize_banned_words(words, &mut errors));
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(SettingsChange {
            slow_mode_seconds,
            banned_words,
        })
    }
}

/// Lower-case, trimmed, without duplicates, sorted; problems go to `errors`.
fn normalize_banned_words(words: Vec<String>, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut normalized = BTreeSet::new();
    for (index, word) in words.iter().enumerate() {
        let word = word.trim().to_lowercase();
        let chars = word.chars().count();
        let index = index.to_string();
        if !(1..=MAX_BANNED_WORD_CHARS).contains(&chars) {
            errors.push(FieldError::new(
                &["banned_words", &index],
                format!("must be 1 to {MAX_BANNED_WORD_CHARS} characters, not blank"),
            ));
        } else if word.chars().any(char::is_control) {
            errors.push(FieldError::new(
                &["banned_words", &index],
                "must not contain control characters",
            ));
        } else {
            normalized.insert(word);
        }
    }
    if normalized.len() > MAX_BANNED_WORDS {
        errors.push(FieldError::new(
            &["banned_words"],
            format!(
                "must hold at most {MAX_BANNED_WORDS} words (it has {} without duplicates)",
                normalized.len()
            ),
        ));
    }
    normalized.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers<T: std::fmt::Debug>(result: Result<T, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    fn message(body: &str) -> PostMessageBody {
        PostMessageBody {
            body: body.to_owned(),
        }
    }

    #[test]
    fn messages_are_trimmed_and_limited_in_characters() {
        assert_eq!(message("  hi  ").validate(5).unwrap(), "hi");
        assert!(message(&"é".repeat(5)).validate(5).is_ok());
        assert_eq!(pointers(message(&"é".repeat(6)).validate(5)), ["#/body"]);
        assert_eq!(pointers(message(" \t ").validate(5)), ["#/body"]);
        assert_eq!(pointers(message("a\nb").validate(5)), ["#/body"]);
        assert_eq!(pointers(message("a\u{0}b").validate(5)), ["#/body"]);
    }

    #[test]
    fn banned_words_are_normalized() {
        let change = ChatSettingsPatch {
            slow_mode_seconds: Some(30),
            banned_words: Some(vec![
                " Spam ".to_owned(),
                "spam".to_owned(),
                "BUY NOW".to_owned(),
            ]),
        }
        .validate()
        .unwrap();
        assert_eq!(change.slow_mode_seconds, Some(30));
        assert_eq!(change.banned_words.unwrap(), ["buy now", "spam"]);
    }

    #[test]
    fn every_bad_setting_is_reported() {
        let patch = ChatSettingsPatch {
            slow_mode_seconds: Some(3601),
            banned_words: Some(vec!["ok".to_owned(), "  ".to_owned(), "x".repeat(65)]),
        };
        assert_eq!(
            pointers(patch.validate()),
            [
                "#/slow_mode_seconds",
                "#/banned_words/1",
                "#/banned_words/2"
            ]
        );
        let negative = ChatSettingsPatch {
            slow_mode_seconds: Some(-1),
            banned_words: None,
        };
        assert_eq!(pointers(negative.validate()), ["#/slow_mode_seconds"]);
    }

    #[test]
    fn at_most_500_distinct_words() {
        let words = |n: usize| (0..n).map(|i| format!("w{i}")).collect::<Vec<_>>();
        let mut duplicated = words(500);
        duplicated.extend(words(500));
        let patch = ChatSettingsPatch {
            slow_mode_seconds: None,
            banned_words: Some(duplicated),
        };
        assert_eq!(patch.validate().unwrap().banned_words.unwrap().len(), 500);
        let patch = ChatSettingsPatch {
            slow_mode_seconds: None,
            banned_words: Some(words(501)),
        };
        assert_eq!(pointers(patch.validate()), ["#/banned_words"]);
    }

    #[test]
    fn bans_last_a_second_to_a_year_or_until_lifted() {
        let ban = |seconds, reason: &str| BanBody {
            user_id: Uuid::new_v4(),
            reason: Some(reason.to_owned()),
            duration_seconds: seconds,
        };
        assert!(ban(None, "").validate().is_ok());
        assert!(ban(Some(1), "spam").validate().is_ok());
        assert_eq!(
            pointers(ban(Some(0), &"x".repeat(501)).validate()),
            ["#/reason", "#/duration_seconds"]
        );
        assert_eq!(
            pointers(ban(Some(MAX_BAN_SECONDS + 1), "").validate()),
            ["#/duration_seconds"]
        );
    }
}
