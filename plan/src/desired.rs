//! The desired state: read from TOML, JSON or CSV, checked offline (every problem at once, with
//! file, line and field), before any request.

use crate::error::{PlanError, Problem};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use squirro_user_api::{ProjectRole, ServerRole};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// Where something was declared: a file and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: Rc<str>,
    /// The line (1-based); 0 when unknown.
    pub line: usize,
}

impl Origin {
    pub(crate) fn problem(&self, field: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            file: self.file.to_string(),
            line: (self.line > 0).then_some(self.line),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A user as the state wants it. Fields left out (`None`, a data key not named) are not
/// managed: the tenant's value stays.
#[derive(Debug, Clone)]
pub struct DesiredUser {
    /// The email as written.
    pub email: String,
    /// The role in the tenant.
    pub role: Option<ServerRole>,
    /// The display name.
    pub full_name: Option<String>,
    /// Custom data: each key named is set to its value (`null` removes it).
    pub data: Map<String, Value>,
    /// Where it was declared.
    pub origin: Origin,
}

/// A group and its members (by email, lower case). The group's members are exactly these:
/// others are removed when deletion is allowed.
#[derive(Debug, Clone)]
pub struct DesiredGroup {
    /// The group name.
    pub name: String,
    /// Member emails (lower case), each with where it was named.
    pub members: Vec<(String, Origin)>,
    /// Where it was declared (or first named by a user's `groups`).
    pub origin: Origin,
}

/// A member of a project: a user (by email, lower case) or a group (by name).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MemberRef {
    /// A user, by email (lower case).
    User(String),
    /// A group, by name.
    Group(String),
}

impl std::fmt::Display for MemberRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemberRef::User(email) => write!(f, "user {email}"),
            MemberRef::Group(name) => write!(f, "group {name:?}"),
        }
    }
}

/// A project's members. The project's members are exactly these: others are removed when
/// deletion is allowed.
#[derive(Debug, Clone)]
pub struct DesiredProject {
    /// The project id.
    pub id: String,
    /// Its members and their roles.
    pub members: Vec<(MemberRef, ProjectRole, Origin)>,
    /// Where it was declared.
    pub origin: Origin,
}

/// Roles of users in a workspace (set, never removed).
#[derive(Debug, Clone)]
pub struct DesiredWorkspace {
    /// The workspace's domain.
    pub domain: String,
    /// Users (email, lower case) and their roles.
    pub users: Vec<(String, ServerRole, Origin)>,
    /// Where it was declared.
    pub origin: Origin,
}

/// The desired state of a tenant, checked (see [`load_state`]).
#[derive(Debug, Clone, Default)]
pub struct DesiredState {
    /// The users, in file order; emails are unique (case-insensitively).
    pub users: Vec<DesiredUser>,
    /// The groups, in file order; names are unique (case-insensitively).
    pub groups: Vec<DesiredGroup>,
    /// The projects named, with their members.
    pub projects: Vec<DesiredProject>,
    /// The workspaces named, with their users' roles.
    pub workspaces: Vec<DesiredWorkspace>,
    /// Email patterns (`*` any run, `?` one character; case-insensitive) of the users that may
    /// be removed when they are not in the state and deletion is allowed. Empty: no user is
    /// ever removed.
    pub remove_users_matching: Vec<String>,
    /// The file it was read from.
    pub source: String,
    /// A digest of the files read, so a journal of an apply knows its source.
    pub digest: String,
    pub(crate) user_index: HashMap<String, usize>,
}

impl DesiredState {
    /// The user with this email (any case).
    pub fn user(&self, email: &str) -> Option<&DesiredUser> {
        self.user_index
            .get(&email.trim().to_lowercase())
            .map(|&i| &self.users[i])
    }

    /// The custom data keys the state manages (named for at least one user).
    pub(crate) fn data_keys(&self) -> BTreeSet<String> {
        self.users
            .iter()
            .flat_map(|u| u.data.keys().cloned())
            .collect()
    }

    /// Whether an email falls under [`remove_users_matching`](Self::remove_users_matching).
    pub fn removable(&self, email: &str) -> bool {
        let email = email.to_lowercase();
        self.remove_users_matching
            .iter()
            .any(|p| glob(&p.to_lowercase(), &email))
    }
}

