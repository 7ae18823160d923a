//! Walks AMF0 the way rml_amf0 0.3 decodes it, without recursion and
//! without building values, to bound the nesting depth before rml_amf0's
//! recursive decoder sees the bytes (too deep a message overflows the
//! stack, which aborts the process: `catch_unwind` cannot catch that).
//!
//! It accepts only what it can walk to the end; whatever it cannot (an
//! unknown marker, a truncated value) is refused rather than guessed at.

const NUMBER: u8 = 0x00;
const BOOLEAN: u8 = 0x01;
const STRING: u8 = 0x02;
const OBJECT: u8 = 0x03;
const NULL: u8 = 0x05;
const UNDEFINED: u8 = 0x06;
const ECMA_ARRAY: u8 = 0x08;
const OBJECT_END: u8 = 0x09;
const STRICT_ARRAY: u8 = 0x0a;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmfProblem {
    #[error("AMF0 nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("AMF0 marker {0:#04x} is not one this server reads")]
    UnknownMarker(u8),
    #[error("AMF0 value cut short at byte {0}")]
    Truncated(usize),
    #[error("AMF0 object property without a name at byte {0}")]
    UnnamedProperty(usize),
}

/// A container being walked.
enum Frame {
    /// A strict array with this many values still to come (rml_amf0 also
    /// ends one early at an object-end marker or the end of the data).
    Array(u32),
    /// An object or ECMA array: named properties until an empty name and
    /// an object-end marker.
    Object,
}

struct Walker<'a> {
    data: &'a [u8],
    at: usize,
    stack: Vec<Frame>,
    max_depth: usize,
}

/// Walks a whole AMF0 message body: values until the data or an
/// object-end marker at the top level ends it, as rml_amf0 does. Returns
/// the first value when it is a string (a command's name).
pub fn walk(data: &[u8], max_depth: usize) -> Result<Option<&[u8]>, AmfProblem> {
    let mut walker = Walker {
        data,
        at: 0,
        stack: Vec::new(),
        max_depth,
    };
    let mut first_string = None;
    let mut first = true;
    loop {
        match walker.stack.last_mut() {
            None => {
                let Some(marker) = walker.byte() else { break };
                if marker == OBJECT_END {
                    break;
                }
                let start = walker.at;
                walker.value(marker)?;
                if first && marker == STRING {
                    first_string = data.get(start + 2..walker.at);
                }
                first = false;
            }
            Some(Frame::Array(left)) => {
                if *left == 0 {
                    walker.stack.pop();
                    continue;
                }
                *left -= 1;
                match walker.byte() {
                    None | Some(OBJECT_END) => {
                        walker.stack.pop();
                    }
                    Some(marker) => walker.value(marker)?,
                }
            }
            Some(Frame::Object) => {
                let name_at = walker.at;
                let name_len = walker.take(2)?;
                let name_len = usize::from(u16::from_be_bytes([name_len[0], name_len[1]]));
                if name_len == 0 {
                    if walker.byte() != Some(OBJECT_END) {
                        return Err(AmfProblem::UnnamedProperty(name_at));
                    }
                    walker.stack.pop();
                    continue;
                }
                walker.take(name_len)?;
                match walker.byte() {
                    None | Some(OBJECT_END) => return Err(AmfProblem::Truncated(walker.at)),
                    Some(marker) => walker.value(marker)?,
                }
            }
        }
    }
    Ok(first_string)
}

