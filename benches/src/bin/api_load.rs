//! API load harness: 1,000 concurrent viewers on one stream against a real
//! nova-live and PostgreSQL on loopback. For each scenario it reports
//! requests per second, latency percentiles, PostgreSQL statements per
//! request (from `pg_stat_statements`) and server CPU per 1,000 requests;
//! then one chat message fanned out to 1,000 WebSocket subscribers. See
//! benches/README.md; `benches/api-load.sh` starts PostgreSQL, builds and
//! runs it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;
use futures_util::StreamExt;
use nova_benches::http::Http;
use nova_benches::latency::Latencies;
use nova_benches::nova::{NovaLive, NovaOptions};
use nova_benches::procfs::CpuReading;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// Loads nova-live's API with concurrent viewers.
#[derive(Debug, Parser)]
struct Args {
    /// The nova-live binary to run.
    #[arg(long)]
    nova_live: std::path::PathBuf,
    /// Concurrent viewers (HTTP connections / WebSocket subscribers).
    #[arg(long, default_value_t = 1000)]
    viewers: usize,
    /// Seconds each request scenario runs.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Chat messages posted for the fan-out measurement.
    #[arg(long, default_value_t = 20)]
    fanout_messages: usize,
    /// Also write the results here, as JSON.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

/// Long enough for HS256 (RFC 7518 §3.2); the harness signs viewer tokens
/// with it, as an identity provider would.
const JWT_SECRET: &str = "nova-live api load harness secret, 48 bytes long";

fn main() -> Result<()> {
    let args = Args::parse();
    let database_url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must name a PostgreSQL with pg_stat_statements preloaded")?;
    let http = Http::new(tokio::runtime::Runtime::new()?)?;
    let pool = http.rt.block_on(async {
        let pool = PgPool::connect(&database_url).await?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .execute(&pool)
            .await
            .context("pg_stat_statements (start PostgreSQL with shared_preload_libraries=pg_stat_statements)")?;
        anyhow::Ok(pool)
    })?;

    let server = NovaLive::start(
        &http,
        &NovaOptions {
            binary: &args.nova_live,
            database_url: Some(&database_url),
            extra_args: &[],
            env: &[("NOVA_JWT_SECRET", JWT_SECRET), ("NOVA_LOG", "warn")],
        },
    )?;
    let result = http.rt.block_on(run(&args, &server, &pool));
    // SIGTERM for an orderly stop; the data dir goes with it.
    drop(server);
    let results = result?;
    print_table(&results);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)?;
    }
    Ok(())
}

