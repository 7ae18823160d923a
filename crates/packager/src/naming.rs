//! Names of a packaging run's files. HTTP caches keep segments forever
//! (`CachePolicy::Immutable`), so a name is never reused for other bytes:
//! each run gets a token of its own, and every muxer an init name of its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use nova_media::SegmentContainer;

pub(crate) struct RunNames {
    run: String,
    next_init: u32,
}

impl RunNames {
    pub(crate) fn new() -> Self {
        Self::with_token(run_token())
    }

    pub(crate) fn with_token(run: String) -> Self {
        Self { run, next_init: 1 }
    }

    pub(crate) fn run(&self) -> &str {
        &self.run
    }

    /// A fresh init segment name, e.g. `m3k9x0a1b2-init1.mp4`.
    pub(crate) fn next_init(&mut self) -> String {
        let name = format!("{}-init{}.mp4", self.run, self.next_init);
        self.next_init += 1;
        name
    }

    /// A media segment name, e.g. `m3k9x0a1b2-17.m4s`.
    pub(crate) fn segment(&self, sequence: u64, container: SegmentContainer) -> String {
        let extension = match container {
            SegmentContainer::Fmp4 => "m4s",
            SegmentContainer::Ts => "ts",
        };
        format!("{}-{sequence}.{extension}", self.run)
    }

    /// An LL-HLS part name, e.g. `m3k9x0a1b2-17.3.m4s`: part 3 of segment 17.
    pub(crate) fn part(&self, sequence: u64, index: usize) -> String {
        format!("{}-{sequence}.{index}.m4s", self.run)
    }
}

/// Microseconds since the Unix epoch in base 36, strictly increasing within
/// the process: unique across restarts (the clock moved on) and across the
/// packagers of one process (the counter).
fn run_token() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
        });
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(0);
    base36(now.max(previous + 1))
}

fn base36(mut value: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base36 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_short() {
        let tokens: Vec<String> = (0..1_000).map(|_| run_token()).collect();
        let mut unique = tokens.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tokens.len());
        assert!(tokens.iter().all(|t| t.len() <= 11), "{tokens:?}");
    }

    #[test]
    fn names_inits_and_segments() {
        let mut names = RunNames::with_token("abc".into());
        assert_eq!(names.next_init(), "abc-init1.mp4");
        assert_eq!(names.next_init(), "abc-init2.mp4");
        assert_eq!(names.segment(7, SegmentContainer::Fmp4), "abc-7.m4s");
        assert_eq!(names.segment(8, SegmentContainer::Ts), "abc-8.ts");
        assert_eq!(names.part(8, 2), "abc-8.2.m4s");
        assert_eq!(base36(0), "0");
        assert_eq!(base36(36 * 36 + 35), "10z");
    }
}