/// `*` any run, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last star).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The key of an email: trimmed, lower case (the server compares emails case-insensitively).
pub(crate) fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The key of a group name (compared case-insensitively, as the server does).
pub(crate) fn group_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Fields of a user that custom data may not set (the server owns them, or they have their
/// own column).
const RESERVED_DATA_KEYS: [&str; 9] = [
    "id",
    "email",
    "full_name",
    "role",
    "password",
    "tenant",
    "groups",
    "projects",
    "role_permissions",
];

// ------------------------------------------------------------------ values with their line

thread_local! {
    /// How [`At`] finds its line while a file is deserialized on this thread.
    static LINES: RefCell<Option<Lines>> = const { RefCell::new(None) };
}

enum Lines {
    /// TOML gives spans: byte offsets of line starts turn them into lines.
    Toml(Vec<usize>),
    /// JSON is read through [`CountingReader`], which counts the newlines consumed.
    Json(Rc<Cell<usize>>),
}

/// A value and the line it starts on.
#[derive(Debug, Clone)]
struct At<T> {
    line: usize,
    value: T,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        enum Mode {
            Toml(Vec<usize>),
            Json(usize),
            None,
        }
        let mode = LINES.with(|l| match &*l.borrow() {
            Some(Lines::Toml(starts)) => Mode::Toml(starts.clone()),
            Some(Lines::Json(n)) => Mode::Json(n.get() + 1),
            None => Mode::None,
        });
        match mode {
            Mode::Toml(starts) => {
                let spanned = toml::Spanned::<T>::deserialize(d)?;
                let line = starts.partition_point(|&s| s <= spanned.span().start);
                Ok(At {
                    line,
                    value: spanned.into_inner(),
                })
            }
            Mode::Json(line) => Ok(At {
                line,
                value: T::deserialize(d)?,
            }),
            Mode::None => Ok(At {
                line: 0,
                value: T::deserialize(d)?,
            }),
        }
    }
}

/// Counts the newlines read (serde_json reads a `Read` byte by byte, so the count is exact at
/// the start of each value).
struct CountingReader<'a> {
    inner: &'a [u8],
    newlines: Rc<Cell<usize>>,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let count = buf[..n].iter().filter(|&&b| b == b'\n').count();
        self.newlines.set(self.newlines.get() + count);
        Ok(n)
    }
}

/// Resets the thread-local line source when dropped.
struct LinesGuard;

impl LinesGuard {
    fn set(lines: Lines) -> LinesGuard {
        LINES.with(|l| *l.borrow_mut() = Some(lines));
        LinesGuard
    }
}

impl Drop for LinesGuard {
    fn drop(&mut self) {
        LINES.with(|l| *l.borrow_mut() = None);
    }
}

