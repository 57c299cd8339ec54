//! The routing table: which path (relative to `/api/user`) is which resource, which methods it
//! allows, and which handler serves each method.

use axum::http::Method;

use super::input::{Input, percent_decode};
use super::reply::{ApiError, Outcome};
use super::state::{Actor, State};
use super::{authentications, grants, groups, projects, token, users, workspaces};

/// A resource of the user API, with its decoded path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Token,
    Signup,
    MsExchange,
    Workspaces,
    Workspace {
        domain: String,
    },
    WorkspaceUsers {
        domain: String,
    },
    WorkspaceUser {
        domain: String,
        user: String,
    },
    Users {
        tenant: String,
    },
    PasswordPolicy {
        tenant: String,
    },
    User {
        tenant: String,
        user: String,
    },
    Password {
        tenant: String,
        user: String,
    },
    Grants {
        tenant: String,
        user: String,
    },
    Session {
        tenant: String,
        user: String,
        session: String,
    },
    Authentication {
        tenant: String,
        service: String,
        user: String,
    },
    Groups {
        tenant: String,
    },
    Group {
        tenant: String,
        group: String,
    },
    GroupMember {
        tenant: String,
        group: String,
        user: String,
    },
    ProjectMembers {
        tenant: String,
        project: String,
    },
    ProjectMember {
        tenant: String,
        project: String,
        member: String,
    },
}

/// The versions accepted in `/{v}/{tenant}/...` paths.
const VERSIONS: [&str; 3] = ["v0", "v1", "v2"];

impl Route {
    /// The route of a request path (still percent-encoded), or a 404.
    pub(crate) fn parse(path: &str) -> Result<Route, ApiError> {
        let not_found = || ApiError::not_found(format!("no such route: {path}"));
        let rest = path.strip_prefix("/api/user/").ok_or_else(not_found)?;
        let segments: Vec<String> = rest.split('/').map(|s| percent_decode(s, false)).collect();
        let s: Vec<&str> = segments.iter().map(String::as_str).collect();
        if s.iter().any(|segment| segment.is_empty()) {
            return Err(not_found());
        }
        let own = |i: usize| s[i].to_owned();
        let route = match s.as_slice() {
            ["oauth2", "token"] => Route::Token,
            ["msexchange", "oauth2_token"] => Route::MsExchange,
            ["v2", "signup"] => Route::Signup,
            ["v2", "workspaces"] => Route::Workspaces,
            ["v2", "workspaces", _] => Route::Workspace { domain: own(2) },
            ["v2", "workspaces", _, "users"] => Route::WorkspaceUsers { domain: own(2) },
            ["v2", "workspaces", _, "users", _] => Route::WorkspaceUser {
                domain: own(2),
                user: own(4),
            },
            [v, ..] if !VERSIONS.contains(v) => return Err(not_found()),
            [_, _, "users"] => Route::Users { tenant: own(1) },
            [_, _, "users", "password_policy"] => Route::PasswordPolicy { tenant: own(1) },
            [_, _, "users", _] => Route::User {
                tenant: own(1),
                user: own(3),
            },
            [_, _, "users", _, "password"] => Route::Password {
                tenant: own(1),
                user: own(3),
            },
            [_, _, "users", _, "grants"] => Route::Grants {
                tenant: own(1),
                user: own(3),
            },
            [_, _, "users", _, "sessions", _] => Route::Session {
                tenant: own(1),
                user: own(3),
                session: own(5),
            },
            [_, _, "authentications", _, _] => Route::Authentication {
                tenant: own(1),
                service: own(3),
                user: own(4),
            },
            [_, _, "groups"] => Route::Groups { tenant: own(1) },
            [_, _, "groups", _] => Route::Group {
                tenant: own(1),
                group: own(3),
            },
            [_, _, "groups", _, "members", _] => Route::GroupMember {
                tenant: own(1),
                group: own(3),
                user: own(5),
            },
            [_, _, "projects", _, "members"] => Route::ProjectMembers {
                tenant: own(1),
                project: own(3),
            },
            [_, _, "projects", _, "members", _] => Route::ProjectMember {
                tenant: own(1),
                project: own(3),
                member: own(5),
            },
            _ => return Err(not_found()),
        };
        Ok(route)
    }

