//! Reading request bodies: objects only, and bodies that may be left out.

use std::fmt;
use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use axum::http::header;
use bytes::Bytes;
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;
use crate::json::ApiJson;

/// For actions whose options all have defaults (`POST .../reset-stream-key`):
/// no body at all (or a JSON `null`) is `T::default()`; a body is read as
/// [`ApiJson`] reads an [`Object`]. A body without a `Content-Type` is refused rather than
/// ignored (which axum's `Option<Json<T>>` does): the client meant something.
pub(crate) struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if request.headers().contains_key(header::CONTENT_TYPE) {
            // `null` is "no options" too, as the document allows.
            let ApiJson(body) = ApiJson::<Option<Object<T>>>::from_request(request, state).await?;
            return Ok(Self(body.map_or_else(T::default, |Object(body)| body)));
        }
        let bytes = crate::extract::body(Bytes::from_request(request, state).await)?;
        if bytes.is_empty() {
            Ok(Self(T::default()))
        } else {
            Err(ApiError::UnsupportedMediaType(
                "send the body as JSON, with `Content-Type: application/json`, or send no body"
                    .to_owned(),
            ))
        }
    }
}

/// A body (or nested value) that must be a JSON object. serde's derived
/// structs also accept arrays (`["title"]` as `{"title": …}`, `[]` as an
/// object of defaults), which no client means; this refuses them, and keeps
/// the field path of any error inside for the problem's pointer.
#[derive(Debug, Default)]
pub(crate) struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
            type Value = T;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer.deserialize_map(Only(PhantomData)).map(Self)
    }
}

/// For an optional object field with `#[serde(default)]`: `null` is `None`
/// like an absent field, and an array is refused (see [`Object`]).
pub(crate) fn optional_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Object<T>>::deserialize(deserializer).map(|found| found.map(|Object(value)| value))
}

/// [`optional_object`] for PATCH fields: absent is `None`, `null` is
/// `Some(None)` (see [`crate::stream_settings::nullable`]).
pub(crate) fn nullable_object<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    optional_object(deserializer).map(Some)
}
