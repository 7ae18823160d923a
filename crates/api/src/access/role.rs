use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The caller's relation to one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Created the stream.
    Owner,
    /// Accepted an invitation as `co_host`: edits title and description,
    /// moderates chat, pins super chats.
    CoHost,
    /// Accepted an invitation as `moderator`: chat moderation only.
    Moderator,
    /// Invited, not yet answered: a viewer who may also see the stream if
    /// it is private, and accept or decline.
    Invitee,
    /// Any other signed-in user.
    Viewer,
    /// No bearer token.
    Anonymous,
}

impl Role {
    /// `host_role` is the caller's row in `stream_hosts`, if any, as
    /// (role, answered state) — see [`HostState`].
    pub fn of(caller: Option<Uuid>, owner: Uuid, host: Option<HostState<'_>>) -> Self {
        let Some(caller) = caller else {
            return Self::Anonymous;
        };
        if caller == owner {
            return Self::Owner;
        }
        match host {
            Some(HostState::Accepted("co_host")) => Self::CoHost,
            Some(HostState::Accepted("moderator")) => Self::Moderator,
            Some(HostState::Pending) => Self::Invitee,
            _ => Self::Viewer,
        }
    }

    /// The owner and the hosts they chose: the people running the stream.
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Owner | Self::CoHost | Self::Moderator)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::CoHost => "co_host",
            Self::Moderator => "moderator",
            Self::Invitee => "invitee",
            Self::Viewer => "viewer",
            Self::Anonymous => "anonymous",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Owner => "the owner",
            Self::CoHost => "a co-host",
            Self::Moderator => "a moderator",
            Self::Invitee => "an invited user who has not accepted yet",
            Self::Viewer => "a viewer",
            Self::Anonymous => "not signed in",
        }
    }
}

/// The caller's invitation to host a stream, if it is still standing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostState<'a> {
    /// Accepted and not revoked, with its role (`co_host` | `moderator`).
    Accepted(&'a str),
    /// Neither accepted, declined nor revoked.
    Pending,
}

/// Who can see a stream.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::Type, Serialize, Deserialize, ToSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum Visibility {
    /// Listed, and readable by anyone.
    #[default]
    Public,
    /// Readable by anyone who has its id; never listed.
    Unlisted,
    /// Only the owner and its hosts; everyone else gets 404.
    Private,
}

/// Where a stream is in its broadcast life: access rules read it beside
/// the visibility (viewers and chat depend on both).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    sqlx::Type,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub(crate) enum StreamStatus {
    /// Never went live.
    Idle,
    /// A publisher is sending, or may come back within the reconnect window.
    Live,
    /// The last broadcast is over; the stream can go live again.
    Ended,
}

impl StreamStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Live => "live",
            Self::Ended => "ended",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_the_invitation_state() {
        let owner = Uuid::new_v4();
        let other = Uuid::new_v4();
        assert_eq!(Role::of(None, owner, None), Role::Anonymous);
        assert_eq!(Role::of(Some(owner), owner, None), Role::Owner);
        assert_eq!(Role::of(Some(other), owner, None), Role::Viewer);
        assert_eq!(
            Role::of(Some(other), owner, Some(HostState::Accepted("co_host"))),
            Role::CoHost
        );
        assert_eq!(
            Role::of(Some(other), owner, Some(HostState::Accepted("moderator"))),
            Role::Moderator
        );
        assert_eq!(
            Role::of(Some(other), owner, Some(HostState::Pending)),
            Role::Invitee
        );
    }
}
