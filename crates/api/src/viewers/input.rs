//! What a player may send when it joins.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;

use crate::error::{ApiError, FieldError};

pub(crate) const SESSION_TOKEN_MIN_CHARS: usize = 16;
pub(crate) const SESSION_TOKEN_MAX_CHARS: usize = 128;

/// `POST /api/v1/streams/{id}/viewers`; the body is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct JoinBody {
    /// 16 to 128 printable ASCII characters chosen by the player (a random
    /// value it keeps for this playback). Joining again with the same token
    /// while the session is open resumes it instead of counting a second
    /// viewer. Omitted: the server picks one and returns it.
    #[serde(default)]
    #[schema(min_length = 16, max_length = 128)]
    pub session_token: Option<String>,
}

impl JoinBody {
    /// The player's token, or a fresh random one.
    pub fn session_token(self) -> Result<String, ApiError> {
        let Some(token) = self.session_token else {
            return Ok(random_token());
        };
        let chars = token.chars().count();
        let problem = if !(SESSION_TOKEN_MIN_CHARS..=SESSION_TOKEN_MAX_CHARS).contains(&chars) {
            Some(format!(
                "must be {SESSION_TOKEN_MIN_CHARS} to {SESSION_TOKEN_MAX_CHARS} characters \
                 (it has {chars}): use a random value, e.g. a UUID"
            ))
        } else if !token.bytes().all(|b| b.is_ascii_graphic()) {
            Some("must be printable ASCII without spaces, e.g. a UUID or base64url".to_owned())
        } else {
            None
        };
        match problem {
            Some(detail) => Err(ApiError::Validation(vec![FieldError::new(
                &["session_token"],
                detail,
            )])),
            None => Ok(token),
        }
    }
}

/// 24 random bytes, base64url: 32 characters.
fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: Option<&str>) -> Result<String, ApiError> {
        JoinBody {
            session_token: value.map(str::to_owned),
        }
        .session_token()
    }

    #[test]
    fn a_missing_token_is_generated() {
        let a = token(None).unwrap();
        let b = token(None).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_are_checked() {
        assert_eq!(token(Some("0123456789abcdef")).unwrap(), "0123456789abcdef");
        assert!(token(Some(&"x".repeat(128))).is_ok());
        for bad in [
            "short",
            &"x".repeat(129),
            "0123456789 abcdef",
            "0123456789abcdeé",
        ] {
            match token(Some(bad)) {
                Err(ApiError::Validation(errors)) => {
                    assert_eq!(errors[0].pointer, "#/session_token")
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
