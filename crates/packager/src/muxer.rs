//! One ffmpeg muxer (fMP4/CMAF or MPEG-TS) writing into memory, cut into
//! segments on request.

use bytes::Bytes;
use ffmpeg_next::format::context::{Output, StreamIo};
use ffmpeg_next::{Dictionary, Packet, Rational, Rescale, codec, format, media};
use nova_media::{
    AudioConfig, Frame, SegmentContainer, TIMEBASE_HZ, Track, VideoCodec, VideoConfig,
};

use crate::ffi;
use crate::memory_io::MemoryOutput;

/// CMAF in memory (see STACK.md): fragments only when we ask (`frag_custom`),
/// an init segment with no samples (`empty_moov`), self-contained `moof`s
/// (`default_base_moof`), no `mfra` at the end (`skip_trailer`). `cmaf` also
/// means no edit list and negative composition offsets: the `tfdt` of a
/// fragment is the presentation time of its first keyframe.
///
/// `frag_discont` makes the first fragment's `tfdt` come from the packets'
/// own timestamps instead of zero: every muxer of a run (one per publish
/// session or codec change) continues the run's timeline, as the playlist's
/// segments do, rather than restarting at zero.
const CMAF_MOVFLAGS: &str =
    "frag_custom+empty_moov+default_base_moof+cmaf+skip_trailer+frag_discont";

/// AAC-LC codes 1024 samples per access unit (ISO/IEC 14496-3 §1.6).
pub(crate) const AAC_FRAME_SAMPLES: u32 = 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum MuxError {
    #[error("{container} muxer: {action} failed: {source}")]
    Ffmpeg {
        container: &'static str,
        action: &'static str,
        #[source]
        source: ffmpeg_next::Error,
    },
    #[error("{container} muxer: no {track:?} track to write to")]
    NoTrack {
        container: &'static str,
        track: Track,
    },
    #[error(
        "{container} muxer: the {codec:?} configuration gives no picture size, which the muxer needs"
    )]
    NoDimensions {
        container: &'static str,
        codec: VideoCodec,
    },
    #[error("{container} muxer: option {options} not recognised")]
    UnusedOptions {
        container: &'static str,
        options: String,
    },
}

#[derive(Clone, Copy)]
struct TrackOut {
    index: usize,
    /// The time base the muxer chose for the stream at `write_header`.
    time_base: Rational,
}

pub(crate) struct Muxer {
    output: Output,
    bytes: MemoryOutput,
    container: SegmentContainer,
    video: Option<TrackOut>,
    audio: Option<TrackOut>,
}

/// What [`Muxer::open`] produced besides the muxer itself.
pub(crate) struct Opened {
    pub muxer: Muxer,
    /// fMP4: the init segment (`ftyp` + `moov`). MPEG-TS has none: whatever
    /// the header wrote stays buffered and leads the first segment.
    pub init: Option<Bytes>,
}

impl Muxer {
    /// Starts a muxer for the given tracks; timestamps it is fed are in
    /// milliseconds ([`TIMEBASE_HZ`]).
    pub(crate) fn open(
        container: SegmentContainer,
        video: Option<&VideoConfig>,
        audio: Option<&AudioConfig>,
    ) -> Result<Opened, MuxError> {
        let name = container_name(container);
        let fail = |action| {
            move |source| MuxError::Ffmpeg {
                container: name,
                action,
                source,
            }
        };
        let bytes = MemoryOutput::default();
        let io = StreamIo::from_write(bytes.clone()).map_err(fail("creating the memory IO"))?;
        let format_name = match container {
            SegmentContainer::Fmp4 => "mp4",
            SegmentContainer::Ts => "mpegts",
        };
        let mut output = format::output_to_stream(io, None, Some(format_name))
            .map_err(fail("creating the output"))?;

        let millis = Rational::new(1, TIMEBASE_HZ as i32);
        let mut indexes = (None, None);
        if let Some(config) = video {
            let params = video_parameters(container, config)?;
            let mut stream = output
                .add_stream(None::<ffmpeg_next::Codec>)
                .map_err(fail("adding the video stream"))?;
            stream.set_parameters(params);
            stream.set_time_base(millis);
            indexes.0 = Some(stream.index());
        }
        if let Some(config) = audio {
            let params = audio_parameters(config).map_err(fail("setting the audio extradata"))?;
            let mut stream = output
                .add_stream(None::<ffmpeg_next::Codec>)
                .map_err(fail("adding the audio stream"))?;
            stream.set_parameters(params);
            stream.set_time_base(millis);
            indexes.1 = Some(stream.index());
        }

        let mut options = Dictionary::new();
        if container == SegmentContainer::Fmp4 {
            options.set("movflags", CMAF_MOVFLAGS);
        }
        let unused: Vec<String> = output
            .write_header_with(options)
            .map_err(fail("writing the header"))?
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if !unused.is_empty() {
            return Err(MuxError::UnusedOptions {
                container: name,
                options: unused.join(", "),
            });
        }
        ffi::flush_io(&mut output);

        let track_out = |index: Option<usize>| {
            index.and_then(|index| {
                let time_base = output.stream(index)?.time_base();
                Some(TrackOut { index, time_base })
            })
        };
        let (video, audio) = (track_out(indexes.0), track_out(indexes.1));
        let init = match container {
            SegmentContainer::Fmp4 => Some(bytes.take()),
            SegmentContainer::Ts => None,
        };
        let mut muxer = Muxer {
            output,
            bytes,
            container,
            video,
            audio,
        };
        muxer.prepare_segment_start()?;
        Ok(Opened { muxer, init })
    }