    /// The methods the resource answers, as an `Allow` header value.
    pub(crate) fn allowed(&self) -> &'static str {
        match self {
            Route::Token | Route::Signup => "POST",
            Route::MsExchange | Route::PasswordPolicy { .. } => "GET",
            Route::Password { .. } => "PUT",
            Route::WorkspaceUser { .. } | Route::GroupMember { .. } => "DELETE",
            Route::Workspace { .. } | Route::ProjectMember { .. } => "PUT, DELETE",
            Route::Workspaces
            | Route::WorkspaceUsers { .. }
            | Route::Users { .. }
            | Route::Grants { .. }
            | Route::Groups { .. }
            | Route::ProjectMembers { .. } => "GET, POST",
            Route::User { .. } => "GET, PUT, DELETE",
            Route::Session { .. } => "GET, DELETE",
            Route::Authentication { .. } => "GET, POST, DELETE",
            Route::Group { .. } => "GET, POST, PUT, DELETE",
        }
    }

    /// Whether the resource answers `method`.
    pub(crate) fn allows(&self, method: &Method) -> bool {
        self.allowed().split(", ").any(|m| m == method.as_str())
    }
}

/// Serves a routed request. `auth` is who the access token says the caller is (or why it was
/// refused); it is only consulted by resources that need a token.
pub(crate) fn dispatch(
    route: &Route,
    method: &Method,
    st: &mut State,
    auth: Result<Actor, ApiError>,
    input: &Input,
) -> Outcome {
    if !route.allows(method) {
        return Err(ApiError::method_not_allowed(route.allowed()));
    }
    let m = method.as_str();
    let workspace_route = matches!(
        route,
        Route::Workspaces
            | Route::Workspace { .. }
            | Route::WorkspaceUsers { .. }
            | Route::WorkspaceUser { .. }
    );
    if workspace_route && !st.workspaces {
        return Err(ApiError::not_found(
            "workspaces are not enabled on this cluster",
        ));
    }
    let actor = match route {
        Route::Token => return token::token(st, input),
        Route::Signup => return token::signup(st, input),
        Route::MsExchange => return token::msexchange(st, auth, input),
        _ => auth?,
    };
    let a = &actor;
    match (route, m) {
        (Route::Workspaces, "GET") => workspaces::list(st, a, input),
        (Route::Workspaces, _) => workspaces::create(st, a, input),
        (Route::Workspace { domain }, "PUT") => workspaces::update(st, a, input, domain),
        (Route::Workspace { domain }, _) => workspaces::delete(st, a, domain),
        (Route::WorkspaceUsers { domain }, "GET") => workspaces::users(st, a, domain),
        (Route::WorkspaceUsers { domain }, _) => workspaces::add_users(st, a, input, domain),
        (Route::WorkspaceUser { domain, user }, _) => workspaces::remove_user(st, a, domain, user),
        (Route::Users { tenant }, "GET") => users::list(st, a, input, tenant),
        (Route::Users { tenant }, _) => users::add(st, a, input, tenant),
        (Route::PasswordPolicy { tenant }, _) => users::password_policy(st, a, tenant),
        (Route::User { tenant, user }, "GET") => users::get(st, a, input, tenant, user),
        (Route::User { tenant, user }, "PUT") => users::update(st, a, input, tenant, user),
        (Route::User { tenant, user }, _) => users::delete(st, a, tenant, user),
        (Route::Password { tenant, user }, _) => users::change_password(st, a, input, tenant, user),
        (Route::Grants { tenant, user }, "GET") => grants::list(st, a, input, tenant, user),
        (Route::Grants { tenant, user }, _) => grants::create(st, a, input, tenant, user),
        (
            Route::Session {
                tenant,
                user,
                session,
            },
            "GET",
        ) => grants::get_session(st, a, tenant, user, session),
        (
            Route::Session {
                tenant,
                user,
                session,
            },
            _,
        ) => grants::delete_session(st, a, tenant, user, session),
        (
            Route::Authentication {
                tenant,
                service,
                user,
            },
            "GET",
        ) => authentications::get(st, a, tenant, service, user),
        (
            Route::Authentication {
                tenant,
                service,
                user,
            },
            "POST",
        ) => authentications::put(st, a, input, tenant, service, user),
        (
            Route::Authentication {
                tenant,
                service,
                user,
            },
            _,
        ) => authentications::delete(st, a, tenant, service, user),
        (Route::Groups { tenant }, "GET") => groups::list(st, a, tenant),
        (Route::Groups { tenant }, _) => groups::create(st, a, input, tenant),
        (Route::Group { tenant, group }, "GET") => groups::get(st, a, input, tenant, group),
        (Route::Group { tenant, group }, "PUT") => groups::update(st, a, input, tenant, group),
        (Route::Group { tenant, group }, "POST") => groups::add_member(st, a, input, tenant, group),
        (Route::Group { tenant, group }, _) => groups::delete(st, a, tenant, group),
        (
            Route::GroupMember {
                tenant,
                group,
                user,
            },
            _,
        ) => groups::remove_member(st, a, tenant, group, user),
        (Route::ProjectMembers { tenant, project }, "GET") => {
            projects::members(st, a, tenant, project)
        }
        (Route::ProjectMembers { tenant, project }, _) => {
            projects::add_member(st, a, input, tenant, project)
        }
        (
            Route::ProjectMember {
                tenant,
                project,
                member,
            },
            "PUT",
        ) => projects::update_member(st, a, input, tenant, project, member),
        (
            Route::ProjectMember {
                tenant,
                project,
                member,
            },
            _,
        ) => projects::remove_member(st, a, tenant, project, member),
        (Route::Token | Route::Signup | Route::MsExchange, _) => {
            Err(ApiError::method_not_allowed(route.allowed()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routes_with_encoded_segments() {
        assert_eq!(
            Route::parse("/api/user/oauth2/token").unwrap(),
            Route::Token
        );
        assert_eq!(
            Route::parse("/api/user/v0/acme/users/password_policy").unwrap(),
            Route::PasswordPolicy {
                tenant: "acme".into()
            }
        );
        assert_eq!(
            Route::parse("/api/user/v1/acme/users/a%2Fb").unwrap(),
            Route::User {
                tenant: "acme".into(),
                user: "a/b".into()
            }
        );
        assert_eq!(
            Route::parse("/api/user/v2/workspaces/ws/users/u").unwrap(),
            Route::WorkspaceUser {
                domain: "ws".into(),
                user: "u".into()
            }
        );
        assert_eq!(
            Route::parse("/api/user/v0/ws/groups/g/members/u").unwrap(),
            Route::GroupMember {
                tenant: "ws".into(),
                group: "g".into(),
                user: "u".into()
            }
        );
    }

    #[test]
    fn unknown_paths_and_versions_are_404() {
        for path in [
            "/",
            "/api/user",
            "/api/user/v3/acme/users",
            "/api/user/v0/acme/users/",
            "/api/user/v0/acme/nothing",
            "/other/v0/acme/users",
        ] {
            assert_eq!(
                Route::parse(path).unwrap_err().status.as_u16(),
                404,
                "{path}"
            );
        }
    }

    #[test]
    fn methods() {
        let password = Route::Password {
            tenant: "t".into(),
            user: "u".into(),
        };
        assert!(password.allows(&Method::PUT));
        assert!(!password.allows(&Method::DELETE));
        assert!(Route::Token.allows(&Method::POST));
        assert!(!Route::Token.allows(&Method::GET));
    }
}
