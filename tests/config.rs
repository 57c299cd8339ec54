//! Writing a refreshed token back to the profile it came from (opt-in), against the fake. An
//! integration test, since it needs the fake server (a dev-dependency the library's own unit
//! tests do without: they run on the MSRV toolchain with no dev-dependencies).

use squirro_user_api::{ClientBuilder, Config, Grant};
use std::fs;
use std::path::{Path, PathBuf};

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "squirro-config-it-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_refreshed_token_is_written_back_when_asked() {
    let server = squirro_user_api_fake::FakeServer::start();
    let creds = server.credentials();
    let dir = tempdir("writeback");
    let cfg = write(
        &dir,
        "config.toml",
        &format!(
            "# kept\n[profiles.fake]\ncluster = \"{}\"\ntoken = \"{}\"\n",
            server.url(),
            creds.refresh_token
        ),
    );
    let client = ClientBuilder::from_config_file(&cfg, Some("fake"))
        .unwrap()
        .save_refreshed_token(&cfg, "fake")
        .build()
        .unwrap();
    // A refresh that keeps the token writes nothing new.
    client.get_groups().send().unwrap();
    let c = Config::load(&cfg).unwrap();
    assert_eq!(
        c.profile("fake").unwrap().token.as_deref(),
        Some(creds.refresh_token.as_str())
    );
    // A login hands out a new refresh token: it lands in the profile.
    client
        .authenticate(Grant::password(&creds.admin_email, &creds.admin_password))
        .send()
        .unwrap();
    let fresh = client.tokens().refresh_token.unwrap();
    assert_ne!(fresh, creds.refresh_token);
    let text = fs::read_to_string(&cfg).unwrap();
    assert!(text.starts_with("# kept\n"), "{text}");
    let c = Config::load(&cfg).unwrap();
    assert_eq!(
        c.profile("fake").unwrap().token.as_deref(),
        Some(fresh.as_str())
    );
    // Without the opt-in, nothing is written.
    let other = write(&dir, "other.toml", &fs::read_to_string(&cfg).unwrap());
    let plain = ClientBuilder::from_config_file(&other, Some("fake"))
        .unwrap()
        .build()
        .unwrap();
    plain
        .authenticate(Grant::password(&creds.admin_email, &creds.admin_password))
        .send()
        .unwrap();
    let c = Config::load(&other).unwrap();
    assert_eq!(
        c.profile("fake").unwrap().token.as_deref(),
        Some(fresh.as_str())
    );
}
