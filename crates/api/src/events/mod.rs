//! Live events: the in-process bus every change is published to, and the
//! WebSocket / Server-Sent Events feeds that deliver it to clients.

mod bus;

pub use bus::{EventBus, EventType, LiveEvent, ReplayLimits, Subscription};
