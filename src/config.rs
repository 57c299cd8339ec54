//! Configuration profiles: named settings in a TOML file, the Python tools' `~/.squirrorc` as
//! a fallback, the `SQUIRRO_*` variables over them, and writing a refreshed token back.
//!
//! The file (`$SQUIRRO_CONFIG`, else `$XDG_CONFIG_HOME/squirro/config.toml`, else
//! `~/.config/squirro/config.toml`):
//!
//! ```toml
//! default_profile = "prod"          # optional; else "default"
//!
//! [profiles.prod]
//! cluster = "https://squirro.example.com"
//! tenant = "acme"                   # optional: else the token's tenant
//! token = "..."                     # the refresh token ("API access" in Squirro)
//! client_id = "..."                 # optional
//! client_secret = "..."             # optional
//!
//! [profiles.staging]
//! user_api_url = "https://user-api.staging.example.com"
//! token = "..."
//! ```

use crate::{Client, ClientBuilder, Error};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The profile used when none is named, neither by `SQUIRRO_PROFILE` nor by the file's
/// `default_profile`.
pub const DEFAULT_PROFILE: &str = "default";

/// The settings of one profile. Every key is optional; `Debug` redacts the token and the
/// client secret.
#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Profile {
    /// The cluster's base URL ([`ClientBuilder::cluster`]).
    pub cluster: Option<String>,
    /// The user API's URL, when not under a cluster ([`ClientBuilder::user_api_url`]).
    pub user_api_url: Option<String>,
    /// The tenant ([`ClientBuilder::tenant`]).
    pub tenant: Option<String>,
    /// The refresh token ([`ClientBuilder::refresh_token`]).
    pub token: Option<String>,
    /// The client id ([`ClientBuilder::client_id`]).
    pub client_id: Option<String>,
    /// The client secret ([`ClientBuilder::client_secret`]).
    pub client_secret: Option<String>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |o: &Option<String>| o.as_ref().map(|_| crate::redact::Redacted);
        f.debug_struct("Profile")
            .field("cluster", &self.cluster)
            .field("user_api_url", &self.user_api_url)
            .field("tenant", &self.tenant)
            .field("token", &r(&self.token))
            .field("client_id", &self.client_id)
            .field("client_secret", &r(&self.client_secret))
            .finish()
    }
}

impl Profile {
    /// This profile's settings on `builder`, each one that is set replacing the builder's.
    pub fn apply(&self, mut builder: ClientBuilder) -> ClientBuilder {
        if let Some(v) = &self.cluster {
            builder = builder.cluster(v);
        }
        if let Some(v) = &self.user_api_url {
            builder = builder.user_api_url(v);
        }
        if let Some(v) = &self.tenant {
            builder = builder.tenant(v);
        }
        if let Some(v) = &self.token {
            builder = builder.refresh_token(v);
        }
        if let Some(v) = &self.client_id {
            builder = builder.client_id(v);
        }
        if let Some(v) = &self.client_secret {
            builder = builder.client_secret(v);
        }
        builder
    }

    /// The settings that are set, as (key, value).
    fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("cluster", &self.cluster),
            ("user_api_url", &self.user_api_url),
            ("tenant", &self.tenant),
            ("token", &self.token),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// The settings of the `SQUIRRO_*` variables (each one that is set; empty counts as not
    /// set), as [`ClientBuilder::from_profile`] lays them over a profile.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the variable that is not UTF-8 or malformed.
    pub fn from_env() -> Result<Profile, Error> {
        env_profile(&|k| std::env::var_os(k))
    }

    /// Each setting of `over` that is set replaces this one's.
    fn overlay(&mut self, over: Profile) {
        let pick = |a: &mut Option<String>, b: Option<String>| {
            if b.is_some() {
                *a = b;
            }
        };
        pick(&mut self.cluster, over.cluster);
        pick(&mut self.user_api_url, over.user_api_url);
        pick(&mut self.tenant, over.tenant);
        pick(&mut self.token, over.token);
        pick(&mut self.client_id, over.client_id);
        pick(&mut self.client_secret, over.client_secret);
    }
}

