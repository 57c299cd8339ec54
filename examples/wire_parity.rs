//! The Rust side of the wire-parity check: sends every call of
//! `scripts/wire_parity/calls.json` with `.send()` to a capture server, so the bytes ureq puts
//! on the wire can be compared with what the Python client sends for the same calls.
//!
//! ```text
//! cargo run --example wire_parity -- http://127.0.0.1:PORT [CALLS_JSON] [RESULTS_JSONL]
//! ```
//!
//! Normally run by `scripts/wire-parity.sh`. Before each call it sends
//! `GET /__wire_parity__/mark/<call id>` on its own connection (not through the client), so
//! the capture log can be cut into calls. Each call runs on a fresh client built from its
//! profile; the outcome of each call (`ok` or the error) is written as a JSON line to
//! RESULTS_JSONL (default: stdout). Reply decoding errors do not matter here: only the sent
//! requests are compared.

use serde_json::{Map, Value};
use squirro_user_api::{
    ApiVersion, Client, Error, Grant, GrantType, ProjectRole, ServerRole, Timestamp,
};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_CALLS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/wire_parity/calls.json"
);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else {
        eprintln!("usage: wire_parity URL [CALLS_JSON] [RESULTS_JSONL]");
        return ExitCode::from(2);
    };
    let url = url.trim_end_matches('/');
    let calls_path = args.get(1).map(String::as_str).unwrap_or(DEFAULT_CALLS);
    match run(url, calls_path, args.get(2).map(String::as_str)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("wire_parity: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(url: &str, calls_path: &str, results_path: Option<&str>) -> Result<(), String> {
    let text = std::fs::read_to_string(calls_path).map_err(|e| format!("{calls_path}: {e}"))?;
    let spec: Value = serde_json::from_str(&text).map_err(|e| format!("{calls_path}: {e}"))?;
    let profiles = spec["profiles"]
        .as_object()
        .ok_or("calls.json: no profiles")?;
    let calls = spec["calls"].as_array().ok_or("calls.json: no calls")?;
    let mut out: Box<dyn Write> = match results_path {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| format!("{p}: {e}"))?),
        None => Box::new(std::io::stdout()),
    };
    let authority = url
        .strip_prefix("http://")
        .ok_or("the capture URL must be http://host:port")?;
    for call in calls {
        let id = call["id"].as_str().ok_or("a call without an id")?;
        mark(authority, id)?;
        let profile_name = call["client"].as_str().unwrap_or("default");
        let profile = profiles
            .get(profile_name)
            .ok_or_else(|| format!("{id}: unknown profile {profile_name}"))?;
        let mut outcomes = Vec::new();
        match client(url, profile) {
            Err(e) => outcomes.push(format!("client build error: {e}")),
            Ok(c) => {
                for step in steps(call) {
                    let step = step.map_err(|e| format!("{id}: {e}"))?;
                    match call_one(&c, &step).map_err(|e| format!("{id}: {}: {e}", step.method))? {
                        Ok(()) => outcomes.push("ok".to_string()),
                        Err(e) => {
                            outcomes.push(format!("error: {e}"));
                            break;
                        }
                    }
                }
            }
        }
        let line = serde_json::json!({"id": id, "outcome": outcomes.join("; ")});
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    mark(authority, "__end__")?;
    out.flush().map_err(|e| e.to_string())
}

