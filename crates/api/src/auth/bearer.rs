use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller: the `sub` of a valid bearer token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthUser(pub Uuid);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(AUTHORIZATION) else {
            return Err(ApiError::MissingToken);
        };
        let token = value
            .to_str()
            .ok()
            .and_then(bearer_token)
            .ok_or(ApiError::InvalidToken(
                "use the `Bearer` scheme: `Authorization: Bearer <token>`",
            ))?;
        state
            .jwt
            .verify(token)
            .map(AuthUser)
            .map_err(|error| ApiError::InvalidToken(error.describe()))
    }
}

/// The caller if a bearer token came with the request, for routes that
/// anonymous callers may use too. A token that is present but invalid is
/// still refused: silently treating it as anonymous would hide the
/// client's bug behind puzzling 403s and 404s.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaybeUser(pub Option<Uuid>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        AuthUser::from_request_parts(parts, state)
            .await
            .map(|AuthUser(user)| Self(Some(user)))
    }
}

/// RFC 6750 §2.1, with the scheme name matched case-insensitively as
/// RFC 9110 §11.1 requires.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn parses_the_bearer_scheme_only() {
        assert_eq!(bearer_token("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
