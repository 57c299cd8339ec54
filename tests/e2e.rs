//! End to end: every method of the SDK against the embedded fake server over real HTTP, each
//! followed by a read that shows the state change it should have made.
//!
//! The tests are grouped by area (users, authentications, grants and sessions, groups and
//! projects, workspaces, signup, error classes), each on its own fake server. Calls that should
//! succeed go through `ok!`, which records the method's name when it did; the test
//! `every_operation_is_exercised` runs all areas and fails when a method of
//! [`OPERATIONS`] (or `authenticate` with one of its grant types, or a composite method) never
//! succeeded. The remaining tests are about the session (transparent token refresh, also for
//! clones on several threads; a retried 503; one keep-alive connection for sequential calls,
//! across a refresh too) and the README's example of testing offline.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use squirro_user_api::models::SessionInfo;
use squirro_user_api::{
    ApiVersion, Client, ClientBuilder, Error, Grant, GrantType, OPERATIONS, ProjectRole,
    RetryPolicy, ServerRole, Timestamp,
};
use squirro_user_api_fake::{FakeServer, Fault};

// ----- coverage -----

/// The methods beside [`OPERATIONS`] that must be exercised too.
const HAND_WRITTEN: &[&str] = &[
    "authenticate(refresh_token)",
    "authenticate(access_token)",
    "authenticate(password)",
    "authenticate(ext_id)",
    "resolve_workspace",
    "delete_workspace_user",
];

/// Every method name the coverage must see.
fn known() -> impl Iterator<Item = &'static str> {
    OPERATIONS
        .iter()
        .map(|op| op.name)
        .chain(HAND_WRITTEN.iter().copied())
}

/// The names of the methods that succeeded.
#[derive(Default)]
struct Coverage(Mutex<BTreeSet<&'static str>>);

impl Coverage {
    fn record(&self, name: &'static str) {
        self.0.lock().unwrap().insert(name);
    }

    /// The methods of OPERATIONS and HAND_WRITTEN that never succeeded.
    fn missing(&self) -> Vec<&'static str> {
        let covered = self.0.lock().unwrap();
        known().filter(|name| !covered.contains(name)).collect()
    }

    /// The names recorded that are not methods (a sign of a broken recording).
    fn unknown(&self) -> Vec<&'static str> {
        let known: BTreeSet<&str> = known().collect();
        let covered = self.0.lock().unwrap();
        covered
            .iter()
            .copied()
            .filter(|name| !known.contains(name))
            .collect()
    }
}

/// Sends a request builder, expecting success: records the method in the coverage and returns
/// the reply; panics with the method's name and the error otherwise.
macro_rules! ok {
    ($cov:expr, $call:expr) => {{
        let call = $call;
        let operation = call.request().expect("the request builds").operation();
        match call.send() {
            Ok(reply) => {
                $cov.record(operation);
                reply
            }
            Err(e) => panic!("{operation} failed: {e}"),
        }
    }};
}

/// `client.authenticate(grant)`, recorded as `authenticate(<grant type>)` when it succeeds.
fn authenticate(cov: &Coverage, client: &Client, grant: Grant) -> Result<SessionInfo, Error> {
    let name = match &grant {
        Grant::RefreshToken(_) => "authenticate(refresh_token)",
        Grant::AccessToken(_) => "authenticate(access_token)",
        Grant::Password { .. } => "authenticate(password)",
        Grant::ExternalId { .. } => "authenticate(ext_id)",
        _ => "authenticate(other)",
    };
    let session = client.authenticate(grant).send()?;
    cov.record(name);
    Ok(session)
}

// ----- setup -----

/// A fake server and a client signed in as its seeded admin (through the refresh token).
struct Fixture {
    server: FakeServer,
    admin: Client,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::on(FakeServer::start())
    }

    fn on(server: FakeServer) -> Fixture {
        let admin = builder(&server)
            .refresh_token(&server.credentials().refresh_token)
            .build()
            .unwrap();
        Fixture { server, admin }
    }

    /// A client of the seeded tenant without any token.
    fn anonymous(&self) -> Client {
        builder(&self.server).build().unwrap()
    }

    /// A client logged in with a password grant.
    fn login(&self, cov: &Coverage, email: &str, password: &str) -> Client {
        let client = self.anonymous();
        authenticate(cov, &client, Grant::password(email, password))
            .unwrap_or_else(|e| panic!("login of {email}: {e}"));
        client
    }

    /// Adds a user of role `user` with a password.
    fn add_user(&self, cov: &Coverage, email: &str, password: &str) -> String {
        let add = self
            .admin
            .add_user()
            .email(email)
            .password(password)
            .role(ServerRole::User);
        ok!(cov, add).id
    }
}