/// The marker request, on its own connection (plain HTTP/1.1, `Connection: close`).
fn mark(authority: &str, id: &str) -> Result<(), String> {
    let mut s = TcpStream::connect(authority).map_err(|e| format!("mark {id}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut path = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    write!(s, "GET /__wire_parity__/mark/{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("mark {id}: {e}"))?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)
        .map_err(|e| format!("mark {id}: {e}"))?;
    if !reply.starts_with(b"HTTP/1.1 204") && !reply.starts_with(b"HTTP/1.0 204") {
        return Err(format!(
            "mark {id}: unexpected reply {:?}",
            String::from_utf8_lossy(&reply)
        ));
    }
    Ok(())
}

fn client(url: &str, profile: &Value) -> Result<Client, Error> {
    let text = |k: &str| profile.get(k).and_then(Value::as_str);
    let mut b = match text("user_api_url_suffix") {
        Some(suffix) => Client::builder().user_api_url(format!("{url}{suffix}")),
        None => Client::builder().cluster(format!("{url}{}", text("cluster_suffix").unwrap_or(""))),
    }
    .no_proxy();
    if let Some(v) = text("client_id") {
        b = b.client_id(v);
    }
    if let Some(v) = text("client_secret") {
        b = b.client_secret(v);
    }
    if let Some(v) = text("tenant") {
        b = b.tenant(v);
    }
    if let Some(v) = text("version") {
        b = b.version(v.parse()?);
    }
    if let Some(v) = text("access_token") {
        b = b.access_token(v);
    }
    if let Some(v) = text("refresh_token") {
        b = b.refresh_token(v);
    }
    b.build()
}

/// One call of a method: positional arguments and keyword arguments, as in Python.
struct Step {
    method: String,
    args: Vec<Value>,
    kwargs: Map<String, Value>,
    used: RefCell<Vec<String>>,
}

fn steps(call: &Value) -> Vec<Result<Step, String>> {
    let one = |v: &Value| -> Result<Step, String> {
        Ok(Step {
            method: v["method"]
                .as_str()
                .ok_or("a step without a method")?
                .to_string(),
            args: v
                .get("args")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            kwargs: v
                .get("kwargs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            used: RefCell::new(Vec::new()),
        })
    };
    match call.get("steps").and_then(Value::as_array) {
        Some(list) => list.iter().map(one).collect(),
        None => vec![one(call)],
    }
}

impl Step {
    /// Required argument `i` (or the keyword `name`).
    fn req(&self, i: usize, name: &str) -> Result<&Value, String> {
        match self.args.get(i) {
            Some(v) => Ok(v),
            None => {
                self.used.borrow_mut().push(name.to_string());
                self.kwargs
                    .get(name)
                    .ok_or_else(|| format!("missing argument {name}"))
            }
        }
    }
    fn req_str(&self, i: usize, name: &str) -> Result<String, String> {
        as_string(self.req(i, name)?, name)
    }
    /// Optional keyword `name`; `null` counts as not given (Python's `None` default).
    fn opt(&self, name: &str) -> Option<&Value> {
        self.used.borrow_mut().push(name.to_string());
        self.kwargs.get(name).filter(|v| !v.is_null())
    }
    fn opt_str(&self, name: &str) -> Result<Option<String>, String> {
        self.opt(name).map(|v| as_string(v, name)).transpose()
    }
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, String> {
        self.opt(name)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| format!("{name} must be a boolean"))
            })
            .transpose()
    }
    fn opt_list(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        self.opt(name).map(|v| string_list(v, name)).transpose()
    }
    fn opt_date(&self, name: &str) -> Result<Option<Timestamp>, String> {
        self.opt(name)
            .map(|v| {
                let text = v
                    .get("$datetime")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{name} must be {{\"$datetime\": ...}}"))?;
                text.parse::<Timestamp>().map_err(|e| e.to_string())
            })
            .transpose()
    }
    /// The keywords the mapping did not read: a call list the Rust side would silently ignore.
    fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.kwargs
            .keys()
            .filter(|k| !used.contains(k))
            .cloned()
            .collect()
    }
}

/// A JSON argument with the special values of calls.json resolved: `{"$f64": "text"}` is the
/// float parsed from the text by `str::parse` (correctly rounded; serde_json's own parser,
/// without `float_roundtrip`, may be a unit in the last place off).
fn resolve(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("$f64") => {
            let text = o["$f64"].as_str().ok_or("$f64 must hold a string")?;
            let f: f64 = text.parse().map_err(|e| format!("$f64 {text:?}: {e}"))?;
            Value::Number(serde_json::Number::from_f64(f).ok_or("$f64 must be finite")?)
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), resolve(x)?)))
                .collect::<Result<_, String>>()?,
        ),
        Value::Array(a) => Value::Array(a.iter().map(resolve).collect::<Result<_, _>>()?),
        other => other.clone(),
    })
}

fn as_string(v: &Value, name: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{name} must be a string"))
}

fn string_list(v: &Value, name: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or_else(|| format!("{name} must be a list"))?
        .iter()
        .map(|x| as_string(x, name))
        .collect()
}

/// Python's group members are `[{"id": ...}]`; ours are the ids.
fn member_ids(v: &Value) -> Result<Vec<String>, String> {
    v.as_array()
        .ok_or("members must be a list")?
        .iter()
        .map(|m| match m.as_object() {
            Some(o) if o.len() == 1 => o
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| "members: {\"id\": string}".into()),
            _ => Err("members: each must be exactly {\"id\": string}".to_string()),
        })
        .collect()
}

fn role<T: std::str::FromStr<Err = Error>>(
    step: &Step,
    i: usize,
    name: &str,
) -> Result<Result<T, Error>, String> {
    Ok(step.req_str(i, name)?.parse::<T>())
}