    /// Writes one frame. `duration_ms` is how long it lasts (the muxer
    /// needs it for the last sample of each fragment).
    pub(crate) fn write(&mut self, frame: &Frame, duration_ms: i64) -> Result<(), MuxError> {
        let name = container_name(self.container);
        let track = match frame.track {
            Track::Video => self.video,
            Track::Audio => self.audio,
        }
        .ok_or(MuxError::NoTrack {
            container: name,
            track: frame.track,
        })?;
        let millis = Rational::new(1, TIMEBASE_HZ as i32);
        let to_stream = |ms: i64| ms.rescale(millis, track.time_base);
        let dts = to_stream(frame.dts);
        // The duration is the distance to the next frame in the stream's own
        // ticks, so rounding never opens gaps or overlaps between samples.
        let end = to_stream(frame.dts + duration_ms.max(1));

        let mut packet = Packet::copy(&frame.data);
        packet.set_stream(track.index);
        packet.set_dts(Some(dts));
        packet.set_pts(Some(to_stream(frame.pts)));
        packet.set_duration(end - dts);
        if frame.keyframe || frame.track == Track::Audio {
            packet.set_flags(codec::packet::Flags::KEY);
        }
        packet
            .write(&mut self.output)
            .map_err(|source| MuxError::Ffmpeg {
                container: name,
                action: "writing a packet",
                source,
            })?;
        Ok(())
    }

    /// Ends the current segment and returns its bytes.
    pub(crate) fn cut(&mut self) -> Result<Bytes, MuxError> {
        ffi::flush_fragment(&mut self.output).map_err(|source| MuxError::Ffmpeg {
            container: container_name(self.container),
            action: "flushing a fragment",
            source,
        })?;
        let segment = self.bytes.take();
        self.prepare_segment_start()?;
        Ok(segment)
    }

    /// Ends the current CMAF chunk (one `moof` + `mdat`) within the segment:
    /// an LL-HLS part. Returns the chunk's bytes.
    pub(crate) fn flush_part(&mut self) -> Result<Bytes, MuxError> {
        ffi::flush_fragment(&mut self.output).map_err(|source| MuxError::Ffmpeg {
            container: container_name(self.container),
            action: "flushing a part",
            source,
        })?;
        Ok(self.bytes.take())
    }

    /// Ends the last segment and the muxer; returns the segment's bytes.
    pub(crate) fn finish(mut self) -> Result<Bytes, MuxError> {
        let segment = self.cut()?;
        self.output
            .write_trailer()
            .map_err(|source| MuxError::Ffmpeg {
                container: container_name(self.container),
                action: "writing the trailer",
                source,
            })?;
        ffi::flush_io(&mut self.output);
        let trailer = self.bytes.take();
        if !trailer.is_empty() {
            // skip_trailer and the flush above leave nothing for the mp4 and
            // mpegts trailers to write; bytes here would belong to no segment.
            tracing::debug!(bytes = trailer.len(), "muxer trailer discarded");
        }
        Ok(segment)
    }

    fn prepare_segment_start(&mut self) -> Result<(), MuxError> {
        if self.container == SegmentContainer::Ts {
            ffi::resend_ts_headers(&mut self.output).map_err(|source| MuxError::Ffmpeg {
                container: container_name(self.container),
                action: "requesting PAT/PMT",
                source,
            })?;
        }
        Ok(())
    }
}

fn container_name(container: SegmentContainer) -> &'static str {
    container.as_str()
}

fn video_parameters(
    container: SegmentContainer,
    config: &VideoConfig,
) -> Result<codec::Parameters, MuxError> {
    let name = container_name(container);
    let mut params = codec::Parameters::new();
    params.set_medium(media::Type::Video);
    let (id, tag) = match config.codec() {
        VideoCodec::H264 => (codec::Id::H264, None),
        // Apple players only accept HEVC in MP4 under the `hvc1` sample entry
        // (parameter sets in the record, not in band).
        VideoCodec::H265 => (
            codec::Id::HEVC,
            (container == SegmentContainer::Fmp4).then_some(*b"hvc1"),
        ),
    };
    params.set_id(id);
    ffi::set_extradata(&mut params, config.record()).map_err(|source| MuxError::Ffmpeg {
        container: name,
        action: "setting the video extradata",
        source,
    })?;
    match config.dimensions() {
        Some((width, height)) => ffi::set_video_fields(&mut params, width, height, tag),
        // MPEG-TS does not record a picture size; MP4 cannot do without one.
        None if container == SegmentContainer::Ts => ffi::set_video_fields(&mut params, 0, 0, tag),
        None => {
            return Err(MuxError::NoDimensions {
                container: name,
                codec: config.codec(),
            });
        }
    }
    Ok(params)
}

fn audio_parameters(config: &AudioConfig) -> Result<codec::Parameters, ffmpeg_next::Error> {
    let mut params = codec::Parameters::new();
    params.set_medium(media::Type::Audio);
    params.set_id(codec::Id::AAC);
    ffi::set_extradata(&mut params, config.record())?;
    ffi::set_audio_fields(
        &mut params,
        config.sample_rate(),
        config.channels(),
        AAC_FRAME_SAMPLES,
    );
    Ok(params)
}
