//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers'
//! `#[utoipa::path]` annotations, and the browsable docs page over it.

use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::access::matrix_markdown;

/// The bearer scheme every authenticated route names.
pub(crate) const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "nova-live API",
        description = "Manage live streams, stream keys, viewers, live chat, super chats and co-hosts.",
    ),
    components(schemas(crate::error::ProblemDocument, crate::error::FieldError)),
    tags(
        (name = "streams", description = "Live streams and their keys"),
        (name = "chat", description = "Live chat and its moderation"),
        (name = "super-chats", description = "Paid messages"),
        (name = "hosts", description = "Co-hosts and moderators"),
        (name = "viewers", description = "Viewer sessions and statistics"),
        (name = "events", description = "Live events over WebSocket or Server-Sent Events"),
        (name = "webhooks", description = "Signed HTTP callbacks to the owner's servers"),
        (name = "recordings", description = "Recordings, clips and their VOD playback"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds what the derive cannot: the bearer scheme and the permission
/// matrix, which is generated from the table the handlers enforce.
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        add_common_errors(openapi);
        let intro = openapi.info.description.take().unwrap_or_default();
        openapi.info.description = Some(format!(
            "{intro}\n\n\
             Send `Authorization: Bearer <JWT>` whose `sub` is your user id. Errors are \
             `application/problem+json` (RFC 9457) with a `detail` that says what to do.\n\n\
             ## Roles\n\n\
             * **owner**: created the stream.\n\
             * **co_host**: accepted an invitation with role `co_host`.\n\
             * **moderator**: accepted an invitation with role `moderator`.\n\
             * **invitee**: invited, has not answered yet.\n\
             * **viewer**: any other signed-in user.\n\
             * **anonymous**: no token.\n\n\
             A private stream is visible to its owner, hosts and invitees only: \
             everyone else gets 404, as if it did not exist. Otherwise a role \
             that may not use a route gets 403 (401 when signing in would help).\n\n\
             ## Permission matrix\n\n{}",
            matrix_markdown()
        ));
    }
}

/// The whole document: the derive's frame plus every route's operation,
/// with the conventions applied over all of them.
pub(crate) fn document(paths: OpenApiDoc) -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    Conventions.modify(&mut doc);
    doc
}

/// The errors any operation may answer with, documented once here rather
/// than on every handler (each handler documents its own others).
fn add_common_errors(openapi: &mut OpenApiDoc) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in &mut openapi.paths.paths {
        let has_path_params = path.contains('{');
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let has_body = operation.request_body.is_some();
            let mut common = vec![
                (
                    "400",
                    "The request is malformed: a parameter or the body could not be read.",
                ),
                ("401", "No valid bearer token, and this route needs one."),
                ("500", "A fault on the server's side, logged there."),
                (
                    "503",
                    "The database is unavailable: retry after `Retry-After` seconds.",
                ),
            ];
            if has_path_params {
                common.push(("403", "Your role on this stream does not allow this."));
                common.push(("404", "No such resource, or one you may not see."));
            }
            if has_body {
                common.push(("413", "The body is larger than 64 KiB."));
                common.push(("415", "The body is not `application/json`."));
                common.push(("422", "The body has invalid fields, listed in `errors`."));
            }
            for (status, description) in common {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
}
