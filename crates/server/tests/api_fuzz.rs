//! The API fuzzed from its own OpenAPI document: schemathesis (PyPI,
//! installed by `scripts/test`) generates valid and invalid requests for
//! every documented operation against the real server; no response may be a
//! 5xx or differ from what the document says (status, content type,
//! headers, body schema).

mod support;

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::json;
use support::fixture::Fixture;

/// `scripts/test` installs schemathesis into a virtualenv and exports this.
const SCHEMATHESIS_ENV: &str = "NOVA_SCHEMATHESIS";

fn schemathesis() -> PathBuf {
    match std::env::var_os(SCHEMATHESIS_ENV) {
        Some(path) => PathBuf::from(path),
        None => panic!(
            "{SCHEMATHESIS_ENV} is not set: run the suite with scripts/test, which installs \
             schemathesis, or point it at a schemathesis executable"
        ),
    }
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let fixture = Fixture::start_logging(&[], Some("warn")).await;
    let server = &fixture.server;
    let stream = server
        .create_stream(&fixture.token, json!({ "title": "fuzzed" }))
        .await;
    let stream_id = stream["id"].as_str().unwrap();

    let config =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/api-fuzz/schemathesis.toml");
    let reports = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(schemathesis())
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/api/v1/openapi.json", server.http))
        .args([
            "--header",
            &format!("Authorization: Bearer {}", fixture.token),
        ])
        .args(["--seed", "20261123", "--no-color", "--workers", "2"])
        .args(["--generation-database", "none"])
        .arg("--report-dir")
        .arg(reports.path())
        .env("NOVA_FUZZ_STREAM_ID", stream_id)
        .current_dir(reports.path())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The summary (operations, test cases, failures) is worth keeping in CI logs.
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found responses that break the API document:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (selected, tested) = operation_counts(&stdout);
    assert!(
        selected > 0 && tested == selected,
        "schemathesis tested {tested} of {selected} operations"
    );
    fixture.finish().await;
}

/// "Selected: 41/41" and "Tested: 41" from schemathesis' summary.
fn operation_counts(summary: &str) -> (usize, usize) {
    let number_after = |label: &str| -> usize {
        let line = summary
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label:?} in the summary:\n{summary}"));
        let digits: String = line
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    (number_after("Selected:"), number_after("Tested:"))
}
