//! Who is calling: HS256 bearer tokens whose `sub` is the user's UUID.

mod bearer;
mod jwt;

pub(crate) use bearer::{AuthUser, MaybeUser};
pub use jwt::JwtKeys;