impl Walker<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.data.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn take(&mut self, len: usize) -> Result<&[u8], AmfProblem> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.data.len())
            .ok_or(AmfProblem::Truncated(self.at))?;
        let taken = &self.data[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// Skips a scalar, or enters a container.
    fn value(&mut self, marker: u8) -> Result<(), AmfProblem> {
        match marker {
            NUMBER => {
                self.take(8)?;
            }
            BOOLEAN => {
                self.take(1)?;
            }
            STRING => {
                let len = self.take(2)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                self.take(len)?;
            }
            NULL | UNDEFINED => {}
            OBJECT => self.enter(Frame::Object)?,
            ECMA_ARRAY => {
                // The count is a hint rml_amf0 ignores: properties run to
                // the object end.
                self.take(4)?;
                self.enter(Frame::Object)?;
            }
            STRICT_ARRAY => {
                let count = self.take(4)?;
                let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
                self.enter(Frame::Array(count))?;
            }
            other => return Err(AmfProblem::UnknownMarker(other)),
        }
        Ok(())
    }

    fn enter(&mut self, frame: Frame) -> Result<(), AmfProblem> {
        if self.stack.len() >= self.max_depth {
            return Err(AmfProblem::TooDeep(self.max_depth));
        }
        self.stack.push(frame);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Cursor;

    use rml_rtmp::rml_amf0::{self, Amf0Value};

    use super::*;

    fn encode(values: &[Amf0Value]) -> Vec<u8> {
        rml_amf0::serialize(&values.to_vec()).unwrap()
    }

    fn nested(depth: usize, wrap: impl Fn(Amf0Value) -> Amf0Value) -> Amf0Value {
        (0..depth).fold(Amf0Value::Null, |inner, _| wrap(inner))
    }

    fn object(inner: Amf0Value) -> Amf0Value {
        Amf0Value::Object(HashMap::from([("a".to_owned(), inner)]))
    }

    #[test]
    fn walks_what_rml_amf0_encodes_and_names_the_command() {
        let metadata = HashMap::from([
            ("width".to_owned(), Amf0Value::Number(1280.0)),
            (
                "encoder".to_owned(),
                Amf0Value::Utf8String("obs".to_owned()),
            ),
            ("stereo".to_owned(), Amf0Value::Boolean(true)),
            (
                "tracks".to_owned(),
                Amf0Value::StrictArray(vec![object(Amf0Value::Undefined), Amf0Value::Null]),
            ),
        ]);
        let body = encode(&[
            Amf0Value::Utf8String("connect".to_owned()),
            Amf0Value::Number(1.0),
            Amf0Value::Object(metadata),
        ]);
        assert_eq!(walk(&body, 32), Ok(Some(&b"connect"[..])));
        assert_eq!(walk(&encode(&[Amf0Value::Number(2.0)]), 32), Ok(None));
        assert_eq!(walk(&[], 32), Ok(None));
    }

    #[test]
    fn depth_is_bounded_for_every_container_kind() {
        type Wrap = fn(Amf0Value) -> Amf0Value;
        let kinds: [(&str, Wrap); 2] = [
            ("strict array", |inner| Amf0Value::StrictArray(vec![inner])),
            ("object", object),
        ];
        for (kind, wrap) in kinds {
            let at_limit = encode(&[nested(8, wrap)]);
            assert!(walk(&at_limit, 8).is_ok(), "{kind}");
            // rml_amf0 decodes what the walker lets through.
            rml_amf0::deserialize(&mut Cursor::new(&at_limit)).unwrap();
            let over = encode(&[nested(9, wrap)]);
            assert_eq!(walk(&over, 8), Err(AmfProblem::TooDeep(8)), "{kind}");
        }
        // ECMA arrays (rml_amf0 encodes none): marker, count, properties.
        let mut ecma = Vec::new();
        for _ in 0..9 {
            ecma.extend_from_slice(&[ECMA_ARRAY, 0, 0, 0, 1, 0, 1, b'a']);
        }
        ecma.push(NULL);
        for _ in 0..9 {
            ecma.extend_from_slice(&[0, 0, OBJECT_END]);
        }
        assert_eq!(walk(&ecma, 8), Err(AmfProblem::TooDeep(8)));
        assert!(walk(&ecma, 9).is_ok());
        rml_amf0::deserialize(&mut Cursor::new(&ecma)).unwrap();
    }

    #[test]
    fn a_deep_message_is_walked_without_recursion() {
        // Deep enough to overflow any thread's stack in a recursive walk.
        let mut deep = Vec::new();
        for _ in 0..1_000_000 {
            deep.extend_from_slice(&[STRICT_ARRAY, 0, 0, 0, 1]);
        }
        assert_eq!(walk(&deep, 32), Err(AmfProblem::TooDeep(32)));
        assert_eq!(walk(&deep, usize::MAX), Ok(None));
    }

    #[test]
    fn what_it_cannot_walk_is_refused() {
        assert_eq!(walk(&[0x0d], 32), Err(AmfProblem::UnknownMarker(0x0d)));
        assert_eq!(walk(&[NUMBER, 1, 2], 32), Err(AmfProblem::Truncated(1)));
        assert_eq!(
            walk(&[STRING, 0, 5, b'a'], 32),
            Err(AmfProblem::Truncated(3))
        );
        assert_eq!(
            walk(&[OBJECT, 0, 0, NULL], 32),
            Err(AmfProblem::UnnamedProperty(1))
        );
        assert_eq!(
            walk(&[OBJECT, 0, 1, b'a'], 32),
            Err(AmfProblem::Truncated(4))
        );
    }

    #[test]
    fn ends_where_rml_amf0_ends() {
        // A top-level object end stops rml_amf0; what follows is not read.
        assert_eq!(walk(&[NULL, OBJECT_END, 0xff, 0xff], 32), Ok(None));
        // A strict array ends at its count, the data's end or an object end.
        assert!(walk(&[STRICT_ARRAY, 0xff, 0xff, 0xff, 0xff, NULL], 32).is_ok());
        assert!(walk(&[STRICT_ARRAY, 0, 0, 0, 3, NULL, OBJECT_END, NULL], 32).is_ok());
    }
}