/// The settings every client of the fake shares: its URL, tenant and OAuth client.
fn builder(server: &FakeServer) -> ClientBuilder {
    let creds = server.credentials();
    Client::builder()
        .cluster(server.url())
        .tenant(&creds.tenant)
        .client_id(&creds.client_id)
        .client_secret(&creds.client_secret)
}

fn ids<'a>(users: impl IntoIterator<Item = &'a squirro_user_api::models::User>) -> Vec<&'a str> {
    users.into_iter().map(|u| u.id.as_str()).collect()
}

// ----- the areas -----

mod areas {
    use super::*;

    /// Every area, for `every_operation_is_exercised`.
    pub const ALL: &[fn(&Coverage)] = &[
        users,
        authentications,
        grants_and_sessions,
        groups_and_projects,
        workspaces,
        signup,
        error_classes,
    ];

    pub fn users(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;

        let policy = ok!(cov, admin.get_users_password_policy());
        assert_eq!(policy.extra["min_length"], 8);

        let add = admin
            .add_user()
            .email("jane@example.com")
            .password("jane-pw-0001")
            .role(ServerRole::User);
        let jane = ok!(cov, add);
        assert_eq!(jane.email.as_deref(), Some("jane@example.com"));
        assert_eq!(jane.server_role(), Some(ServerRole::User));
        assert!(ids(&ok!(cov, admin.get_users()).users).contains(&jane.id.as_str()));

        // update_user_data (v1: JSON), then get_user_data shows the custom value.
        let changes = json!({"full_name": "Jane Doe", "favourite_colour": "teal"});
        let updated = ok!(cov, admin.update_user_data(&jane.id, changes));
        assert_eq!(updated.full_name.as_deref(), Some("Jane Doe"));
        let read = ok!(cov, admin.get_user_data(&jane.id));
        assert_eq!(read.full_name.as_deref(), Some("Jane Doe"));
        assert_eq!(read.extra["favourite_colour"], "teal");

        // Another version sends a form: values arrive as strings, a list as a repeated key.
        let changes = json!({"team": "east", "score": 5, "tags": ["a", "b"]});
        ok!(
            cov,
            admin
                .update_user_data(&jane.id, changes)
                .api_version(ApiVersion::V0)
        );
        let read = ok!(cov, admin.get_user_data(&jane.id).include_projects(true));
        assert_eq!(read.extra["team"], "east");
        assert_eq!(read.extra["score"], "5");
        assert_eq!(read.extra["tags"], json!(["a", "b"]));
        assert_eq!(
            read.extra["favourite_colour"], "teal",
            "earlier values stay"
        );
        assert_eq!(read.projects, Some(vec![]));

        // Without the config, the listing leaves the custom values out.
        let plain = ok!(cov, admin.get_users().include_config(false)).users;
        let listed = plain.iter().find(|u| u.id == jane.id).unwrap();
        assert!(!listed.extra.contains_key("favourite_colour"), "{listed:?}");

        // change_user_password (Jane herself), then the password grant works with the new one
        // and no longer with the old one.
        let as_jane = f.login(cov, "jane@example.com", "jane-pw-0001");
        let change =
            as_jane.change_user_password(&jane.id, "jane-pw-0001", "jane-pw-0002", "jane-pw-0002");
        ok!(cov, change);
        let session = f.login(cov, "jane@example.com", "jane-pw-0002").session();
        assert_eq!(session.unwrap().user_id.as_deref(), Some(jane.id.as_str()));
        let old = Grant::password("jane@example.com", "jane-pw-0001");
        let e = authenticate(cov, &f.anonymous(), old).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Authentication {
                    status: Some(403),
                    ..
                }
            ),
            "{e}"
        );

        // delete_user, then the user is gone.
        ok!(cov, admin.delete_user(&jane.id));
        let e = admin.get_user_data(&jane.id).send().unwrap_err();
        assert!(matches!(e, Error::NotFound { status: 404, .. }), "{e}");
        assert!(!ids(&ok!(cov, admin.get_users()).users).contains(&jane.id.as_str()));
    }

    pub fn authentications(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;
        let jane = f.add_user(cov, "jane@example.com", "jane-pw-0001");

        // new_or_modify_authentication, then get_authentication shows it and ext_id logs in.
        let expires = Timestamp::new(2030, 1, 9, 8, 40, 0).unwrap();
        let create = admin
            .new_or_modify_authentication(&jane, "facebook", "fb-1234", "fb-access")
            .display_name("Jane on Facebook")
            .access_token_expires(expires);
        assert_eq!(ok!(cov, create).service_user.as_deref(), Some("fb-1234"));
        let read = ok!(cov, admin.get_authentication(&jane, "facebook"));
        assert_eq!(read.service_user.as_deref(), Some("fb-1234"));
        assert_eq!(read.display_name.as_deref(), Some("Jane on Facebook"));
        assert_eq!(
            read.access_token_expires.as_deref(),
            Some("2030-01-09T08:40:00")
        );
        assert_eq!(read.access_token.as_deref(), Some("fb-access"));
        let ext_id =
            |user: &str| authenticate(cov, &f.anonymous(), Grant::external_id("facebook", user));
        let session = ext_id("fb-1234").unwrap();
        assert_eq!(session.user_id.as_deref(), Some(jane.as_str()));

        // Modify it: the new service user logs in, the old one no longer.
        let modify = admin
            .new_or_modify_authentication(&jane, "facebook", "fb-5678", "fb-access-2")
            .access_secret("fb-secret");
        ok!(cov, modify);
        let read = ok!(cov, admin.get_authentication(&jane, "facebook"));
        assert_eq!(read.service_user.as_deref(), Some("fb-5678"));
        assert_eq!(read.access_secret.as_deref(), Some("fb-secret"));
        assert!(matches!(
            ext_id("fb-1234"),
            Err(Error::Authentication { .. })
        ));
        assert!(ext_id("fb-5678").is_ok());

        // delete_authentication, then it is gone and ext_id no longer logs in.
        ok!(cov, admin.delete_authentication(&jane, "facebook"));
        let e = admin
            .get_authentication(&jane, "facebook")
            .send()
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        assert!(matches!(
            ext_id("fb-5678"),
            Err(Error::Authentication { .. })
        ));

        // MS Exchange: the fake finds users by their `msexchange` authentication.
        let link = admin.new_or_modify_authentication(&jane, "msexchange", "uid-2", "ms-access");
        ok!(cov, link);
        #[allow(deprecated)]
        let legacy = ok!(cov, admin.get_token_from_msexchuid("uid-2"));
        assert_eq!(legacy.user_id.as_deref(), Some(jane.as_str()));
        // The token it returns is an access token of Jane.
        let as_jane = builder(&f.server)
            .access_token(legacy.oauth2_token.expect("an oauth2_token"))
            .build()
            .unwrap();
        assert_eq!(ok!(cov, as_jane.get_user_data(&jane)).id, jane);
        // An identity token (JWT) carrying the claim {"msexchuid": "uid-2"}.
        let jwt = "eyJhbGciOiJub25lIn0.eyJtc2V4Y2h1aWQiOiJ1aWQtMiJ9.c2ln";
        let by_token = ok!(cov, admin.get_token_from_msexchuid_token(jwt));
        assert_eq!(by_token.user_id.as_deref(), Some(jane.as_str()));
        assert!(by_token.oauth2_token.is_some());
        let e = admin
            .get_token_from_msexchuid_token("uid-unknown")
            .send()
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
    }

    pub fn grants_and_sessions(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;
        let creds = f.server.credentials();
        let jane = f.add_user(cov, "jane@example.com", "jane-pw-0001");

        // The refresh_token and access_token grants.
        let first = f.anonymous();
        let grant = Grant::refresh_token(&creds.refresh_token);
        let session = authenticate(cov, &first, grant).unwrap();
        assert_eq!(
            session.user_id.as_deref(),
            Some(creds.admin_user_id.as_str())
        );
        assert_eq!(session.role.as_deref(), Some("admin"));
        assert_eq!(session.tenant.as_deref(), Some(creds.tenant.as_str()));
        let access = first.tokens().access_token.unwrap();
        let exchanged = authenticate(cov, &f.anonymous(), Grant::access_token(access)).unwrap();
        assert_eq!(exchanged.session_id, session.session_id);

        // new_grant (service), then get_user_grants and get_session show it and its refresh
        // token authenticates, with the permissions it was given.
        let new = admin
            .new_grant(&jane, GrantType::Service)
            .for_client_id("reporting-bot")
            .project_permissions(["items.read.*"]);
        let grant = ok!(cov, new);
        let listed = ok!(cov, admin.get_user_grants(&jane)).grants;
        let entry = listed.iter().find(|g| g.id == grant.id).expect("listed");
        assert_eq!(entry.r#type.as_deref(), Some("service"));
        let session = ok!(cov, admin.get_session(&jane, &grant.id));
        assert_eq!(session.extra["for_client_id"], "reporting-bot");
        assert_eq!(
            session.extra["project_permissions"],
            json!(["items.read.*"])
        );
        let refresh_token = grant.refresh_token.clone().expect("a refresh token");
        let bot = builder(&f.server)
            .refresh_token(&refresh_token)
            .build()
            .unwrap();
        assert_eq!(ok!(cov, bot.get_user_data(&jane)).id, jane);
        let bot_session = bot.session().unwrap();
        assert_eq!(bot_session.user_id.as_deref(), Some(jane.as_str()));
        assert_eq!(
            bot_session.project_permissions,
            Some(json!(["items.read.*"]))
        );

        // delete_grant, then it is not listed, its refresh token no longer authenticates, and
        // the access token it gave the bot stops working.
        ok!(cov, admin.delete_grant(&jane, &grant.id));
        let listed = ok!(cov, admin.get_user_grants(&jane)).grants;
        assert!(listed.iter().all(|g| g.id != grant.id));
        let e =
            authenticate(cov, &f.anonymous(), Grant::refresh_token(&refresh_token)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Authentication {
                    status: Some(403),
                    ..
                }
            ),
            "{e}"
        );
        let e = bot.get_user_data(&jane).send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 401, .. }), "{e}");

        // A user grant.
        let user_grant = ok!(cov, admin.new_grant(&jane, GrantType::User));
        let listed = ok!(cov, admin.get_user_grants(&jane)).grants;
        let entry = listed
            .iter()
            .find(|g| g.id == user_grant.id)
            .expect("listed");
        assert_eq!(entry.r#type.as_deref(), Some("user"));

        // A password login is a session: get_session reads it, delete_session ends it.
        let as_jane = f.login(cov, "jane@example.com", "jane-pw-0001");
        let session_id = as_jane.session().unwrap().session_id.unwrap();
        let session = ok!(cov, admin.get_session(&jane, &session_id));
        assert_eq!(session.id.as_deref(), Some(session_id.as_str()));
        assert_eq!(session.extra["user_id"], jane.as_str());
        ok!(cov, as_jane.get_user_data(&jane));
        ok!(cov, admin.delete_session(&jane, &session_id));
        let e = admin.get_session(&jane, &session_id).send().unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        let e = as_jane.get_user_data(&jane).send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 401, .. }), "{e}");
    }

    pub fn groups_and_projects(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;
        let jane = f.add_user(cov, "jane@example.com", "jane-pw-0001");
        let john = f.add_user(cov, "john@example.com", "john-pw-0001");
        // Projects are declared on the fake: use a seeded one (any other id is a 404).
        let project = f.server.projects()[0].id.as_str();

        // create_group with a member, then get_groups lists it.
        let group = ok!(cov, admin.create_group("Team East").members([&jane]));
        assert_eq!(ids(&group.members), [jane.as_str()]);
        let groups = ok!(cov, admin.get_groups());
        let listed = groups.iter().find(|g| g.id == group.id).expect("listed");
        assert_eq!(listed.name.as_deref(), Some("Team East"));

        // add_group_member, then get_group shows both; delete_group_member, then only John.
        let added = ok!(cov, admin.add_group_member(&group.id, &john));
        assert_eq!(added.id, john);
        let read = ok!(cov, admin.get_group(&group.id));
        assert_eq!(ids(&read.members), [jane.as_str(), john.as_str()]);
        ok!(cov, admin.delete_group_member(&group.id, &jane));
        let read = ok!(cov, admin.get_group(&group.id));
        assert_eq!(ids(&read.members), [john.as_str()]);

        // update_group: name, members and projects, then get_group shows them.
        let update = admin
            .update_group(&group.id, "Team West")
            .members([&jane])
            .projects(json!([project]));
        ok!(cov, update);
        let read = ok!(cov, admin.get_group(&group.id).include_projects(true));
        assert_eq!(read.name.as_deref(), Some("Team West"));
        assert_eq!(ids(&read.members), [jane.as_str()]);
        let projects = read.projects.expect("projects");
        assert_eq!(projects, [json!({"id": project, "role": "member"})]);

        // add_project_member (a user and the group), update_project_member, delete_project_member,
        // each followed by get_project_members.
        let member = admin
            .add_project_member(project, ProjectRole::Member)
            .user_id(&john);
        assert_eq!(ok!(cov, member).role(), Some(ProjectRole::Member));
        let group_member = admin
            .add_project_member(project, ProjectRole::Reader)
            .group_id(&group.id);
        ok!(cov, group_member);
        let members = ok!(cov, admin.get_project_members(project)).members;
        let roles: Vec<(&str, Option<&str>, Option<ProjectRole>)> = members
            .iter()
            .map(|m| (m.member_id.as_str(), m.member_type.as_deref(), m.role()))
            .collect();
        assert_eq!(
            roles,
            [
                (group.id.as_str(), Some("group"), Some(ProjectRole::Reader)),
                (john.as_str(), Some("user"), Some(ProjectRole::Member)),
            ]
        );
        let update = admin.update_project_member(project, &john, ProjectRole::Admin);
        ok!(cov, update);
        let members = ok!(cov, admin.get_project_members(project)).members;
        let john_member = members.iter().find(|m| m.member_id == john).unwrap();
        assert_eq!(john_member.role(), Some(ProjectRole::Admin));
        assert!(john_member.permissions.contains(&"projects.*".to_owned()));
        ok!(cov, admin.delete_project_member(project, &john));
        let members = ok!(cov, admin.get_project_members(project)).members;
        assert!(members.iter().all(|m| m.member_id != john));

        // delete_group, then it is gone, from the project too.
        ok!(cov, admin.delete_group(&group.id));
        let e = admin.get_group(&group.id).send().unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        assert!(ok!(cov, admin.get_groups()).is_empty());
        let members = ok!(cov, admin.get_project_members(project)).members;
        assert!(members.is_empty(), "{members:?}");
    }

    pub fn workspaces(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;
        let creds = f.server.credentials();
        let jane = f.add_user(cov, "jane@example.com", "jane-pw-0001");

        // create_workspace, then get_workspaces lists it (the creator is its admin).
        let workspace = ok!(cov, admin.create_workspace("Team Space"));
        let domain = workspace.domain.clone();
        assert_eq!(workspace.title.as_deref(), Some("Team Space"));
        let domains = |list: squirro_user_api::models::WorkspaceList| -> Vec<String> {
            list.workspaces.into_iter().map(|w| w.domain).collect()
        };
        assert_eq!(domains(ok!(cov, admin.get_workspaces())), [domain.as_str()]);
        let admin_only = admin
            .get_workspaces()
            .include_projects(true)
            .admin_only(true);
        assert_eq!(domains(ok!(cov, admin_only)), [domain.as_str()]);

        // update_workspace, then resolve_workspace finds it by its new title.
        let renamed = ok!(cov, admin.update_workspace(&domain, "Team Space Renamed"));
        assert_eq!(renamed.title.as_deref(), Some("Team Space Renamed"));
        let listed = ok!(cov, admin.get_workspaces()).workspaces;
        assert_eq!(listed[0].title.as_deref(), Some("Team Space Renamed"));
        assert_eq!(
            admin.resolve_workspace("team space renamed").unwrap(),
            domain
        );
        assert_eq!(admin.resolve_workspace(&domain).unwrap(), domain);
        cov.record("resolve_workspace");
        let e = admin.resolve_workspace("Team Space").unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");

        // add_workspace_users (a known and an unknown email), set_workspace_user_role, each
        // followed by get_workspace_users.
        let emails = ["jane@example.com", "newcomer@example.com"];
        let add = admin.add_workspace_users(&domain, emails, ServerRole::Reader);
        let joined = ok!(cov, add);
        assert_eq!(joined.len(), 2);
        assert_eq!(joined[0].user_id, jane);
        let users = ok!(cov, admin.get_workspace_users(&domain));
        let role_of = |users: &[squirro_user_api::models::WorkspaceUser], id: &str| {
            users
                .iter()
                .find(|u| u.id == id)
                .and_then(|u| u.role.clone())
        };
        assert_eq!(role_of(&users, &jane).as_deref(), Some("reader"));
        assert_eq!(
            role_of(&users, &creds.admin_user_id).as_deref(),
            Some("admin")
        );
        assert!(users.iter().any(|u| u.email.as_deref() == Some(emails[1])));
        let set = admin.set_workspace_user_role(&domain, &jane, ServerRole::User);
        assert_eq!(ok!(cov, set).user_id, jane);
        let users = ok!(cov, admin.get_workspace_users(&domain));
        assert_eq!(role_of(&users, &jane).as_deref(), Some("user"));

        // delete_workspace_user takes Jane out of the workspace's groups, then the workspace.
        let in_workspace = builder(&f.server)
            .tenant(&domain)
            .refresh_token(&creds.refresh_token)
            .build()
            .unwrap();
        let group = ok!(
            cov,
            in_workspace.create_group("Space Team").members([&jane])
        );
        admin.delete_workspace_user(&domain, &jane).unwrap();
        cov.record("delete_workspace_user");
        let users = ok!(cov, admin.get_workspace_users(&domain));
        assert_eq!(role_of(&users, &jane), None);
        let group = ok!(cov, in_workspace.get_group(&group.id));
        assert!(group.members.is_empty(), "{group:?}");
        let e = admin.delete_workspace_user(&domain, &jane).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");

        // delete_workspace, then it is gone.
        ok!(cov, admin.delete_workspace(&domain));
        assert!(domains(ok!(cov, admin.get_workspaces())).is_empty());
        let e = admin.resolve_workspace(&domain).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
    }

    pub fn signup(cov: &Coverage) {
        // With workspaces (the fake's default, as a current cluster), signup fails once the
        // cluster has a user, and the fake is seeded with one.
        let f = Fixture::new();
        let anonymous = Client::builder().cluster(f.server.url()).build().unwrap();
        let closed = anonymous.signup("founder@newco.example", "founder-pw-1");
        let e = closed.send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 403, .. }), "{e}");

        // Without workspaces (legacy multi-tenancy), signup creates a tenant for the user.
        let f = Fixture::on(FakeServer::builder().workspaces(false).start().unwrap());
        // No tenant, no token: signup needs neither.
        let anonymous = Client::builder().cluster(f.server.url()).build().unwrap();
        let signup = anonymous
            .signup("founder@newco.example", "founder-pw-1")
            .full_name("Fay Founder");
        let created = ok!(cov, signup);
        assert_eq!(created.tenant.as_deref(), Some("newco"));

        // The new user logs in (the tenant is adopted from the token reply) and is its admin.
        let founder = Client::builder().cluster(f.server.url()).build().unwrap();
        let grant = Grant::password("founder@newco.example", "founder-pw-1");
        let session = authenticate(cov, &founder, grant).unwrap();
        assert_eq!(session.user_id.as_deref(), Some(created.user_id.as_str()));
        assert_eq!(session.role.as_deref(), Some("admin"));
        assert_eq!(founder.tenant().as_deref(), Some("newco"));
        let me = ok!(cov, founder.get_user_data(&created.user_id));
        assert_eq!(me.full_name.as_deref(), Some("Fay Founder"));
        assert_eq!(me.tenant.as_deref(), Some("newco"));

        let again = anonymous.signup("founder@newco.example", "founder-pw-1");
        let e = again.send().unwrap_err();
        assert!(matches!(e, Error::Conflict { status: 409, .. }), "{e}");
    }

    pub fn error_classes(cov: &Coverage) {
        let f = Fixture::new();
        let admin = &f.admin;
        let jane = f.add_user(cov, "jane@example.com", "jane-pw-0001");
        let group = ok!(cov, admin.create_group("Team East"));

        // 400: the server refuses the input, with its message and body.
        let short = admin
            .add_user()
            .email("short@example.com")
            .password("short");
        let e = short.send().unwrap_err();
        assert!(matches!(e, Error::Client { status: 400, .. }), "{e}");
        assert!(e.message().unwrap().contains("at least 8"), "{e}");
        assert_eq!(e.body().unwrap()["error"], e.message().unwrap());
        let as_jane = f.login(cov, "jane@example.com", "jane-pw-0001");
        let mismatch = as_jane.change_user_password(&jane, "jane-pw-0001", "new-pw-0001", "other");
        let e = mismatch.send().unwrap_err();
        assert!(matches!(e, Error::Client { status: 400, .. }), "{e}");

        // 403: a user who is not an admin doing admin work.
        let e = as_jane
            .add_user()
            .email("x@example.com")
            .send()
            .unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 403, .. }), "{e}");
        let e = as_jane.create_group("Mine").send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 403, .. }), "{e}");
        let admin_id = &f.server.credentials().admin_user_id;
        let e = as_jane.delete_user(admin_id).send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 403, .. }), "{e}");

        // 401: an access token the server does not know, and no refresh token to renew it.
        let stranger = builder(&f.server).access_token("bogus").build().unwrap();
        let e = stranger.get_users().send().unwrap_err();
        assert!(matches!(e, Error::Authorization { status: 401, .. }), "{e}");

        // 404: unknown ids.
        let e = admin.get_group("no-such-group").send().unwrap_err();
        assert!(matches!(e, Error::NotFound { status: 404, .. }), "{e}");
        let e = admin.delete_user("no-such-user").send().unwrap_err();
        assert!(matches!(e, Error::NotFound { status: 404, .. }), "{e}");

        // 409: a duplicate email, a duplicate group name (case-insensitive).
        let e = admin
            .add_user()
            .email("JANE@example.com")
            .send()
            .unwrap_err();
        assert!(matches!(e, Error::Conflict { status: 409, .. }), "{e}");
        let e = admin.create_group("team east").send().unwrap_err();
        assert!(matches!(e, Error::Conflict { status: 409, .. }), "{e}");
        let e = admin.update_group(&group.id, "Team East").send();
        assert!(e.is_ok(), "renaming a group to its own name is no conflict");

        // Bad credentials at the token endpoint are an authentication error.
        let wrong = Grant::password("jane@example.com", "wrong-password");
        let e = authenticate(cov, &f.anonymous(), wrong).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Authentication {
                    status: Some(403),
                    ..
                }
            ),
            "{e}"
        );
        // Nothing shows a secret.
        assert!(!format!("{e} {e:?}").contains("wrong-password"));
    }
}

