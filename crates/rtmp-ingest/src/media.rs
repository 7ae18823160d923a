use nova_media::{AudioConfig, Frame, StreamEvent, VideoConfig};

/// What a publisher contributes to its stream: the media subset of
/// [`StreamEvent`]. The hub adds the control events (publish start/stop,
/// drops, end) itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Media {
    VideoConfig(VideoConfig),
    AudioConfig(AudioConfig),
    Frame(Frame),
}

impl From<Media> for StreamEvent {
    fn from(media: Media) -> Self {
        match media {
            Media::VideoConfig(config) => StreamEvent::VideoConfig(config),
            Media::AudioConfig(config) => StreamEvent::AudioConfig(config),
            Media::Frame(frame) => StreamEvent::Frame(frame),
        }
    }
}
