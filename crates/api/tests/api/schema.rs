//! The schema's rules hold on their own, whatever code writes the rows; and
//! they fail under the constraint names the API maps to HTTP errors.

use sqlx::PgPool;
use uuid::Uuid;

/// Runs `sql` and asserts it fails on the constraint `name`.
async fn rejected(pool: &PgPool, name: &str, sql: &str) {
    let error = sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .expect_err(&format!("accepted, but {name} should refuse: {sql}"));
    let constraint = error.as_database_error().and_then(|e| e.constraint());
    assert_eq!(constraint, Some(name), "{sql}: {error}");
}

async fn accepted(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("refused: {sql}: {e}"));
}

const STREAM: &str = "00000000-0000-4000-8000-000000000001";
const OTHER_STREAM: &str = "00000000-0000-4000-8000-000000000002";
const USER: &str = "00000000-0000-4000-8000-0000000000aa";
const HASH: &str = "'\\x0000000000000000000000000000000000000000000000000000000000000000'";

fn stream_insert(id: &str, key_id: &str, columns: &str, values: &str) -> String {
    format!(
        "INSERT INTO live_streams (id, owner_id, stream_key_id, stream_key_hash{columns}) \
         VALUES ('{id}', '{USER}', '{key_id}', {HASH}{values})"
    )
}

