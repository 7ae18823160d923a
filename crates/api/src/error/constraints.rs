//! The constraints a client can break with valid-looking input, by name
//! (named in migrations/ for this purpose), each mapped once, grouped by
//! feature. Handlers validate first, so these are the backstop for races
//! and rules only the database can check.
//!
//! A foreign key is broken from either end, with the same name and
//! SQLSTATE (23503): inserting a row whose parent is gone (the stream was
//! deleted after the access check: 404), or deleting a parent that
//! `ON DELETE RESTRICT` rows still point to (409, and why they are kept).
//! Only the statement knows which end it is on, so the caller says
//! ([`super::DbResultExt::db_err_deleting`] for deletes).

use super::{ApiError, FieldError};

/// Which end of a foreign key the failed statement was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Side {
    /// It wrote the row that points (an INSERT or UPDATE of the child).
    Referencing,
    /// It deleted the row pointed to.
    Referenced,
}

enum Rule {
    /// A CHECK on a body field: 422, pointing at the field.
    Field(&'static [&'static str], &'static str),
    /// A CHECK on input outside the body (a header): 400.
    BadRequest(&'static str),
    /// A UNIQUE the request collided with: 409.
    Conflict(&'static str),
    /// A FOREIGN KEY: what the client is told from each end. `in_use` is
    /// `None` where deleting the parent cascades (so cannot break it).
    Reference {
        missing: &'static str,
        in_use: Option<&'static str>,
    },
}

const STREAM_GONE: &str = "the stream was just deleted";

const RULES: &[(&str, Rule)] = &[
    // Streams.
    (
        "live_streams_title_check",
        Rule::Field(&["title"], "must be 1 to 200 characters, not all blank"),
    ),
    (
        "live_streams_description_check",
        Rule::Field(&["description"], "must be at most 5000 characters"),
    ),
    (
        "live_streams_settings_check",
        Rule::Field(&["settings"], "must be an object"),
    ),
    (
        "live_streams_stream_key_id_key",
        Rule::Conflict("a stream key collided with another one: retry"),
    ),
    // Super chats.
    (
        "super_chats_amount_check",
        Rule::Field(&["amount_minor"], "must be a positive integer"),
    ),
    (
        "super_chats_currency_check",
        Rule::Field(&["currency"], "must be three upper-case letters"),
    ),
    (
        "super_chats_message_check",
        Rule::Field(&["message"], "must be at most 500 characters"),
    ),
    (
        "super_chats_payment_reference_check",
        Rule::Field(&["payment_reference"], "must be 1 to 255 characters"),
    ),
    (
        "super_chats_idempotency_key_check",
        Rule::BadRequest("the `Idempotency-Key` header must be 1 to 255 characters"),
    ),
    (
        "super_chats_payment_reference_key",
        Rule::Conflict(
            "this payment_reference already belongs to another super chat: each payment is \
             recorded once",
        ),
    ),
    // ON DELETE RESTRICT.
    (
        "super_chats_stream_id_fkey",
        Rule::Reference {
            missing: STREAM_GONE,
            in_use: Some(
                "this stream has super chats, which are kept for accounting and refunds, so \
                 it cannot be deleted: disable it instead",
            ),
        },
    ),
    // Hosts.
    (
        "stream_hosts_self_invite_check",
        Rule::Field(
            &["user_id"],
            "is you: the owner runs the stream already; invite someone else",
        ),
    ),
    (
        "stream_hosts_role_check",
        Rule::Field(&["role"], "must be `co_host` or `moderator`"),
    ),
    (
        "stream_hosts_stream_id_fkey",
        Rule::Reference {
            missing: STREAM_GONE,
            in_use: None,
        },
    ),
    // Chat.
    (
        "live_chat_messages_body_check",
        Rule::Field(
            &["body"],
            "must be 1 to 500 characters with something other than blanks",
        ),
    ),
    (
        "live_chat_messages_stream_id_fkey",
        Rule::Reference {
            missing: STREAM_GONE,
            in_use: None,
        },
    ),
    (
        "stream_chat_bans_stream_id_fkey",
        Rule::Reference {
            missing: STREAM_GONE,
            in_use: None,
        },
    ),
    // Viewers.
    (
        "live_stream_viewers_stream_id_fkey",
        Rule::Reference {
            missing: "the stream was just deleted: there is nothing to watch",
            in_use: None,
        },
    ),
    // Recordings. ON DELETE RESTRICT: they are deleted through the DVR first.
    (
        "stream_recordings_stream_id_fkey",
        Rule::Reference {
            missing: STREAM_GONE,
            in_use: Some(
                "the stream has recordings, which must be deleted through the recordings API \
                 first, so it cannot be deleted: disable it instead",
            ),
        },
    ),
];

/// The client's error for breaking `name` from `side`, if it is one a
/// client can break.
pub(super) fn client_error(name: &str, side: Side) -> Option<ApiError> {
    let (_, rule) = RULES.iter().find(|(known, _)| *known == name)?;
    Some(match (rule, side) {
        (Rule::Field(path, detail), _) => {
            ApiError::Validation(vec![FieldError::new(path, *detail)])
        }
        (Rule::BadRequest(detail), _) => ApiError::BadRequest((*detail).to_owned()),
        (Rule::Conflict(detail), _) => ApiError::Conflict((*detail).to_owned()),
        (Rule::Reference { missing, .. }, Side::Referencing) => {
            ApiError::NotFound((*missing).to_owned())
        }
        (Rule::Reference { in_use, .. }, Side::Referenced) => {
            ApiError::Conflict((*in_use)?.to_owned())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_error(name: &str) -> Option<ApiError> {
        super::client_error(name, Side::Referencing)
    }

    #[test]
    fn each_constraint_is_mapped_once() {
        let mut names: Vec<&str> = RULES.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
    }

    #[test]
    fn known_constraints_become_client_errors() {
        match client_error("live_streams_title_check") {
            Some(ApiError::Validation(errors)) => assert_eq!(errors[0].pointer, "#/title"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            client_error("live_streams_stream_key_id_key"),
            Some(ApiError::Conflict(_))
        ));
        for restricting in [
            "super_chats_stream_id_fkey",
            "stream_recordings_stream_id_fkey",
        ] {
            match super::client_error(restricting, Side::Referenced) {
                Some(ApiError::Conflict(detail)) => assert!(detail.contains("disable"), "{detail}"),
                other => panic!("{restricting}: {other:?}"),
            }
        }
        assert!(client_error("live_streams_pkey").is_none());
    }

    #[test]
    fn a_foreign_key_means_gone_from_the_child_and_in_use_from_the_parent() {
        // Inserting a super chat for a stream deleted meanwhile: 404.
        assert!(matches!(
            super::client_error("super_chats_stream_id_fkey", Side::Referencing),
            Some(ApiError::NotFound(_))
        ));
        // Deleting a stream that has super chats: 409.
        assert!(matches!(
            super::client_error("super_chats_stream_id_fkey", Side::Referenced),
            Some(ApiError::Conflict(_))
        ));
        // Cascading keys cannot break from the parent: no client error.
        assert!(
            super::client_error("live_chat_messages_stream_id_fkey", Side::Referenced).is_none()
        );
        for gone in [
            "live_chat_messages_stream_id_fkey",
            "stream_chat_bans_stream_id_fkey",
            "stream_hosts_stream_id_fkey",
            "live_stream_viewers_stream_id_fkey",
        ] {
            assert!(
                matches!(client_error(gone), Some(ApiError::NotFound(_))),
                "{gone}"
            );
        }
    }

    #[test]
    fn super_chat_and_host_constraints_become_client_errors() {
        for (name, pointer) in [
            ("super_chats_amount_check", "#/amount_minor"),
            ("super_chats_currency_check", "#/currency"),
            ("super_chats_message_check", "#/message"),
            ("super_chats_payment_reference_check", "#/payment_reference"),
            ("stream_hosts_self_invite_check", "#/user_id"),
            ("stream_hosts_role_check", "#/role"),
        ] {
            match client_error(name) {
                Some(ApiError::Validation(errors)) => assert_eq!(errors[0].pointer, pointer),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(matches!(
            client_error("super_chats_payment_reference_key"),
            Some(ApiError::Conflict(_))
        ));
        assert!(matches!(
            super::client_error("super_chats_stream_id_fkey", Side::Referenced),
            Some(ApiError::Conflict(_))
        ));
        assert!(matches!(
            client_error("super_chats_idempotency_key_check"),
            Some(ApiError::BadRequest(_))
        ));
    }
}
