//! The permission matrix: which roles may take which action, and which
//! route is which action. The API docs print it from here and the matrix
//! test walks it, so what is documented is what is enforced.

use std::fmt::Write as _;

use super::Role;

/// One thing a caller can do to a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Permission {
    /// Status, title, playback URLs, viewer count.
    ReadStream,
    /// Ingest URL, stream key hint, settings.
    ReadStreamIngest,
    EditStreamDetails,
    EditStreamSettings,
    /// Delete, reset the key, disable, enable, end the broadcast.
    ManageStream,
    ReadChat,
    PostChat,
    ModerateChat,
    ReadEvents,
    ReadSuperChats,
    SendSuperChat,
    ReadSuperChatTotals,
    PinSuperChat,
    HideSuperChat,
    RefundSuperChat,
    ListHosts,
    ManageHosts,
    /// Accept or decline an invitation: only the invited user.
    AnswerInvitation,
    JoinAsViewer,
    ReadViewerStats,
    /// List, read, clip and delete recordings.
    ManageRecordings,
}

use Role::{Anonymous, CoHost, Invitee, Moderator, Owner, Viewer};

const EVERYONE: &[Role] = &[Owner, CoHost, Moderator, Invitee, Viewer, Anonymous];
const SIGNED_IN: &[Role] = &[Owner, CoHost, Moderator, Invitee, Viewer];
const STAFF: &[Role] = &[Owner, CoHost, Moderator];
const OWNER_AND_CO_HOSTS: &[Role] = &[Owner, CoHost];
const OWNER: &[Role] = &[Owner];

impl Permission {
    pub fn allowed_roles(self) -> &'static [Role] {
        match self {
            Self::ReadStream
            | Self::ReadChat
            | Self::ReadEvents
            | Self::ReadSuperChats
            | Self::JoinAsViewer => EVERYONE,
            Self::PostChat | Self::SendSuperChat => SIGNED_IN,
            Self::ModerateChat | Self::HideSuperChat | Self::ListHosts => STAFF,
            Self::EditStreamDetails
            | Self::PinSuperChat
            | Self::ReadSuperChatTotals
            | Self::ReadViewerStats
            | Self::ManageRecordings => OWNER_AND_CO_HOSTS,
            Self::ReadStreamIngest
            | Self::EditStreamSettings
            | Self::ManageStream
            | Self::RefundSuperChat
            | Self::ManageHosts => OWNER,
            Self::AnswerInvitation => &[Invitee, CoHost, Moderator],
        }
    }

    pub fn allows(self, role: Role) -> bool {
        self.allowed_roles().contains(&role)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::ReadStream => "reading this stream",
            Self::ReadStreamIngest => "reading the ingest settings",
            Self::EditStreamDetails => "editing the title and description",
            Self::EditStreamSettings => "changing the stream's settings",
            Self::ManageStream => "managing the stream and its key",
            Self::ReadChat => "reading chat",
            Self::PostChat => "posting in chat",
            Self::ModerateChat => "moderating chat",
            Self::ReadEvents => "following live events",
            Self::ReadSuperChats => "reading super chats",
            Self::SendSuperChat => "sending a super chat",
            Self::ReadSuperChatTotals => "reading super chat totals",
            Self::PinSuperChat => "pinning a super chat",
            Self::HideSuperChat => "hiding a super chat",
            Self::RefundSuperChat => "refunding a super chat",
            Self::ListHosts => "listing hosts",
            Self::ManageHosts => "inviting and removing hosts",
            Self::AnswerInvitation => "answering an invitation",
            Self::JoinAsViewer => "watching",
            Self::ReadViewerStats => "reading viewer statistics",
            Self::ManageRecordings => "managing recordings and clips",
        }
    }

    pub fn allowed_roles_text(self) -> String {
        let names: Vec<&str> = self.allowed_roles().iter().map(|r| r.as_str()).collect();
        names.join(" or ")
    }
}

