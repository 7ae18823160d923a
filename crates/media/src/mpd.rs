//! Renders a DASH MPD (ISO/IEC 23009-1) for CMAF renditions: dynamic while
//! live, static for a recording (VOD); `SegmentTemplate` + `SegmentTimeline` (§5.3.9.6)
//! so variable GOPs are described exactly, one Period per stretch of the
//! run that one set of init segments covers.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::xml::XmlWriter;

/// ISO/IEC 23009-1 §8.5 (live profile) and ISO/IEC 23000-19 §7.2 (CMAF).
const PROFILES: &str = "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019";
/// §5.8.5.7: the server answers a GET with an xs:dateTime.
const UTC_SCHEME: &str = "urn:mpeg:dash:utc:http-xsdate:2014";
/// §5.8.5.4, ISO/IEC 23001-8 ChannelConfiguration.
const CHANNEL_SCHEME: &str = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";

pub struct Mpd {
    /// `Some` for a finished presentation (VOD): `type="static"` with this
    /// `mediaPresentationDuration` (§5.4.1), and none of the live attributes.
    pub presentation_duration: Option<Duration>,
    /// Wall-clock time of media time 0 of the run.
    pub availability_start: SystemTime,
    pub publish_time: SystemTime,
    /// `None` once the stream ended: the MPD will not change again (§5.4.1).
    pub minimum_update_period: Option<Duration>,
    pub min_buffer_time: Duration,
    /// The live window's duration.
    pub time_shift_buffer_depth: Duration,
    pub suggested_presentation_delay: Duration,
    pub max_segment_duration: Duration,
    pub clock_url: Option<String>,
    pub periods: Vec<Period>,
}

pub struct Period {
    pub id: String,
    /// From `availability_start`.
    pub start: Duration,
    pub video: Vec<Representation>,
    pub audio: Vec<Representation>,
}

pub struct Representation {
    pub id: String,
    pub codecs: String,
    pub bandwidth: u64,
    pub kind: RepresentationKind,
    pub timescale: u32,
    /// Media time of the Period's start, in `timescale` (§5.3.9.2).
    pub presentation_time_offset: u64,
    /// Relative to the MPD.
    pub initialization: String,
    /// Relative to the MPD, with `$Number$` (§5.3.9.4.4).
    pub media: String,
    pub start_number: u64,
    pub timeline: Vec<TimelineEntry>,
}

pub enum RepresentationKind {
    Video {
        width: u32,
        height: u32,
        frame_rate: Option<f64>,
    },
    Audio {
        sample_rate: u32,
        channels: u8,
    },
}

/// One `S` element: a segment's earliest time and duration, in `timescale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub t: u64,
    pub d: u64,
}

pub fn render(mpd: &Mpd) -> String {
    let mut xml = XmlWriter::new();
    xml.start("MPD")
        .attr("xmlns", "urn:mpeg:dash:schema:mpd:2011")
        .attr("profiles", PROFILES);
    match mpd.presentation_duration {
        Some(total) => {
            xml.attr("type", "static")
                .attr("mediaPresentationDuration", duration(total));
        }
        None => {
            xml.attr("type", "dynamic")
                .attr("availabilityStartTime", date_time(mpd.availability_start))
                .attr("publishTime", date_time(mpd.publish_time))
                .attr_opt(
                    "minimumUpdatePeriod",
                    mpd.minimum_update_period.map(duration),
                )
                .attr(
                    "timeShiftBufferDepth",
                    duration(mpd.time_shift_buffer_depth),
                )
                .attr(
                    "suggestedPresentationDelay",
                    duration(mpd.suggested_presentation_delay),
                );
        }
    }
    xml.attr("minBufferTime", duration(mpd.min_buffer_time))
        .attr("maxSegmentDuration", duration(mpd.max_segment_duration));
    for period in &mpd.periods {
        xml.start("Period")
            .attr("id", &period.id)
            .attr("start", duration(period.start));
        for (index, (content, set)) in [("video", &period.video), ("audio", &period.audio)]
            .into_iter()
            .filter(|(_, set)| !set.is_empty())
            .enumerate()
        {
            xml.start("AdaptationSet")
                .attr("id", index)
                .attr("contentType", content)
                .attr("mimeType", format!("{content}/mp4"))
                // Every rendition is cut at the same media times, each
                // segment starting with a sync sample (§5.3.3.2).
                .attr("segmentAlignment", "true")
                .attr("startWithSAP", 1);
            for representation in set {
                representation_element(&mut xml, representation);
            }
            xml.end();
        }
        xml.end();
    }
    if let Some(url) = &mpd.clock_url {
        xml.start("UTCTiming")
            .attr("schemeIdUri", UTC_SCHEME)
            .attr("value", url)
            .end();
    }
    xml.finish()
}

