//! RTMP's 32-bit millisecond clock made into a 64-bit one.
//!
//! RTMP timestamps are unsigned 32-bit milliseconds that roll over every
//! 49 days 17 hours, and are compared with serial number arithmetic (Adobe
//! RTMP spec 1.0 §3, "Byte Order, Alignment, and Time Format"). A publisher
//! whose clock starts high (some encoders start from wall-clock time) wraps
//! much sooner.

/// Unwraps one track's decode timestamps.
///
/// Consecutive timestamps are compared as a signed 32-bit difference, which
/// is what makes the wrap invisible (serial number arithmetic, RFC 1982 §3.2).
/// A step backwards stays a step backwards: the hub repairs timestamps that
/// do not increase, for every ingest protocol and every subscriber at once.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    last: Option<(u32, i64)>,
}

impl Timeline {
    /// The unwrapped timestamp of `raw`.
    pub fn unwrap(&mut self, raw: u32) -> i64 {
        let unwrapped = match self.last {
            None => i64::from(raw),
            Some((last_raw, last)) => {
                // The cast reinterprets the wrapped difference as signed.
                last + i64::from(raw.wrapping_sub(last_raw) as i32)
            }
        };
        self.last = Some((raw, unwrapped));
        unwrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_first_raw_value() {
        let mut t = Timeline::default();
        assert_eq!(t.unwrap(1_000), 1_000);
        assert_eq!(t.unwrap(1_033), 1_033);
    }

    #[test]
    fn continues_across_the_32_bit_wrap() {
        let mut t = Timeline::default();
        assert_eq!(t.unwrap(u32::MAX - 20), i64::from(u32::MAX) - 20);
        assert_eq!(t.unwrap(12), i64::from(u32::MAX) + 13);
        assert_eq!(t.unwrap(45), i64::from(u32::MAX) + 46);
    }

    #[test]
    fn passes_backward_steps_through_for_the_hub_to_repair() {
        let mut t = Timeline::default();
        assert_eq!(t.unwrap(5_000), 5_000);
        assert_eq!(t.unwrap(4_990), 4_990);
        assert_eq!(t.unwrap(5_023), 5_023);
        // The encoder restarted its clock at zero.
        assert_eq!(t.unwrap(0), 0);
        assert_eq!(t.unwrap(40), 40);
        // A step back across the wrap is still a step back.
        let mut t = Timeline::default();
        assert_eq!(t.unwrap(5), 5);
        assert_eq!(t.unwrap(u32::MAX - 4), -5);
    }
}