/// A configuration file: named [`Profile`]s.
#[derive(Debug, Clone, Default)]
pub struct Config {
    path: PathBuf,
    default_profile: Option<String>,
    profiles: BTreeMap<String, Profile>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

impl Config {
    /// Where the configuration file is looked for: `$SQUIRRO_CONFIG`, else
    /// `$XDG_CONFIG_HOME/squirro/config.toml`, else `$HOME/.config/squirro/config.toml`
    /// (`%APPDATA%\squirro\config.toml` on Windows). `None` when none of them is set.
    pub fn default_path() -> Option<PathBuf> {
        default_path(|k| std::env::var_os(k))
    }

    /// Reads a TOML configuration file. Warns (through `log`, naming the file) when the file
    /// holds a token or secret and other users may read it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] whose `param` is the file (and the key, for a bad value): the
    /// file cannot be read, is not TOML, or has a key this crate does not know.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = fs::read_to_string(path)
            .map_err(|e| Error::invalid(path.display().to_string(), format!("cannot read: {e}")))?;
        let config = Config::parse(path, &text)?;
        if config.profiles.values().any(holds_secret) {
            warn_if_readable_by_others(path);
        }
        Ok(config)
    }

    /// Parses the text of a configuration file; `path` is only used in messages.
    fn parse(path: &Path, text: &str) -> Result<Config, Error> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            Error::invalid(
                path.display().to_string(),
                format!("not a valid configuration file: {}", e.message()),
            )
        })?;
        Ok(Config {
            path: path.to_path_buf(),
            default_profile: file.default_profile,
            profiles: file.profiles,
        })
    }

    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The names of the profiles, sorted.
    pub fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    /// The profile used when none is named: the file's `default_profile`, else `default`.
    pub fn default_profile(&self) -> &str {
        self.default_profile.as_deref().unwrap_or(DEFAULT_PROFILE)
    }
}

/// Where a builder's settings came from ([`ClientBuilder::from_profile`] tells, for tools that
/// want to say it, or write a token back to the right file).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProfileSource {
    /// The profile's name.
    pub profile: String,
    /// The file the profile was read from; `None` when no file held it (the settings then come
    /// from the environment alone).
    pub path: Option<PathBuf>,
    /// Whether that file is a `~/.squirrorc` (INI, read-only) rather than a TOML configuration.
    pub squirrorc: bool,
}

impl ClientBuilder {
    /// A builder configured from a profile of the configuration file, with the `SQUIRRO_*`
    /// variables over it. The precedence, highest first:
    ///
    /// 1. setters called on the returned builder;
    /// 2. `SQUIRRO_CLUSTER`, `SQUIRRO_TENANT`, `SQUIRRO_TOKEN`, `SQUIRRO_CLIENT_ID`,
    ///    `SQUIRRO_CLIENT_SECRET` (each on its own; empty counts as not set);
    /// 3. the profile: `name`, else `SQUIRRO_PROFILE`, else the file's `default_profile`, else
    ///    `default`, from the file at [`Config::default_path`];
    /// 4. when that file does not exist or has no such profile and the profile is the default
    ///    one, the `[squirro]` section of the Python tools' `~/.squirrorc`.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), squirro_user_api::Error> {
    /// let client = squirro_user_api::ClientBuilder::from_profile(Some("prod"))?.build()?;
    /// let me = client.get_users().send()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the file or variable at fault; a profile named
    /// explicitly (by `name` or `SQUIRRO_PROFILE`) that no file holds.
    pub fn from_profile(name: Option<&str>) -> Result<ClientBuilder, Error> {
        Ok(ClientBuilder::from_profile_with_source(name)?.0)
    }

