use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The HS256 key that signs and verifies API tokens.
///
/// The secret should be at least 32 bytes (RFC 7518 §3.2); the server
/// enforces that where it reads the secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

/// Who issues API tokens, and for what: a token made with the same secret
/// for another purpose (or by another service sharing it) is refused.
pub const ISSUER: &str = "nova-live";
pub const AUDIENCE: &str = "nova-live-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iss: String,
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

/// Why a token was refused, in words safe to send back to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    Expired,
    Invalid,
    BadSubject,
}

impl TokenError {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Expired => "it has expired: get a new one",
            Self::Invalid => {
                "it is malformed, not signed by this server, not issued for this API \
                 (`iss`, `aud`), or lacks `exp`/`sub`"
            }
            Self::BadSubject => "its `sub` claim is not a user UUID",
        }
    }
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256: accepting whatever `alg` the token names is how
        // algorithm-confusion attacks work.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `user`, valid for `ttl` from now.
    pub fn issue(&self, user: Uuid, ttl: Duration) -> String {
        let now = unix_now();
        let claims = Claims {
            sub: user.to_string(),
            exp: now.saturating_add(ttl.as_secs()),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: Some(now),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// The user a token speaks for, if it is ours, unexpired and well-formed.
    pub(crate) fn verify(&self, token: &str) -> Result<Uuid, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        Uuid::parse_str(&data.claims.sub).map_err(|_| TokenError::BadSubject)
    }
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKeys { .. }")
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_tokens_verify_as_their_user() {
        let keys = JwtKeys::new(SECRET);
        let user = Uuid::new_v4();
        let token = keys.issue(user, Duration::from_secs(60));
        assert_eq!(keys.verify(&token), Ok(user));
    }

    #[test]
    fn tokens_from_another_secret_are_refused() {
        let token = JwtKeys::new(b"another secret, also 32 bytes...")
            .issue(Uuid::new_v4(), Duration::from_secs(60));
        assert_eq!(
            JwtKeys::new(SECRET).verify(&token),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let keys = JwtKeys::new(SECRET);
        // Past the 60 s of leeway jsonwebtoken allows for clock skew.
        let claims = Claims {
            sub: Uuid::new_v4().to_string(),
            exp: unix_now() - 3600,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: None,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn other_algorithms_and_subjects_are_refused() {
        let keys = JwtKeys::new(SECRET);
        let claims = Claims {
            sub: Uuid::new_v4().to_string(),
            exp: unix_now() + 3600,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: None,
        };
        let hs384 =
            jsonwebtoken::encode(&Header::new(Algorithm::HS384), &claims, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&hs384), Err(TokenError::Invalid));

        let not_a_user = Claims {
            sub: "admin".to_owned(),
            ..claims
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &not_a_user, &keys.encoding)
                .unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::BadSubject));
        assert_eq!(keys.verify("not.a.jwt"), Err(TokenError::Invalid));
    }

    #[test]
    fn tokens_for_another_issuer_or_audience_are_refused() {
        let keys = JwtKeys::new(SECRET);
        let claims = || Claims {
            sub: Uuid::new_v4().to_string(),
            exp: unix_now() + 3600,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: None,
        };
        let encode = |claims: &Claims| {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &keys.encoding).unwrap()
        };
        assert!(keys.verify(&encode(&claims())).is_ok());
        let other_issuer = Claims {
            iss: "someone-else".to_owned(),
            ..claims()
        };
        assert_eq!(
            keys.verify(&encode(&other_issuer)),
            Err(TokenError::Invalid)
        );
        let other_audience = Claims {
            aud: "nova-live-playback".to_owned(),
            ..claims()
        };
        assert_eq!(
            keys.verify(&encode(&other_audience)),
            Err(TokenError::Invalid)
        );
        // Without either claim: what tokens issued before looked like.
        let bare = serde_json::json!({"sub": Uuid::new_v4().to_string(), "exp": unix_now() + 3600});
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &bare, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Invalid));
    }
}
