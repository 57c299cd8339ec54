//! Typed replies. Every model keeps the fields it does not name in `extra`, so a reply with
//! fields we do not model decodes and loses nothing; fields that are missing or `null` take
//! their empty value.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// `null` or missing becomes the type's default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

macro_rules! model {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$fdoc:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        $( secret { $( $(#[$sdoc:meta])* $sfield:ident ),* $(,)? } )?
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Default, Deserialize, Serialize)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fdoc])* #[serde(default, deserialize_with = "null_default")] pub $field: $ty, )*
            $( $( $(#[$sdoc])* #[serde(default, deserialize_with = "null_default")] pub $sfield: Option<String>, )* )?
            /// Fields of the reply that this type does not name, kept as they came.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut s = f.debug_struct(stringify!($name));
                $( s.field(stringify!($field), &self.$field); )*
                $( $( s.field(stringify!($sfield), &self.$sfield.as_ref().map(|_| crate::redact::Redacted)); )* )?
                if !self.extra.is_empty() {
                    let mut extra = Value::Object(self.extra.clone());
                    crate::redact::scrub_value(&mut extra);
                    s.field("extra", &extra);
                }
                s.finish()
            }
        }
    };
}

model! {
    /// A user, as `get_user_data`, `add_user`, `update_user_data` and group listings return it.
    /// Custom values set with `update_user_data` arrive in `extra`.
    User {
        /// User identifier.
        id: String,
        /// Email address.
        email: Option<String>,
        /// Display name.
        full_name: Option<String>,
        /// Server role (`admin`, `user`, `demo`, `reader`); see [`User::server_role`].
        role: Option<String>,
        /// Permissions of the role.
        role_permissions: Vec<String>,
        /// The user's tenant.
        tenant: Option<String>,
        /// Groups the user belongs to, when the server includes them.
        groups: Option<Vec<Value>>,
        /// Projects of the user, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

impl User {
    /// The server role, typed; `None` when absent. A role this version does not know is
    /// [`ServerRole::Other`](crate::ServerRole::Other).
    pub fn server_role(&self) -> Option<crate::ServerRole> {
        self.role.as_deref().map(crate::ServerRole::from_wire)
    }
}

model! {
    /// The reply of `get_users`.
    UserList {
        /// The users of the tenant.
        users: Vec<User>,
    }
}

model! {
    /// A group and its members.
    Group {
        /// Group identifier.
        id: String,
        /// Group name.
        name: Option<String>,
        /// Members of the group.
        members: Vec<User>,
        /// Projects of the group, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

model! {
    /// A user or group in a project.
    ProjectMember {
        /// Identifier of the user or group.
        member_id: String,
        /// `user` or `group`.
        member_type: Option<String>,
        /// Email address (users).
        email: Option<String>,
        /// Display name (users).
        full_name: Option<String>,
        /// Server role of a user.
        server_role: Option<String>,
        /// Role in the project (`reader`, `member`, `admin`); see [`ProjectMember::role`].
        project_role: Option<String>,
        /// Project identifier.
        project_id: Option<String>,
        /// Permissions the member has in the project.
        permissions: Vec<String>,
    }
}

impl ProjectMember {
    /// The project role, typed; `None` when absent. A role this version does not know is
    /// [`ProjectRole::Other`](crate::ProjectRole::Other).
    pub fn role(&self) -> Option<crate::ProjectRole> {
        self.project_role
            .as_deref()
            .map(crate::ProjectRole::from_wire)
    }
}

model! {
    /// The reply of `get_project_members`.
    ProjectMemberList {
        /// The members.
        members: Vec<ProjectMember>,
    }
}

model! {
    /// An external authentication of a user with a service.
    Authentication {
        /// When the access secret expires (`%Y-%m-%dT%H:%M:%S`).
        access_secret_expires: Option<String>,
        /// When the access token expires.
        access_token_expires: Option<String>,
        /// The service user's display name.
        display_name: Option<String>,
        /// The service user's identifier.
        service_user: Option<String>,
        /// State of the authentication (`ok`, ...).
        state: Option<String>,
    }
    secret {
        /// The service access token (redacted in `Debug`).
        access_token,
        /// The service access secret (redacted in `Debug`).
        access_secret,
    }
}

model! {
    /// One grant of a user.
    Grant {
        /// Grant identifier.
        id: String,
        /// `user` or `service`.
        r#type: Option<String>,
        /// Creation time, as the server writes it.
        created_at: Option<String>,
        /// Expiry, as the server writes it.
        valid_to: Option<String>,
    }
}

model! {
    /// The reply of `get_user_grants`.
    GrantList {
        /// The grants.
        grants: Vec<Grant>,
    }
}

model! {
    /// The reply of `new_grant`: its id and the refresh token that authenticates with it.
    NewGrant {
        /// Grant identifier.
        id: String,
    }
    secret {
        /// The grant's refresh token (redacted in `Debug`).
        refresh_token,
    }
}

model! {
    /// The data of a session (the server's fields are kept in `extra`).
    Session {
        /// Session identifier, when the server includes it.
        id: Option<String>,
    }
}

model! {
    /// The password policy of the tenant (the server's fields are kept in `extra`).
    PasswordPolicy {}
}

model! {
    /// The reply of the MS Exchange token methods.
    MsExchangeToken {
        /// The Squirro user id.
        user_id: Option<String>,
    }
    secret {
        /// The OAuth2 token (redacted in `Debug`).
        oauth2_token,
    }
}

model! {
    /// The reply of `signup`.
    SignupResult {
        /// The new user's id.
        user_id: String,
        /// The user's tenant.
        tenant: Option<String>,
    }
}

model! {
    /// A workspace.
    Workspace {
        /// The workspace's domain, its identifier.
        domain: String,
        /// Its title.
        title: Option<String>,
        /// Its projects, when asked for with `include_projects`.
        projects: Option<Vec<Value>>,
    }
}

model! {
    /// A user of a workspace.
    WorkspaceUser {
        /// User identifier.
        id: String,
        /// Email address.
        email: Option<String>,
        /// Role in the workspace.
        role: Option<String>,
        /// Display name.
        full_name: Option<String>,
    }
}

model! {
    /// One entry of the reply of `add_workspace_users` and `set_workspace_user_role`.
    WorkspaceMembership {
        /// User identifier.
        user_id: String,
        /// The workspace's domain.
        workspace: Option<String>,
    }
}

/// The reply of `get_workspaces`. The API documents a bare list, the Python client reads
/// `reply["workspaces"]`: both decode, and `extra` keeps the other fields of the object form.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct WorkspaceList {
    /// The workspaces.
    pub workspaces: Vec<Workspace>,
    /// Other fields of an object reply.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for WorkspaceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Object {
            #[serde(default, deserialize_with = "null_default")]
            workspaces: Vec<Workspace>,
            #[serde(flatten)]
            extra: Map<String, Value>,
        }
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a list of workspaces or an object with `workspaces`"
        )]
        enum Shape {
            List(Vec<Workspace>),
            Object(Object),
        }
        Ok(match Shape::deserialize(d)? {
            Shape::List(workspaces) => WorkspaceList {
                workspaces,
                extra: Map::new(),
            },
            Shape::Object(o) => WorkspaceList {
                workspaces: o.workspaces,
                extra: o.extra,
            },
        })
    }
}

