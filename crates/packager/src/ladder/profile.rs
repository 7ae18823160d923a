//! What the ladder encodes: named renditions by height and bitrate, and the
//! subset that makes sense for a given source picture.

use std::sync::Arc;

/// One transcoded rendition as configured (server config or
/// [`LadderProfile::default_ladder`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenditionSpec {
    /// Rendition name as it appears in playlists and segment names (`720p`).
    pub name: Arc<str>,
    /// Output picture height; the width follows the source aspect ratio.
    pub height: u32,
    pub video_bitrate_bps: u32,
    /// Cap on the output frame rate (frames per second). Frames above it are
    /// skipped, never the source's keyframes, so segments stay aligned.
    pub max_frame_rate: Option<u32>,
}

/// A named ladder: renditions in any order; [`LadderProfile::select_for`]
/// sorts them from the top down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LadderProfile {
    pub renditions: Vec<RenditionSpec>,
}

/// A rendition planned for one source: the spec plus its real picture size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendition {
    pub name: Arc<str>,
    pub width: u32,
    pub height: u32,
    pub video_bitrate_bps: u32,
    pub max_frame_rate: Option<u32>,
}

impl LadderProfile {
    /// 720p at 3 Mb/s, 480p at 1.5 Mb/s, 360p at 800 kb/s. The source itself
    /// is the top rendition (passthrough) and is not part of the profile.
    pub fn default_ladder() -> Self {
        let spec = |name: &str, height, video_bitrate_bps| RenditionSpec {
            name: name.into(),
            height,
            video_bitrate_bps,
            max_frame_rate: None,
        };
        Self {
            renditions: vec![
                spec("720p", 720, 3_000_000),
                spec("480p", 480, 1_500_000),
                spec("360p", 360, 800_000),
            ],
        }
    }

    /// The renditions worth encoding for a `source_width`×`source_height`
    /// source, tallest first: never an upscale, and nothing at the source's
    /// own height (the passthrough rendition already covers it). Widths keep
    /// the source aspect ratio, rounded to the nearest even number (4:2:0
    /// chroma needs even sizes).
    pub fn select_for(&self, source_width: u32, source_height: u32) -> Vec<Rendition> {
        let mut selected: Vec<Rendition> = self
            .renditions
            .iter()
            .filter(|spec| spec.height < source_height && spec.height >= 2)
            .map(|spec| Rendition {
                name: spec.name.clone(),
                width: scaled_width(source_width, source_height, spec.height),
                height: spec.height & !1,
                video_bitrate_bps: spec.video_bitrate_bps,
                max_frame_rate: spec.max_frame_rate,
            })
            .collect();
        selected.sort_by_key(|r| std::cmp::Reverse(r.height));
        selected
    }
}

/// `source_width × height / source_height`, to the nearest even number, at
/// least 2.
fn scaled_width(source_width: u32, source_height: u32, height: u32) -> u32 {
    let exact = u64::from(source_width) * u64::from(height);
    let pairs = (exact + u64::from(source_height)) / (2 * u64::from(source_height));
    u32::try_from(pairs * 2).unwrap_or(u32::MAX).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(renditions: &[Rendition]) -> Vec<(&str, u32, u32)> {
        renditions
            .iter()
            .map(|r| (&*r.name, r.width, r.height))
            .collect()
    }

    #[test]
    fn full_ladder_below_1080p() {
        let selected = LadderProfile::default_ladder().select_for(1920, 1080);
        assert_eq!(
            sizes(&selected),
            [("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)]
        );
        assert_eq!(selected[0].video_bitrate_bps, 3_000_000);
    }

    #[test]
    fn a_720p_source_starts_below_itself() {
        let selected = LadderProfile::default_ladder().select_for(1280, 720);
        assert_eq!(sizes(&selected), [("480p", 854, 480), ("360p", 640, 360)]);
    }

    #[test]
    fn never_upscales_a_small_source() {
        assert!(
            LadderProfile::default_ladder()
                .select_for(640, 360)
                .is_empty()
        );
        assert!(
            LadderProfile::default_ladder()
                .select_for(426, 240)
                .is_empty()
        );
    }

    #[test]
    fn widths_follow_odd_aspect_ratios_and_stay_even() {
        // 4:3 and a portrait phone stream.
        let four_three = LadderProfile::default_ladder().select_for(1440, 1080);
        assert_eq!(
            sizes(&four_three),
            [("720p", 960, 720), ("480p", 640, 480), ("360p", 480, 360)]
        );
        let portrait = LadderProfile::default_ladder().select_for(1080, 1920);
        assert!(portrait.iter().all(|r| r.width % 2 == 0));
        assert_eq!(portrait[0].width, 406); // 1080 × 720 / 1920 = 405
    }

    #[test]
    fn sorts_a_configured_ladder_from_the_top() {
        let profile = LadderProfile {
            renditions: vec![
                RenditionSpec {
                    name: "low".into(),
                    height: 240,
                    video_bitrate_bps: 400_000,
                    max_frame_rate: Some(15),
                },
                RenditionSpec {
                    name: "mid".into(),
                    height: 540,
                    video_bitrate_bps: 2_000_000,
                    max_frame_rate: None,
                },
            ],
        };
        let selected = profile.select_for(1920, 1080);
        assert_eq!(sizes(&selected), [("mid", 960, 540), ("low", 426, 240)]);
        assert_eq!(selected[1].max_frame_rate, Some(15));
    }
}
