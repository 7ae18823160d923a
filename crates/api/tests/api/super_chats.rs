//! `/api/v1/streams/{id}/super-chats`: paid messages, recorded once per
//! idempotency key, tiered, pinned, hidden, refunded and totalled.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use nova_api::{ApiConfig, SuperChatTier};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use crate::hosts::{Cast, EVERYONE, Who};
use crate::support::{PUBLIC_URL, RTMP_URL, TestApp, TestResponse, get, post_raw};

fn super_chats_uri(stream: &str) -> String {
    format!("/api/v1/streams/{stream}/super-chats")
}

fn create_request(
    stream: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> Request<Body> {
    create_raw(
        stream,
        token,
        key,
        Some("application/json"),
        body.to_string(),
    )
}

fn create_raw(
    stream: &str,
    token: Option<&str>,
    key: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(super_chats_uri(stream));
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(key) = key {
        builder = builder.header("idempotency-key", key);
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).unwrap()
}

/// Sends a super chat with a fresh key and returns the 201 body.
async fn send(app: &TestApp, stream: &str, sender: Uuid, body: Value) -> Value {
    let key = Uuid::new_v4().to_string();
    let response = app
        .send(create_request(
            stream,
            Some(&app.token(sender)),
            Some(&key),
            &body,
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    response.json()
}

async fn usd(app: &TestApp, stream: &str, sender: Uuid, amount: i64) -> Value {
    send(
        app,
        stream,
        sender,
        json!({ "amount_minor": amount, "currency": "USD" }),
    )
    .await
}

/// A moderation action (`pin`, `hide`, `refund`) on a super chat.
async fn act(
    app: &TestApp,
    stream: &str,
    id: &str,
    verb: &str,
    token: Option<&str>,
) -> TestResponse {
    app.send(post_raw(
        &format!("{}/{id}/{verb}", super_chats_uri(stream)),
        token,
        None,
        "",
    ))
    .await
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn count_rows(pool: &PgPool) -> i64 {
    sqlx::query_as::<_, (i64,)>("SELECT count(*) FROM super_chats")
        .fetch_one(pool)
        .await
        .unwrap()
        .0
}

/// A webhook endpoint of `owner` subscribed to super chats.
async fn subscribe_webhook(pool: &PgPool, owner: Uuid) {
    sqlx::query(
        "INSERT INTO webhook_endpoints (owner_id, url, secret, event_types) \
         VALUES ($1, 'https://hooks.example.test/nova', 'secret', ARRAY['super_chat.created'])",
    )
    .bind(owner)
    .execute(pool)
    .await
    .unwrap();
}

async fn webhook_payloads(pool: &PgPool) -> Vec<Value> {
    sqlx::query_as::<_, (Value,)>(
        "SELECT payload FROM webhook_deliveries WHERE event_type = 'super_chat.created' \
         ORDER BY created_at",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(payload,)| payload)
    .collect()
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_super_chat_is_recorded_paid_tiered_and_announced(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    subscribe_webhook(&pool, cast.owner).await;
    let mut events = app.state.events.subscribe(cast.stream_id(), None);

    let response = app
        .send(create_request(
            &cast.stream,
            Some(&app.token(cast.viewer)),
            Some("payment-1"),
            &json!({ "amount_minor": 500, "currency": "USD", "message": "  Great show!  " }),
        ))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{:?}", response.body);
    assert!(response.headers.get("idempotent-replayed").is_none());
    let chat = response.json();
    let id = chat["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        format!("/api/v1/streams/{}/super-chats/{id}", cast.stream)
    );
    assert_eq!(chat["stream_id"], cast.stream);
    assert_eq!(chat["sender_id"], cast.viewer.to_string());
    assert_eq!(chat["amount_minor"], 500);
    assert_eq!(chat["currency"], "USD");
    assert_eq!(chat["message"], "Great show!");
    assert_eq!(chat["status"], "paid");
    assert_eq!(
        (&chat["tier"], &chat["colour"]),
        (&json!(3), &json!("#00BFA5"))
    );
    assert_eq!(chat["paid_at"], chat["created_at"]);
    assert_eq!(
        time(&chat["pinned_until"]) - time(&chat["created_at"]),
        chrono::Duration::seconds(120),
        "tier 3 pins for two minutes"
    );
    assert_eq!(chat["refunded_at"], Value::Null);
    assert_eq!(chat["hidden_at"], Value::Null);
    let reference = chat["payment_reference"].as_str().unwrap();
    assert!(
        reference.starts_with("nova-sc-"),
        "derived for the sender: {reference}"
    );

    // The owner's webhook is queued with the owner's view; the live event
    // is the public view, without the payment reference.
    let payloads = webhook_payloads(&pool).await;
    assert_eq!(payloads.len(), 1);
    assert_eq!(payloads[0]["type"], "super_chat.created");
    assert_eq!(payloads[0]["data"]["id"], id);
    assert_eq!(payloads[0]["data"]["payment_reference"], reference);
    let event = events.receiver.try_recv().unwrap();
    assert_eq!(json!(event.kind()), json!("super_chat"));
    assert_eq!(event.data()["id"], id);
    assert_eq!(event.data()["message"], "Great show!");
    assert_eq!(event.data()["payment_reference"], Value::Null);

    // Anyone reads it; only the sender and the owner see the reference.
    let uri = format!("{}/{id}", super_chats_uri(&cast.stream));
    let anonymous = app.send(get(&uri, None)).await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.json()["payment_reference"], Value::Null);
    for (user, sees) in [
        (cast.owner, true),
        (cast.viewer, true),
        (cast.co_host, false),
    ] {
        let seen = app.send(get(&uri, Some(&app.token(user)))).await.json();
        assert_eq!(seen["payment_reference"].is_string(), sees, "{user}");
    }
    let (stored_key, status): (String, String) =
        sqlx::query_as("SELECT idempotency_key, status FROM super_chats WHERE id = $1")
            .bind(id.parse::<Uuid>().unwrap())
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (stored_key.as_str(), status.as_str()),
        ("payment-1", "paid")
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_repeat_with_the_same_key_returns_the_original(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    subscribe_webhook(&pool, cast.owner).await;
    let token = app.token(cast.viewer);
    let body = json!({ "amount_minor": 1000, "currency": "EUR", "message": "hi" });
    let first = app
        .send(create_request(
            &cast.stream,
            Some(&token),
            Some("k-1"),
            &body,
        ))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let mut events = app.state.events.subscribe(cast.stream_id(), None);

    let again = app
        .send(create_request(
            &cast.stream,
            Some(&token),
            Some("k-1"),
            &body,
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.json(), first.json());
    assert_eq!(count_rows(&pool).await, 1);
    assert_eq!(
        webhook_payloads(&pool).await.len(),
        1,
        "one webhook per payment"
    );
    assert!(events.receiver.try_recv().is_err(), "no second event");

    // Keys are per sender: another sender's "k-1" is another payment.
    let other = app
        .send(create_request(
            &cast.stream,
            Some(&app.token(cast.invitee)),
            Some("k-1"),
            &body,
        ))
        .await;
    assert_eq!(other.status, StatusCode::CREATED);
    assert_ne!(other.json()["id"], first.json()["id"]);
    assert_eq!(count_rows(&pool).await, 2);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_key_used_for_another_payment_is_refused(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let other_stream = app
        .create_stream(cast.owner, json!({ "title": "Other" }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app.token(cast.viewer);
    let original = json!({ "amount_minor": 500, "currency": "USD", "message": "hi" });
    app.send(create_request(
        &cast.stream,
        Some(&token),
        Some("k"),
        &original,
    ))
    .await;

    let cases = [
        (
            &cast.stream,
            json!({ "amount_minor": 600, "currency": "USD", "message": "hi" }),
            vec!["#/amount_minor"],
        ),
        (
            &cast.stream,
            json!({ "amount_minor": 500, "currency": "EUR", "message": "hi" }),
            vec!["#/currency"],
        ),
        (
            &cast.stream,
            json!({ "amount_minor": 500, "currency": "USD", "message": "bye" }),
            vec!["#/message"],
        ),
        (
            &cast.stream,
            json!({ "amount_minor": 500, "currency": "USD", "message": "hi",
                    "payment_reference": "pi_123" }),
            vec!["#/payment_reference"],
        ),
        (&other_stream, original.clone(), vec!["#"]),
        (
            &other_stream,
            json!({ "amount_minor": 700, "currency": "USD" }),
            vec!["#", "#/amount_minor", "#/message"],
        ),
    ];
    for (stream, body, pointers) in cases {
        let problem = app
            .send(create_request(stream, Some(&token), Some("k"), &body))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert_eq!(got, pointers, "{body}: {problem}");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("was used for another payment"),
            "{problem}"
        );
    }
    assert_eq!(count_rows(&pool).await, 1);
}

/// Twenty identical requests at once, over as many connections: one row,
/// one 201, and every response names it.
#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn concurrent_retries_record_one_super_chat(
    pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = pool_options
        .max_connections(12)
        .connect_with(connect)
        .await
        .unwrap();
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    subscribe_webhook(&pool, cast.owner).await;
    let mut events = app.state.events.subscribe(cast.stream_id(), None);
    let token = app.token(cast.viewer);
    let body = json!({ "amount_minor": 2000, "currency": "USD", "message": "again and again" });

    for round in 0..3 {
        let key = format!("retry-{round}");
        let responses = join_all((0..20).map(|_| {
            app.send(create_request(
                &cast.stream,
                Some(&token),
                Some(&key),
                &body,
            ))
        }))
        .await;
        let mut created = 0;
        let mut ids = HashSet::new();
        for response in &responses {
            match response.status {
                StatusCode::CREATED => created += 1,
                StatusCode::OK => assert_eq!(response.header("idempotent-replayed"), "true"),
                other => panic!("{other}: {:?}", String::from_utf8_lossy(&response.body)),
            }
            ids.insert(response.json()["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(created, 1, "round {round}");
        assert_eq!(ids.len(), 1, "round {round}: {ids:?}");
    }
    assert_eq!(count_rows(&pool).await, 3);
    assert_eq!(webhook_payloads(&pool).await.len(), 3);
    let announced = std::iter::from_fn(|| events.receiver.try_recv().ok()).count();
    assert_eq!(announced, 3);
    pool.close().await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn a_payment_reference_is_one_payment(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let body = json!({ "amount_minor": 500, "currency": "USD", "payment_reference": "pi_3Mtw" });
    let first = app
        .send(create_request(
            &cast.stream,
            Some(&app.token(cast.viewer)),
            Some("a"),
            &body,
        ))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.json()["payment_reference"], "pi_3Mtw");
    for (user, key) in [(cast.viewer, "b"), (cast.invitee, "a")] {
        let problem = app
            .send(create_request(
                &cast.stream,
                Some(&app.token(user)),
                Some(key),
                &body,
            ))
            .await
            .problem(StatusCode::CONFLICT);
        assert!(
            problem["detail"].as_str().unwrap().contains("pi_3Mtw"),
            "{problem}"
        );
    }
    let reserved = app
        .send(create_request(
            &cast.stream,
            Some(&app.token(cast.viewer)),
            Some("c"),
            &json!({ "amount_minor": 500, "currency": "USD", "payment_reference": "nova-sc-x" }),
        ))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reserved["errors"][0]["pointer"], "#/payment_reference");
    assert_eq!(count_rows(&pool).await, 1);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_idempotency_key_is_required_and_checked(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let token = app.token(cast.viewer);
    let body = json!({ "amount_minor": 500, "currency": "USD" });
    let missing = app
        .send(create_request(&cast.stream, Some(&token), None, &body))
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(
        missing["detail"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{missing}"
    );
    let long = "k".repeat(256);
    for key in ["has space", long.as_str(), ""] {
        app.send(create_request(&cast.stream, Some(&token), Some(key), &body))
            .await
            .problem(StatusCode::BAD_REQUEST);
    }
    let longest = "k".repeat(255);
    let ok = app
        .send(create_request(
            &cast.stream,
            Some(&token),
            Some(&longest),
            &body,
        ))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(count_rows(&pool).await, 1);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn amounts_are_integers_in_minor_units(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let token = app.token(cast.viewer);
    let bodies = [
        r#"{"amount_minor": 5.0, "currency": "USD"}"#,
        r#"{"amount_minor": 5.5, "currency": "USD"}"#,
        r#"{"amount_minor": 1e3, "currency": "USD"}"#,
        r#"{"amount_minor": "500", "currency": "USD"}"#,
        r#"{"amount_minor": null, "currency": "USD"}"#,
        r#"{"amount_minor": 0, "currency": "USD"}"#,
        r#"{"amount_minor": -500, "currency": "USD"}"#,
        r#"{"amount_minor": 1000000000001, "currency": "USD"}"#,
        r#"{"amount_minor": 99999999999999999999, "currency": "USD"}"#,
        r#"{"currency": "USD"}"#,
    ];
    for (n, body) in bodies.into_iter().enumerate() {
        let problem = app
            .send(create_raw(
                &cast.stream,
                Some(&token),
                Some(&format!("k{n}")),
                Some("application/json"),
                body,
            ))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        let pointer = problem["errors"][0]["pointer"].as_str().unwrap();
        assert!(
            pointer == "#/amount_minor" || pointer == "#",
            "{body}: {problem}"
        );
    }
    assert_eq!(count_rows(&pool).await, 0);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn currencies_are_active_iso_4217_codes(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let token = app.token(cast.viewer);
    for (currency, hint) in [
        ("usd", "\"USD\""),
        ("XAU", "ISO 4217"),
        ("US", "ISO 4217"),
        ("BGN", "ISO 4217"),
    ] {
        let problem = app
            .send(create_request(
                &cast.stream,
                Some(&token),
                Some(currency),
                &json!({ "amount_minor": 500, "currency": currency }),
            ))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], "#/currency");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(hint),
            "{problem}"
        );
    }
    // Yen have no minor unit: 100 is ¥100, and the tiers apply to it as is.
    let yen = send(
        &app,
        &cast.stream,
        cast.viewer,
        json!({ "amount_minor": 100, "currency": "JPY" }),
    )
    .await;
    assert_eq!((&yen["currency"], &yen["tier"]), (&json!("JPY"), &json!(1)));
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn tiers_decide_colour_pin_time_and_message_length(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let token = app.token(cast.viewer);

    let smallest = usd(&app, &cast.stream, cast.viewer, 100).await;
    assert_eq!(
        (&smallest["tier"], &smallest["colour"]),
        (&json!(1), &json!("#1565C0"))
    );
    assert_eq!(
        smallest["pinned_until"],
        Value::Null,
        "tier 1 is not pinned"
    );
    let top = usd(&app, &cast.stream, cast.viewer, 50_000).await;
    assert_eq!(
        (&top["tier"], &top["colour"]),
        (&json!(11), &json!("#D00000"))
    );
    assert_eq!(
        time(&top["pinned_until"]) - time(&top["created_at"]),
        chrono::Duration::hours(5)
    );

    let cases = [
        (
            json!({ "amount_minor": 99, "currency": "USD" }),
            "#/amount_minor",
            "at least 100 (1.00 USD)",
        ),
        (
            json!({ "amount_minor": 100, "currency": "USD", "message": "hi" }),
            "#/message",
            "carries no message",
        ),
        (
            json!({ "amount_minor": 200, "currency": "USD", "message": "x".repeat(51) }),
            "#/message",
            "at most 50 characters",
        ),
        (
            json!({ "amount_minor": 50_000, "currency": "USD", "message": "x".repeat(351) }),
            "#/message",
            "at most 350 characters",
        ),
    ];
    for (n, (body, pointer, says)) in cases.into_iter().enumerate() {
        let problem = app
            .send(create_request(
                &cast.stream,
                Some(&token),
                Some(&format!("t{n}")),
                &body,
            ))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
        assert!(
            problem["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(says),
            "{problem}"
        );
    }
    // A blank message is no message.
    let blank = send(
        &app,
        &cast.stream,
        cast.viewer,
        json!({ "amount_minor": 100, "currency": "USD", "message": "   " }),
    )
    .await;
    assert_eq!(blank["message"], "");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn tiers_come_from_the_configuration(pool: PgPool) {
    let mut config = ApiConfig::new(PUBLIC_URL, RTMP_URL);
    config.super_chat_tiers = vec![
        SuperChatTier {
            min_amount_minor: 50,
            colour: "#111111".to_owned(),
            pin_seconds: 30,
            max_message_chars: 10,
        },
        SuperChatTier {
            min_amount_minor: 5_000,
            colour: "#222222".to_owned(),
            pin_seconds: 0,
            max_message_chars: 20,
        },
    ];
    let app = TestApp::with_config(pool.clone(), config);
    let cast = Cast::new(&app, &pool).await;
    let low = usd(&app, &cast.stream, cast.viewer, 50).await;
    assert_eq!(
        (&low["tier"], &low["colour"]),
        (&json!(1), &json!("#111111"))
    );
    assert_eq!(
        time(&low["pinned_until"]) - time(&low["created_at"]),
        chrono::Duration::seconds(30)
    );
    let high = usd(&app, &cast.stream, cast.viewer, 9_999).await;
    assert_eq!(
        (&high["tier"], &high["pinned_until"]),
        (&json!(2), &Value::Null)
    );
    let problem = app
        .send(create_request(
            &cast.stream,
            Some(&app.token(cast.viewer)),
            Some("below"),
            &json!({ "amount_minor": 49, "currency": "EUR" }),
        ))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("at least 50 (0.50 EUR)"),
        "{problem}"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_list_is_newest_first_and_hides_hidden_ones_from_viewers(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let mut sent = Vec::new();
    for amount in [100, 200, 500, 1000, 2000] {
        sent.push(
            usd(&app, &cast.stream, cast.viewer, amount).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let hidden = sent[1].clone();
    let refunded = sent[3].clone();
    let hid = act(
        &app,
        &cast.stream,
        &hidden,
        "hide",
        cast.token(&app, Who::Moderator).as_deref(),
    )
    .await;
    assert_eq!(hid.status, StatusCode::OK);
    act(
        &app,
        &cast.stream,
        &refunded,
        "refund",
        cast.token(&app, Who::Owner).as_deref(),
    )
    .await;
    let newest_first: Vec<String> = sent.iter().rev().cloned().collect();

    // Staff page through all of them, hidden ones marked.
    let token = app.token(cast.moderator);
    let mut seen = Vec::new();
    let mut uri = format!("{}?limit=2", super_chats_uri(&cast.stream));
    loop {
        let page = app.send(get(&uri, Some(&token))).await.json();
        for item in page["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            assert_eq!(item["hidden_at"].is_string(), id == hidden, "{item}");
            assert_eq!(
                item["hidden_by"].as_str() == Some(&cast.moderator.to_string()),
                id == hidden
            );
            assert_eq!(
                item["status"],
                if id == refunded { "refunded" } else { "paid" }
            );
        }
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!("{}?limit=2&cursor={cursor}", super_chats_uri(&cast.stream))
            }
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    // Viewers and anonymous callers do not see the hidden one at all.
    let without_hidden: Vec<String> = newest_first
        .iter()
        .filter(|id| **id != hidden)
        .cloned()
        .collect();
    for token in [Some(app.token(cast.viewer)), None] {
        let page = app
            .send(get(&super_chats_uri(&cast.stream), token.as_deref()))
            .await
            .json();
        assert_eq!(ids(&page), without_hidden);
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["hidden_at"].is_null())
        );
        app.send(get(
            &format!("{}/{hidden}", super_chats_uri(&cast.stream)),
            token.as_deref(),
        ))
        .await
        .problem(StatusCode::NOT_FOUND);
    }
    for query in ["limit=0", "limit=101", "cursor=xyz", "pinned=maybe"] {
        app.send(get(
            &format!("{}?{query}", super_chats_uri(&cast.stream)),
            None,
        ))
        .await
        .problem(StatusCode::BAD_REQUEST);
    }
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_pinned_list_holds_what_is_pinned_now_by_tier(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let id = |chat: Value| chat["id"].as_str().unwrap().to_owned();
    let tier3_old = id(usd(&app, &cast.stream, cast.viewer, 500).await);
    let tier5 = id(usd(&app, &cast.stream, cast.viewer, 2000).await);
    let unpinned = id(usd(&app, &cast.stream, cast.viewer, 100).await);
    let tier3_new = id(usd(&app, &cast.stream, cast.viewer, 600).await);
    let expired = id(usd(&app, &cast.stream, cast.viewer, 1000).await);
    let hidden = id(usd(&app, &cast.stream, cast.viewer, 5000).await);
    let refunded = id(usd(&app, &cast.stream, cast.viewer, 10_000).await);
    sqlx::query("UPDATE super_chats SET pinned_until = now() - interval '1 second' WHERE id = $1")
        .bind(expired.parse::<Uuid>().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let owner = app.token(cast.owner);
    act(&app, &cast.stream, &hidden, "hide", Some(&owner)).await;
    act(&app, &cast.stream, &refunded, "refund", Some(&owner)).await;

    let expected = vec![tier5, tier3_new, tier3_old];
    let all = app
        .send(get(
            &format!("{}?pinned=true", super_chats_uri(&cast.stream)),
            None,
        ))
        .await
        .json();
    assert_eq!(ids(&all), expected, "{unpinned} is not pinned");
    // Page by page, the same order.
    let mut seen = Vec::new();
    let mut uri = format!("{}?pinned=true&limit=1", super_chats_uri(&cast.stream));
    loop {
        let page = app.send(get(&uri, Some(&owner))).await.json();
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!(
                    "{}?pinned=true&limit=1&cursor={cursor}",
                    super_chats_uri(&cast.stream)
                );
                // A cursor of one list is refused by the other.
                app.send(get(
                    &format!("{}?cursor={cursor}", super_chats_uri(&cast.stream)),
                    None,
                ))
                .await
                .problem(StatusCode::BAD_REQUEST);
            }
            None => break,
        }
    }
    assert_eq!(seen, expected);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn pinning_uses_the_tier_time_or_the_one_asked_for(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let co_host = app.token(cast.co_host);
    let uri = |id: &str| format!("{}/{id}/pin", super_chats_uri(&cast.stream));
    let pinned_for = |chat: &Value| time(&chat["pinned_until"]) - Utc::now();
    let near = |actual: chrono::Duration, seconds: i64| {
        (actual - chrono::Duration::seconds(seconds))
            .num_seconds()
            .abs()
            <= 5
    };

    let tier1 = usd(&app, &cast.stream, cast.viewer, 100).await;
    let tier4 = usd(&app, &cast.stream, cast.viewer, 1000).await;
    let mut events = app.state.events.subscribe(cast.stream_id(), None);
    let default_pin = act(
        &app,
        &cast.stream,
        tier1["id"].as_str().unwrap(),
        "pin",
        Some(&co_host),
    )
    .await;
    assert_eq!(default_pin.status, StatusCode::OK, "{:?}", default_pin.body);
    assert!(
        near(pinned_for(&default_pin.json()), 60),
        "{}",
        default_pin.json()
    );
    let event = events.receiver.try_recv().unwrap();
    assert_eq!(json!(event.kind()), json!("super_chat_pinned"));
    assert_eq!(event.data()["id"], tier1["id"]);

    let tier_pin = act(
        &app,
        &cast.stream,
        tier4["id"].as_str().unwrap(),
        "pin",
        Some(&co_host),
    )
    .await;
    assert!(
        near(pinned_for(&tier_pin.json()), 300),
        "{}",
        tier_pin.json()
    );
    let asked = app
        .send(post_raw(
            &uri(tier4["id"].as_str().unwrap()),
            Some(&co_host),
            Some("application/json"),
            r#"{"duration_seconds": 30}"#,
        ))
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(near(pinned_for(&asked.json()), 30), "{}", asked.json());

    let id = tier4["id"].as_str().unwrap();
    for (body, content_type, status) in [
        (
            r#"{"duration_seconds": 0}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"duration_seconds": 86401}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"duration_seconds": 1.5}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"seconds": 10}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            r#"{"duration_seconds": 10}"#,
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            r#"{"duration_seconds": "#,
            Some("application/json"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        app.send(post_raw(&uri(id), Some(&co_host), content_type, body))
            .await
            .problem(status);
    }
    let null_body = app
        .send(post_raw(
            &uri(id),
            Some(&co_host),
            Some("application/json"),
            "null",
        ))
        .await;
    assert_eq!(null_body.status, StatusCode::OK);

    act(
        &app,
        &cast.stream,
        &Uuid::new_v4().to_string(),
        "pin",
        Some(&co_host),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    act(&app, &cast.stream, "not-an-id", "pin", Some(&co_host))
        .await
        .problem(StatusCode::NOT_FOUND);
    let owner = app.token(cast.owner);
    act(&app, &cast.stream, id, "refund", Some(&owner)).await;
    let refunded = act(&app, &cast.stream, id, "pin", Some(&co_host))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        refunded["detail"].as_str().unwrap().contains("refunded"),
        "{refunded}"
    );
    let tier1_id = tier1["id"].as_str().unwrap();
    act(&app, &cast.stream, tier1_id, "hide", Some(&owner)).await;
    let hidden = act(&app, &cast.stream, tier1_id, "pin", Some(&co_host))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        hidden["detail"].as_str().unwrap().contains("hidden"),
        "{hidden}"
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn hiding_keeps_the_super_chat_and_is_idempotent(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let chat = usd(&app, &cast.stream, cast.viewer, 1000).await;
    let id = chat["id"].as_str().unwrap();
    let mut events = app.state.events.subscribe(cast.stream_id(), None);
    let moderator = app.token(cast.moderator);

    let hidden = act(&app, &cast.stream, id, "hide", Some(&moderator)).await;
    assert_eq!(hidden.status, StatusCode::OK);
    let hidden = hidden.json();
    assert_eq!(hidden["hidden_by"], cast.moderator.to_string());
    assert_eq!(hidden["pinned_until"], Value::Null, "hiding unpins");
    let event = events.receiver.try_recv().unwrap();
    assert_eq!(
        (json!(event.kind()), event.data()),
        (json!("super_chat_hidden"), json!({ "id": id }))
    );

    let again = act(&app, &cast.stream, id, "hide", Some(&app.token(cast.owner))).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.json()["hidden_by"],
        cast.moderator.to_string(),
        "the first hide stands"
    );
    assert!(events.receiver.try_recv().is_err());
    let staff_view = app
        .send(get(
            &format!("{}/{id}", super_chats_uri(&cast.stream)),
            Some(&app.token(cast.co_host)),
        ))
        .await;
    assert_eq!(staff_view.status, StatusCode::OK);
    assert_eq!(count_rows(&pool).await, 1);
    act(
        &app,
        &cast.stream,
        &Uuid::new_v4().to_string(),
        "hide",
        Some(&moderator),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn refunds_are_recorded_once(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let chat = usd(&app, &cast.stream, cast.viewer, 1000).await;
    let id = chat["id"].as_str().unwrap();
    let owner = app.token(cast.owner);
    let mut events = app.state.events.subscribe(cast.stream_id(), None);

    let refunded = act(&app, &cast.stream, id, "refund", Some(&owner)).await;
    assert_eq!(refunded.status, StatusCode::OK);
    let refunded = refunded.json();
    assert_eq!(refunded["status"], "refunded");
    assert!(refunded["refunded_at"].is_string());
    assert_eq!(refunded["pinned_until"], Value::Null);
    assert_eq!(refunded["paid_at"], chat["paid_at"]);
    let event = events.receiver.try_recv().unwrap();
    assert_eq!(json!(event.kind()), json!("super_chat_refunded"));
    assert_eq!(event.data()["status"], "refunded");

    let twice = act(&app, &cast.stream, id, "refund", Some(&owner))
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        twice["detail"]
            .as_str()
            .unwrap()
            .contains("refunded already"),
        "{twice}"
    );
    act(
        &app,
        &cast.stream,
        &Uuid::new_v4().to_string(),
        "refund",
        Some(&owner),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    // Listed with its state.
    let listed = app
        .send(get(&super_chats_uri(&cast.stream), None))
        .await
        .json();
    assert_eq!(listed["items"][0]["status"], "refunded");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn totals_sum_paid_super_chats_per_currency(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let other = app
        .create_stream(cast.owner, json!({ "title": "Other" }))
        .await;
    let owner = app.token(cast.owner);
    let uri = format!("{}/totals", super_chats_uri(&cast.stream));
    let empty = app.send(get(&uri, Some(&owner))).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.json(), json!({ "items": [] }));

    for amount in [500, 1000, 2000] {
        usd(&app, &cast.stream, cast.viewer, amount).await;
    }
    let refunded = usd(&app, &cast.stream, cast.viewer, 10_000).await;
    act(
        &app,
        &cast.stream,
        refunded["id"].as_str().unwrap(),
        "refund",
        Some(&owner),
    )
    .await;
    let hidden = send(
        &app,
        &cast.stream,
        cast.invitee,
        json!({ "amount_minor": 300, "currency": "EUR" }),
    )
    .await;
    act(
        &app,
        &cast.stream,
        hidden["id"].as_str().unwrap(),
        "hide",
        Some(&owner),
    )
    .await;
    send(
        &app,
        &cast.stream,
        cast.viewer,
        json!({ "amount_minor": 1500, "currency": "JPY" }),
    )
    .await;
    usd(&app, other["id"].as_str().unwrap(), cast.viewer, 9_999).await;

    for who in [Who::Owner, Who::CoHost] {
        let totals = app.send(get(&uri, cast.token(&app, who).as_deref())).await;
        assert_eq!(totals.status, StatusCode::OK);
        assert_eq!(
            totals.json(),
            json!({ "items": [
                { "currency": "EUR", "count": 1, "amount_minor": 300 },
                { "currency": "JPY", "count": 1, "amount_minor": 1500 },
                { "currency": "USD", "count": 3, "amount_minor": 3500 },
            ] }),
            "refunded ones are out, hidden ones in, other streams apart"
        );
    }
}

/// Every route × every role. Actions that change a super chat get a fresh
/// one per attempt, so an allowed attempt succeeds on its own merits.
#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn super_chat_routes_follow_the_permission_matrix(pool: PgPool) {
    use StatusCode as S;
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let stream = cast.stream.clone();
    let existing = usd(&app, &stream, cast.viewer, 500).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // In `EVERYONE` order: owner, co_host, moderator, invitee, viewer, anonymous.
    let expectations: [(&str, [S; 6]); 7] = [
        ("list", [S::OK; 6]),
        ("get", [S::OK; 6]),
        (
            "create",
            [
                S::CREATED,
                S::CREATED,
                S::CREATED,
                S::CREATED,
                S::CREATED,
                S::UNAUTHORIZED,
            ],
        ),
        (
            "totals",
            [
                S::OK,
                S::OK,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
            ],
        ),
        (
            "pin",
            [
                S::OK,
                S::OK,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
            ],
        ),
        (
            "hide",
            [
                S::OK,
                S::OK,
                S::OK,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
            ],
        ),
        (
            "refund",
            [
                S::OK,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
            ],
        ),
    ];
    for (route, expected) in expectations {
        for (at, who) in EVERYONE.into_iter().enumerate() {
            let token = cast.token(&app, who);
            let token = token.as_deref();
            let response = match route {
                "list" => app.send(get(&super_chats_uri(&stream), token)).await,
                "get" => {
                    app.send(get(
                        &format!("{}/{existing}", super_chats_uri(&stream)),
                        token,
                    ))
                    .await
                }
                "create" => {
                    app.send(create_request(
                        &stream,
                        token,
                        Some(&format!("matrix-{at}")),
                        &json!({ "amount_minor": 500, "currency": "USD" }),
                    ))
                    .await
                }
                "totals" => {
                    app.send(get(&format!("{}/totals", super_chats_uri(&stream)), token))
                        .await
                }
                verb => {
                    let fresh = usd(&app, &stream, cast.viewer, 500).await;
                    act(&app, &stream, fresh["id"].as_str().unwrap(), verb, token).await
                }
            };
            assert_eq!(
                response.status,
                expected[at],
                "{route} as {who:?}: {:?}",
                String::from_utf8_lossy(&response.body)
            );
            if response.status == S::UNAUTHORIZED {
                assert_eq!(response.header("www-authenticate"), "Bearer");
            }
        }
    }

    // A private stream: viewers and anonymous callers cannot tell it exists;
    // the invitee still can, in its role.
    cast.make_private(&pool).await;
    for who in [Who::Viewer, Who::Anonymous] {
        let token = cast.token(&app, who);
        let token = token.as_deref();
        let responses = [
            app.send(get(&super_chats_uri(&stream), token)).await,
            app.send(get(
                &format!("{}/{existing}", super_chats_uri(&stream)),
                token,
            ))
            .await,
            app.send(create_request(
                &stream,
                token,
                Some("private"),
                &json!({ "amount_minor": 500, "currency": "USD" }),
            ))
            .await,
            app.send(get(&format!("{}/totals", super_chats_uri(&stream)), token))
                .await,
            act(&app, &stream, &existing, "pin", token).await,
            act(&app, &stream, &existing, "hide", token).await,
            act(&app, &stream, &existing, "refund", token).await,
        ];
        for response in responses {
            response.problem(S::NOT_FOUND);
        }
    }
    let invitee = cast.token(&app, Who::Invitee);
    assert_eq!(
        app.send(get(&super_chats_uri(&stream), invitee.as_deref()))
            .await
            .status,
        S::OK
    );
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_openapi_document_describes_the_routes(pool: PgPool) {
    let app = TestApp::new(pool);
    let document = app.send(get("/api/v1/openapi.json", None)).await.json();
    let paths = &document["paths"];
    let create = &paths["/api/v1/streams/{id}/super-chats"]["post"];
    for status in ["200", "201", "400", "401", "409", "422"] {
        assert!(
            create["responses"][status].is_object(),
            "POST super-chats {status}"
        );
    }
    assert!(
        create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
        "{create}"
    );
    let pin = &paths["/api/v1/streams/{id}/super-chats/{super_chat_id}/pin"]["post"];
    assert_ne!(
        pin["requestBody"]["required"],
        json!(true),
        "the pin body is optional"
    );
    for (path, method) in [
        ("/api/v1/streams/{id}/super-chats", "get"),
        ("/api/v1/streams/{id}/super-chats/totals", "get"),
        ("/api/v1/streams/{id}/super-chats/{super_chat_id}", "get"),
        (
            "/api/v1/streams/{id}/super-chats/{super_chat_id}/hide",
            "post",
        ),
        (
            "/api/v1/streams/{id}/super-chats/{super_chat_id}/refund",
            "post",
        ),
        ("/api/v1/streams/{id}/hosts", "get"),
        ("/api/v1/streams/{id}/hosts", "post"),
        ("/api/v1/streams/{id}/hosts/{user_id}", "get"),
        ("/api/v1/streams/{id}/hosts/{user_id}", "delete"),
        ("/api/v1/streams/{id}/hosts/{user_id}/accept", "post"),
        ("/api/v1/streams/{id}/hosts/{user_id}/decline", "post"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let description = document["info"]["description"].as_str().unwrap();
    assert!(description.contains("`GET /api/v1/streams/{id}/super-chats/{super_chat_id}`"));
    assert!(description.contains("`GET /api/v1/streams/{id}/hosts/{user_id}`"));
}
