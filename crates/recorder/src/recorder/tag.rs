//! What the recorder attaches to each upload, and gets back (also from the
//! spool after a restart) when the object is stored.

use nova_dvr::index::{InitRow, NewSegment};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The uploader's tag for recording objects. Its JSON form is what the
/// spool keeps on disk: changing it strands jobs spooled by an older build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UploadTag {
    /// An init segment: segments name it; its description is indexed
    /// (`None`: not a single CMAF track, e.g. the muxed output).
    Init { description: Option<InitRow> },
    /// A media segment: indexed once stored.
    Segment(NewSegment),
    /// A playlist of the finished recording.
    Playlist,
    /// The last object of a recording: everything before it is stored.
    Finish { recording: Uuid },
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    #[test]
    fn every_tag_survives_the_spool() {
        let init = InitRow {
            recording_id: Uuid::from_u128(1),
            object_key: "k/init.mp4".into(),
            rendition: "source".into(),
            codecs: "avc1.64001f".into(),
            timescale: 15360,
            width: Some(1280),
            height: Some(720),
            sample_rate: None,
            channels: None,
        };
        let segment = NewSegment {
            stream_id: Uuid::from_u128(2),
            recording_id: Uuid::from_u128(1),
            rendition: "audio".into(),
            sequence: 3,
            media_start_ms: 6_000,
            program_date_time: Utc::now(),
            duration_ms: 2_000,
            byte_size: 10,
            object_key: "k/3.m4s".into(),
            init_object_key: Some("k/init.mp4".into()),
            container: "fmp4".into(),
            discontinuity: true,
            base_decode_time: Some(288_000),
        };
        for tag in [
            UploadTag::Init {
                description: Some(init),
            },
            UploadTag::Init { description: None },
            UploadTag::Segment(segment),
            UploadTag::Playlist,
            UploadTag::Finish {
                recording: Uuid::from_u128(1),
            },
        ] {
            let json = serde_json::to_vec(&tag).unwrap();
            assert_eq!(serde_json::from_slice::<UploadTag>(&json).unwrap(), tag);
        }
    }
}
