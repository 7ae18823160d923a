//! A stream's own settings: the `settings` object of the API and the
//! `live_streams.settings` jsonb column. Absent keys mean "the server's
//! default", so changing a server default reaches every stream that did not
//! choose otherwise.
//!
//! The packager applies `container`, `profile` (`abr`: the server's ladder)
//! and `latency_mode` (`low`: the ladder encodes for latency);
//! `dvr_window_seconds` sizes the DVR window and `recording_retention_days`
//! the life of recordings.

use std::str::FromStr;

use nova_media::{SegmentContainer, StreamSettings, TranscodeProfile};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::FieldError;

/// A day: the longest DVR window a stream may ask for.
pub(crate) const MAX_DVR_WINDOW_SECONDS: u32 = 86_400;

/// The keys this version understands, in the order they are documented.
const KEYS: [&str; 5] = [
    "container",
    "profile",
    "dvr_window_seconds",
    "latency_mode",
    "recording_retention_days",
];

/// A century: the longest a recording may be kept before retention
/// deletes it (0 keeps it until someone does).
pub(crate) const MAX_RETENTION_DAYS: u32 = 36_500;

/// How close to real time players are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LatencyMode {
    /// Standard HLS: a few segments behind live, the most robust playback.
    Normal,
    /// Shorter segments and playlist hold-back: closer to live, less buffer.
    Low,
}

impl LatencyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }
}

impl FromStr for LatencyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "normal" => Ok(Self::Normal),
            "low" => Ok(Self::Low),
            other => Err(format!("unknown latency mode {other:?}: use normal or low")),
        }
    }
}

// Lenient on the way out of the database (see `from_stored`); input
// arrives as a `SettingsPatch`.
/// The stream's own settings. A key that is absent follows the server's
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct StreamOverrides {
    /// HLS segment container: `fmp4` (CMAF) or `ts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(fmp4|ts)$")]
    pub container: Option<SegmentContainer>,
    /// Transcode profile: `passthrough` (the encoder's own rendition only),
    /// `abr` (the server's adaptive ladder), or the name of a ladder.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
    pub profile: Option<String>,
    /// How far back viewers may seek, in seconds; 0 turns DVR off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 86400)]
    pub dvr_window_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_mode: Option<LatencyMode>,
    /// Days each recording is kept before retention deletes it; 0 keeps
    /// recordings until they are deleted. Applies to recordings that end
    /// from now on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 36500)]
    pub recording_retention_days: Option<u32>,
}

impl StreamOverrides {
    /// Reads the stored object, keeping what it understands. A stored value
    /// this version cannot use must not stop a stream from going live, so it
    /// becomes a warning and the default applies; keys it does not know are
    /// skipped silently (a newer version may have written them).
    pub fn from_stored(stored: &Value) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let Some(object) = stored.as_object() else {
            warnings.push(format!(
                "settings are not an object ({stored}); using the defaults"
            ));
            return (Self::default(), warnings);
        };
        let container = keep(object, "container", parse_container, &mut warnings);
        let profile = keep(object, "profile", parse_profile, &mut warnings);
        if let Some(name) = profile.as_deref()
            && transcode_profile(name).is_none()
        {
            // Stored as chosen: another server, or a later version, may
            // have the ladder.
            warnings.push(format!(
                "settings.profile: this server has no ladder named {name:?}; packaging passthrough"
            ));
        }
        let dvr_window_seconds = keep(
            object,
            "dvr_window_seconds",
            parse_dvr_window,
            &mut warnings,
        );
        let latency_mode = keep(object, "latency_mode", parse_latency_mode, &mut warnings);
        let recording_retention_days = keep(
            object,
            "recording_retention_days",
            parse_retention_days,
            &mut warnings,
        );
        (
            Self {
                container,
                profile,
                dvr_window_seconds,
                latency_mode,
                recording_retention_days,
            },
            warnings,
        )
    }

    /// The server's packaging settings with this stream's choices applied.
    pub fn apply(&self, defaults: &StreamSettings) -> StreamSettings {
        StreamSettings {
            container: self.container.unwrap_or(defaults.container),
            transcode: self.profile.as_deref().map_or(defaults.transcode, |name| {
                transcode_profile(name).unwrap_or(TranscodeProfile::Passthrough)
            }),
            low_latency: self
                .latency_mode
                .map_or(defaults.low_latency, |mode| mode == LatencyMode::Low),
            ..defaults.clone()
        }
    }
}