// ------------------------------------------------------------------ the file's shape

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    #[serde(default)]
    scope: Option<RawScope>,
    #[serde(default)]
    users: Vec<At<RawUser>>,
    #[serde(default)]
    users_csv: Vec<At<String>>,
    #[serde(default)]
    groups: Vec<At<RawGroup>>,
    #[serde(default)]
    projects: Vec<At<RawProject>>,
    #[serde(default)]
    workspaces: Vec<At<RawWorkspace>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    remove_users_matching: Vec<At<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    email: At<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    role: Option<At<String>>,
    #[serde(default)]
    data: Option<At<Map<String, Value>>>,
    #[serde(default)]
    groups: Vec<At<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: At<String>,
    #[serde(default)]
    members: Vec<At<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    id: At<String>,
    #[serde(default)]
    members: Vec<At<RawProjectMember>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProjectMember {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    group: Option<String>,
    role: At<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspace {
    domain: At<String>,
    #[serde(default)]
    users: Vec<At<RawWorkspaceUser>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkspaceUser {
    email: String,
    role: At<String>,
}

// ------------------------------------------------------------------ loading

/// Reads and checks a desired state: a `.toml` or `.json` file for the whole state (which may
/// name CSV user lists in `users_csv`, relative to itself), or a `.csv` user list alone.
///
/// Every problem is reported at once ([`PlanError::Invalid`]), each with its file, line and
/// field: syntax, unknown fields or columns, invalid or duplicate emails (compared
/// case-insensitively), bad roles, duplicate groups, projects or members, reserved data keys.
/// Whether a member names a user or group of the tenant is checked by [`plan`](crate::plan),
/// which reads the tenant first.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("state.toml");
/// std::fs::write(&path, r#"
/// [[users]]
/// email = "jane@example.com"
/// role = "boss"
/// "#)?;
/// let err = squirro_user_plan::load_state(&path).unwrap_err();
/// assert_eq!(err.problems()[0].line, Some(4));
/// assert_eq!(err.problems()[0].field, "users[0].role");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_state(path: impl AsRef<Path>) -> Result<DesiredState, PlanError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| PlanError::io(path, e))?;
    let file: Rc<str> = Rc::from(path.display().to_string());
    let mut hasher = Sha256::new();
    hasher.update(&bytes);
    let mut loader = Loader::default();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => loader.csv(&bytes, &file),
        Some("toml") | Some("json") => {
            let raw = if ext.as_deref() == Some("toml") {
                parse_toml(&bytes, &file)
            } else {
                parse_json(&bytes, &file)
            };
            match raw {
                Ok(raw) => {
                    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    loader.state(raw, &file, &base, &mut hasher);
                }
                Err(p) => loader.problems.push(p),
            }
        }
        _ => loader.problems.push(Problem {
            file: file.to_string(),
            line: None,
            field: "file".into(),
            message: "unknown format: name the file .toml, .json or .csv".into(),
        }),
    }
    loader.state.source = file.to_string();
    loader.finish(hex(&hasher.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_toml(bytes: &[u8], file: &Rc<str>) -> Result<RawState, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|e| Problem {
        file: file.to_string(),
        line: None,
        field: "file".into(),
        message: format!("not UTF-8: {e}"),
    })?;
    let mut starts = vec![0];
    starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let _guard = LinesGuard::set(Lines::Toml(starts.clone()));
    toml::from_str::<RawState>(text).map_err(|e| Problem {
        file: file.to_string(),
        line: e.span().map(|s| starts.partition_point(|&x| x <= s.start)),
        field: "syntax".into(),
        message: e.message().trim().to_string(),
    })
}

fn parse_json(bytes: &[u8], file: &Rc<str>) -> Result<RawState, Problem> {
    let newlines = Rc::new(Cell::new(0));
    let _guard = LinesGuard::set(Lines::Json(Rc::clone(&newlines)));
    let reader = CountingReader {
        inner: bytes,
        newlines,
    };
    serde_json::from_reader::<_, RawState>(reader).map_err(|e| Problem {
        file: file.to_string(),
        line: Some(e.line()),
        field: "syntax".into(),
        message: e.to_string(),
    })
}

#[derive(Default)]
struct Loader {
    state: DesiredState,
    problems: Vec<Problem>,
    /// Email key -> where it was first declared.
    seen_emails: HashMap<String, Origin>,
    /// Group key -> index in state.groups.
    group_index: HashMap<String, usize>,
    /// (group index, member email key) already added: a group of 10,000 members is checked in
    /// constant time per member, not by a scan.
    group_members: std::collections::HashSet<(usize, String)>,
}

impl Loader {
    fn finish(mut self, digest: String) -> Result<DesiredState, PlanError> {
        if self.problems.is_empty() {
            self.state.digest = digest;
            Ok(self.state)
        } else {
            Err(PlanError::Invalid(self.problems))
        }
    }

    fn state(&mut self, raw: RawState, file: &Rc<str>, base: &Path, hasher: &mut Sha256) {
        let at = |line| Origin {
            file: Rc::clone(file),
            line,
        };
        if let Some(scope) = raw.scope {
            for (i, p) in scope.remove_users_matching.into_iter().enumerate() {
                if p.value.trim().is_empty() {
                    self.problems.push(
                        at(p.line)
                            .problem(format!("scope.remove_users_matching[{i}]"), "empty pattern"),
                    );
                } else {
                    self.state
                        .remove_users_matching
                        .push(p.value.trim().to_string());
                }
            }
        }
        for (i, u) in raw.users.into_iter().enumerate() {
            let origin = at(u.line);
            let u = u.value;
            let field = |f: &str| format!("users[{i}].{f}");
            let role = u.role.and_then(|r| match r.value.parse::<ServerRole>() {
                Ok(role) => Some(role),
                Err(_) => {
                    self.problems.push(at(r.line).problem(
                        field("role"),
                        bad_role(&r.value, ServerRole::ALL.iter().map(|r| r.as_str())),
                    ));
                    None
                }
            });
            let email_line = at(u.email.line);
            let groups: Vec<(String, Origin)> = u
                .groups
                .into_iter()
                .map(|g| (g.value, at(g.line)))
                .collect();
            let (data, data_line) = match u.data {
                Some(d) => (d.value, at(d.line)),
                None => (Map::new(), origin.clone()),
            };
            self.user(
                u.email.value,
                &email_line,
                &field("email"),
                role,
                u.full_name,
                data,
                (&data_line, &field("data")),
                origin,
                groups,
            );
        }
        for (i, g) in raw.groups.into_iter().enumerate() {
            let origin = at(g.line);
            let name = g.value.name.value.trim().to_string();
            if name.is_empty() {
                self.problems.push(
                    at(g.value.name.line).problem(format!("groups[{i}].name"), "empty group name"),
                );
                continue;
            }
            if let Some(&j) = self.group_index.get(&group_key(&name)) {
                let first = &self.state.groups[j].origin;
                self.problems.push(at(g.value.name.line).problem(
                    format!("groups[{i}].name"),
                    format!(
                        "duplicate group {name:?} (first declared at line {})",
                        first.line
                    ),
                ));
                continue;
            }
            let index = self.group(&name, origin);
            for (k, m) in g.value.members.into_iter().enumerate() {
                let key = email_key(&m.value);
                if !valid_email(&key) {
                    self.problems.push(at(m.line).problem(
                        format!("groups[{i}].members[{k}]"),
                        format!("not an email address: {:?}", m.value),
                    ));
                    continue;
                }
                self.add_member(index, key, at(m.line));
            }
        }
        for (i, csv) in raw.users_csv.into_iter().enumerate() {
            let path = base.join(&csv.value);
            match std::fs::read(&path) {
                Ok(bytes) => {
                    hasher.update(&bytes);
                    let csv_file: Rc<str> = Rc::from(path.display().to_string());
                    self.csv(&bytes, &csv_file);
                }
                Err(e) => self.problems.push(at(csv.line).problem(
                    format!("users_csv[{i}]"),
                    format!("cannot read {}: {e}", path.display()),
                )),
            }
        }
        let mut seen_projects: HashMap<String, usize> = HashMap::new();
        for (i, p) in raw.projects.into_iter().enumerate() {
            let origin = at(p.line);
            let id = p.value.id.value.trim().to_string();
            if id.is_empty() {
                self.problems.push(
                    at(p.value.id.line).problem(format!("projects[{i}].id"), "empty project id"),
                );
                continue;
            }
            if let Some(first) = seen_projects.get(&id) {
                self.problems.push(at(p.value.id.line).problem(
                    format!("projects[{i}].id"),
                    format!("duplicate project {id} (first declared at line {first})"),
                ));
                continue;
            }
            seen_projects.insert(id.clone(), p.line);
            let mut members: Vec<(MemberRef, ProjectRole, Origin)> = Vec::new();
            for (k, m) in p.value.members.into_iter().enumerate() {
                let o = at(m.line);
                let field = format!("projects[{i}].members[{k}]");
                let m = m.value;
                let member = match (m.user, m.group) {
                    (Some(user), None) => {
                        let key = email_key(&user);
                        if !valid_email(&key) {
                            self.problems.push(o.problem(
                                format!("{field}.user"),
                                format!("not an email address: {user:?}"),
                            ));
                            continue;
                        }
                        MemberRef::User(key)
                    }
                    (None, Some(group)) if !group.trim().is_empty() => {
                        MemberRef::Group(group.trim().to_string())
                    }
                    _ => {
                        self.problems.push(o.problem(
                            field,
                            "give exactly one of `user` (an email) and `group` (a name)",
                        ));
                        continue;
                    }
                };
                let Ok(role) = m.role.value.parse::<ProjectRole>() else {
                    self.problems.push(at(m.role.line).problem(
                        format!("{field}.role"),
                        bad_role(&m.role.value, ProjectRole::ALL.iter().map(|r| r.as_str())),
                    ));
                    continue;
                };
                if let Some((_, _, first)) =
                    members.iter().find(|(x, _, _)| same_member(x, &member))
                {
                    self.problems.push(o.problem(
                        field,
                        format!(
                            "duplicate member {member} (first named at line {})",
                            first.line
                        ),
                    ));
                    continue;
                }
                members.push((member, role, o));
            }
            self.state.projects.push(DesiredProject {
                id,
                members,
                origin,
            });
        }
        let mut seen_domains: HashMap<String, usize> = HashMap::new();
        for (i, w) in raw.workspaces.into_iter().enumerate() {
            let origin = at(w.line);
            let domain = w.value.domain.value.trim().to_string();
            if domain.is_empty() {
                self.problems.push(
                    at(w.value.domain.line)
                        .problem(format!("workspaces[{i}].domain"), "empty domain"),
                );
                continue;
            }
            if let Some(first) = seen_domains.get(&domain) {
                self.problems.push(at(w.value.domain.line).problem(
                    format!("workspaces[{i}].domain"),
                    format!("duplicate workspace {domain} (first declared at line {first})"),
                ));
                continue;
            }
            seen_domains.insert(domain.clone(), w.line);
            let mut users: Vec<(String, ServerRole, Origin)> = Vec::new();
            for (k, u) in w.value.users.into_iter().enumerate() {
                let o = at(u.line);
                let field = format!("workspaces[{i}].users[{k}]");
                let key = email_key(&u.value.email);
                if !valid_email(&key) {
                    self.problems.push(o.problem(
                        format!("{field}.email"),
                        format!("not an email address: {:?}", u.value.email),
                    ));
                    continue;
                }
                let Ok(role) = u.value.role.value.parse::<ServerRole>() else {
                    self.problems.push(at(u.value.role.line).problem(
                        format!("{field}.role"),
                        bad_role(
                            &u.value.role.value,
                            ServerRole::ALL.iter().map(|r| r.as_str()),
                        ),
                    ));
                    continue;
                };
                if let Some((_, _, first)) = users.iter().find(|(e, _, _)| *e == key) {
                    self.problems.push(o.problem(
                        format!("{field}.email"),
                        format!("duplicate user {key} (first named at line {})", first.line),
                    ));
                    continue;
                }
                users.push((key, role, o));
            }
            self.state.workspaces.push(DesiredWorkspace {
                domain,
                users,
                origin,
            });
        }
    }

    /// The index of a group, declared now if new.
    fn group(&mut self, name: &str, origin: Origin) -> usize {
        let key = group_key(name);
        if let Some(&i) = self.group_index.get(&key) {
            return i;
        }
        self.state.groups.push(DesiredGroup {
            name: name.to_string(),
            members: Vec::new(),
            origin,
        });
        let i = self.state.groups.len() - 1;
        self.group_index.insert(key, i);
        i
    }

    fn add_member(&mut self, group: usize, email: String, origin: Origin) {
        if self.group_members.insert((group, email.clone())) {
            self.state.groups[group].members.push((email, origin));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn user(
        &mut self,
        email: String,
        email_origin: &Origin,
        email_field: &str,
        role: Option<ServerRole>,
        full_name: Option<String>,
        data: Map<String, Value>,
        (data_origin, data_field): (&Origin, &str),
        origin: Origin,
        groups: Vec<(String, Origin)>,
    ) {
        let key = email_key(&email);
        let mut ok = true;
        if !valid_email(&key) {
            self.problems.push(
                email_origin.problem(email_field, format!("not an email address: {email:?}")),
            );
            ok = false;
        } else if let Some(first) = self.seen_emails.get(&key) {
            let where_ = if first.file == email_origin.file {
                format!("line {}", first.line)
            } else {
                format!("{}:{}", first.file, first.line)
            };
            self.problems.push(email_origin.problem(
                email_field,
                format!("duplicate email {key} (first at {where_})"),
            ));
            ok = false;
        }
        for k in data.keys() {
            if RESERVED_DATA_KEYS.contains(&k.as_str()) {
                self.problems.push(data_origin.problem(
                    format!("{data_field}.{k}"),
                    format!("{k:?} cannot be set as custom data"),
                ));
                ok = false;
            }
        }
        for (name, o) in groups {
            let name = name.trim().to_string();
            if name.is_empty() {
                continue;
            }
            if ok {
                let g = self.group(&name, o.clone());
                self.add_member(g, key.clone(), o);
            }
        }
        if !ok {
            return;
        }
        self.seen_emails.insert(key.clone(), email_origin.clone());
        self.state.user_index.insert(key, self.state.users.len());
        self.state.users.push(DesiredUser {
            email: email.trim().to_string(),
            role,
            full_name,
            data,
            origin,
        });
    }

    /// A CSV user list: a header row naming the columns `email` (required), `full_name`,
    /// `role`, `groups` (names separated by `;`) and `data.KEY` (custom data, as text). An
    /// empty cell leaves that field unmanaged.
    fn csv(&mut self, bytes: &[u8], file: &Rc<str>) {
        let at = |line: u64| Origin {
            file: Rc::clone(file),
            line: usize::try_from(line).unwrap_or(usize::MAX),
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.problems.push(csv_problem(file, &e));
                return;
            }
        };
        enum Column {
            Email,
            FullName,
            Role,
            Groups,
            Data(String),
        }
        let mut columns = Vec::new();
        let mut bad = false;
        for name in headers.iter() {
            let column = match name {
                "email" => Column::Email,
                "full_name" => Column::FullName,
                "role" => Column::Role,
                "groups" => Column::Groups,
                n if n.starts_with("data.") && n.len() > 5 => Column::Data(n[5..].to_string()),
                n => {
                    self.problems.push(at(1).problem(
                        format!("column {n:?}"),
                        "unknown column; expected email, full_name, role, groups or data.KEY",
                    ));
                    bad = true;
                    continue;
                }
            };
            columns.push(column);
        }
        if !columns.iter().any(|c| matches!(c, Column::Email)) {
            self.problems.push(at(1).problem(
                "column \"email\"",
                "missing: the header row must name an email column",
            ));
            return;
        }
        if bad {
            return;
        }
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    self.problems.push(csv_problem(file, &e));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        break;
                    }
                    continue;
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let origin = at(line);
            let (mut email, mut role, mut full_name) = (String::new(), None, None);
            let mut groups = Vec::new();
            let mut data = Map::new();
            for (column, cell) in columns.iter().zip(record.iter()) {
                match column {
                    Column::Email => email = cell.to_string(),
                    Column::FullName if !cell.is_empty() => full_name = Some(cell.to_string()),
                    Column::Role if !cell.is_empty() => match cell.parse::<ServerRole>() {
                        Ok(r) => role = Some(r),
                        Err(_) => self.problems.push(origin.problem(
                            "role",
                            bad_role(cell, ServerRole::ALL.iter().map(|r| r.as_str())),
                        )),
                    },
                    Column::Groups => groups.extend(
                        cell.split(';')
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .map(|g| (g.to_string(), origin.clone())),
                    ),
                    Column::Data(key) if !cell.is_empty() => {
                        data.insert(key.clone(), Value::String(cell.to_string()));
                    }
                    _ => {}
                }
            }
            self.user(
                email,
                &origin,
                "email",
                role,
                full_name,
                data,
                (&origin, "data"),
                origin.clone(),
                groups,
            );
        }
    }
}