// ----- one test per area -----

#[test]
fn users() {
    areas::users(&Coverage::default());
}

#[test]
fn authentications() {
    areas::authentications(&Coverage::default());
}

#[test]
fn grants_and_sessions() {
    areas::grants_and_sessions(&Coverage::default());
}

#[test]
fn groups_and_projects() {
    areas::groups_and_projects(&Coverage::default());
}

#[test]
fn workspaces() {
    areas::workspaces(&Coverage::default());
}

#[test]
fn signup() {
    areas::signup(&Coverage::default());
}

#[test]
fn error_classes() {
    areas::error_classes(&Coverage::default());
}

/// Runs every area and fails when a method never succeeded in them.
#[test]
fn every_operation_is_exercised() {
    let cov = Coverage::default();
    for area in areas::ALL {
        area(&cov);
    }
    let missing = cov.missing();
    assert!(missing.is_empty(), "methods never exercised: {missing:?}");
    assert_eq!(
        cov.unknown(),
        Vec::<&str>::new(),
        "recorded names that are no method"
    );
}

// ----- the session -----

/// What the fake saw: (method, path without the `/api/user` prefix, status, connection).
fn seen(server: &FakeServer) -> Vec<(String, String, Option<u16>, u64)> {
    server
        .journal()
        .into_iter()
        .map(|e| {
            let path = e.path.trim_start_matches("/api/user").to_owned();
            (e.method, path, e.status, e.connection)
        })
        .collect()
}