/// Sends one step. The outer `Err` is a call list this mapping cannot express; the inner
/// result is the client's outcome.
#[allow(deprecated)]
fn call_one(c: &Client, s: &Step) -> Result<Result<(), Error>, String> {
    // Early returns for enum arguments that do not parse: the Rust API refuses them.
    macro_rules! parsed {
        ($t:ty, $i:expr, $name:expr) => {
            match role::<$t>(s, $i, $name)? {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            }
        };
    }
    let outcome = match s.method.as_str() {
        "get_user_data" => {
            let mut b = c.get_user_data(s.req_str(0, "user_id")?);
            if let Some(v) = s.opt_bool("include_projects")? {
                b = b.include_projects(v);
            }
            if let Some(v) = s.opt_str("api_version")? {
                b = b.api_version(match v.parse::<ApiVersion>() {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                });
            }
            b.send().map(drop)
        }
        "update_user_data" => {
            let mut b =
                c.update_user_data(s.req_str(0, "user_id")?, resolve(s.req(1, "changes")?)?);
            if let Some(v) = s.opt_str("api_version")? {
                b = b.api_version(match v.parse::<ApiVersion>() {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                });
            }
            b.send().map(drop)
        }
        "change_user_password" => c
            .change_user_password(
                s.req_str(0, "user_id")?,
                s.req_str(1, "current_password")?,
                s.req_str(2, "new_password")?,
                s.req_str(3, "new_password_confirm")?,
            )
            .send()
            .map(drop),
        "get_users_password_policy" => c.get_users_password_policy().send().map(drop),
        "get_users" => {
            let mut b = c.get_users();
            if let Some(v) = s.opt_bool("include_config")? {
                b = b.include_config(v);
            }
            b.send().map(drop)
        }
        "add_user" => {
            let mut b = c.add_user();
            if let Some(v) = s.opt_str("email")? {
                b = b.email(v);
            }
            if let Some(v) = s.opt_str("password")? {
                b = b.password(v);
            }
            if let Some(v) = s.opt_str("role")? {
                // Python's `if role:` drops an empty role; ours has no empty role.
                if !v.is_empty() {
                    b = b.role(match v.parse::<ServerRole>() {
                        Ok(v) => v,
                        Err(e) => return Ok(Err(e)),
                    });
                }
            }
            b.send().map(drop)
        }
        "delete_user" => c.delete_user(s.req_str(0, "user_id")?).send(),
        "get_authentication" => c
            .get_authentication(s.req_str(0, "user_id")?, s.req_str(1, "service")?)
            .send()
            .map(drop),
        "new_or_modify_authentication" => {
            let mut b = c.new_or_modify_authentication(
                s.req_str(0, "user_id")?,
                s.req_str(1, "service")?,
                s.req_str(2, "service_user")?,
                s.req_str(3, "access_token")?,
            );
            if let Some(v) = s.opt_str("access_secret")? {
                b = b.access_secret(v);
            }
            if let Some(v) = s.opt_str("display_name")? {
                b = b.display_name(v);
            }
            if let Some(v) = s.opt_date("access_token_expires")? {
                b = b.access_token_expires(v);
            }
            if let Some(v) = s.opt_date("access_secret_expires")? {
                b = b.access_secret_expires(v);
            }
            b.send().map(drop)
        }
        "delete_authentication" => c
            .delete_authentication(s.req_str(0, "user_id")?, s.req_str(1, "service")?)
            .send(),
        "new_grant" => {
            let mut b = c.new_grant(s.req_str(0, "user_id")?, parsed!(GrantType, 1, "type"));
            if let Some(v) = s.opt_str("for_client_id")? {
                b = b.for_client_id(v);
            }
            if let Some(v) = s.opt_list("project_permissions")? {
                b = b.project_permissions(v);
            }
            b.send().map(drop)
        }
        "delete_grant" => c
            .delete_grant(s.req_str(0, "user_id")?, s.req_str(1, "grant_id")?)
            .send(),
        "get_user_grants" => c.get_user_grants(s.req_str(0, "user_id")?).send().map(drop),
        "get_session" => c
            .get_session(s.req_str(0, "user_id")?, s.req_str(1, "session_id")?)
            .send()
            .map(drop),
        "delete_session" => c
            .delete_session(s.req_str(0, "user_id")?, s.req_str(1, "session_id")?)
            .send(),
        "get_project_members" => c
            .get_project_members(s.req_str(0, "project_id")?)
            .send()
            .map(drop),
        "add_project_member" => {
            let mut b =
                c.add_project_member(s.req_str(0, "project_id")?, parsed!(ProjectRole, 1, "role"));
            if let Some(v) = s.opt_str("user_id")? {
                b = b.user_id(v);
            }
            if let Some(v) = s.opt_str("group_id")? {
                b = b.group_id(v);
            }
            b.send().map(drop)
        }
        "update_project_member" => c
            .update_project_member(
                s.req_str(0, "project_id")?,
                s.req_str(1, "member_id")?,
                parsed!(ProjectRole, 2, "role"),
            )
            .send()
            .map(drop),
        "delete_project_member" => c
            .delete_project_member(s.req_str(0, "project_id")?, s.req_str(1, "member_id")?)
            .send(),
        "get_groups" => c.get_groups().send().map(drop),
        "create_group" => {
            let mut b = c.create_group(s.req_str(0, "name")?);
            if let Some(v) = s.opt("members") {
                b = b.members(member_ids(v)?);
            }
            b.send().map(drop)
        }
        "get_group" => {
            let mut b = c.get_group(s.req_str(0, "group_id")?);
            if let Some(v) = s.opt_bool("include_projects")? {
                b = b.include_projects(v);
            }
            b.send().map(drop)
        }
        "update_group" => {
            let mut b = c.update_group(s.req_str(0, "group_id")?, s.req_str(1, "name")?);
            if let Some(v) = s.opt("members") {
                b = b.members(member_ids(v)?);
            }
            if let Some(v) = s.opt("projects") {
                b = b.projects(resolve(v)?);
            }
            b.send().map(drop)
        }
        "delete_group" => c.delete_group(s.req_str(0, "group_id")?).send(),
        "add_group_member" => c
            .add_group_member(s.req_str(0, "group_id")?, s.req_str(1, "user_id")?)
            .send()
            .map(drop),
        "delete_group_member" => c
            .delete_group_member(s.req_str(0, "group_id")?, s.req_str(1, "user_id")?)
            .send(),
        "get_token_from_msexchuid" => c
            .get_token_from_msexchuid(s.req_str(0, "msexchuid")?)
            .send()
            .map(drop),
        "get_token_from_msexchuid_token" => c
            .get_token_from_msexchuid_token(s.req_str(0, "msexchuid_token")?)
            .send()
            .map(drop),
        "signup" => {
            let mut b = c.signup(s.req_str(0, "email")?, s.req_str(1, "password")?);
            if let Some(v) = s.opt_str("full_name")? {
                b = b.full_name(v);
            }
            b.send().map(drop)
        }
        "get_workspaces" => {
            let mut b = c.get_workspaces();
            if let Some(v) = s.opt_bool("include_projects")? {
                b = b.include_projects(v);
            }
            if let Some(v) = s.opt_bool("admin_only")? {
                b = b.admin_only(v);
            }
            b.send().map(drop)
        }
        "create_workspace" => c.create_workspace(s.req_str(0, "title")?).send().map(drop),
        "update_workspace" => c
            .update_workspace(s.req_str(0, "workspace_domain")?, s.req_str(1, "title")?)
            .send()
            .map(drop),
        "delete_workspace" => c.delete_workspace(s.req_str(0, "workspace_domain")?).send(),
        "add_workspace_users" => c
            .add_workspace_users(
                s.req_str(0, "workspace_domain")?,
                string_list(s.req(1, "emails")?, "emails")?,
                parsed!(ServerRole, 2, "role"),
            )
            .send()
            .map(drop),
        "set_workspace_user_role" => c
            .set_workspace_user_role(
                s.req_str(0, "workspace_domain")?,
                s.req_str(1, "user_id")?,
                parsed!(ServerRole, 2, "role"),
            )
            .send()
            .map(drop),
        "get_workspace_users" => c
            .get_workspace_users(s.req_str(0, "workspace_domain")?)
            .send()
            .map(drop),
        "resolve_workspace" => c
            .resolve_workspace(&s.req_str(0, "workspace_identifier")?)
            .map(drop),
        "delete_workspace_user" => c.delete_workspace_user(
            &s.req_str(0, "workspace_domain")?,
            &s.req_str(1, "user_id")?,
        ),
        "authenticate" => {
            // Python's precedence: access token, refresh token, external id, password.
            let grant = if let Some(t) = s.opt_str("access_token")? {
                Grant::access_token(t)
            } else if let Some(t) = s.opt_str("refresh_token")? {
                Grant::refresh_token(t)
            } else if let (Some(service), Some(user)) =
                (s.opt_str("auth_service")?, s.opt_str("auth_user")?)
            {
                Grant::external_id(service, user)
            } else if let (Some(user), Some(password)) =
                (s.opt_str("username")?, s.opt_str("password")?)
            {
                Grant::password(user, password)
            } else {
                return Err("authenticate: no credentials".into());
            };
            // Mark every grant keyword as read (only one of them is used, as in Python).
            for k in [
                "access_token",
                "refresh_token",
                "auth_service",
                "auth_user",
                "username",
                "password",
            ] {
                s.opt(k);
            }
            let mut b = c.authenticate(grant);
            if let Some(t) = s.opt_str("tenant")? {
                b = b.tenant(t);
            }
            if let Some(v) = s.opt("user_information") {
                b = b.user_information(resolve(v)?);
            }
            b.send().map(drop)
        }
        other => return Err(format!("no mapping for method {other}")),
    };
    let unused = s.unused();
    if !unused.is_empty() {
        return Err(format!(
            "keyword arguments the Rust mapping does not read: {unused:?}"
        ));
    }
    Ok(outcome)
}
