//! FLV tag parsing on the ingest hot path: every RTMP audio and video message
//! goes through `parse_audio_tag` / `parse_video_tag`; sequence headers go
//! through `AvcConfig::parse`.

use std::hint::black_box;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nova_media::codec::AvcConfig;
use nova_media::flv::{AudioTag, VideoTag, parse_audio_tag, parse_video_tag};

/// avcC of an x264 High@3.1 1280x720 stream (what `samples/make-sample.sh` makes).
const AVCC_HEX: &str = "0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800";

fn avcc() -> Bytes {
    let bytes = (0..AVCC_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&AVCC_HEX[i..i + 2], 16).expect("hex"))
        .collect::<Vec<u8>>();
    Bytes::from(bytes)
}

/// Deterministic filler standing in for entropy-coded slice data.
fn filler(len: usize, seed: u32) -> impl Iterator<Item = u8> {
    let mut state = seed;
    (0..len).map(move |_| {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8
    })
}

/// A keyframe as ffmpeg's FLV muxer sends it for a 720p30 3 Mb/s x264
/// stream: the 5-byte AVC video tag header (keyframe, NALU, composition time
/// 66 ms), then 4-byte-length-prefixed NAL units: an SEI and a ~48 KB IDR slice.
fn keyframe_tag() -> Bytes {
    let mut body = BytesMut::new();
    body.put_slice(&[0x17, 0x01, 0x00, 0x00, 0x42]);
    for (nal_header, len) in [(0x06u8, 700usize), (0x65, 48_000)] {
        body.put_u32(len as u32);
        body.put_u8(nal_header);
        body.extend(filler(len - 1, len as u32));
    }
    body.freeze()
}

/// An AAC-LC 128 kb/s 48 kHz raw frame (1024 samples ≈ 341 bytes).
fn aac_frame_tag() -> Bytes {
    let mut body = BytesMut::new();
    body.put_slice(&[0xaf, 0x01]);
    body.extend(filler(341, 7));
    body.freeze()
}

fn bench_flv(c: &mut Criterion) {
    let keyframe = keyframe_tag();
    assert!(matches!(
        parse_video_tag(keyframe.clone()),
        Ok(VideoTag::Frame {
            keyframe: true,
            composition_time: 66,
            ..
        })
    ));
    let aac = aac_frame_tag();
    assert!(matches!(
        parse_audio_tag(aac.clone()),
        Ok(AudioTag::Frame(_))
    ));
    let record = avcc();
    let config = AvcConfig::parse(record.clone()).expect("the avcC parses");
    assert_eq!((config.width, config.height), (1280, 720));
    let mut sequence_header = BytesMut::from(&[0x17, 0x00, 0x00, 0x00, 0x00][..]);
    sequence_header.extend_from_slice(&record);
    let sequence_header = sequence_header.freeze();

    let mut group = c.benchmark_group("flv");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_video_tag/avc_keyframe_48k", |b| {
        b.iter(|| parse_video_tag(black_box(keyframe.clone())))
    });
    group.bench_function("parse_audio_tag/aac_frame", |b| {
        b.iter(|| parse_audio_tag(black_box(aac.clone())))
    });
    group.bench_function("parse_video_tag/avc_sequence_header", |b| {
        b.iter(|| parse_video_tag(black_box(sequence_header.clone())))
    });
    group.bench_function("AvcConfig::parse/avcc_720p", |b| {
        b.iter(|| AvcConfig::parse(black_box(record.clone())))
    });
    group.finish();
}

criterion_group!(benches, bench_flv);
criterion_main!(benches);