#[test]
fn an_expired_access_token_is_refreshed_transparently_on_the_same_connection() {
    let f = Fixture::new();
    let refreshed = Arc::new(Mutex::new(0));
    let count = Arc::clone(&refreshed);
    let admin = builder(&f.server)
        .refresh_token(&f.server.credentials().refresh_token)
        .on_token_refresh(move |_| *count.lock().unwrap() += 1)
        .build()
        .unwrap();
    admin.get_groups().send().unwrap();
    let before = admin.tokens().access_token;

    f.server.expire_access_tokens();
    admin.get_groups().send().unwrap();
    assert_ne!(admin.tokens().access_token, before, "a new access token");
    assert_eq!(
        *refreshed.lock().unwrap(),
        2,
        "the first token, then the new one"
    );

    let seen = seen(&f.server);
    let calls: Vec<(&str, &str, Option<u16>)> = seen
        .iter()
        .map(|(m, p, s, _)| (m.as_str(), p.as_str(), *s))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", "/oauth2/token", Some(200)),
            ("GET", "/v0/acme/groups", Some(200)),
            ("GET", "/v0/acme/groups", Some(401)),
            ("POST", "/oauth2/token", Some(200)),
            ("GET", "/v0/acme/groups", Some(200)),
        ]
    );
    assert!(seen.iter().all(|e| e.3 == seen[0].3), "{seen:?}");
}