/// Every stream-scoped route and the permission it checks. Routes that are
/// not stream-scoped (creating and listing streams, webhooks) belong to the
/// caller alone and are not in this table.
pub(crate) const ROUTE_PERMISSIONS: &[(&str, &str, Permission)] = &[
    ("GET", "/api/v1/streams/{id}", Permission::ReadStream),
    (
        "PATCH",
        "/api/v1/streams/{id}",
        Permission::EditStreamDetails,
    ),
    ("DELETE", "/api/v1/streams/{id}", Permission::ManageStream),
    (
        "POST",
        "/api/v1/streams/{id}/reset-stream-key",
        Permission::ManageStream,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/disable",
        Permission::ManageStream,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/enable",
        Permission::ManageStream,
    ),
    ("POST", "/api/v1/streams/{id}/end", Permission::ManageStream),
    ("GET", "/api/v1/streams/{id}/events", Permission::ReadEvents),
    (
        "GET",
        "/api/v1/streams/{id}/chat/messages",
        Permission::ReadChat,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/chat/messages",
        Permission::PostChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/chat/messages/{message_id}",
        Permission::ReadChat,
    ),
    (
        "DELETE",
        "/api/v1/streams/{id}/chat/messages/{message_id}",
        Permission::ModerateChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/chat/bans",
        Permission::ModerateChat,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/chat/bans",
        Permission::ModerateChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/chat/bans/{user_id}",
        Permission::ModerateChat,
    ),
    (
        "DELETE",
        "/api/v1/streams/{id}/chat/bans/{user_id}",
        Permission::ModerateChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/chat/settings",
        Permission::ModerateChat,
    ),
    (
        "PATCH",
        "/api/v1/streams/{id}/chat/settings",
        Permission::ModerateChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/super-chats",
        Permission::ReadSuperChats,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/super-chats",
        Permission::SendSuperChat,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/super-chats/totals",
        Permission::ReadSuperChatTotals,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/super-chats/{super_chat_id}",
        Permission::ReadSuperChats,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/super-chats/{super_chat_id}/pin",
        Permission::PinSuperChat,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/super-chats/{super_chat_id}/hide",
        Permission::HideSuperChat,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/super-chats/{super_chat_id}/refund",
        Permission::RefundSuperChat,
    ),
    ("GET", "/api/v1/streams/{id}/hosts", Permission::ListHosts),
    (
        "GET",
        "/api/v1/streams/{id}/hosts/{user_id}",
        Permission::ListHosts,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/hosts",
        Permission::ManageHosts,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/hosts/{user_id}/accept",
        Permission::AnswerInvitation,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/hosts/{user_id}/decline",
        Permission::AnswerInvitation,
    ),
    (
        "DELETE",
        "/api/v1/streams/{id}/hosts/{user_id}",
        Permission::ManageHosts,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/viewers",
        Permission::JoinAsViewer,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/viewers/{session_id}/heartbeat",
        Permission::JoinAsViewer,
    ),
    (
        "DELETE",
        "/api/v1/streams/{id}/viewers/{session_id}",
        Permission::JoinAsViewer,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/viewers/stats",
        Permission::ReadViewerStats,
    ),
    (
        "GET",
        "/api/v1/streams/{id}/recordings",
        Permission::ManageRecordings,
    ),
    (
        "POST",
        "/api/v1/streams/{id}/clips",
        Permission::ManageRecordings,
    ),
    (
        "GET",
        "/api/v1/recordings/{id}",
        Permission::ManageRecordings,
    ),
    (
        "DELETE",
        "/api/v1/recordings/{id}",
        Permission::ManageRecordings,
    ),
];

/// The matrix as a Markdown table, route × role, for the API docs.
pub(crate) fn matrix_markdown() -> String {
    let roles = [Owner, CoHost, Moderator, Invitee, Viewer, Anonymous];
    let mut out = String::from("| route |");
    for role in roles {
        let _ = write!(out, " {} |", role.as_str());
    }
    out.push_str("\n| --- |");
    for _ in roles {
        out.push_str(" :-: |");
    }
    out.push('\n');
    for (method, path, permission) in ROUTE_PERMISSIONS {
        let _ = write!(out, "| `{method} {path}` |");
        for role in roles {
            out.push_str(if permission.allows(role) {
                " ✓ |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_manages_the_stream_and_its_hosts() {
        for permission in [
            Permission::ManageStream,
            Permission::ManageHosts,
            Permission::RefundSuperChat,
        ] {
            assert_eq!(permission.allowed_roles(), [Owner]);
        }
    }

    #[test]
    fn anonymous_callers_only_read_and_watch() {
        for (_, path, permission) in ROUTE_PERMISSIONS {
            if permission.allows(Anonymous) {
                assert!(
                    matches!(
                        permission,
                        Permission::ReadStream
                            | Permission::ReadChat
                            | Permission::ReadEvents
                            | Permission::ReadSuperChats
                            | Permission::JoinAsViewer
                    ),
                    "{path}"
                );
            }
        }
    }

    #[test]
    fn the_table_lists_every_route_once() {
        let mut seen = std::collections::HashSet::new();
        for (method, path, _) in ROUTE_PERMISSIONS {
            assert!(seen.insert((method, path)), "{method} {path} twice");
        }
        let table = matrix_markdown();
        assert_eq!(table.lines().count(), ROUTE_PERMISSIONS.len() + 2);
    }
}
