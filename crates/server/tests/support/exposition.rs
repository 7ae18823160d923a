//! Reading a server's Prometheus exposition: fetched from its metrics
//! listener, judged by `promtool` (the Prometheus project's own checker),
//! and sample values picked out of it.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::server::Server;

pub async fn exposition(server: &Server) -> String {
    let response = server.client.get(&server.metrics).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// `promtool check metrics`: the format is valid and every series follows
/// Prometheus naming (units, `_total` on counters, HELP on each).
pub async fn promtool_check(text: &str) {
    let mut promtool = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; scripts/test installs it)");
    let mut stdin = promtool.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = promtool.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The samples of series `name` whose labels include all of `labels`.
fn samples<'a>(text: &'a str, name: &str, labels: &[&str]) -> impl Iterator<Item = f64> + 'a {
    let (bare, open) = (format!("{name} "), format!("{name}{{"));
    let labels: Vec<String> = labels.iter().map(|label| (*label).to_owned()).collect();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(move |line| line.starts_with(&bare) || line.starts_with(&open))
        .filter(move |line| labels.iter().all(|label| line.contains(label.as_str())))
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
}

/// The value of the first sample of `name` with all of `labels`.
pub fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    samples(text, name, labels).next()
}

/// The sum over every sample of `name` with all of `labels` (0 if none).
pub fn sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    samples(text, name, labels).sum()
}

/// [`sample`], with 0 for a series not (yet) in the output: counters are
/// only written once something was counted.
pub fn count(text: &str, name: &str, labels: &[&str]) -> f64 {
    sample(text, name, labels).unwrap_or(0.0)
}