async fn two_streams(pool: &PgPool) {
    accepted(
        pool,
        &stream_insert(STREAM, "keyidkeyid01", ", title", ", 'One'"),
    )
    .await;
    accepted(
        pool,
        &stream_insert(OTHER_STREAM, "keyidkeyid02", ", title", ", 'Two'"),
    )
    .await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn live_streams_refuse_bad_rows(pool: PgPool) {
    two_streams(&pool).await;
    let other = Uuid::new_v4();
    let insert = |key_id: &str, columns: &str, values: &str| {
        stream_insert(&other.to_string(), key_id, columns, values)
    };
    let cases = [
        (
            "live_streams_title_check",
            insert("keyidkeyid03", ", title", ", ''"),
        ),
        (
            "live_streams_title_check",
            insert("keyidkeyid03", ", title", ", '   '"),
        ),
        (
            "live_streams_title_check",
            insert("keyidkeyid03", ", title", ", repeat('x', 201)"),
        ),
        (
            "live_streams_description_check",
            insert(
                "keyidkeyid03",
                ", title, description",
                ", 't', repeat('x', 5001)",
            ),
        ),
        (
            "live_streams_status_check",
            insert("keyidkeyid03", ", title, status", ", 't', 'paused'"),
        ),
        (
            "live_streams_settings_check",
            insert("keyidkeyid03", ", title, settings", ", 't', '[]'"),
        ),
        (
            "live_streams_stream_key_id_key",
            insert("keyidkeyid01", ", title", ", 't'"),
        ),
        (
            "live_streams_stream_key_id_check",
            insert("key id with spaces", ", title", ", 't'"),
        ),
        (
            "live_streams_status_times_check",
            insert("keyidkeyid03", ", title, status", ", 't', 'live'"),
        ),
        (
            "live_streams_status_times_check",
            insert(
                "keyidkeyid03",
                ", title, status, started_at, ended_at",
                ", 't', 'ended', now(), now() - interval '1 minute'",
            ),
        ),
    ];
    for (constraint, sql) in cases {
        rejected(&pool, constraint, &sql).await;
    }
    rejected(
        &pool,
        "live_streams_stream_key_hash_check",
        &format!(
            "INSERT INTO live_streams (owner_id, title, stream_key_id, stream_key_hash) \
             VALUES ('{USER}', 't', 'keyidkeyid03', '\\x00')"
        ),
    )
    .await;
    accepted(
        &pool,
        &insert(
            "keyidkeyid03",
            ", title",
            &format!(", '{}'", "é".repeat(200)),
        ),
    )
    .await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn updated_at_moves_only_when_the_row_changes(pool: PgPool) {
    two_streams(&pool).await;
    let read = || async {
        let (updated,): (chrono::DateTime<chrono::Utc>,) = sqlx::query_as(&format!(
            "SELECT updated_at FROM live_streams WHERE id = '{STREAM}'"
        ))
        .fetch_one(&pool)
        .await
        .unwrap();
        updated
    };
    let created = read().await;
    accepted(
        &pool,
        &format!("UPDATE live_streams SET title = title WHERE id = '{STREAM}'"),
    )
    .await;
    assert_eq!(read().await, created, "a no-op update is not an edit");
    accepted(
        &pool,
        &format!("UPDATE live_streams SET title = 'Renamed' WHERE id = '{STREAM}'"),
    )
    .await;
    assert!(read().await > created);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn super_chats_keep_money_rows_honest(pool: PgPool) {
    two_streams(&pool).await;
    let chat = |columns: &str, values: &str| {
        format!(
            "INSERT INTO super_chats (stream_id, sender_id, amount_minor, currency, payment_reference{columns}) \
             VALUES ('{STREAM}', '{USER}', {values})"
        )
    };
    accepted(&pool, &chat("", "500, 'EUR', 'pi_1'")).await;
    let cases = [
        ("super_chats_currency_check", chat("", "500, 'eur', 'pi_2'")),
        ("super_chats_currency_check", chat("", "500, 'US', 'pi_2'")),
        ("super_chats_currency_check", chat("", "500, 'E1R', 'pi_2'")),
        ("super_chats_amount_check", chat("", "0, 'EUR', 'pi_2'")),
        ("super_chats_amount_check", chat("", "-100, 'EUR', 'pi_2'")),
        (
            "super_chats_payment_reference_key",
            chat("", "500, 'EUR', 'pi_1'"),
        ),
        (
            "super_chats_payment_reference_check",
            chat("", "500, 'EUR', ''"),
        ),
        (
            "super_chats_status_check",
            chat(", status", "500, 'EUR', 'pi_2', 'gift'"),
        ),
        (
            "super_chats_paid_at_check",
            chat(", status", "500, 'EUR', 'pi_2', 'paid'"),
        ),
        (
            "super_chats_paid_at_check",
            chat(", paid_at", "500, 'EUR', 'pi_2', now()"),
        ),
        (
            "super_chats_message_check",
            chat(", message", "500, 'EUR', 'pi_2', repeat('m', 501)"),
        ),
    ];
    for (constraint, sql) in cases {
        rejected(&pool, constraint, &sql).await;
    }
    accepted(
        &pool,
        &chat(", status, paid_at", "500, 'JPY', 'pi_3', 'paid', now()"),
    )
    .await;

    // Money outlives a deleted stream: the delete is refused.
    rejected(
        &pool,
        "super_chats_stream_id_fkey",
        &format!("DELETE FROM live_streams WHERE id = '{STREAM}'"),
    )
    .await;
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn chat_viewers_and_hosts_follow_their_rules(pool: PgPool) {
    two_streams(&pool).await;
    let cases = [
        (
            "live_chat_messages_body_check",
            format!(
                "INSERT INTO live_chat_messages (stream_id, author_id, body) VALUES ('{STREAM}', '{USER}', '')"
            ),
        ),
        (
            "live_chat_messages_body_check",
            format!(
                "INSERT INTO live_chat_messages (stream_id, author_id, body) \
                 VALUES ('{STREAM}', '{USER}', repeat('b', 501))"
            ),
        ),
        (
            "live_chat_messages_deleted_check",
            format!(
                "INSERT INTO live_chat_messages (stream_id, author_id, body, deleted_at) \
                 VALUES ('{STREAM}', '{USER}', 'hi', now())"
            ),
        ),
        (
            "live_stream_viewers_left_check",
            format!(
                "INSERT INTO live_stream_viewers (stream_id, session_token, joined_at, left_at) \
                 VALUES ('{STREAM}', 'token-0123456789abcdef', now(), now() - interval '1 second')"
            ),
        ),
        (
            "live_stream_viewers_session_token_check",
            format!(
                "INSERT INTO live_stream_viewers (stream_id, session_token) VALUES ('{STREAM}', 'short')"
            ),
        ),
        (
            "live_stream_viewers_stream_id_fkey",
            format!(
                "INSERT INTO live_stream_viewers (stream_id, session_token) \
                 VALUES ('{}', 'token-0123456789abcdef')",
                Uuid::new_v4()
            ),
        ),
        (
            "stream_hosts_role_check",
            format!(
                "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by) \
                 VALUES ('{STREAM}', '{}', 'owner', '{USER}')",
                Uuid::new_v4()
            ),
        ),
        (
            "stream_hosts_self_invite_check",
            format!(
                "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by) \
                 VALUES ('{STREAM}', '{USER}', 'moderator', '{USER}')"
            ),
        ),
    ];
    for (constraint, sql) in cases {
        rejected(&pool, constraint, &sql).await;
    }

    // Chat, viewers and hosts belong to the stream and go with it.
    accepted(
        &pool,
        &format!(
            "INSERT INTO live_chat_messages (stream_id, author_id, body) VALUES ('{STREAM}', '{USER}', 'hello'); \
             INSERT INTO live_stream_viewers (stream_id, session_token) VALUES ('{STREAM}', 'token-0123456789abcdef'); \
             INSERT INTO stream_hosts (stream_id, user_id, role, invited_by) \
                 VALUES ('{STREAM}', '{}', 'co_host', '{USER}'); \
             DELETE FROM live_streams WHERE id = '{STREAM}'",
            Uuid::new_v4()
        ),
    )
    .await;
    let (left,): (i64,) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM live_chat_messages) + (SELECT count(*) FROM live_stream_viewers) \
         + (SELECT count(*) FROM stream_hosts)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn recordings_and_segments_stay_consistent(pool: PgPool) {
    two_streams(&pool).await;
    let recording = Uuid::new_v4();
    accepted(
        &pool,
        &format!(
            "INSERT INTO stream_recordings (id, stream_id) VALUES ('{recording}', '{STREAM}')"
        ),
    )
    .await;
    let segment = |stream: &str, sequence: i64, duration: i64, key: &str| {
        format!(
            "INSERT INTO stream_segments (stream_id, recording_id, rendition, sequence, media_start_ms, \
             program_date_time, duration_ms, byte_size, object_key) \
             VALUES ('{stream}', '{recording}', 'source', {sequence}, 0, now(), {duration}, 1000, '{key}')"
        )
    };
    accepted(&pool, &segment(STREAM, 1, 2000, "rec/1.m4s")).await;
    let cases = [
        (
            "stream_recordings_one_active_key",
            format!("INSERT INTO stream_recordings (stream_id) VALUES ('{STREAM}')"),
        ),
        (
            "stream_recordings_state_check",
            format!(
                "INSERT INTO stream_recordings (stream_id, state) VALUES ('{OTHER_STREAM}', 'paused')"
            ),
        ),
        (
            "stream_recordings_complete_check",
            format!(
                "INSERT INTO stream_recordings (stream_id, state) VALUES ('{OTHER_STREAM}', 'complete')"
            ),
        ),
        (
            "stream_segments_duration_check",
            segment(STREAM, 2, 0, "rec/2.m4s"),
        ),
        (
            "stream_segments_sequence_key",
            segment(STREAM, 1, 2000, "rec/1-again.m4s"),
        ),
        (
            "stream_segments_object_key_key",
            segment(STREAM, 2, 2000, "rec/1.m4s"),
        ),
        (
            "stream_segments_object_key_check",
            segment(STREAM, 2, 2000, "../escape.m4s"),
        ),
        (
            "stream_segments_object_key_check",
            segment(STREAM, 2, 2000, "/abs.m4s"),
        ),
        // A segment cannot claim another stream than its recording's.
        (
            "stream_segments_recording_fkey",
            segment(OTHER_STREAM, 2, 2000, "rec/2.m4s"),
        ),
        (
            "stream_segments_recording_fkey",
            format!("DELETE FROM stream_recordings WHERE id = '{recording}'"),
        ),
        (
            "stream_recordings_stream_id_fkey",
            format!("DELETE FROM live_streams WHERE id = '{STREAM}'"),
        ),
    ];
    for (constraint, sql) in cases {
        rejected(&pool, constraint, &sql).await;
    }
    // Once the active one is complete, the next publish session may record.
    accepted(
        &pool,
        &format!(
            "UPDATE stream_recordings SET state = 'complete', ended_at = now() WHERE id = '{recording}'; \
             INSERT INTO stream_recordings (stream_id) VALUES ('{STREAM}')"
        ),
    )
    .await;
}
