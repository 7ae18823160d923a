//! A guard in front of rml_rtmp: follows the peer's RTMP chunk stream
//! (RTMP spec 1.0 §5.3) far enough to see every message's declared length
//! and type before rml_rtmp does, and refuses the connection when a limit
//! is crossed. The bytes themselves go on to rml_rtmp unchanged.
//!
//! Why a guard and not a patched rml_amf0: rml_rtmp reserves a message's
//! declared length on its first chunk and takes any chunk size up to
//! 2^31-1, so sizes must be refused before rml_rtmp sees them anyway; the
//! same reader then hands the small AMF messages to a non-recursive
//! walker, and rml_rtmp stays the crate everyone else uses.
//!
//! It reads chunks exactly as rml_rtmp 0.8's deserializer does (per-chunk-
//! stream previous headers, extended timestamps on every chunk whose
//! header's timestamp field is 0xFFFFFF, the peer's Set Chunk Size applied
//! from the next chunk on). rml_rtmp assembles one message at a time into
//! a single buffer, so interleaved messages, which it would mis-assemble,
//! are refused: encoders send each message's chunks back to back.

use std::collections::HashMap;
use std::fmt;

use super::amf_walk::{self, AmfProblem};
use super::limits::RtmpLimits;
use super::refusals::Refusal;

/// Every peer starts at this chunk size (RTMP spec 1.0 §5.4.1).
const INITIAL_CHUNK_SIZE: u32 = 128;
/// A timestamp field of this value means a 4-byte extended timestamp
/// follows the header.
const EXTENDED_TIMESTAMP: u32 = 0xff_ffff;
/// Basic header (3) + message header (11) + extended timestamp (4).
const MAX_HEADER: usize = 18;

const SET_CHUNK_SIZE: u8 = 1;
const AUDIO: u8 = 8;
const VIDEO: u8 = 9;
const AMF3_DATA: u8 = 15;
const AMF3_COMMAND: u8 = 17;
const AMF0_DATA: u8 = 18;
const AMF0_COMMAND: u8 = 20;

/// Why the guard refused the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardRefusal {
    pub reason: Refusal,
    pub detail: String,
}

impl fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

fn refuse<T>(reason: Refusal, detail: impl Into<String>) -> Result<T, GuardRefusal> {
    Err(GuardRefusal {
        reason,
        detail: detail.into(),
    })
}

/// What a chunk stream's last full header said; compressed headers
/// (formats 1–3) inherit from it.
#[derive(Clone, Copy, Debug)]
struct PreviousHeader {
    length: u32,
    type_id: u8,
    timestamp_field: u32,
}

/// The message whose chunks are arriving.
#[derive(Debug)]
struct InFlight {
    csid: u32,
    type_id: u8,
    length: u32,
    received: u32,
    /// Payload bytes left in the current chunk.
    chunk_left: u32,
    /// Kept only for the small messages the guard reads itself.
    body: Option<Vec<u8>>,
}

/// Outcome of the input seen so far that the connection acts on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// `createStream` commands completed.
    pub create_streams: u32,
}

pub struct ChunkGuard {
    limits: RtmpLimits,
    chunk_size: u32,
    streams: HashMap<u32, PreviousHeader>,
    /// A chunk header being read (at most [`MAX_HEADER`] bytes).
    header: Vec<u8>,
    message: Option<InFlight>,
    /// Large audio and video messages are for a publisher whose key was
    /// accepted; before that every message gets the command limit.
    publishing: bool,
}

impl ChunkGuard {
    pub fn new(limits: RtmpLimits) -> Self {
        Self {
            limits,
            chunk_size: INITIAL_CHUNK_SIZE,
            streams: HashMap::new(),
            header: Vec::with_capacity(MAX_HEADER),
            message: None,
            publishing: false,
        }
    }

    /// Whether audio and video messages may be as large as media limits
    /// allow (from the next message on).
    pub fn set_publishing(&mut self, publishing: bool) {
        self.publishing = publishing;
    }

