//! Real media made by the ffmpeg CLI, once per test binary.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// H.264 with two B-frames and a closed GOP every 2 s (60 frames at 30 fps),
/// plus stereo AAC.
const AV_CODECS: &str = "-c:v libx264 -preset ultrafast -bf 2 -g 60 \
    -x264-params keyint=60:min-keyint=60:scenecut=0 -pix_fmt yuv420p \
    -c:a aac -ac 2 -b:a 96k -f flv";

/// 7 s of 640x360 30 fps video and 48 kHz audio, as FLV.
pub fn av_flv() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        generate(
            "av.flv",
            &format!(
                "-f lavfi -i testsrc2=size=640x360:rate=30 \
                 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 7 {AV_CODECS}"
            ),
        )
    })
}

/// Like [`av_flv`] at another picture size, 4 s: a new codec configuration.
pub fn small_av_flv() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        generate(
            "small.flv",
            &format!(
                "-f lavfi -i testsrc2=size=320x180:rate=30 \
                 -f lavfi -i sine=frequency=880:sample_rate=48000 -t 4 {AV_CODECS}"
            ),
        )
    })
}

/// 4 s of 1280x720 30 fps video and 48 kHz audio: a source the default
/// ladder transcodes to 480p and 360p.
pub fn hd_av_flv() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        generate(
            "hd.flv",
            &format!(
                "-f lavfi -i testsrc2=size=1280x720:rate=30 \
                 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 4 {AV_CODECS}"
            ),
        )
    })
}

/// 5 s of 44.1 kHz mono AAC, no video, as FLV.
pub fn audio_only_flv() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        generate(
            "audio.flv",
            "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 5 -c:a aac -ac 1 -f flv",
        )
    })
}

fn generate(name: &str, args: &str) -> Vec<u8> {
    let path = scratch_dir().join(name);
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args.split_whitespace())
        .arg(&path)
        .output()
        .expect("the ffmpeg CLI is installed");
    assert!(
        output.status.success(),
        "ffmpeg could not make {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&path).unwrap()
}

fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}