#[test]
fn clones_on_several_threads_refresh_an_expired_token_once() {
    let f = Fixture::new();
    f.admin.get_groups().send().unwrap();
    f.server.expire_access_tokens();
    f.server.clear_journal();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let client = f.admin.clone();
            scope.spawn(move || {
                for _ in 0..5 {
                    client.get_groups().send().unwrap();
                }
            });
        }
    });
    let seen = seen(&f.server);
    let token_requests = seen.iter().filter(|e| e.1 == "/oauth2/token").count();
    assert_eq!(token_requests, 1, "{seen:?}");
    let calls = seen
        .iter()
        .filter(|e| e.2 == Some(200) && e.1 != "/oauth2/token");
    assert_eq!(calls.count(), 20);
}

#[test]
fn access_tokens_that_outlive_their_ttl_are_refreshed() {
    let ttl = Duration::from_millis(200);
    let server = FakeServer::builder().access_token_ttl(ttl).start().unwrap();
    let f = Fixture::on(server);
    let me = f.server.credentials().admin_user_id.clone();
    for _ in 0..3 {
        assert_eq!(f.admin.get_user_data(&me).send().unwrap().id, me);
        std::thread::sleep(ttl + Duration::from_millis(50));
    }
    // Each refused call (401) is followed by a token request and the call again; on a slow
    // machine a token may expire more often than after each sleep, but never go unrefreshed.
    let seen = seen(&f.server);
    let statuses: Vec<Option<u16>> = seen.iter().map(|e| e.2).collect();
    let refused: Vec<usize> = (0..seen.len())
        .filter(|&i| seen[i].2 == Some(401))
        .collect();
    assert!(refused.len() >= 2, "{statuses:?}");
    for i in refused {
        assert_eq!(seen[i + 1].1, "/oauth2/token", "{seen:?}");
        assert_eq!(seen[i + 1].2, Some(200), "{seen:?}");
        assert_eq!(seen[i + 2].0, "GET", "{seen:?}");
    }
    assert_eq!(statuses.last(), Some(&Some(200)));
}

