//! What a caught panic says, for logs and health.

use std::any::Any;

/// A panic's message: panics carry a `&str` or a `String` unless raised
/// with `panic_any`.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
