//! Replays every file of `fuzz/corpus/<target>/` (real captures as seeds,
//! plus every input a fuzzer once crashed on) through its target on the
//! stable toolchain, so `cargo test` alone catches a regression.

use std::fs;
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

#[test]
fn every_corpus_file_runs_through_its_target() {
    let mut replayed = 0;
    for (name, target) in nova_fuzz_harness::TARGETS {
        let dir = corpus_root().join(name);
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name} has no seed corpus");
        for file in files {
            let input = fs::read(&file).unwrap();
            eprintln!("{name}: {}", file.display());
            target(&input);
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} corpus files");
}

#[test]
fn every_corpus_directory_has_a_target() {
    for entry in fs::read_dir(corpus_root()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            nova_fuzz_harness::TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/corpus/{name} belongs to no target"
        );
    }
}

/// The captures of real publishers must still get through `connect`,
/// `publish` and the sequence headers to frames: a seed that stops early
/// (a changed harness, a server that refuses them) would leave the fuzzer
/// mutating the first few messages only.
#[test]
fn real_publisher_captures_reach_media() {
    for seed in ["ffmpeg-publish-360p", "obs-like-720p", "ertmp-hevc-360p"] {
        let input = fs::read(corpus_root().join("rtmp_connection").join(seed)).unwrap();
        let outcome = nova_fuzz_harness::replay_session(&input);
        assert!(outcome.published, "{seed}: {outcome:?}");
        assert_eq!(outcome.video_configs, 1, "{seed}: {outcome:?}");
        assert_eq!(outcome.audio_configs, 1, "{seed}: {outcome:?}");
        assert!(outcome.frames >= 3, "{seed}: {outcome:?}");
        assert_eq!(outcome.closed, None, "{seed}: {outcome:?}");
    }
}