    /// Follows `input`, the next bytes from the peer after the handshake.
    pub fn inspect(&mut self, mut input: &[u8]) -> Result<Seen, GuardRefusal> {
        let mut seen = Seen::default();
        while !input.is_empty() {
            if let Some(message) = self.message.as_mut().filter(|m| m.chunk_left > 0) {
                let take = input.len().min(message.chunk_left as usize);
                if let Some(body) = &mut message.body {
                    body.extend_from_slice(&input[..take]);
                }
                input = &input[take..];
                // `take` is at most `chunk_left`, a u32.
                message.chunk_left -= take as u32;
                message.received += take as u32;
                if message.received == message.length
                    && let Some(done) = self.message.take()
                {
                    self.complete(done, &mut seen)?;
                }
                continue;
            }
            let needed = self.header_len()?;
            if self.header.len() < needed {
                let take = input.len().min(needed - self.header.len());
                self.header.extend_from_slice(&input[..take]);
                input = &input[take..];
                continue;
            }
            self.start_chunk(&mut seen)?;
        }
        // A header complete at the very end of the input.
        if self.message.as_ref().is_none_or(|m| m.chunk_left == 0)
            && !self.header.is_empty()
            && self.header.len() == self.header_len()?
        {
            self.start_chunk(&mut seen)?;
        }
        Ok(seen)
    }

    /// How long the chunk header being read is, as far as its bytes so far
    /// tell (it only grows as more arrive).
    fn header_len(&self) -> Result<usize, GuardRefusal> {
        let Some(&first) = self.header.first() else {
            return Ok(1);
        };
        let basic = match first & 0x3f {
            0 => 2,
            1 => 3,
            _ => 1,
        };
        let format = first >> 6;
        let message_header = [11, 7, 3, 0][usize::from(format)];
        let mut len = basic + message_header;
        if format < 3 {
            if let Some(field) = self.header.get(basic..basic + 3)
                && u24(field) == EXTENDED_TIMESTAMP
            {
                len += 4;
            }
        } else if self.header.len() >= basic {
            let csid = chunk_stream_id(&self.header);
            let Some(previous) = self.streams.get(&csid) else {
                return refuse(
                    Refusal::MalformedChunks,
                    format!("chunk stream {csid} continued before it started"),
                );
            };
            if previous.timestamp_field == EXTENDED_TIMESTAMP {
                len += 4;
            }
        }
        Ok(len)
    }

    /// A complete chunk header is in `self.header`: start its chunk.
    fn start_chunk(&mut self, seen: &mut Seen) -> Result<(), GuardRefusal> {
        // Copied out so the buffer is reused for the next header.
        let mut copy = [0_u8; MAX_HEADER];
        let header = &mut copy[..self.header.len()];
        header.copy_from_slice(&self.header);
        self.header.clear();
        let header = &*header;
        let format = header[0] >> 6;
        let csid = chunk_stream_id(header);
        let fields = &header[match header[0] & 0x3f {
            0 => 2,
            1 => 3,
            _ => 1,
        }..];
        if let Some(message) = &mut self.message {
            if format != 3 || csid != message.csid {
                return refuse(
                    Refusal::MalformedChunks,
                    format!(
                        "a chunk on stream {csid} interrupted an unfinished message on stream {}",
                        message.csid
                    ),
                );
            }
            message.chunk_left = self.chunk_size.min(message.length - message.received);
            return Ok(());
        }
        let previous = match format {
            0 => {
                if !self.streams.contains_key(&csid)
                    && self.streams.len() >= self.limits.max_chunk_streams
                {
                    return refuse(
                        Refusal::ChunkStreams,
                        format!(
                            "more than {} chunk streams on one connection",
                            self.limits.max_chunk_streams
                        ),
                    );
                }
                PreviousHeader {
                    timestamp_field: u24(&fields[0..3]),
                    length: u24(&fields[3..6]),
                    type_id: fields[6],
                }
            }
            _ => {
                let Some(mut previous) = self.streams.get(&csid).copied() else {
                    return refuse(
                        Refusal::MalformedChunks,
                        format!("chunk stream {csid} continued before it started"),
                    );
                };
                if format < 3 {
                    previous.timestamp_field = u24(&fields[0..3]);
                }
                if format == 1 {
                    previous.length = u24(&fields[3..6]);
                    previous.type_id = fields[6];
                }
                previous
            }
        };
        self.streams.insert(csid, previous);
        let PreviousHeader {
            length, type_id, ..
        } = previous;
        let limit = match type_id {
            AUDIO | VIDEO if self.publishing => self.limits.max_media_message,
            _ => self.limits.max_command_message,
        };
        if length > limit {
            return refuse(
                Refusal::MessageTooLarge,
                format!("a type {type_id} message of {length} bytes, over the limit of {limit}"),
            );
        }
        let message = InFlight {
            csid,
            type_id,
            length,
            received: 0,
            chunk_left: self.chunk_size.min(length),
            body: read_by_guard(type_id).then(|| Vec::with_capacity(length as usize)),
        };
        if length == 0 {
            return self.complete(message, seen);
        }
        self.message = Some(message);
        Ok(())
    }