/// The profiles this server transcodes with; `None` for a ladder name it
/// does not have.
fn transcode_profile(name: &str) -> Option<TranscodeProfile> {
    match name {
        "passthrough" => Some(TranscodeProfile::Passthrough),
        "abr" => Some(TranscodeProfile::Abr),
        _ => None,
    }
}

/// The stored value of `key`, or `None` when it is absent, `null`, or
/// cannot be used (then with a warning).
fn keep<T>(
    object: &Map<String, Value>,
    key: &str,
    parse: fn(&Value) -> Result<T, String>,
    warnings: &mut Vec<String>,
) -> Option<T> {
    let value = object.get(key).filter(|value| !value.is_null())?;
    parse(value)
        .map_err(|why| warnings.push(format!("settings.{key}: {why}; using the default")))
        .ok()
}

fn as_str(value: &Value) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("must be a string, not {value}"))
}

fn parse_container(value: &Value) -> Result<SegmentContainer, String> {
    as_str(value)?.parse()
}

fn parse_profile(value: &Value) -> Result<String, String> {
    let name = as_str(value)?;
    let valid = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{name:?} is not a profile name: use passthrough, abr, or a ladder name of 1 to 32 \
             characters from a-z, 0-9, _ and -"
        ))
    }
}

fn parse_dvr_window(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|seconds| u32::try_from(seconds).ok())
        .filter(|seconds| *seconds <= MAX_DVR_WINDOW_SECONDS)
        .ok_or_else(|| {
            format!(
                "must be a whole number of seconds from 0 (no DVR) to {MAX_DVR_WINDOW_SECONDS} \
                 (a day), not {value}"
            )
        })
}

fn parse_latency_mode(value: &Value) -> Result<LatencyMode, String> {
    as_str(value)?.parse()
}

fn parse_retention_days(value: &Value) -> Result<u32, String> {
    value
        .as_u64()
        .and_then(|days| u32::try_from(days).ok())
        .filter(|days| *days <= MAX_RETENTION_DAYS)
        .ok_or_else(|| {
            format!(
                "must be a whole number of days from 0 (keep until deleted) to \
                 {MAX_RETENTION_DAYS}, not {value}"
            )
        })
}

/// For `Option<Option<T>>` fields with `#[serde(default)]`: an absent field
/// is `None`, an explicit `null` is `Some(None)`. JSON merge-patch style
/// updates need the difference (keep vs. clear).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

// Values arrive as plain JSON and are checked by `validate`, so every bad
// key is reported at once rather than the first one serde meets.
/// The `settings` of a create or update request. A key left out keeps what
/// the stream has; `null` removes the stream's own choice, so the server's
/// default applies again; a value sets it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsPatch {
    /// HLS segment container: `fmp4` (CMAF) or `ts`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^(fmp4|ts)$")]
    container: Option<Option<Value>>,
    /// Transcode profile: `passthrough`, `abr`, or the name of a ladder.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = "^[a-z0-9_-]{1,32}$")]
    profile: Option<Option<Value>>,
    /// How far back viewers may seek, in seconds: 0 (no DVR) to 86400.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 86400)]
    dvr_window_seconds: Option<Option<Value>>,
    /// `normal` or `low`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<LatencyMode>)]
    latency_mode: Option<Option<Value>>,
    /// Days recordings are kept: 0 (until deleted) to 36500.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 0, maximum = 36500)]
    recording_retention_days: Option<Option<Value>>,
}

/// A validated [`SettingsPatch`], as the change to make to the stored object.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SettingsChange {
    /// Keys to set, with their stored form.
    pub set: Map<String, Value>,
    /// Keys to remove.
    pub clear: Vec<String>,
}

/// Checks one value and gives its stored form.
type ToStored = fn(&Value) -> Result<Value, String>;