fn same_member(a: &MemberRef, b: &MemberRef) -> bool {
    match (a, b) {
        (MemberRef::User(x), MemberRef::User(y)) => x == y,
        (MemberRef::Group(x), MemberRef::Group(y)) => group_key(x) == group_key(y),
        _ => false,
    }
}

fn bad_role<'a>(value: &str, allowed: impl Iterator<Item = &'a str>) -> String {
    format!(
        "unknown role {value:?}; expected one of: {}",
        allowed.collect::<Vec<_>>().join(", ")
    )
}

fn csv_problem(file: &Rc<str>, e: &csv::Error) -> Problem {
    let line = e
        .position()
        .map(|p| usize::try_from(p.line()).unwrap_or(usize::MAX));
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("this row has {len} fields, the header {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
        _ => e.to_string(),
    };
    Problem {
        file: file.to_string(),
        line,
        field: "row".into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*@old.example.com", "a@old.example.com"));
        assert!(!glob("*@old.example.com", "a@example.com"));
        assert!(glob("contractor-?@*", "contractor-1@x.org"));
        assert!(!glob("contractor-?@*", "contractor-12@x.org"));
        assert!(glob("*", ""));
    }

    #[test]
    fn emails() {
        assert!(valid_email("jane@example.com"));
        assert!(!valid_email("jane@example"));
        assert!(!valid_email("jane example@x.com"));
        assert!(!valid_email("@x.com"));
    }
}