/// What the token endpoint says about a session, kept by the client after
/// [`authenticate`](crate::Client::authenticate) (tokens are not part of it).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The user the tokens belong to.
    #[serde(default, deserialize_with = "null_default")]
    pub user_id: Option<String>,
    /// The tenant.
    #[serde(default, deserialize_with = "null_default")]
    pub tenant: Option<String>,
    /// The session id.
    #[serde(default, deserialize_with = "null_default")]
    pub session_id: Option<String>,
    /// The user's server role.
    #[serde(default, deserialize_with = "null_default")]
    pub role: Option<String>,
    /// Permissions of the role.
    #[serde(default, deserialize_with = "null_default")]
    pub role_permissions: Vec<String>,
    /// Project permissions of the token, when it is restricted.
    #[serde(default, deserialize_with = "null_default")]
    pub project_permissions: Option<Value>,
    /// The `user_information` the server keeps for the session.
    #[serde(default, deserialize_with = "null_default")]
    pub user_information: Option<Value>,
    /// Other fields of the token reply (tokens removed).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_and_nulls_default() {
        let u: User = serde_json::from_str(
            r#"{"id":"u1","email":null,"role_permissions":null,"favourite":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(u.id, "u1");
        assert_eq!(u.email, None);
        assert!(u.role_permissions.is_empty());
        assert_eq!(u.extra["favourite"], serde_json::json!({"x": 1}));
        let back = serde_json::to_value(&u).unwrap();
        assert_eq!(back["favourite"]["x"], 1);
    }

    #[test]
    fn workspaces_both_shapes() {
        let a: WorkspaceList = serde_json::from_str(r#"[{"domain":"a","title":"A"}]"#).unwrap();
        let b: WorkspaceList =
            serde_json::from_str(r#"{"workspaces":[{"domain":"a","title":"A"}],"total":1}"#)
                .unwrap();
        assert_eq!(a.workspaces, b.workspaces);
        assert_eq!(b.extra["total"], 1);
        assert!(serde_json::from_str::<WorkspaceList>("3").is_err());
    }

    #[test]
    fn secrets_redacted_in_debug() {
        let g: NewGrant = serde_json::from_str(r#"{"id":"g","refresh_token":"s3cr3t"}"#).unwrap();
        assert_eq!(g.refresh_token.as_deref(), Some("s3cr3t"));
        assert!(!format!("{g:?}").contains("s3cr3t"));
        let s: Session = serde_json::from_str(r#"{"access_token":"s3cr3t"}"#).unwrap();
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }
}
