//! The body of one stream's packager thread: hub events in, segments out,
//! the stream's health measured on the way. A panic in the packager (or a
//! ladder thread, which the ladder re-raises here) is caught: the thread
//! reports it instead of vanishing, and the supervisor ends the stream.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nova_media::{SegmentContainer, SegmentSink, StreamEvent, StreamId, TranscodeProfile};
use nova_packager::{AbrConfig, Packager};
use nova_rtmp_ingest::Subscription;

use crate::fault::PackagerFault;
use crate::health::{HealthTracker, Input, Tally, renditions};
use crate::supervisor::panic_message;
use crate::transcode_slots::{TranscodeSlot, TranscodeSlots};

pub struct PackagerThread {
    pub stream: StreamId,
    pub sink: Arc<dyn SegmentSink>,
    pub abr: AbrConfig,
    pub slots: Arc<TranscodeSlots>,
    pub tracker: Arc<Mutex<HealthTracker>>,
    pub fault: Option<PackagerFault>,
}

impl PackagerThread {
    /// Packages the feed until the stream ends (`Ok`), or until the
    /// packager panics (`Err`, with the panic's message).
    pub fn run(self, feed: &mut Subscription) -> Result<(), String> {
        let Self {
            stream,
            sink,
            abr,
            slots,
            tracker,
            fault,
        } = self;
        let mut packager = Packager::new(stream, sink).with_abr(abr);
        let mut ladder = LadderAdmission::Undecided;
        let mut handled = 0u64;
        while let Some(event) = feed.blocking_recv() {
            let event = ladder.admit(stream, event, &slots, &tracker);
            // Seen before the packager takes the event; the lock is taken
            // once per event, after the muxing is done.
            let (input, arrived) = (Input::of(&event), Instant::now());
            handled += 1;
            let step = catch_unwind(AssertUnwindSafe(|| {
                inject(fault, handled, &event);
                packager.handle(event);
            }));
            if let Err(payload) = step {
                // What the panic left half-done is unknown; ending the
                // playlists on drop is worth a try, not a second crash.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(packager)));
                return Err(panic_message(&*payload));
            }
            let mut health = tracker.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(input) = input {
                health.observe(input, arrived);
            }
            let tally = Tally::of(&packager.counters(), feed.timestamp_repairs());
            health.counters(tally, arrived);
            health.renditions(renditions::of(packager.ladder_stats()));
        }
        Ok(())
    }
}

/// Whether this run transcodes: decided at its first publish, as the
/// packager decides (a run keeps the renditions it started with).
enum LadderAdmission {
    Undecided,
    /// The run has the ladder (and holds its slot until it ends), or never
    /// asked for it.
    Decided {
        _slot: Option<TranscodeSlot>,
    },
    /// The run asked for the ladder when no slot was free.
    Refused,
}

impl LadderAdmission {
    fn admit(
        &mut self,
        stream: StreamId,
        event: StreamEvent,
        slots: &Arc<TranscodeSlots>,
        tracker: &Mutex<HealthTracker>,
    ) -> StreamEvent {
        let StreamEvent::PublishStarted { session, settings } = event else {
            return event;
        };
        if let Self::Undecided = self {
            // MPEG-TS runs stay passthrough whatever they ask (see
            // `TranscodeProfile::Abr`): they take no slot.
            let asks = settings.transcode == TranscodeProfile::Abr
                && settings.container == SegmentContainer::Fmp4;
            *self = match asks.then(|| slots.try_take()) {
                None => Self::Decided { _slot: None },
                Some(Some(slot)) => Self::Decided { _slot: Some(slot) },
                Some(None) => {
                    tracing::warn!(
                        %stream,
                        session,
                        limit = slots.limit(),
                        "transcoding limit reached: the stream is packaged passthrough"
                    );
                    let mut health = tracker.lock().unwrap_or_else(|p| p.into_inner());
                    health.ladder_refused(slots.limit());
                    Self::Refused
                }
            };
        }
        let settings = match self {
            Self::Refused if settings.transcode != TranscodeProfile::Passthrough => {
                let mut passthrough = (*settings).clone();
                passthrough.transcode = TranscodeProfile::Passthrough;
                Arc::new(passthrough)
            }
            _ => settings,
        };
        StreamEvent::PublishStarted { session, settings }
    }
}

/// The debug builds' injected faults (see `fault`).
fn inject(fault: Option<PackagerFault>, handled: u64, event: &StreamEvent) {
    match fault {
        Some(PackagerFault::PanicAtEvent(at)) if handled == at => {
            panic!("injected fault: packager-panic")
        }
        Some(PackagerFault::StuckAtEnd) if matches!(event, StreamEvent::StreamEnded) => loop {
            std::thread::park();
        },
        _ => {}
    }
}
