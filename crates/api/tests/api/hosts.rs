//! `/api/v1/streams/{id}/hosts`: invitations, answers, removals, and roles
//! that take effect on the next request.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{TestApp, TestResponse, get, post_json, post_raw, request};

/// The caller of a request, by their role on the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Owner,
    CoHost,
    Moderator,
    Invitee,
    Viewer,
    Anonymous,
}

pub const EVERYONE: [Who; 6] = [
    Who::Owner,
    Who::CoHost,
    Who::Moderator,
    Who::Invitee,
    Who::Viewer,
    Who::Anonymous,
];

/// A stream with one user in each role. Hosts are written with SQL, so
/// tests of other routes do not depend on the hosts routes.
pub struct Cast {
    pub stream: String,
    pub owner: Uuid,
    pub co_host: Uuid,
    pub moderator: Uuid,
    pub invitee: Uuid,
    pub viewer: Uuid,
}

impl Cast {
    pub async fn new(app: &TestApp, pool: &PgPool) -> Self {
        let owner = Uuid::new_v4();
        let stream = app.create_stream(owner, json!({ "title": "Cast" })).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let cast = Self {
            stream,
            owner,
            co_host: Uuid::new_v4(),
            moderator: Uuid::new_v4(),
            invitee: Uuid::new_v4(),
            viewer: Uuid::new_v4(),
        };
        for (user, role, accepted) in [
            (cast.co_host, "co_host", true),
            (cast.moderator, "moderator", true),
            (cast.invitee, "co_host", false),
        ] {
            sqlx::query(
                "INSERT INTO stream_hosts (stream_id, user_id, role, invited_by, accepted_at) \
                 VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
            )
            .bind(cast.stream_id())
            .bind(user)
            .bind(role)
            .bind(owner)
            .bind(accepted)
            .execute(pool)
            .await
            .unwrap();
        }
        cast
    }

    pub fn stream_id(&self) -> Uuid {
        self.stream.parse().unwrap()
    }

    pub fn user(&self, who: Who) -> Option<Uuid> {
        match who {
            Who::Owner => Some(self.owner),
            Who::CoHost => Some(self.co_host),
            Who::Moderator => Some(self.moderator),
            Who::Invitee => Some(self.invitee),
            Who::Viewer => Some(self.viewer),
            Who::Anonymous => None,
        }
    }

    pub fn token(&self, app: &TestApp, who: Who) -> Option<String> {
        self.user(who).map(|user| app.token(user))
    }

    pub async fn make_private(&self, pool: &PgPool) {
        sqlx::query("UPDATE live_streams SET visibility = 'private' WHERE id = $1")
            .bind(self.stream_id())
            .execute(pool)
            .await
            .unwrap();
    }
}

fn hosts_uri(cast: &Cast) -> String {
    format!("/api/v1/streams/{}/hosts", cast.stream)
}

fn host_uri(cast: &Cast, user: Uuid) -> String {
    format!("/api/v1/streams/{}/hosts/{user}", cast.stream)
}

async fn invite(app: &TestApp, cast: &Cast, user: Uuid, role: &str) -> TestResponse {
    app.send(post_json(
        &hosts_uri(cast),
        Some(&app.token(cast.owner)),
        &json!({ "user_id": user, "role": role }),
    ))
    .await
}

async fn answer(
    app: &TestApp,
    cast: &Cast,
    user: Uuid,
    token_of: Uuid,
    verb: &str,
) -> TestResponse {
    app.send(post_raw(
        &format!("{}/{verb}", host_uri(cast, user)),
        Some(&app.token(token_of)),
        None,
        "",
    ))
    .await
}

async fn remove(app: &TestApp, cast: &Cast, user: Uuid, token: Option<&str>) -> TestResponse {
    app.send(request(Method::DELETE, &host_uri(cast, user), token))
        .await
}

