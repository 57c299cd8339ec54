//! Sequential calls of one client go over one TCP connection: the login, reads and writes,
//! replies that are errors, and the refresh of an expired access token with the call repeated
//! after it. The fake server numbers the connections it accepts; its journal says which one
//! each request came on.

use squirro_user_api::{Client, Error};
use squirro_user_api_fake::{FakeServer, JournalEntry};
use std::collections::BTreeSet;
use std::time::Duration;

/// How many calls a run makes.
const CALLS: usize = 120;

fn client(server: &FakeServer) -> Client {
    Client::builder()
        .cluster(server.url())
        .refresh_token(&server.credentials().refresh_token)
        .build()
        .expect("client")
}

/// The connection ids in the journal, and the journal shown for a failure.
fn connections(journal: &[JournalEntry]) -> (BTreeSet<u64>, String) {
    let ids = journal.iter().map(|e| e.connection).collect();
    let shown = journal
        .iter()
        .map(|e| {
            format!(
                "#{} {} {} -> {:?}",
                e.connection, e.method, e.path, e.status
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    (ids, shown)
}

/// One round of reads and writes: six calls, every one expected to succeed.
fn round(client: &Client, me: &str, i: usize) {
    assert_eq!(client.get_user_data(me).send().unwrap().id, me);
    assert!(!client.get_users().send().unwrap().users.is_empty());
    let group = client.create_group(format!("reuse-{i}")).send().unwrap();
    client.add_group_member(&group.id, me).send().unwrap();
    assert_eq!(client.get_group(&group.id).send().unwrap().members.len(), 1);
    client.delete_group(&group.id).send().unwrap();
}

#[test]
fn sequential_calls_use_one_connection() {
    let server = FakeServer::start();
    let me = server.credentials().admin_user_id.clone();
    let client = client(&server);
    for i in 0..CALLS / 6 {
        round(&client, &me, i);
    }
    let journal = server.journal();
    // The login (the first call has only a refresh token), then every call.
    assert_eq!(journal.len(), CALLS + 1);
    assert_eq!(journal[0].path, "/api/user/oauth2/token");
    assert!(journal.iter().all(|e| e.status.is_some_and(|s| s < 300)));
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
    let ports: BTreeSet<u16> = journal.iter().map(|e| e.peer.port()).collect();
    assert_eq!(ports.len(), 1, "{ports:?}");
}

#[test]
fn error_replies_keep_the_connection() {
    let server = FakeServer::start();
    let client = client(&server);
    let me = server.credentials().admin_user_id.clone();
    for i in 0..CALLS / 3 {
        let missing = client.get_group(format!("no-such-group-{i}")).send();
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
        let group = client.create_group(format!("twice-{i}")).send().unwrap();
        let twice = client.create_group(format!("twice-{i}")).send();
        assert!(matches!(twice, Err(Error::Conflict { .. })), "{twice:?}");
        client.delete_group(&group.id).send().unwrap();
    }
    assert_eq!(client.get_user_data(&me).send().unwrap().id, me);
    let journal = server.journal();
    assert!(journal.iter().any(|e| e.status == Some(404)));
    assert!(journal.iter().any(|e| e.status == Some(409)));
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}

#[test]
fn a_token_refresh_mid_run_stays_on_the_connection() {
    let server = FakeServer::start();
    let me = server.credentials().admin_user_id.clone();
    let client = client(&server);
    let mut tokens = BTreeSet::new();
    for i in 0..CALLS / 6 {
        if i % 5 == 4 {
            // Every access token issued so far is refused from now on.
            server.expire_access_tokens();
        }
        round(&client, &me, i);
        tokens.insert(client.tokens().access_token.unwrap());
    }
    let journal = server.journal();
    let refused = journal.iter().filter(|e| e.status == Some(401)).count();
    let logins = journal
        .iter()
        .filter(|e| e.path == "/api/user/oauth2/token")
        .count();
    let expirations = (CALLS / 6) / 5;
    assert_eq!(refused, expirations, "one refused call per expiry");
    assert_eq!(
        logins,
        1 + expirations,
        "the first login and one refresh per expiry"
    );
    assert_eq!(tokens.len(), 1 + expirations);
    // Every call succeeded once: the refused ones were repeated after the refresh.
    let ok = journal
        .iter()
        .filter(|e| e.status.is_some_and(|s| s < 300) && !e.path.ends_with("/oauth2/token"))
        .count();
    assert_eq!(ok, CALLS);
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}

#[test]
fn tokens_that_outlive_their_ttl_are_refreshed_on_the_connection() {
    let ttl = Duration::from_millis(300);
    let server = FakeServer::builder()
        .access_token_ttl(ttl)
        .start()
        .expect("server");
    let me = server.credentials().admin_user_id.clone();
    let client = client(&server);
    for i in 0..4 {
        round(&client, &me, i);
        // Let the access token expire between two rounds (the connection stays idle as long).
        std::thread::sleep(ttl + Duration::from_millis(100));
    }
    round(&client, &me, 4);
    let journal = server.journal();
    let refused = journal.iter().filter(|e| e.status == Some(401)).count();
    assert!(refused >= 4, "a refresh after each pause: {refused}");
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}

#[test]
fn clones_share_the_connection_and_the_tokens() {
    let server = FakeServer::start();
    let me = server.credentials().admin_user_id.clone();
    let first = client(&server);
    let clones: Vec<Client> = (0..4).map(|_| first.clone()).collect();
    for (i, c) in clones.iter().cycle().take(CALLS / 6).enumerate() {
        round(c, &me, i);
    }
    let journal = server.journal();
    let logins = journal
        .iter()
        .filter(|e| e.path == "/api/user/oauth2/token")
        .count();
    assert_eq!(logins, 1);
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}

/// The control: the fake keeps a connection open for a plain keep-alive client too, so a
/// failure above is the SDK's.
#[test]
fn the_fake_keeps_connections_alive_for_a_bare_client() {
    let server = FakeServer::start();
    let creds = server.credentials();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let tokens: serde_json::Value = agent
        .post(format!("{}/oauth2/token", server.user_api_url()))
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", creds.refresh_token.as_str()),
        ])
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let auth = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let url = format!("{}/v0/{}/users", server.user_api_url(), creds.tenant);
    for _ in 0..CALLS {
        let mut reply = agent
            .get(&url)
            .header("Authorization", &auth)
            .call()
            .unwrap();
        assert_eq!(reply.status(), 200);
        reply.body_mut().read_to_vec().unwrap();
    }
    let journal = server.journal();
    assert_eq!(journal.len(), CALLS + 1);
    let (ids, shown) = connections(&journal);
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}

/// With a host name (not an IP literal) the client resolves it once and still reuses the
/// connection: its resolver keeps the lookup, so pooled calls neither ask DNS nor spawn a
/// thread for it.
#[test]
fn a_host_name_cluster_reuses_the_connection_too() {
    let server = FakeServer::start();
    let me = server.credentials().admin_user_id.clone();
    let url = format!("http://localhost:{}", server.addr().port());
    let client = Client::builder()
        .cluster(url)
        .refresh_token(&server.credentials().refresh_token)
        .build()
        .expect("client");
    for i in 0..5 {
        round(&client, &me, i);
    }
    let (ids, shown) = connections(&server.journal());
    assert_eq!(ids.len(), 1, "more than one connection:\n{shown}");
}
