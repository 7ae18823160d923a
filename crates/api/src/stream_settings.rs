//! A stream's own packaging settings: the `settings` object of the API and
//! the `live_streams.settings` jsonb column. Absent keys mean "the server's
//! default", so changing a server default reaches every stream that did not
//! choose otherwise.

use nova_media::{SegmentContainer, StreamSettings};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Strict on the way in (unknown keys are refused, so a typo is not silently
/// ignored), lenient on the way out of the database (see [`Self::from_stored`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamOverrides {
    /// HLS segment container: `fmp4` (CMAF) or `ts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(fmp4|ts)$")]
    pub container: Option<SegmentContainer>,
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
        let container = match object.get("container") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => match name.parse::<SegmentContainer>() {
                Ok(container) => Some(container),
                Err(why) => {
                    warnings.push(format!("settings.container: {why}; using the default"));
                    None
                }
            },
            Some(other) => {
                warnings.push(format!(
                    "settings.container is {other}, not a string; using the default"
                ));
                None
            }
        };
        (Self { container }, warnings)
    }

    pub fn to_stored(&self) -> Value {
        serde_json::to_value(self).expect("stream settings always serialize")
    }

    pub fn apply(&self, defaults: &StreamSettings) -> StreamSettings {
        StreamSettings {
            container: self.container.unwrap_or(defaults.container),
            ..defaults.clone()
        }
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
    fn empty_settings_keep_every_default() {
        let (overrides, warnings) = StreamOverrides::from_stored(&json!({}));
        assert!(warnings.is_empty());
        assert_eq!(overrides.apply(&defaults()), defaults());
        assert_eq!(overrides.to_stored(), json!({}));
    }

    #[test]
    fn unusable_stored_values_fall_back_with_a_warning() {
        for stored in [
            json!({ "container": "webm" }),
            json!({ "container": 3 }),
            json!([1]),
        ] {
            let (overrides, warnings) = StreamOverrides::from_stored(&stored);
            assert_eq!(overrides.apply(&defaults()), defaults(), "{stored}");
            assert_eq!(warnings.len(), 1, "{stored}");
        }
    }

    #[test]
    fn unknown_stored_keys_are_skipped_quietly() {
        let (overrides, warnings) =
            StreamOverrides::from_stored(&json!({ "container": "ts", "latency": "low" }));
        assert!(warnings.is_empty());
        assert_eq!(overrides.container, Some(SegmentContainer::Ts));
    }

    #[test]
    fn api_input_refuses_unknown_keys_and_values() {
        assert!(serde_json::from_value::<StreamOverrides>(json!({ "contaner": "ts" })).is_err());
        assert!(serde_json::from_value::<StreamOverrides>(json!({ "container": "webm" })).is_err());
        let parsed: StreamOverrides =
            serde_json::from_value(json!({ "container": "fmp4" })).unwrap();
        assert_eq!(parsed.to_stored(), json!({ "container": "fmp4" }));
    }
}