/// The stream's host list as the owner sees it, by user.
async fn host_list(app: &TestApp, cast: &Cast) -> Vec<Value> {
    let response = app
        .send(get(
            &format!("{}?limit=100", hosts_uri(cast)),
            Some(&app.token(cast.owner)),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK);
    response.json()["items"].as_array().unwrap().clone()
}

/// Sends a super chat as the viewer and pins it as `pinner`: the status
/// says whether their role allows pinning (owners and co-hosts only).
async fn pin_status(app: &TestApp, cast: &Cast, pinner: Uuid) -> StatusCode {
    let key = Uuid::new_v4().to_string();
    let created = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri(format!("/api/v1/streams/{}/super-chats", cast.stream))
                .header(
                    "authorization",
                    format!("Bearer {}", app.token(cast.viewer)),
                )
                .header("content-type", "application/json")
                .header("idempotency-key", key)
                .body(axum::body::Body::from(
                    json!({ "amount_minor": 500, "currency": "USD" }).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    app.send(post_raw(
        &format!("/api/v1/streams/{}/super-chats/{id}/pin", cast.stream),
        Some(&app.token(pinner)),
        None,
        "",
    ))
    .await
    .status
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn an_invitation_is_accepted_and_the_role_applies_until_removal(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let guest = Uuid::new_v4();
    let mut events = app.state.events.subscribe(cast.stream_id(), None);

    let invited = invite(&app, &cast, guest, "co_host").await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    assert_eq!(invited.header("location"), host_uri(&cast, guest));
    let body = invited.json();
    assert_eq!(body["id"], guest.to_string());
    assert_eq!(body["user_id"], guest.to_string());
    assert_eq!(body["stream_id"], cast.stream);
    assert_eq!(body["role"], "co_host");
    assert_eq!(body["state"], "invited");
    assert_eq!(body["invited_by"], cast.owner.to_string());
    assert_eq!(body["accepted_at"], Value::Null);
    assert_eq!(body["declined_at"], Value::Null);
    assert_eq!(body["removed_at"], Value::Null);
    let event = events.receiver.try_recv().unwrap();
    assert_eq!(
        (json!(event.kind()), event.data()),
        (
            json!("hosts_changed"),
            json!({ "user_id": guest, "role": "co_host", "state": "invited" })
        )
    );

    assert_eq!(pin_status(&app, &cast, guest).await, StatusCode::FORBIDDEN);
    let accepted = answer(&app, &cast, guest, guest, "accept").await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    let body = accepted.json();
    assert_eq!(body["state"], "accepted");
    assert!(body["accepted_at"].is_string());
    assert_eq!(
        pin_status(&app, &cast, guest).await,
        StatusCode::OK,
        "an accepted co-host pins on their next request"
    );

    let removed = remove(&app, &cast, guest, Some(&app.token(cast.owner))).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert!(removed.body.is_empty());
    assert_eq!(
        pin_status(&app, &cast, guest).await,
        StatusCode::FORBIDDEN,
        "a removed co-host loses the role at once"
    );
    let listed = host_list(&app, &cast).await;
    let entry = listed
        .iter()
        .find(|h| h["user_id"] == guest.to_string())
        .unwrap();
    assert_eq!(entry["state"], "removed");
    assert!(entry["removed_at"].is_string() && entry["accepted_at"].is_string());

    let kinds: Vec<Value> = std::iter::from_fn(|| events.receiver.try_recv().ok())
        .filter(|e| json!(e.kind()) == json!("hosts_changed"))
        .map(|e| e.data()["state"].clone())
        .collect();
    assert_eq!(kinds, [json!("accepted"), json!("removed")]);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn declined_and_removed_invitations_can_be_reopened(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let guest = Uuid::new_v4();

    let first = invite(&app, &cast, guest, "moderator").await.json();
    let declined = answer(&app, &cast, guest, guest, "decline").await;
    assert_eq!(declined.status, StatusCode::OK);
    assert_eq!(declined.json()["state"], "declined");
    // Declined: no longer an invitee, so no longer allowed to answer.
    answer(&app, &cast, guest, guest, "accept")
        .await
        .problem(StatusCode::FORBIDDEN);

    let again = invite(&app, &cast, guest, "co_host").await;
    assert_eq!(again.status, StatusCode::CREATED, "a new invitation");
    let again = again.json();
    assert_eq!(again["state"], "invited");
    assert_eq!(again["role"], "co_host");
    assert_eq!(again["declined_at"], Value::Null);
    assert!(again["invited_at"].as_str() > first["invited_at"].as_str());
    assert_eq!(
        answer(&app, &cast, guest, guest, "accept").await.json()["state"],
        "accepted"
    );

    remove(&app, &cast, guest, Some(&app.token(cast.owner))).await;
    let third = invite(&app, &cast, guest, "moderator").await;
    assert_eq!(third.status, StatusCode::CREATED);
    let third = third.json();
    assert_eq!(
        (&third["state"], &third["accepted_at"], &third["removed_at"]),
        (&json!("invited"), &Value::Null, &Value::Null)
    );
    let rows: (i64,) =
        sqlx::query_as("SELECT count(*) FROM stream_hosts WHERE stream_id = $1 AND user_id = $2")
            .bind(cast.stream_id())
            .bind(guest)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(rows.0, 1, "one row per user and stream");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn inviting_a_current_host_changes_their_role_at_once(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;

    // An open invitation: the role it offers changes, still unanswered.
    let pending = invite(&app, &cast, cast.invitee, "moderator").await;
    assert_eq!(pending.status, StatusCode::OK);
    assert_eq!(pending.header("location"), host_uri(&cast, cast.invitee));
    let pending = pending.json();
    assert_eq!(
        (&pending["role"], &pending["state"]),
        (&json!("moderator"), &json!("invited"))
    );

    // An accepted co-host demoted to moderator may no longer pin.
    assert_eq!(pin_status(&app, &cast, cast.co_host).await, StatusCode::OK);
    let demoted = invite(&app, &cast, cast.co_host, "moderator").await;
    assert_eq!(demoted.status, StatusCode::OK);
    let demoted = demoted.json();
    assert_eq!(
        (&demoted["role"], &demoted["state"]),
        (&json!("moderator"), &json!("accepted"))
    );
    assert_eq!(
        pin_status(&app, &cast, cast.co_host).await,
        StatusCode::FORBIDDEN
    );

    // The same role again changes nothing and publishes nothing.
    let mut events = app.state.events.subscribe(cast.stream_id(), None);
    let same = invite(&app, &cast, cast.co_host, "moderator").await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.json(), demoted);
    assert!(events.receiver.try_recv().is_err());
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn only_the_invited_user_answers_and_only_once(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let other = Uuid::new_v4();
    invite(&app, &cast, other, "moderator").await;

    // Another invitee may answer invitations, but not this one.
    let theirs = answer(&app, &cast, other, cast.invitee, "accept")
        .await
        .problem(StatusCode::FORBIDDEN);
    assert!(
        theirs["detail"]
            .as_str()
            .unwrap()
            .contains("your own user id")
    );
    answer(&app, &cast, other, cast.owner, "accept")
        .await
        .problem(StatusCode::FORBIDDEN);
    answer(&app, &cast, other, cast.viewer, "decline")
        .await
        .problem(StatusCode::FORBIDDEN);
    let not_a_uuid = app
        .send(post_raw(
            &format!("{}/nobody/accept", hosts_uri(&cast)),
            Some(&app.token(cast.invitee)),
            None,
            "",
        ))
        .await;
    not_a_uuid.problem(StatusCode::FORBIDDEN);

    assert_eq!(
        answer(&app, &cast, other, other, "accept").await.status,
        StatusCode::OK
    );
    let twice = answer(&app, &cast, other, other, "accept")
        .await
        .problem(StatusCode::CONFLICT);
    assert!(
        twice["detail"].as_str().unwrap().contains("accepted"),
        "{twice}"
    );
    answer(&app, &cast, other, other, "decline")
        .await
        .problem(StatusCode::CONFLICT);
    answer(&app, &cast, cast.co_host, cast.co_host, "accept")
        .await
        .problem(StatusCode::CONFLICT);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn hosts_and_invitees_may_leave_but_not_remove_others(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    for who in [Who::CoHost, Who::Moderator, Who::Invitee, Who::Viewer] {
        let response = remove(&app, &cast, cast.owner, cast.token(&app, who).as_deref()).await;
        response.problem(StatusCode::FORBIDDEN);
    }
    remove(
        &app,
        &cast,
        cast.co_host,
        cast.token(&app, Who::Moderator).as_deref(),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    remove(&app, &cast, cast.co_host, None)
        .await
        .problem(StatusCode::FORBIDDEN);
    // A viewer "leaving" holds nothing to leave.
    remove(
        &app,
        &cast,
        cast.viewer,
        cast.token(&app, Who::Viewer).as_deref(),
    )
    .await
    .problem(StatusCode::FORBIDDEN);

    for who in [Who::CoHost, Who::Moderator, Who::Invitee] {
        let user = cast.user(who).unwrap();
        let response = remove(&app, &cast, user, cast.token(&app, who).as_deref()).await;
        assert_eq!(response.status, StatusCode::NO_CONTENT, "{who:?}");
    }
    let states: Vec<String> = host_list(&app, &cast)
        .await
        .iter()
        .map(|h| h["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["removed", "removed", "removed"]);
    // Left: the former co-host may not pin, nor leave twice.
    assert_eq!(
        pin_status(&app, &cast, cast.co_host).await,
        StatusCode::FORBIDDEN
    );
    remove(
        &app,
        &cast,
        cast.co_host,
        cast.token(&app, Who::CoHost).as_deref(),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn removing_is_idempotent_and_unknown_users_are_404(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let owner = app.token(cast.owner);
    assert_eq!(
        remove(&app, &cast, cast.invitee, Some(&owner)).await.status,
        StatusCode::NO_CONTENT
    );
    let mut events = app.state.events.subscribe(cast.stream_id(), None);
    assert_eq!(
        remove(&app, &cast, cast.invitee, Some(&owner)).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(events.receiver.try_recv().is_err(), "nothing changed");
    remove(&app, &cast, Uuid::new_v4(), Some(&owner))
        .await
        .problem(StatusCode::NOT_FOUND);
    app.send(request(
        Method::DELETE,
        &format!("{}/not-a-uuid", hosts_uri(&cast)),
        Some(&owner),
    ))
    .await
    .problem(StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn invitations_are_validated(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let token = app.token(cast.owner);
    let cases = [
        (
            json!({ "user_id": cast.owner, "role": "co_host" }),
            "#/user_id",
        ),
        (
            json!({ "user_id": Uuid::new_v4(), "role": "owner" }),
            "#/role",
        ),
        (
            json!({ "user_id": "someone", "role": "co_host" }),
            "#/user_id",
        ),
        (json!({ "user_id": Uuid::new_v4() }), "#"),
        (
            json!({ "user_id": Uuid::new_v4(), "role": "co_host", "ingest": true }),
            "#/ingest",
        ),
    ];
    for (body, pointer) in cases {
        let problem = app
            .send(post_json(&hosts_uri(&cast), Some(&token), &body))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            problem["errors"][0]["pointer"], pointer,
            "{body}: {problem}"
        );
    }
    let rows: (i64,) = sqlx::query_as("SELECT count(*) FROM stream_hosts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows.0, 3, "only the cast's hosts");
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn the_host_list_pages_in_invitation_order(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let mut invited = Vec::new();
    for _ in 0..4 {
        let user = Uuid::new_v4();
        invite(&app, &cast, user, "moderator").await;
        invited.push(user.to_string());
    }
    let token = app.token(cast.moderator);
    let mut seen = Vec::new();
    let mut uri = format!("{}?limit=3", hosts_uri(&cast));
    loop {
        let page = app.send(get(&uri, Some(&token))).await;
        assert_eq!(page.status, StatusCode::OK);
        let page = page.json();
        assert!(page["items"].as_array().unwrap().len() <= 3);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["user_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{}?limit=3&cursor={cursor}", hosts_uri(&cast)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(
        &seen[3..],
        &invited[..],
        "the API's invitations come after the cast's"
    );
    for query in ["limit=0", "limit=101", "cursor=nope"] {
        app.send(get(&format!("{}?{query}", hosts_uri(&cast)), Some(&token)))
            .await
            .problem(StatusCode::BAD_REQUEST);
    }
}

/// Every host route × every role (expectations in `EVERYONE` order).
#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn host_routes_follow_the_permission_matrix(pool: PgPool) {
    use StatusCode as S;
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    let roles = EVERYONE;

    let expect_list = [
        S::OK,
        S::OK,
        S::OK,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
    ];
    let expect_get_other = expect_list;
    let expect_invite = [
        S::CREATED,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
        S::FORBIDDEN,
    ];
    let expect_remove_other =
        expect_invite.map(|s| if s == S::CREATED { S::NO_CONTENT } else { s });
    for (at, who) in roles.into_iter().enumerate() {
        let token = cast.token(&app, who);
        let token = token.as_deref();
        let list = app.send(get(&hosts_uri(&cast), token)).await;
        assert_eq!(list.status, expect_list[at], "list as {who:?}");
        let other = app.send(get(&host_uri(&cast, cast.co_host), token)).await;
        assert_eq!(other.status, expect_get_other[at], "get as {who:?}");

        let guest = Uuid::new_v4();
        let invited = app
            .send(post_json(
                &hosts_uri(&cast),
                token,
                &json!({ "user_id": guest, "role": "moderator" }),
            ))
            .await;
        assert_eq!(invited.status, expect_invite[at], "invite as {who:?}");
        if invited.status != S::CREATED {
            invite(&app, &cast, guest, "moderator").await;
        }
        let removed = remove(&app, &cast, guest, token).await;
        assert_eq!(removed.status, expect_remove_other[at], "remove as {who:?}");
    }

    // Everyone may read their own entry; invitees see the role offered.
    let own = app
        .send(get(
            &host_uri(&cast, cast.invitee),
            Some(&app.token(cast.invitee)),
        ))
        .await;
    assert_eq!(own.status, S::OK);
    assert_eq!(own.json()["state"], "invited");

    // Answering: only the invited user (and only while open); every other
    // role is refused before the state is looked at.
    for who in roles {
        let guest = Uuid::new_v4();
        invite(&app, &cast, guest, "co_host").await;
        let token = cast.token(&app, who);
        for verb in ["accept", "decline"] {
            let response = app
                .send(post_raw(
                    &format!("{}/{verb}", host_uri(&cast, guest)),
                    token.as_deref(),
                    None,
                    "",
                ))
                .await;
            response.problem(S::FORBIDDEN);
        }
    }
    let invitee_accepts = answer(&app, &cast, cast.invitee, cast.invitee, "accept").await;
    assert_eq!(invitee_accepts.status, S::OK);
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn private_streams_are_404_to_all_but_hosts_and_invitees(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let cast = Cast::new(&app, &pool).await;
    cast.make_private(&pool).await;
    for who in [Who::Viewer, Who::Anonymous] {
        let token = cast.token(&app, who);
        let token = token.as_deref();
        app.send(get(&hosts_uri(&cast), token))
            .await
            .problem(StatusCode::NOT_FOUND);
        app.send(get(&host_uri(&cast, cast.co_host), token))
            .await
            .problem(StatusCode::NOT_FOUND);
        app.send(post_json(
            &hosts_uri(&cast),
            token,
            &json!({ "user_id": Uuid::new_v4(), "role": "co_host" }),
        ))
        .await
        .problem(StatusCode::NOT_FOUND);
        for verb in ["accept", "decline"] {
            app.send(post_raw(
                &format!("{}/{verb}", host_uri(&cast, cast.invitee)),
                token,
                None,
                "",
            ))
            .await
            .problem(StatusCode::NOT_FOUND);
        }
        remove(&app, &cast, cast.co_host, token)
            .await
            .problem(StatusCode::NOT_FOUND);
    }
    // The invitee sees the private stream to answer, and after declining
    // it is gone for them.
    let own = app
        .send(get(
            &host_uri(&cast, cast.invitee),
            Some(&app.token(cast.invitee)),
        ))
        .await;
    assert_eq!(own.status, StatusCode::OK);
    assert_eq!(
        answer(&app, &cast, cast.invitee, cast.invitee, "decline")
            .await
            .status,
        StatusCode::OK
    );
    answer(&app, &cast, cast.invitee, cast.invitee, "accept")
        .await
        .problem(StatusCode::NOT_FOUND);
}
