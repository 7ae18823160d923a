//! What the recorder attaches to each upload, and gets back (also from the
//! spool after a restart) when the object is stored.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::index::NewSegment;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum UploadTag {
    /// An init segment: segments name it; it has no row of its own.
    Init,
    /// A media segment: indexed once stored.
    Segment(NewSegment),
    /// A playlist of the finished recording.
    Playlist,
    /// The last object of a recording: everything before it is stored.
    Finish { recording: Uuid },
}

impl UploadTag {
    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("tags serialize")
    }

    pub(crate) fn from_value(value: serde_json::Value) -> Option<Self> {
        serde_json::from_value(value).ok()
    }
}