    /// A whole message arrived: read the ones the guard reads.
    fn complete(&mut self, message: InFlight, seen: &mut Seen) -> Result<(), GuardRefusal> {
        let Some(body) = message.body else {
            return Ok(());
        };
        match message.type_id {
            SET_CHUNK_SIZE => {
                // Shorter bodies make rml_rtmp fail on its own.
                let Some(size) = body.get(..4) else {
                    return Ok(());
                };
                let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
                if size == 0 || size > self.limits.max_chunk_size {
                    return refuse(
                        Refusal::ChunkSize,
                        format!(
                            "chunk size {size} announced, the limit is {}",
                            self.limits.max_chunk_size
                        ),
                    );
                }
                self.chunk_size = size;
            }
            AMF3_COMMAND | AMF0_COMMAND => {
                // rml_rtmp reads an "AMF3" command whose first byte is 0 as
                // AMF0 after that byte (what encoders send), the rest as AMF0.
                let amf0 = match (message.type_id, body.first()) {
                    (AMF3_COMMAND, Some(0)) => &body[1..],
                    _ => &body[..],
                };
                let name = amf_walk::walk(amf0, self.limits.max_amf_depth).map_err(amf_refusal)?;
                if name == Some(b"createStream") {
                    seen.create_streams += 1;
                }
            }
            _ => {
                // Data messages, "AMF3" ones included, are AMF0 to rml_rtmp.
                amf_walk::walk(&body, self.limits.max_amf_depth).map_err(amf_refusal)?;
            }
        }
        Ok(())
    }
}

/// The messages the guard reassembles and reads: small by their limit.
fn read_by_guard(type_id: u8) -> bool {
    matches!(
        type_id,
        SET_CHUNK_SIZE | AMF3_DATA | AMF3_COMMAND | AMF0_DATA | AMF0_COMMAND
    )
}

fn amf_refusal(problem: AmfProblem) -> GuardRefusal {
    let reason = match problem {
        AmfProblem::TooDeep(_) => Refusal::AmfTooDeep,
        _ => Refusal::MalformedAmf,
    };
    GuardRefusal {
        reason,
        detail: problem.to_string(),
    }
}

/// The chunk stream id of a complete basic header (1–3 bytes).
fn chunk_stream_id(header: &[u8]) -> u32 {
    match header[0] & 0x3f {
        0 => u32::from(header[1]) + 64,
        1 => u32::from(header[2]) * 256 + u32::from(header[1]) + 64,
        id => u32::from(id),
    }
}

fn u24(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]])
}

#[cfg(test)]
#[path = "chunk_guard_tests.rs"]
mod tests;