impl SettingsPatch {
    /// Checks every key, adding a problem per bad one to `errors` (with
    /// pointers under `path`), and returns the change if all are good.
    pub fn validate(self, path: &[&str], errors: &mut Vec<FieldError>) -> Option<SettingsChange> {
        let before = errors.len();
        let mut change = SettingsChange::default();
        let fields: [(&str, Option<Option<Value>>, ToStored); 5] = [
            (KEYS[0], self.container, |v| {
                parse_container(v).map(|c| Value::from(c.as_str()))
            }),
            (KEYS[1], self.profile, |v| parse_profile(v).map(Value::from)),
            (KEYS[2], self.dvr_window_seconds, |v| {
                parse_dvr_window(v).map(Value::from)
            }),
            (KEYS[3], self.latency_mode, |v| {
                parse_latency_mode(v).map(|mode| Value::from(mode.as_str()))
            }),
            (KEYS[4], self.recording_retention_days, |v| {
                parse_retention_days(v).map(Value::from)
            }),
        ];
        for (key, value, parse) in fields {
            match value {
                None => {}
                Some(None) => change.clear.push(key.to_owned()),
                Some(Some(value)) => match parse(&value) {
                    Ok(stored) => {
                        change.set.insert(key.to_owned(), stored);
                    }
                    Err(why) => {
                        let mut pointer = path.to_vec();
                        pointer.push(key);
                        errors.push(FieldError::new(&pointer, why));
                    }
                },
            }
        }
        (errors.len() == before).then_some(change)
    }
}

impl SettingsChange {
    /// Every key this version knows removed: the server defaults throughout.
    pub fn reset() -> Self {
        Self {
            set: Map::new(),
            clear: KEYS.iter().map(|&key| key.to_owned()).collect(),
        }
    }

    /// The stored object of a new stream.
    pub fn into_new_settings(self) -> Value {
        Value::Object(self.set)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn defaults() -> StreamSettings {
        StreamSettings {
            container: SegmentContainer::Fmp4,
            ..StreamSettings::default()
        }
    }

    fn patch(body: Value) -> Result<SettingsChange, Vec<String>> {
        let patch: SettingsPatch = serde_json::from_value(body).map_err(|e| vec![e.to_string()])?;
        let mut errors = Vec::new();
        patch
            .validate(&["settings"], &mut errors)
            .ok_or_else(|| errors.into_iter().map(|e| e.pointer).collect())
    }

    #[test]
    fn stored_container_overrides_the_default() {
        let (overrides, warnings) = StreamOverrides::from_stored(&json!({ "container": "ts" }));
        assert!(warnings.is_empty());
        let settings = overrides.apply(&defaults());
        assert_eq!(settings.container, SegmentContainer::Ts);
        assert_eq!(
            settings.target_segment_duration,
            defaults().target_segment_duration
        );
    }

    #[test]
    fn every_stored_key_reads_back() {
        let stored = json!({
            "container": "ts", "profile": "abr", "dvr_window_seconds": 3600, "latency_mode": "low",
            "recording_retention_days": 30
        });
        let (overrides, warnings) = StreamOverrides::from_stored(&stored);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            overrides,
            StreamOverrides {
                container: Some(SegmentContainer::Ts),
                profile: Some("abr".to_owned()),
                dvr_window_seconds: Some(3600),
                latency_mode: Some(LatencyMode::Low),
                recording_retention_days: Some(30),
            }
        );
        assert_eq!(serde_json::to_value(&overrides).unwrap(), stored);
    }

    #[test]
    fn empty_settings_keep_every_default() {
        let (overrides, warnings) = StreamOverrides::from_stored(&json!({}));
        assert!(warnings.is_empty());
        assert_eq!(overrides.apply(&defaults()), defaults());
        assert_eq!(serde_json::to_value(&overrides).unwrap(), json!({}));
    }

