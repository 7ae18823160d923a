//! `stream_recording_inits`: what manifests need from a recorded init
//! segment, as the packager described its track when it wrote it.

use nova_media::fmp4::{TrackInfo, TrackKind};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct InitRow {
    pub recording_id: Uuid,
    pub object_key: String,
    pub rendition: String,
    pub codecs: String,
    pub timescale: i32,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub sample_rate: Option<i32>,
    pub channels: Option<i16>,
}

impl InitRow {
    /// The row of an init segment whose track is `info`; `None` if its
    /// timescale does not fit the column.
    pub fn describe(
        recording: Uuid,
        rendition: &str,
        object_key: &str,
        info: &TrackInfo,
    ) -> Option<Self> {
        let (width, height, sample_rate, channels) = match info.kind {
            TrackKind::Video { width, height } => (
                i32::try_from(width).ok(),
                i32::try_from(height).ok(),
                None,
                None,
            ),
            TrackKind::Audio {
                sample_rate,
                channels,
            } => (
                None,
                None,
                i32::try_from(sample_rate).ok(),
                Some(i16::from(channels)),
            ),
        };
        Some(Self {
            recording_id: recording,
            object_key: object_key.to_owned(),
            rendition: rendition.to_owned(),
            codecs: info.codec.clone(),
            timescale: i32::try_from(info.timescale).ok()?,
            width,
            height,
            sample_rate,
            channels,
        })
    }
}

/// Records an init segment's description; a repeat is a no-op.
pub async fn add_init(pool: &PgPool, init: &InitRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO stream_recording_inits (recording_id, object_key, rendition, codecs, \
             timescale, width, height, sample_rate, channels) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(init.recording_id)
    .bind(&init.object_key)
    .bind(&init.rendition)
    .bind(&init.codecs)
    .bind(init.timescale)
    .bind(init.width)
    .bind(init.height)
    .bind(init.sample_rate)
    .bind(init.channels)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn inits(pool: &PgPool, recording: Uuid) -> Result<Vec<InitRow>, sqlx::Error> {
    sqlx::query_as::<_, InitRow>(
        "SELECT recording_id, object_key, rendition, codecs, timescale, width, height, \
                sample_rate, channels \
         FROM stream_recording_inits WHERE recording_id = $1",
    )
    .bind(recording)
    .fetch_all(pool)
    .await
}