async fn run(args: &Args, server: &NovaLive, pool: &PgPool) -> Result<Vec<Value>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.viewers)
        .timeout(Duration::from_secs(30))
        .build()?;
    let owner = Uuid::new_v4();
    let owner_token = token(owner);
    let stream: Value = client
        .post(format!("{}/api/v1/streams", server.api.base))
        .bearer_auth(&owner_token)
        .json(&json!({ "title": "API load", "visibility": "public" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let stream_id = stream["id"].as_str().context("stream id")?.to_owned();
    let base = format!("{}/api/v1/streams/{stream_id}", server.api.base);
    let viewers: Arc<Vec<String>> =
        Arc::new((0..args.viewers).map(|_| token(Uuid::new_v4())).collect());
    let duration = Duration::from_secs(args.seconds);
    let mut results = Vec::new();

    let get_url = base.clone();
    results.push(
        closed_loop(
            "GET stream",
            server,
            pool,
            &client,
            &viewers,
            duration,
            move |client, token, _| client.get(&get_url).bearer_auth(token),
        )
        .await?,
    );

    // Each viewer joins once (not measured), then heartbeats back to back.
    let mut sessions = Vec::with_capacity(args.viewers);
    for token in viewers.iter() {
        let session: Value = client
            .post(format!("{base}/viewers"))
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        sessions.push(session["id"].as_str().context("session id")?.to_owned());
    }
    let sessions = Arc::new(sessions);
    let heartbeat_base = base.clone();
    results.push(
        closed_loop(
            "viewer heartbeat",
            server,
            pool,
            &client,
            &viewers,
            duration,
            move |client, token, viewer| {
                client
                    .post(format!(
                        "{heartbeat_base}/viewers/{}/heartbeat",
                        sessions[viewer]
                    ))
                    .bearer_auth(token)
            },
        )
        .await?,
    );

    for n in 0..200 {
        client
            .post(format!("{base}/chat/messages"))
            .bearer_auth(&viewers[n % viewers.len()])
            .json(&json!({ "body": format!("seed message {n}") }))
            .send()
            .await?
            .error_for_status()?;
    }
    let list_url = format!("{base}/chat/messages?limit=50");
    results.push(
        closed_loop(
            "chat list (50)",
            server,
            pool,
            &client,
            &viewers,
            duration,
            move |client, token, _| client.get(&list_url).bearer_auth(token),
        )
        .await?,
    );

    // Posting is rate-limited per user (5 per 10 s), so each viewer posts
    // at a steady pace inside the limit: an open loop, not a closed one.
    let post_url = format!("{base}/chat/messages");
    results.push(
        paced_posts(
            "chat post (paced)",
            server,
            pool,
            &client,
            &viewers,
            duration,
            &post_url,
            Duration::from_millis(2500),
        )
        .await?,
    );

    results.push(fanout(args, &client, &base, &viewers).await?);
    Ok(results)
}

/// Counters read before and after a scenario.
struct Snapshot {
    statements: i64,
    cpu: CpuReading,
    at: Instant,
}

impl Snapshot {
    async fn take(server: &NovaLive, pool: &PgPool) -> Result<Self> {
        // Statements of every role and database, except this query itself.
        let statements: Option<i64> = sqlx::query_scalar(
            "SELECT sum(calls)::bigint FROM pg_stat_statements \
             WHERE query NOT LIKE '%pg_stat_statements%'",
        )
        .fetch_one(pool)
        .await?;
        Ok(Self {
            statements: statements.unwrap_or(0),
            cpu: CpuReading::of_tree(server.process.pid(), &[]),
            at: Instant::now(),
        })
    }
}

fn report(
    name: &str,
    before: &Snapshot,
    after: &Snapshot,
    latencies: &Latencies,
    errors: usize,
) -> Value {
    let requests = latencies.len() + errors;
    let seconds = after.at.duration_since(before.at).as_secs_f64();
    let (cpu, _) = after.cpu.seconds_since(&before.cpu);
    json!({
        "scenario": name,
        "requests": requests,
        "errors": errors,
        "requests_per_second": requests as f64 / seconds,
        "latency": latencies.summary(),
        "postgres_statements_per_request":
            (after.statements - before.statements) as f64 / requests.max(1) as f64,
        "server_cpu_ms_per_request": cpu * 1000.0 / requests.max(1) as f64,
    })
}

/// Every viewer sends its next request as soon as the previous one answers.
#[allow(clippy::too_many_arguments)]
async fn closed_loop<R>(
    name: &str,
    server: &NovaLive,
    pool: &PgPool,
    client: &reqwest::Client,
    viewers: &Arc<Vec<String>>,
    duration: Duration,
    request: R,
) -> Result<Value>
where
    R: Fn(&reqwest::Client, &str, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let barrier = Arc::new(Barrier::new(viewers.len() + 1));
    let mut tasks = Vec::with_capacity(viewers.len());
    for viewer in 0..viewers.len() {
        let (client, viewers, request, barrier) = (
            client.clone(),
            viewers.clone(),
            request.clone(),
            barrier.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Latencies::default();
            let mut errors = 0;
            barrier.wait().await;
            let end = Instant::now() + duration;
            while Instant::now() < end {
                let started = Instant::now();
                let sent = request(&client, &viewers[viewer], viewer).send().await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        // Reading the body is part of the request.
                        let _ = response.bytes().await;
                        latencies.record(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let before = Snapshot::take(server, pool).await?;
    barrier.wait().await;
    let (latencies, errors) = collect(tasks).await?;
    let after = Snapshot::take(server, pool).await?;
    Ok(report(name, &before, &after, &latencies, errors))
}

/// Every viewer posts a chat message every `interval`, staggered.
#[allow(clippy::too_many_arguments)]
async fn paced_posts(
    name: &str,
    server: &NovaLive,
    pool: &PgPool,
    client: &reqwest::Client,
    viewers: &Arc<Vec<String>>,
    duration: Duration,
    url: &str,
    interval: Duration,
) -> Result<Value> {
    let count = viewers.len();
    let barrier = Arc::new(Barrier::new(count + 1));
    let mut tasks = Vec::with_capacity(count);
    for viewer in 0..count {
        let (client, viewers, barrier, url) = (
            client.clone(),
            viewers.clone(),
            barrier.clone(),
            url.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Latencies::default();
            let mut errors = 0;
            barrier.wait().await;
            let start = Instant::now();
            let offset = interval.mul_f64(viewer as f64 / count as f64);
            let mut next = start + offset;
            let mut n = 0;
            while next < start + duration {
                tokio::time::sleep_until(next.into()).await;
                let started = Instant::now();
                let sent = client
                    .post(&url)
                    .bearer_auth(&viewers[viewer])
                    .json(&json!({ "body": format!("viewer {viewer} says {n}") }))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.record(started.elapsed());
                    }
                    _ => errors += 1,
                }
                n += 1;
                next += interval;
            }
            (latencies, errors)
        }));
    }
    let before = Snapshot::take(server, pool).await?;
    barrier.wait().await;
    let (latencies, errors) = collect(tasks).await?;
    let after = Snapshot::take(server, pool).await?;
    Ok(report(name, &before, &after, &latencies, errors))
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Latencies, usize)>>,
) -> Result<(Latencies, usize)> {
    let mut all = Latencies::default();
    let mut errors = 0;
    for task in tasks {
        let (latencies, failed) = task.await?;
        all.merge(latencies);
        errors += failed;
    }
    Ok((all, errors))
}

/// Subscribes every viewer to the stream's events over WebSocket, then
/// viewers post messages (a different one each time: chat is rate-limited
/// per user, owners included); latency is from just before each POST to
/// each subscriber receiving that message's event.
async fn fanout(
    args: &Args,
    client: &reqwest::Client,
    base: &str,
    viewers: &Arc<Vec<String>>,
) -> Result<Value> {
    let ws_base = base.replacen("http://", "ws://", 1);
    let mut subscribers = Vec::with_capacity(viewers.len());
    for token in viewers.iter() {
        let url = format!("{ws_base}/events?access_token={token}");
        let (socket, _) = tokio_tungstenite::connect_async(&url)
            .await
            .with_context(|| format!("connecting to {ws_base}/events"))?;
        subscribers.push(socket);
    }
    let expected = args.fanout_messages;
    let receivers: Vec<_> = subscribers
        .into_iter()
        .map(|mut socket| {
            tokio::spawn(async move {
                let mut received = Vec::new();
                while received.len() < expected {
                    let next = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
                    let Ok(Some(Ok(Message::Text(text)))) = next else {
                        match next {
                            Ok(Some(Ok(_))) => continue,
                            _ => break,
                        }
                    };
                    let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    if event["type"] == "chat_message" {
                        received.push((event["data"]["id"].clone(), Instant::now()));
                    }
                }
                received
            })
        })
        .collect();

    let mut sent = Vec::with_capacity(expected);
    for n in 0..expected {
        let started = Instant::now();
        let message: Value = client
            .post(format!("{base}/chat/messages"))
            .bearer_auth(&viewers[n % viewers.len()])
            .json(&json!({ "body": format!("fan-out {n}") }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        sent.push((message["id"].clone(), started));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut latencies = Latencies::default();
    let mut missing = 0;
    for receiver in receivers {
        let received = receiver.await?;
        for (id, started) in &sent {
            match received.iter().find(|(got, _)| got == id) {
                Some((_, at)) => latencies.record(at.duration_since(*started)),
                None => missing += 1,
            }
        }
    }
    Ok(json!({
        "scenario": "events fan-out (WebSocket)",
        "subscribers": viewers.len(),
        "messages": expected,
        "deliveries": latencies.len(),
        "missing": missing,
        "latency": latencies.summary(),
    }))
}

fn print_table(results: &[Value]) {
    eprintln!(
        "\n{:<28} {:>9} {:>7} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "scenario", "requests", "errors", "req/s", "p50 ms", "p99 ms", "PG stmt/req", "CPU ms/req"
    );
    for result in results {
        let latency = &result["latency"];
        eprintln!(
            "{:<28} {:>9} {:>7} {:>9.0} {:>9.1} {:>9.1} {:>10.2} {:>10.3}",
            result["scenario"].as_str().unwrap_or_default(),
            result["requests"]
                .as_u64()
                .or(result["deliveries"].as_u64())
                .unwrap_or(0),
            result["errors"]
                .as_u64()
                .or(result["missing"].as_u64())
                .unwrap_or(0),
            result["requests_per_second"].as_f64().unwrap_or(f64::NAN),
            latency["p50_ms"].as_f64().unwrap_or(f64::NAN),
            latency["p99_ms"].as_f64().unwrap_or(f64::NAN),
            result["postgres_statements_per_request"]
                .as_f64()
                .unwrap_or(f64::NAN),
            result["server_cpu_ms_per_request"]
                .as_f64()
                .unwrap_or(f64::NAN),
        );
    }
}

/// An HS256 token for `user`, valid for an hour, as nova-live expects.
fn token(user: Uuid) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": user.to_string(), "exp": now + 3600, "iat": now }),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("HS256 signing of plain claims cannot fail")
}