    /// As [`from_profile`](Self::from_profile), and where the profile was found.
    ///
    /// # Errors
    ///
    /// As [`from_profile`](Self::from_profile).
    pub fn from_profile_with_source(
        name: Option<&str>,
    ) -> Result<(ClientBuilder, ProfileSource), Error> {
        let (profile, source) = resolve(name, |k| std::env::var_os(k), Config::default_path())?;
        Ok((profile.apply(Client::builder()), source))
    }

    /// A builder configured from one profile of the TOML file at `path` (`None`: the file's
    /// default profile), with the `SQUIRRO_*` variables over it, as in
    /// [`from_profile`](Self::from_profile).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] naming the file or variable at fault, or the profile the file
    /// lacks.
    pub fn from_config_file(
        path: impl AsRef<Path>,
        profile: Option<&str>,
    ) -> Result<ClientBuilder, Error> {
        let config = Config::load(path)?;
        let name = profile.unwrap_or(config.default_profile()).to_string();
        let mut settings = config
            .profile(&name)
            .cloned()
            .ok_or_else(|| missing_profile(&name, Some(config.path())))?;
        settings.overlay(env_profile(&|k| std::env::var_os(k))?);
        Ok(settings.apply(Client::builder()))
    }

    /// After each authentication that brings a new refresh token, stores it as `profile`'s
    /// `token` in the TOML file at `path` (see [`store_token`]). Opt-in; failures to write
    /// are logged as warnings. This replaces any
    /// [`on_token_refresh`](Self::on_token_refresh) callback.
    pub fn save_refreshed_token(self, path: impl Into<PathBuf>, profile: &str) -> ClientBuilder {
        let path = path.into();
        let profile = profile.to_string();
        let last = std::sync::Mutex::new(None::<String>);
        self.on_token_refresh(move |tokens| {
            let Some(token) = &tokens.refresh_token else {
                return;
            };
            // A poisoned lock only means another thread panicked while holding it; the value
            // is still a plain Option.
            let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_deref() == Some(token.as_str()) {
                return;
            }
            match store_token(&path, &profile, token) {
                Ok(()) => *last = Some(token.clone()),
                Err(e) => log::warn!("cannot save the refreshed token: {e}"),
            }
        })
    }
}

/// Stores `token` as the `token` of `profile` in the TOML configuration file at `path` (see
/// [`store_profile`]). Nothing is written when the profile already holds that token.
///
/// # Errors
///
/// As [`store_profile`].
pub fn store_token(path: impl AsRef<Path>, profile: &str, token: &str) -> Result<(), Error> {
    let settings = Profile {
        token: Some(token.to_string()),
        ..Profile::default()
    };
    store_profile(path, profile, &settings)
}

/// Stores each setting of `settings` that is set in `[profiles.NAME]` of the TOML
/// configuration file at `path`, creating the file (and its directory) or the profile when
/// missing; the profile's other keys and the rest of the file, comments included, stay as they
/// are. The file is replaced atomically (a temporary file in the same directory, then a
/// rename) and is readable by its owner only (mode 0600 on unix). Nothing is written when the
/// profile already holds these values.
///
/// # Errors
///
/// [`Error::InvalidInput`] naming the file: it cannot be read or written, is not a
/// configuration file, or the edit did not give the values (a layout this editor does not
/// know: edit it by hand); or naming the setting that is malformed (a token with spaces).
pub fn store_profile(path: impl AsRef<Path>, name: &str, settings: &Profile) -> Result<(), Error> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    if let Some(t) = &settings.token {
        crate::client::check_setting("token", t, true)?;
    }
    let old = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::invalid(shown, format!("cannot read: {e}"))),
    };
    let wanted = |p: &Profile| {
        let mut merged = p.clone();
        merged.overlay(settings.clone());
        merged == *p
    };
    if !old.is_empty() && Config::parse(path, &old)?.profile(name).is_some_and(wanted) {
        return Ok(());
    }
    let mut new = old;
    for (key, value) in settings.entries() {
        new = set_key(&new, name, key, value);
    }
    let check = Config::parse(path, &new)?;
    if !check.profile(name).is_some_and(wanted) {
        return Err(Error::invalid(
            shown,
            format!("cannot update profile `{name}` in this layout: edit it by hand"),
        ));
    }
    write_private(path, new.as_bytes())
        .map_err(|e| Error::invalid(shown, format!("cannot write: {e}")))
}