    #[test]
    fn unusable_stored_values_fall_back_with_a_warning() {
        for stored in [
            json!({ "container": "webm" }),
            json!({ "container": 3 }),
            json!({ "profile": "Has Spaces" }),
            json!({ "dvr_window_seconds": 86401 }),
            json!({ "dvr_window_seconds": -1 }),
            json!({ "latency_mode": "ultra" }),
            json!([1]),
        ] {
            let (overrides, warnings) = StreamOverrides::from_stored(&stored);
            assert_eq!(overrides, StreamOverrides::default(), "{stored}");
            assert_eq!(warnings.len(), 1, "{stored}");
        }
    }

    #[test]
    fn profile_and_latency_mode_reach_the_packaging_settings() {
        let (overrides, warnings) =
            StreamOverrides::from_stored(&json!({ "profile": "abr", "latency_mode": "low" }));
        assert!(warnings.is_empty(), "{warnings:?}");
        let settings = overrides.apply(&defaults());
        assert_eq!(settings.transcode, TranscodeProfile::Abr);
        assert!(settings.low_latency);

        let (overrides, _) = StreamOverrides::from_stored(
            &json!({ "profile": "passthrough", "latency_mode": "normal" }),
        );
        let abr_defaults = StreamSettings {
            transcode: TranscodeProfile::Abr,
            low_latency: true,
            ..defaults()
        };
        let settings = overrides.apply(&abr_defaults);
        assert_eq!(settings.transcode, TranscodeProfile::Passthrough);
        assert!(!settings.low_latency);
        // Nothing chosen: the server's defaults.
        assert_eq!(
            StreamOverrides::default().apply(&abr_defaults),
            abr_defaults
        );
    }

    #[test]
    fn an_unknown_ladder_packages_passthrough_with_a_warning() {
        let (overrides, warnings) = StreamOverrides::from_stored(&json!({ "profile": "sports" }));
        assert_eq!(overrides.profile.as_deref(), Some("sports"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("sports"), "{warnings:?}");
        let abr_defaults = StreamSettings {
            transcode: TranscodeProfile::Abr,
            ..defaults()
        };
        assert_eq!(
            overrides.apply(&abr_defaults).transcode,
            TranscodeProfile::Passthrough
        );
    }

    #[test]
    fn unknown_stored_keys_are_skipped_quietly() {
        let (overrides, warnings) =
            StreamOverrides::from_stored(&json!({ "container": "ts", "latency": "low" }));
        assert!(warnings.is_empty());
        assert_eq!(overrides.container, Some(SegmentContainer::Ts));
    }

    #[test]
    fn a_patch_sets_clears_and_keeps() {
        let change = patch(json!({
            "container": "ts", "profile": null, "dvr_window_seconds": 0, "latency_mode": "normal"
        }))
        .unwrap();
        assert_eq!(
            Value::Object(change.set),
            json!({ "container": "ts", "dvr_window_seconds": 0, "latency_mode": "normal" })
        );
        assert_eq!(change.clear, ["profile"]);
        assert_eq!(patch(json!({})).unwrap(), SettingsChange::default());
    }

    #[test]
    fn a_patch_reports_every_bad_key_at_once() {
        let errors = patch(json!({
            "container": "webm", "profile": "UPPER", "dvr_window_seconds": 90000, "latency_mode": 1
        }))
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "#/settings/container",
                "#/settings/profile",
                "#/settings/dvr_window_seconds",
                "#/settings/latency_mode"
            ]
        );
        for bad_profile in ["", &"a".repeat(33), "a b", "é", "a.b"] {
            assert!(
                patch(json!({ "profile": bad_profile })).is_err(),
                "{bad_profile:?}"
            );
        }
        for good_profile in ["passthrough", "abr", "ladder_720p-2", &"a".repeat(32)] {
            assert!(
                patch(json!({ "profile": good_profile })).is_ok(),
                "{good_profile:?}"
            );
        }
        for bad_window in [json!(-1), json!(1.5), json!("60"), json!(86401)] {
            assert!(patch(json!({ "dvr_window_seconds": bad_window })).is_err());
        }
        assert!(patch(json!({ "dvr_window_seconds": 86400 })).is_ok());
    }

    #[test]
    fn a_patch_refuses_unknown_keys() {
        assert!(patch(json!({ "contaner": "ts" })).is_err());
    }
}
