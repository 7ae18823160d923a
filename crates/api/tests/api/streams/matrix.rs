//! Every cell of the permission matrix for the stream routes: each role on
//! a public and on a private stream. Allowed roles succeed; the others get
//! 403, or 404 where seeing the stream at all would leak a private one.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::{add_host, go_live, json_request, uuid_of};
use crate::support::{TestApp, request};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Owner,
    CoHost,
    Moderator,
    Invitee,
    Viewer,
    Anonymous,
}

const ROLES: [Role; 6] = [
    Role::Owner,
    Role::CoHost,
    Role::Moderator,
    Role::Invitee,
    Role::Viewer,
    Role::Anonymous,
];

#[derive(Clone, Copy, Debug)]
enum Route {
    Get,
    /// PATCH with title/description: EditStreamDetails.
    PatchDetails,
    /// PATCH with settings: EditStreamSettings too.
    PatchSettings,
    /// PATCH with visibility: EditStreamSettings too.
    PatchVisibility,
    Delete,
    ResetKey,
    Disable,
    Enable,
    End,
}

const ROUTES: [Route; 9] = [
    Route::Get,
    Route::PatchDetails,
    Route::PatchSettings,
    Route::PatchVisibility,
    Route::Delete,
    Route::ResetKey,
    Route::Disable,
    Route::Enable,
    Route::End,
];

impl Route {
    /// The matrix as the issue states it, written out independently of
    /// `ROUTE_PERMISSIONS` so a change there has to be made here too.
    fn allows(self, role: Role) -> bool {
        match self {
            Self::Get => true,
            Self::PatchDetails => matches!(role, Role::Owner | Role::CoHost),
            _ => role == Role::Owner,
        }
    }

    fn success(self) -> StatusCode {
        match self {
            Self::Delete => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }

    fn request(self, id: Uuid, token: Option<&str>) -> Request<Body> {
        let uri = format!("/api/v1/streams/{id}");
        let action = |name: &str| request(Method::POST, &format!("{uri}/{name}"), token);
        let patch = |body: Value| json_request(Method::PATCH, &uri, token, &body);
        match self {
            Self::Get => request(Method::GET, &uri, token),
            Self::PatchDetails => patch(json!({ "title": "Renamed", "description": "New" })),
            Self::PatchSettings => patch(json!({ "settings": { "latency_mode": "low" } })),
            Self::PatchVisibility => patch(json!({ "visibility": "unlisted" })),
            Self::Delete => request(Method::DELETE, &uri, token),
            Self::ResetKey => action("reset-stream-key"),
            Self::Disable => action("disable"),
            Self::Enable => action("enable"),
            Self::End => action("end"),
        }
    }
}

/// Everything a route may change, to prove a refused request changed nothing.
async fn fingerprint(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar(
        "SELECT concat_ws('|', title, description, visibility, settings::text, status, \
         stream_key_id, disabled_at::text) FROM live_streams WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .unwrap()
}

/// A stream with one user in each role, and their tokens.
async fn cast(
    app: &TestApp,
    visibility: &str,
    route: Route,
) -> (Uuid, Vec<(Role, Option<String>)>) {
    let pool = &app.state.pool;
    let owner = Uuid::new_v4();
    let stream = app
        .create_stream(
            owner,
            json!({ "title": "Matrix", "visibility": visibility }),
        )
        .await;
    let id = uuid_of(&stream);
    if matches!(route, Route::End) {
        go_live(app, &stream).await;
    }
    let mut tokens = Vec::new();
    for role in ROLES {
        let user = Uuid::new_v4();
        let token = match role {
            Role::Owner => Some(app.token(owner)),
            Role::Anonymous => None,
            _ => Some(app.token(user)),
        };
        match role {
            Role::CoHost => add_host(pool, id, owner, user, Some("co_host")).await,
            Role::Moderator => add_host(pool, id, owner, user, Some("moderator")).await,
            Role::Invitee => add_host(pool, id, owner, user, None).await,
            _ => {}
        }
        tokens.push((role, token));
    }
    (id, tokens)
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_role_on_every_stream_route(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let mut checked = 0;
    for visibility in ["public", "private"] {
        for route in ROUTES {
            for role_index in 0..ROLES.len() {
                // A stream per cell: some routes delete or end it.
                let (id, tokens) = cast(&app, visibility, route).await;
                let (role, token) = &tokens[role_index];
                let before = fingerprint(&pool, id).await;
                let response = app.send(route.request(id, token.as_deref())).await;
                let cell = format!("{route:?} as {role:?} on a {visibility} stream");
                let hidden =
                    visibility == "private" && matches!(role, Role::Viewer | Role::Anonymous);
                if route.allows(*role) && !hidden {
                    assert_eq!(
                        response.status,
                        route.success(),
                        "{cell}: {}",
                        String::from_utf8_lossy(&response.body)
                    );
                } else {
                    let expected = if hidden {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::FORBIDDEN
                    };
                    let problem = response.problem(expected);
                    if expected == StatusCode::FORBIDDEN {
                        let detail = problem["detail"].as_str().unwrap();
                        assert!(detail.contains("requires the role"), "{cell}: {detail}");
                    }
                    assert_eq!(
                        fingerprint(&pool, id).await,
                        before,
                        "{cell} was refused but changed the stream"
                    );
                    assert!(
                        app.ingest
                            .disconnects
                            .lock()
                            .unwrap()
                            .iter()
                            .all(|(s, _)| s.0 != id),
                        "{cell} was refused but disconnected the publisher"
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 2 * ROUTES.len() * ROLES.len());
}

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn refused_invitations_and_revoked_hosts_are_plain_viewers(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let owner = Uuid::new_v4();
    let stream = app
        .create_stream(
            owner,
            json!({ "title": "Private", "visibility": "private" }),
        )
        .await;
    let id = uuid_of(&stream);
    let declined = Uuid::new_v4();
    let revoked = Uuid::new_v4();
    add_host(&pool, id, owner, declined, None).await;
    add_host(&pool, id, owner, revoked, Some("co_host")).await;
    sqlx::query("UPDATE stream_hosts SET declined_at = now() WHERE user_id = $1")
        .bind(declined)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE stream_hosts SET revoked_at = now() WHERE user_id = $1")
        .bind(revoked)
        .execute(&pool)
        .await
        .unwrap();
    for user in [declined, revoked] {
        let token = app.token(user);
        for route in [Route::Get, Route::PatchDetails] {
            app.send(route.request(id, Some(&token)))
                .await
                .problem(StatusCode::NOT_FOUND);
        }
    }
}