/// Removes the `token` of `profile` from the TOML file at `path` (as [`store_token`] writes
/// it). Returns whether there was one.
///
/// # Errors
///
/// As [`store_token`].
pub fn remove_token(path: impl AsRef<Path>, profile: &str) -> Result<bool, Error> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let old = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::invalid(shown, format!("cannot read: {e}"))),
    };
    let Some(section) = find_section(&old, profile) else {
        return Ok(false);
    };
    let Some(line) = find_key(&old, &section, "token") else {
        return Ok(false);
    };
    let mut new = String::with_capacity(old.len());
    new.push_str(&old[..line.start]);
    new.push_str(&old[line.end..]);
    let check = Config::parse(path, &new)?;
    if check.profile(profile).is_some_and(|p| p.token.is_some()) {
        return Err(Error::invalid(
            shown,
            format!("cannot remove the token of profile `{profile}` in this layout"),
        ));
    }
    write_private(path, new.as_bytes())
        .map_err(|e| Error::invalid(shown, format!("cannot write: {e}")))?;
    Ok(true)
}

// ------------------------------------------------------------------------- resolution

/// The merged profile (environment over file) and where it came from.
fn resolve(
    name: Option<&str>,
    lookup: impl Fn(&str) -> Option<OsString>,
    config_path: Option<PathBuf>,
) -> Result<(Profile, ProfileSource), Error> {
    let from_env = crate::env::read(&lookup, "SQUIRRO_PROFILE")?;
    let explicit = name.map(str::to_string).or(from_env);
    let config = match &config_path {
        Some(p) if p.exists() => Some(Config::load(p)?),
        _ => None,
    };
    let profile_name = explicit
        .clone()
        .or_else(|| config.as_ref().map(|c| c.default_profile().to_string()))
        .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
    let mut source = ProfileSource {
        profile: profile_name.clone(),
        path: None,
        squirrorc: false,
    };
    let mut settings = match config.as_ref().and_then(|c| c.profile(&profile_name)) {
        Some(p) => {
            source.path = config.as_ref().map(|c| c.path().to_path_buf());
            p.clone()
        }
        None if explicit.is_some() && profile_name != DEFAULT_PROFILE => {
            return Err(missing_profile(&profile_name, config_path.as_deref()));
        }
        None => match squirrorc_path(&lookup) {
            Some(rc) if rc.exists() => {
                source.path = Some(rc.clone());
                source.squirrorc = true;
                load_squirrorc(&rc)?
            }
            _ => Profile::default(),
        },
    };
    settings.overlay(env_profile(&lookup)?);
    Ok((settings, source))
}

fn missing_profile(name: &str, path: Option<&Path>) -> Error {
    match path {
        Some(p) => Error::invalid("profile", format!("no profile `{name}` in {}", p.display())),
        None => Error::invalid(
            "profile",
            format!("no profile `{name}`: no configuration file (set SQUIRRO_CONFIG or HOME)"),
        ),
    }
}

/// The `SQUIRRO_*` variables, each one that is set.
fn env_profile(lookup: &impl Fn(&str) -> Option<OsString>) -> Result<Profile, Error> {
    let p = Profile {
        cluster: crate::env::read(lookup, "SQUIRRO_CLUSTER")?,
        user_api_url: None,
        tenant: crate::env::read(lookup, "SQUIRRO_TENANT")?,
        token: crate::env::read(lookup, "SQUIRRO_TOKEN")?,
        client_id: crate::env::read(lookup, "SQUIRRO_CLIENT_ID")?,
        client_secret: crate::env::read(lookup, "SQUIRRO_CLIENT_SECRET")?,
    };
    if let Some(c) = &p.cluster {
        crate::client::check_url("SQUIRRO_CLUSTER", c)?;
    }
    if let Some(t) = &p.token {
        crate::client::check_setting("SQUIRRO_TOKEN", t, true)?;
    }
    Ok(p)
}

