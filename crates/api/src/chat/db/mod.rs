//! The SQL of the chat API. Access checks happen before (in the handlers,
//! through `StreamAccess`); every query is still scoped to the stream, so an
//! id from another stream is as missing as an id that does not exist.

pub(crate) mod bans;
pub(crate) mod messages;
pub(crate) mod settings;
