//! A hand-rolled RTMP client for attacks: a real handshake (rml_rtmp's
//! client side), then whatever chunk bytes the test crafts. Nothing here
//! tries to be a well-behaved client.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The chunk size every RTMP peer starts with (spec 1.0 §5.4.1).
pub const INITIAL_CHUNK_SIZE: usize = 128;

/// `host:port` of an `rtmp://host:port/app` URL.
pub fn rtmp_addr(rtmp_url: &str) -> SocketAddr {
    let rest = rtmp_url.strip_prefix("rtmp://").expect("an rtmp:// URL");
    rest.split('/').next().unwrap().parse().unwrap()
}

/// Connects from `source` (any loopback address works as a source on
/// Linux), or from the default address.
pub async fn connect_from(server: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(server).await
}

/// Completes the RTMP handshake as a client.
pub async fn handshake(stream: &mut TcpStream) -> io::Result<()> {
    let mut handshake = Handshake::new(PeerType::Client);
    let c0c1 = handshake
        .generate_outbound_p0_and_p1()
        .map_err(io::Error::other)?;
    stream.write_all(&c0c1).await?;
    let mut buffer = [0_u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        match handshake
            .process_bytes(&buffer[..read])
            .map_err(io::Error::other)?
        {
            HandshakeProcessResult::InProgress { response_bytes } => {
                stream.write_all(&response_bytes).await?;
            }
            HandshakeProcessResult::Completed { response_bytes, .. } => {
                stream.write_all(&response_bytes).await?;
                return Ok(());
            }
        }
    }
}

/// One RTMP message as chunks of `chunk_size`: a type 0 header on chunk
/// stream `csid` (2..=63), then type 3 headers before each continuation.
pub fn message(
    csid: u8,
    type_id: u8,
    stream_id: u32,
    payload: &[u8],
    chunk_size: usize,
) -> Vec<u8> {
    assert!((2..64).contains(&csid));
    message_with_length(
        csid,
        type_id,
        stream_id,
        payload.len() as u32,
        payload,
        chunk_size,
    )
}

/// Like [`message`], but declaring `declared` bytes whatever `payload`
/// holds: the rest is left for the caller to send (or never send).
pub fn message_with_length(
    csid: u8,
    type_id: u8,
    stream_id: u32,
    declared: u32,
    payload: &[u8],
    chunk_size: usize,
) -> Vec<u8> {
    let mut out = vec![csid];
    out.extend_from_slice(&[0, 0, 0]); // timestamp
    out.extend_from_slice(&declared.to_be_bytes()[1..]);
    out.push(type_id);
    out.extend_from_slice(&stream_id.to_le_bytes());
    for (index, chunk) in payload.chunks(chunk_size).enumerate() {
        if index > 0 {
            out.push(0xc0 | csid);
        }
        out.extend_from_slice(chunk);
    }
    out
}

/// A Set Chunk Size message (type 1) announcing `size`.
pub fn set_chunk_size(size: u32) -> Vec<u8> {
    message(2, 1, 0, &size.to_be_bytes(), INITIAL_CHUNK_SIZE)
}

pub fn amf_string(out: &mut Vec<u8>, text: &str) {
    out.push(0x02);
    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

pub fn amf_number(out: &mut Vec<u8>, value: f64) {
    out.push(0x00);
    out.extend_from_slice(&value.to_be_bytes());
}

/// An AMF0 `connect` command (type 20) to `app`.
pub fn connect_command(app: &str) -> Vec<u8> {
    let mut payload = Vec::new();
    amf_string(&mut payload, "connect");
    amf_number(&mut payload, 1.0);
    payload.push(0x03); // command object
    payload.extend_from_slice(&3_u16.to_be_bytes());
    payload.extend_from_slice(b"app");
    amf_string(&mut payload, app);
    payload.extend_from_slice(&[0, 0, 0x09]);
    message(3, 20, 0, &payload, INITIAL_CHUNK_SIZE)
}

/// An AMF0 `createStream` command (type 20).
pub fn create_stream_command(transaction: f64) -> Vec<u8> {
    let mut payload = Vec::new();
    amf_string(&mut payload, "createStream");
    amf_number(&mut payload, transaction);
    payload.push(0x05);
    message(3, 20, 0, &payload, INITIAL_CHUNK_SIZE)
}

/// AMF0 containers nested `depth` deep.
#[derive(Clone, Copy, Debug)]
pub enum Nesting {
    StrictArray,
    Object,
    EcmaArray,
}

impl Nesting {
    pub fn value(self, depth: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..depth {
            match self {
                Self::StrictArray => {
                    out.push(0x0a);
                    out.extend_from_slice(&1_u32.to_be_bytes());
                }
                Self::Object => {
                    out.push(0x03);
                    out.extend_from_slice(&1_u16.to_be_bytes());
                    out.push(b'a');
                }
                Self::EcmaArray => {
                    out.push(0x08);
                    out.extend_from_slice(&1_u32.to_be_bytes());
                    out.extend_from_slice(&1_u16.to_be_bytes());
                    out.push(b'a');
                }
            }
        }
        out.push(0x05); // the innermost value: null
        out
    }
}

/// Reads until the server closes the connection (EOF or reset), or `limit`
/// passes: whether it closed. Everything read is dropped.
pub async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut sink = vec![0_u8; 64 * 1024];
    let drained = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    drained.is_ok()
}