fn default_path(lookup: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |k: &str| lookup(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = set("SQUIRRO_CONFIG") {
        return Some(p);
    }
    if let Some(dir) = set("XDG_CONFIG_HOME") {
        return Some(dir.join("squirro").join("config.toml"));
    }
    if cfg!(windows) {
        if let Some(dir) = set("APPDATA") {
            return Some(dir.join("squirro").join("config.toml"));
        }
    }
    set("HOME").map(|h| h.join(".config").join("squirro").join("config.toml"))
}

fn squirrorc_path(lookup: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    lookup("HOME")
        .or_else(|| lookup("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".squirrorc"))
}

// ---------------------------------------------------------------------------- ~/.squirrorc

fn load_squirrorc(path: &Path) -> Result<Profile, Error> {
    let text = fs::read_to_string(path)
        .map_err(|e| Error::invalid(path.display().to_string(), format!("cannot read: {e}")))?;
    let profile = parse_squirrorc(&text);
    if holds_secret(&profile) {
        warn_if_readable_by_others(path);
    }
    Ok(profile)
}

/// The `[squirro]` section of an INI file as Python's `configparser` reads the simple files
/// the Squirro tools write: `key = value` or `key: value`, `#` and `;` comment lines, keys
/// case-insensitive. Keys this crate does not use are ignored (the tools keep others there).
fn parse_squirrorc(text: &str) -> Profile {
    let mut p = Profile::default();
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim().eq_ignore_ascii_case("squirro");
            continue;
        }
        if !in_section {
            continue;
        }
        let Some(at) = line.find(['=', ':']) else {
            continue;
        };
        let key = line[..at].trim().to_ascii_lowercase();
        let value = line[at + 1..].trim();
        if value.is_empty() {
            continue;
        }
        let value = Some(value.to_string());
        match key.as_str() {
            "cluster" => p.cluster = value,
            "user_api_url" => p.user_api_url = value,
            "tenant" => p.tenant = value,
            "token" | "refresh_token" => p.token = value,
            "client_id" => p.client_id = value,
            "client_secret" => p.client_secret = value,
            _ => {}
        }
    }
    p
}

// ------------------------------------------------------------------------------- safety

fn holds_secret(p: &Profile) -> bool {
    p.token.is_some() || p.client_secret.is_some()
}

/// Warns, as ssh refuses such keys, when a file holding a secret is readable or writable by
/// group or others. Names the file and its mode, never a value.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                log::warn!(
                    "{} holds a token or secret and other users may read it (mode {mode:03o}); \
                     run: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Writes `bytes` to `path` atomically, owner-only: a temporary file beside it, then a rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

// ------------------------------------------------------------------- editing the TOML text

/// A byte range of the text.
struct Span {
    start: usize,
    end: usize,
}

/// The lines of `text` with their byte ranges (each range includes its line end).
fn lines(text: &str) -> impl Iterator<Item = (Span, &str)> {
    let mut at = 0;
    text.split_inclusive('\n').map(move |line| {
        let span = Span {
            start: at,
            end: at + line.len(),
        };
        at = span.end;
        (span, line)
    })
}

/// The name of a table header line (`[profiles.prod]`, `[ profiles . "prod" ]`) as its dotted
/// parts, unquoted; `None` for other lines and for `[[arrays]]`.
fn header(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let line = match line.find('#') {
        Some(i) if !line[..i].contains('"') => line[..i].trim_end(),
        _ => line,
    };
    let inner = line.strip_prefix('[')?.strip_suffix(']')?;
    if inner.starts_with('[') {
        return None;
    }
    Some(
        inner
            .split('.')
            .map(|p| p.trim().trim_matches('"').trim_matches('\'').to_string())
            .collect(),
    )
}

/// The body of `[profiles.NAME]`: from after its header line to the next header.
fn find_section(text: &str, profile: &str) -> Option<Span> {
    let mut start = None;
    for (span, line) in lines(text) {
        let is_header = line.trim_start().starts_with('[');
        match (start, is_header) {
            (None, true) if header(line).is_some_and(|h| h == ["profiles", profile]) => {
                start = Some(span.end);
            }
            (Some(s), true) => {
                return Some(Span {
                    start: s,
                    end: span.start,
                });
            }
            _ => {}
        }
    }
    start.map(|s| Span {
        start: s,
        end: text.len(),
    })
}

/// The line `key = ...` within `section`.
fn find_key(text: &str, section: &Span, key: &str) -> Option<Span> {
    lines(&text[section.start..section.end])
        .find(|(_, line)| {
            line.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        })
        .map(|(span, _)| Span {
            start: section.start + span.start,
            end: section.start + span.end,
        })
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text with `key` set in `[profiles.PROFILE]`: its line replaced, else a line added after
/// the header, else a new section appended.
fn set_key(text: &str, profile: &str, key: &str, value: &str) -> String {
    let line = format!("{key} = {}\n", quote(value));
    let mut out = String::with_capacity(text.len() + line.len() + 32);
    match find_section(text, profile) {
        Some(section) => {
            let at = find_key(text, &section, key);
            let (cut_from, cut_to) = match &at {
                Some(span) => (span.start, span.end),
                None => (section.start, section.start),
            };
            out.push_str(&text[..cut_from]);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
            out.push_str(&text[cut_to..]);
        }
        None => {
            out.push_str(text);
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            if !out.is_empty() {
                out.push('\n');
            }
            let name = if profile
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                profile.to_string()
            } else {
                quote(profile)
            };
            out.push_str(&format!("[profiles.{name}]\n"));
            out.push_str(&line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "squirro-config-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    const FILE: &str = r#"# my clusters
default_profile = "prod"

[profiles.prod]
cluster = "https://prod.example.com"
tenant = "acme"
token = "prod-SEKRIT"  # from API access

[profiles.staging]
user_api_url = "https://user-api.staging.example.com"
token = "staging-SEKRIT"
client_id = "tool"
"#;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn precedence_env_over_profile_and_default_profile() {
        let dir = tempdir("prec");
        let cfg = write(&dir, "config.toml", FILE);
        // The file's default profile.
        let (p, src) = resolve(None, env(&[]), Some(cfg.clone())).unwrap();
        assert_eq!(src.profile, "prod");
        assert_eq!(src.path.as_deref(), Some(cfg.as_path()));
        assert_eq!(p.cluster.as_deref(), Some("https://prod.example.com"));
        assert_eq!(p.token.as_deref(), Some("prod-SEKRIT"));
        // SQUIRRO_PROFILE over default_profile; a name over SQUIRRO_PROFILE.
        let (p, _) = resolve(
            None,
            env(&[("SQUIRRO_PROFILE", "staging")]),
            Some(cfg.clone()),
        )
        .unwrap();
        assert_eq!(p.client_id.as_deref(), Some("tool"));
        let (p, src) = resolve(
            Some("prod"),
            env(&[("SQUIRRO_PROFILE", "staging")]),
            Some(cfg.clone()),
        )
        .unwrap();
        assert_eq!(
            (src.profile.as_str(), p.tenant.as_deref()),
            ("prod", Some("acme"))
        );
        // Each variable over the profile's key, the rest from the profile.
        let (p, _) = resolve(
            Some("prod"),
            env(&[("SQUIRRO_TENANT", "other"), ("SQUIRRO_TOKEN", "env-SEKRIT")]),
            Some(cfg.clone()),
        )
        .unwrap();
        assert_eq!(p.tenant.as_deref(), Some("other"));
        assert_eq!(p.token.as_deref(), Some("env-SEKRIT"));
        assert_eq!(p.cluster.as_deref(), Some("https://prod.example.com"));
        // Setters over both.
        let client = p
            .apply(Client::builder())
            .tenant("setter")
            .no_proxy()
            .build()
            .unwrap();
        assert_eq!(client.tenant().as_deref(), Some("setter"));
        assert_eq!(client.user_api_url(), "https://prod.example.com/api/user");
    }

    #[test]
    fn a_missing_named_profile_is_an_error_naming_it() {
        let dir = tempdir("missing");
        let cfg = write(&dir, "config.toml", FILE);
        let e = resolve(Some("nope"), env(&[]), Some(cfg)).unwrap_err();
        assert!(e.to_string().contains("no profile `nope`"), "{e}");
        let e = resolve(Some("nope"), env(&[]), None).unwrap_err();
        assert!(e.to_string().contains("no profile `nope`"), "{e}");
    }

    #[test]
    fn squirrorc_is_the_fallback_for_the_default_profile() {
        let dir = tempdir("rc");
        write(
            &dir,
            ".squirrorc",
            "[other]\ntoken = no\n\n[squirro]\n# comment\ncluster = https://rc.example.com\nTOKEN: rc-SEKRIT\nunknown = x\n",
        );
        let home = dir.to_str().unwrap();
        let missing = dir.join("none.toml");
        let (p, src) = resolve(None, env(&[("HOME", home)]), Some(missing.clone())).unwrap();
        assert!(src.squirrorc);
        assert_eq!(p.cluster.as_deref(), Some("https://rc.example.com"));
        assert_eq!(p.token.as_deref(), Some("rc-SEKRIT"));
        // A file without the default profile falls back too; env still wins.
        let cfg = write(
            &dir,
            "c.toml",
            "[profiles.x]\ncluster = \"https://x.example.com\"\n",
        );
        let (p, _) = resolve(
            None,
            env(&[("HOME", home), ("SQUIRRO_TOKEN", "env-SEKRIT")]),
            Some(cfg),
        )
        .unwrap();
        assert_eq!(p.token.as_deref(), Some("env-SEKRIT"));
        assert_eq!(p.cluster.as_deref(), Some("https://rc.example.com"));
        // Nothing at all: an empty profile.
        let (p, src) = resolve(None, env(&[]), Some(missing)).unwrap();
        assert_eq!((p, src.path), (Profile::default(), None));
    }

    #[test]
    fn bad_files_and_variables_are_named_without_secrets() {
        let dir = tempdir("bad");
        let cfg = write(
            &dir,
            "c.toml",
            "[profiles.a]\ntoken = \"t-SEKRIT\"\nclustr = \"x\"\n",
        );
        let e = Config::load(&cfg).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("c.toml") && shown.contains("clustr"),
            "{shown}"
        );
        assert!(!shown.contains("SEKRIT"), "{shown}");
        let e = resolve(None, env(&[("SQUIRRO_CLUSTER", "nope")]), None).unwrap_err();
        assert!(matches!(&e, Error::InvalidInput { param, .. } if param == "SQUIRRO_CLUSTER"));
        let e = Config::load(dir.join("absent.toml")).unwrap_err();
        assert!(e.to_string().contains("cannot read"), "{e}");
    }

    #[test]
    fn default_path_order() {
        let p = |pairs: &[(&str, &str)]| default_path(env(pairs));
        assert_eq!(
            p(&[("SQUIRRO_CONFIG", "/a.toml"), ("HOME", "/h")]),
            Some(PathBuf::from("/a.toml"))
        );
        assert_eq!(
            p(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]),
            Some(PathBuf::from("/x/squirro/config.toml"))
        );
        if !cfg!(windows) {
            assert_eq!(
                p(&[("HOME", "/h")]),
                Some(PathBuf::from("/h/.config/squirro/config.toml"))
            );
            assert_eq!(p(&[]), None);
        }
    }

    #[test]
    fn store_token_edits_one_profile_and_keeps_the_rest() {
        let dir = tempdir("store");
        let cfg = write(&dir, "config.toml", FILE);
        store_token(&cfg, "prod", "new-\"SEKRIT\"").unwrap();
        let text = fs::read_to_string(&cfg).unwrap();
        assert!(text.starts_with("# my clusters\n"), "{text}");
        assert!(!text.contains("prod-SEKRIT"), "{text}");
        let c = Config::load(&cfg).unwrap();
        assert_eq!(
            c.profile("prod").unwrap().token.as_deref(),
            Some("new-\"SEKRIT\"")
        );
        assert_eq!(c.profile("prod").unwrap().tenant.as_deref(), Some("acme"));
        assert_eq!(
            c.profile("staging").unwrap().token.as_deref(),
            Some("staging-SEKRIT")
        );
        // A new profile in an existing file, and a new file in a new directory.
        store_token(&cfg, "dev", "dev-SEKRIT").unwrap();
        let c = Config::load(&cfg).unwrap();
        assert_eq!(
            c.profile("dev").unwrap().token.as_deref(),
            Some("dev-SEKRIT")
        );
        let fresh = dir.join("sub").join("config.toml");
        store_token(&fresh, "default", "d-SEKRIT").unwrap();
        assert_eq!(
            fs::read_to_string(&fresh).unwrap(),
            "[profiles.default]\ntoken = \"d-SEKRIT\"\n"
        );
        // A profile without a token gets one after its header.
        let bare = write(
            &dir,
            "bare.toml",
            "[profiles.a]\ncluster = \"https://a.example.com\"",
        );
        store_token(&bare, "a", "a-SEKRIT").unwrap();
        let c = Config::load(&bare).unwrap();
        assert_eq!(c.profile("a").unwrap().token.as_deref(), Some("a-SEKRIT"));
        assert_eq!(
            c.profile("a").unwrap().cluster.as_deref(),
            Some("https://a.example.com")
        );
        // Removing it.
        assert!(remove_token(&cfg, "prod").unwrap());
        assert!(!remove_token(&cfg, "prod").unwrap());
        let c = Config::load(&cfg).unwrap();
        assert_eq!(c.profile("prod").unwrap().token, None);
        assert_eq!(c.profile("prod").unwrap().tenant.as_deref(), Some("acme"));
        // The same token again writes nothing (the file keeps its looser mode).
        let loose = write(&dir, "loose.toml", "[profiles.a]\ntoken = \"a-SEKRIT\"\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&loose, fs::Permissions::from_mode(0o644)).unwrap();
            store_token(&loose, "a", "a-SEKRIT").unwrap();
            let mode = fs::metadata(&loose).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        // Several keys at once.
        let settings = Profile {
            cluster: Some("https://c.example.com".into()),
            tenant: Some("t".into()),
            ..Profile::default()
        };
        store_profile(&loose, "a", &settings).unwrap();
        let c = Config::load(&loose).unwrap();
        let a = c.profile("a").unwrap();
        assert_eq!(
            (
                a.cluster.as_deref(),
                a.tenant.as_deref(),
                a.token.as_deref()
            ),
            (Some("https://c.example.com"), Some("t"), Some("a-SEKRIT"))
        );
        // Bad tokens are refused before anything is written.
        assert!(store_token(&cfg, "prod", "a b").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [&cfg, &fresh, &bare] {
                let mode = fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", f.display());
            }
        }
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(left.is_empty());
    }

    #[test]
    fn squirrorc_parser() {
        let p = parse_squirrorc(
            "[squirro]\ncluster=https://a\n  tenant : t \n; c\ntoken =\nclient_secret = s=1\n[x]\ncluster = b\n",
        );
        assert_eq!(p.cluster.as_deref(), Some("https://a"));
        assert_eq!(p.tenant.as_deref(), Some("t"));
        assert_eq!(p.token, None);
        assert_eq!(p.client_secret.as_deref(), Some("s=1"));
    }

    #[test]
    fn debug_redacts() {
        let c = Config::parse(Path::new("c.toml"), FILE).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SEKRIT"), "{shown}");
        assert!(shown.contains("prod.example.com"), "{shown}");
    }
}
