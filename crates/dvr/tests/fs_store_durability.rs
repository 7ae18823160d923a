//! The filesystem store's objects survive a power cut: traced with strace
//! during a real put, the object's data is flushed before it is renamed
//! into place, and its directory after the rename. Without both, ext4 and
//! XFS may show an empty or missing object after a crash although `put`
//! returned.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use nova_dvr::FsObjectStore;
use nova_media::{ObjectMeta, ObjectStore};

/// Where [`a_put_object_reads_back`] stores when it runs under the trace.
const TRACED_ROOT: &str = "NOVA_FS_STORE_TRACED_ROOT";
const KEY: &str = "s1/r1/seg-1.m4s";

async fn put_and_read_back(root: &Path) {
    let store = FsObjectStore::new(root);
    let body = Bytes::from_static(b"a whole segment");
    store
        .put(
            KEY,
            body.clone(),
            &ObjectMeta::new("video/mp4", "max-age=1"),
        )
        .await
        .unwrap();
    assert_eq!(store.get(KEY).await.unwrap(), body);
}

/// Also the workload of the trace below, which runs this test binary.
#[tokio::test]
async fn a_put_object_reads_back() {
    match std::env::var_os(TRACED_ROOT) {
        Some(root) => put_and_read_back(Path::new(&root)).await,
        None => put_and_read_back(tempfile::tempdir().unwrap().path()).await,
    }
}

#[test]
fn an_object_is_flushed_before_its_rename_and_its_directory_after() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let (root, log) = (base.join("store"), base.join("trace.log"));
    let status = Command::new("strace")
        .args(["-f", "-qq", "-y", "-e"])
        .arg("trace=fsync,fdatasync,rename,renameat,renameat2")
        .arg("-o")
        .arg(&log)
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "a_put_object_reads_back", "--test-threads=1"])
        .env(TRACED_ROOT, &root)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("strace is installed (scripts/lib/deps.sh installs it)");
    assert!(status.success(), "the traced put failed: {status}");
    let trace = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let directory = root.join("s1/r1");
    let temp_prefix = format!("{}/.tmp-", directory.display());
    let find = |what: &str, matches: &dyn Fn(&str) -> bool| {
        lines
            .iter()
            .position(|line| matches(line))
            .unwrap_or_else(|| panic!("no {what} in the trace:\n{trace}"))
    };
    let data_flushed = find("flush of the object's data", &|line| {
        line.contains("sync(") && line.contains(&format!("<{temp_prefix}"))
    });
    let renamed = find("rename into place", &|line| {
        line.contains("rename") && line.contains(&temp_prefix) && line.contains(KEY)
    });
    let directory_flushed = find("flush of the directory", &|line| {
        line.contains("sync(") && line.contains(&format!("<{}>", directory.display()))
    });
    assert!(
        data_flushed < renamed && renamed < directory_flushed,
        "out of order:\n{trace}"
    );
}