fn representation_element(xml: &mut XmlWriter, representation: &Representation) {
    xml.start("Representation")
        .attr("id", &representation.id)
        .attr("codecs", &representation.codecs)
        .attr("bandwidth", representation.bandwidth.max(1));
    match representation.kind {
        RepresentationKind::Video {
            width,
            height,
            frame_rate,
        } => {
            xml.attr("width", width)
                .attr("height", height)
                .attr_opt("frameRate", frame_rate.map(frame_rate_value));
        }
        RepresentationKind::Audio {
            sample_rate,
            channels,
        } => {
            xml.attr("audioSamplingRate", sample_rate);
            xml.start("AudioChannelConfiguration")
                .attr("schemeIdUri", CHANNEL_SCHEME)
                .attr("value", channels)
                .end();
        }
    }
    xml.start("SegmentTemplate")
        .attr("timescale", representation.timescale)
        .attr(
            "presentationTimeOffset",
            representation.presentation_time_offset,
        )
        .attr("initialization", &representation.initialization)
        .attr("media", &representation.media)
        .attr("startNumber", representation.start_number);
    xml.start("SegmentTimeline");
    for entry in &representation.timeline {
        // Every S carries its t: the timeline stays exact across any gap.
        xml.start("S").attr("t", entry.t).attr("d", entry.d).end();
    }
    xml.end().end().end();
}

/// xs:dateTime in UTC with milliseconds.
fn date_time(time: SystemTime) -> String {
    DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// xs:duration in seconds with milliseconds, e.g. `PT2.002S`.
pub fn duration(value: Duration) -> String {
    let millis = value.as_millis();
    format!("PT{}.{:03}S", millis / 1000, millis % 1000)
}

/// §5.3.12.4 FrameRateType: an integer, or a ratio for NTSC-like rates.
fn frame_rate_value(rate: f64) -> String {
    let rounded = rate.round();
    if (rate - rounded).abs() < 0.01 {
        format!("{rounded}")
    } else {
        format!("{}/1000", (rate * 1000.0).round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn renders_a_live_mpd_exactly() {
        let mpd = Mpd {
            presentation_duration: None,
            availability_start: at(1_700_000_000),
            publish_time: at(1_700_000_010),
            minimum_update_period: Some(Duration::from_secs(2)),
            min_buffer_time: Duration::from_secs(2),
            time_shift_buffer_depth: Duration::from_millis(8_033),
            suggested_presentation_delay: Duration::from_secs(6),
            max_segment_duration: Duration::from_secs(2),
            clock_url: Some("http://h:1/api/v1/clock?a=1&b=2".into()),
            periods: vec![Period {
                id: "0".into(),
                start: Duration::ZERO,
                video: vec![Representation {
                    id: "source".into(),
                    codecs: "avc1.64001e".into(),
                    bandwidth: 800_000,
                    kind: RepresentationKind::Video {
                        width: 640,
                        height: 360,
                        frame_rate: Some(30.0),
                    },
                    timescale: 16_000,
                    presentation_time_offset: 0,
                    initialization: "source/r-init1.mp4".into(),
                    media: "source/r-$Number$.m4s".into(),
                    start_number: 3,
                    timeline: vec![
                        TimelineEntry {
                            t: 96_000,
                            d: 32_000,
                        },
                        TimelineEntry {
                            t: 128_000,
                            d: 32_533,
                        },
                    ],
                }],
                audio: vec![Representation {
                    id: "audio".into(),
                    codecs: "mp4a.40.2".into(),
                    bandwidth: 96_000,
                    kind: RepresentationKind::Audio {
                        sample_rate: 48_000,
                        channels: 2,
                    },
                    timescale: 48_000,
                    presentation_time_offset: 0,
                    initialization: "audio/r-init1.mp4".into(),
                    media: "audio/r-$Number$.m4s".into(),
                    start_number: 3,
                    timeline: vec![TimelineEntry {
                        t: 288_000,
                        d: 96_256,
                    }],
                }],
            }],
        };
        assert_eq!(
            render(&mpd),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic" availabilityStartTime="2023-11-14T22:13:20.000Z" publishTime="2023-11-14T22:13:30.000Z" minimumUpdatePeriod="PT2.000S" timeShiftBufferDepth="PT8.033S" suggestedPresentationDelay="PT6.000S" minBufferTime="PT2.000S" maxSegmentDuration="PT2.000S">
  <Period id="0" start="PT0.000S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="source" codecs="avc1.64001e" bandwidth="800000" width="640" height="360" frameRate="30">
        <SegmentTemplate timescale="16000" presentationTimeOffset="0" initialization="source/r-init1.mp4" media="source/r-$Number$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="96000" d="32000"/>
            <S t="128000" d="32533"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="mp4a.40.2" bandwidth="96000" audioSamplingRate="48000">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
        <SegmentTemplate timescale="48000" presentationTimeOffset="0" initialization="audio/r-init1.mp4" media="audio/r-$Number$.m4s" startNumber="3">
          <SegmentTimeline>
            <S t="288000" d="96256"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-xsdate:2014" value="http://h:1/api/v1/clock?a=1&amp;b=2"/>
</MPD>
"#
        );
    }

    #[test]
    fn durations_and_frame_rates_are_exact() {
        assert_eq!(frame_rate_value(29.97003), "29970/1000");
        assert_eq!(frame_rate_value(25.0), "25");
        assert_eq!(duration(Duration::from_millis(61_005)), "PT61.005S");
    }
}
