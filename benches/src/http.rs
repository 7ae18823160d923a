//! HTTP to nova-live: readiness, playlists, and its streams API.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// nova-live's API root and a bearer token for it.
pub struct NovaApi {
    pub base: String,
    pub token: String,
}

/// A blocking face over an async reqwest client, for the harnesses' mostly
/// sequential control flow; `rt` also runs async work (the watchers).
pub struct Http {
    pub rt: tokio::runtime::Runtime,
    pub client: reqwest::Client,
}

pub struct CreatedStream {
    pub id: String,
    pub stream_key: String,
    pub hls_url: String,
}

impl Http {
    pub fn new(rt: tokio::runtime::Runtime) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()?;
        Ok(Self { rt, client })
    }

    pub fn get_status(&self, url: &str) -> Option<u16> {
        self.rt
            .block_on(async { self.client.get(url).send().await })
            .ok()
            .map(|r| r.status().as_u16())
    }

    pub fn get_text(&self, url: &str) -> Option<String> {
        self.rt.block_on(async {
            let response = self.client.get(url).send().await.ok()?;
            if !response.status().is_success() {
                return None;
            }
            response.text().await.ok()
        })
    }

    pub fn create_stream(&self, api: &NovaApi, title: &str) -> Result<CreatedStream> {
        let url = format!("{}/api/v1/streams", api.base);
        let (status, body) = self.rt.block_on(async {
            let response = self
                .client
                .post(&url)
                .bearer_auth(&api.token)
                .json(&json!({ "title": title }))
                .send()
                .await?;
            let status = response.status();
            let body = response.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        })?;
        if status.as_u16() != 201 {
            bail!("POST {url}: {status}: {body}");
        }
        let value: Value =
            serde_json::from_str(&body).with_context(|| format!("POST {url}: {body}"))?;
        let field = |pointer: &str| -> Result<String> {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("POST {url}: no {pointer} in {body}"))
        };
        Ok(CreatedStream {
            id: field("/id")?,
            stream_key: field("/stream_key")?,
            hls_url: field("/playback/hls_url")?,
        })
    }
}