#[test]
fn sequential_calls_share_one_connection() {
    let f = Fixture::new();
    let me = f.server.credentials().admin_user_id.clone();
    let started = Instant::now();
    const CALLS: usize = 50;
    for _ in 0..CALLS {
        f.admin.get_user_data(&me).send().unwrap();
    }
    let elapsed = started.elapsed();
    let seen = seen(&f.server);
    assert_eq!(seen.len(), CALLS + 1, "one token request, then the calls");
    let connections: BTreeSet<u64> = seen.iter().map(|e| e.3).collect();
    assert_eq!(connections.len(), 1, "{connections:?}");
    eprintln!(
        "{CALLS} sequential calls in {elapsed:?} ({:?} per call)",
        elapsed / CALLS as u32
    );
}

#[test]
fn a_503_is_retried_on_the_same_connection() {
    let f = Fixture::new();
    let waits = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&waits);
    let retry = RetryPolicy::default().sleep_with(move |d| record.lock().unwrap().push(d));
    let admin = builder(&f.server)
        .refresh_token(&f.server.credentials().refresh_token)
        .retry(retry)
        .build()
        .unwrap();
    admin.get_groups().send().unwrap();
    f.server
        .inject(Fault::status(503).times(2).matching("GET", "/groups"));
    admin.get_groups().send().unwrap();
    // urllib3's backoff: none before the first retry, then the factor (1 s) times 2.
    let waits = waits.lock().unwrap().clone();
    assert_eq!(
        waits.iter().sum::<Duration>(),
        Duration::from_secs(2),
        "{waits:?}"
    );
    let seen = seen(&f.server);
    let statuses: Vec<Option<u16>> = seen.iter().map(|e| e.2).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(200), Some(503), Some(503), Some(200)]
    );
    assert!(seen.iter().all(|e| e.3 == seen[0].3), "{seen:?}");
}

/// The example of the README's "Testing your scripts offline" section.
#[test]
fn readme_offline_example() {
    use squirro_user_api::{Client, Error};
    use squirro_user_api_fake::{FakeServer, Fault};

    let server = FakeServer::start();
    let creds = server.credentials();
    let client = Client::builder()
        .cluster(server.url())
        .tenant(&creds.tenant)
        .refresh_token(&creds.refresh_token)
        .build()
        .unwrap();

    // The code under test: here, a script that adds a user to a new group.
    let jane = client.add_user().email("jane@example.com").send().unwrap();
    let team = client.create_group("Team East").send().unwrap();
    client.add_group_member(&team.id, &jane.id).send().unwrap();

    // The state changed on the server.
    let team = client.get_group(&team.id).send().unwrap();
    assert_eq!(team.members[0].email.as_deref(), Some("jane@example.com"));

    // Make the next matching request fail, as a real cluster sometimes does.
    server.inject(Fault::status(409).matching("POST", "/groups"));
    let err = client.create_group("Team West").send().unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }));

    // The journal shows what went over the wire (the token redacted).
    let journal = server.journal();
    let last = journal.last().unwrap();
    assert_eq!(last.method, "POST");
    assert_eq!(last.form(), [("name".to_owned(), "Team West".to_owned())]);
    assert_eq!(last.header("authorization"), Some("Bearer [redacted]"));
}
