//! The shape of `endpoints.toml`, and its validation.
//!
//! Shared by `build.rs` (through `generator.rs`) and the generator's unit tests. Everything here
//! is pure: text in, a checked table or an error naming the entry and the problem out.

use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: String,
    pub verb: String,
    pub path: String,
    pub ok: Vec<u16>,
    pub reply: String,
    #[serde(default)]
    pub reply_first: bool,
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub exactly_one_of: Vec<String>,
    #[serde(default)]
    pub body_encoding: Option<BodyEncoding>,
    #[serde(default)]
    pub deprecated: Option<String>,
    pub doc: String,
    pub params: Vec<Param>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyEncoding {
    pub when: String,
    pub is: String,
    pub then: String,
    #[serde(rename = "else")]
    pub otherwise: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub default: Option<toml::Value>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub keep_null: bool,
    #[serde(default)]
    pub skip_empty: bool,
    #[serde(default)]
    pub join: Option<String>,
    #[serde(default)]
    pub only_when: Option<OnlyWhen>,
    #[serde(default)]
    pub example: Option<String>,
    #[serde(default)]
    pub doc: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnlyWhen {
    pub param: String,
    pub is: String,
}

pub const VERBS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
pub const LOCATIONS: &[&str] = &["path", "query", "json", "form", "json_form", "body"];
pub const TYPES: &[&str] = &[
    "string",
    "email",
    "bool",
    "date",
    "string_list",
    "id_list",
    "map",
    "json",
    "server_role",
    "project_role",
    "grant_type",
    "api_version",
];
/// Placeholders filled from the client, not from parameters.
pub const CLIENT_PLACEHOLDERS: &[&str] = &["tenant", "v"];
pub const SOURCES: &[&str] = &["client_id", "client_secret"];
const ENCODINGS: &[&str] = &["json", "form"];

/// One piece of a path template.
#[derive(Debug, PartialEq, Eq)]
pub enum PathPart {
    Literal(String),
    Placeholder(String),
}

impl Param {
    /// A parameter that is neither optional, defaulted nor filled from the client: a
    /// positional argument of the method.
    pub fn is_positional(&self) -> bool {
        !self.optional && self.default.is_none() && self.source.is_none()
    }
}

impl Endpoint {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// Splits a path template into literals and `{placeholders}`.
pub fn parse_path(path: &str) -> Result<Vec<PathPart>, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    let mut parts = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(PathPart::Literal(rest[..open].to_string()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| format!("path `{path}` has an unclosed `{{`"))?;
        let name = &rest[open + 1..open + close];
        if name.is_empty() || !is_ident(name) {
            return Err(format!("path `{path}` has a bad placeholder `{{{name}}}`"));
        }
        parts.push(PathPart::Placeholder(name.to_string()));
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("path `{path}` has a stray `}}`"));
    }
    if !rest.is_empty() {
        parts.push(PathPart::Literal(rest.to_string()));
    }
    Ok(parts)
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Reads the table. Every error names the entry (by name, or by position when the name is
/// missing) and the problem.
pub fn parse(src: &str) -> Result<Vec<Endpoint>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        endpoint: Vec<toml::Table>,
    }
    let raw: Raw = toml::from_str(src).map_err(|e| format!("endpoints.toml: {e}"))?;
    let mut out = Vec::with_capacity(raw.endpoint.len());
    let mut names = BTreeSet::new();
    for (i, table) in raw.endpoint.into_iter().enumerate() {
        let label = match table.get("name").and_then(|n| n.as_str()) {
            Some(n) => format!("endpoint `{n}`"),
            None => format!("endpoint #{} (no name)", i + 1),
        };
        let ep: Endpoint = table
            .try_into()
            .map_err(|e: toml::de::Error| format!("{label}: {}", e.message()))?;
        validate(&ep).map_err(|e| format!("{label}: {e}"))?;
        if !names.insert(ep.name.clone()) {
            return Err(format!("{label}: duplicate endpoint name"));
        }
        out.push(ep);
    }
    if out.is_empty() {
        return Err("endpoints.toml: no [[endpoint]] entries".to_string());
    }
    Ok(out)
}

fn validate(ep: &Endpoint) -> Result<(), String> {
    if !is_ident(&ep.name) {
        return Err("name must be snake_case".into());
    }
    if !VERBS.contains(&ep.verb.as_str()) {
        return Err(format!(
            "unknown verb `{}` (expected one of {VERBS:?})",
            ep.verb
        ));
    }
    if ep.doc.trim().is_empty() {
        return Err("missing doc".into());
    }
    if ep.ok.is_empty() {
        return Err("`ok` lists no status code".into());
    }
    if let Some(bad) = ep.ok.iter().find(|s| !(100..=599).contains(*s)) {
        return Err(format!("`ok` has status {bad}, not an HTTP status"));
    }
    if !is_reply_type(&ep.reply) {
        return Err(format!(
            "reply `{}` is not `()`, `Name` or `Vec<Name>`",
            ep.reply
        ));
    }
    if ep.reply_first && (ep.reply == "()" || ep.reply.starts_with("Vec<")) {
        return Err("reply_first needs a single element type as reply".into());
    }
    match ep.auth.as_deref() {
        None | Some("required") | Some("optional") => {}
        Some(other) => {
            return Err(format!(
                "unknown auth `{other}` (expected required or optional)"
            ));
        }
    }

    let mut seen = BTreeSet::new();
    for p in &ep.params {
        if !seen.insert(p.name.as_str()) {
            return Err(format!("duplicate parameter `{}`", p.name));
        }
        validate_param(ep, p).map_err(|e| format!("parameter `{}`: {e}", p.name))?;
    }

    // Path placeholders and path parameters must match one to one.
    let parts = parse_path(&ep.path)?;
    let mut placeholders = BTreeSet::new();
    for part in &parts {
        if let PathPart::Placeholder(name) = part {
            if !placeholders.insert(name.as_str()) {
                return Err(format!("path placeholder `{{{name}}}` appears twice"));
            }
            if CLIENT_PLACEHOLDERS.contains(&name.as_str()) {
                continue;
            }
            match ep.param(name) {
                Some(p) if p.location == "path" => {}
                Some(_) => {
                    return Err(format!(
                        "path placeholder `{{{name}}}`: its parameter is not `in = \"path\"`"
                    ));
                }
                None => return Err(format!("path placeholder `{{{name}}}` has no parameter")),
            }
        }
    }
    for p in ep.params.iter().filter(|p| p.location == "path") {
        if !placeholders.contains(p.name.as_str()) {
            return Err(format!(
                "path parameter `{}` does not appear in path `{}`",
                p.name, ep.path
            ));
        }
    }

    let has = |loc: &str| ep.params.iter().any(|p| p.location == loc);
    if has("json") && (has("form") || has("json_form")) {
        return Err("mixes JSON body fields and form body fields".into());
    }
    let bodies = ep.params.iter().filter(|p| p.location == "body").count();
    if bodies > 1 {
        return Err("more than one `in = \"body\"` parameter".into());
    }
    if bodies == 1 && (has("json") || has("form") || has("json_form")) {
        return Err("an `in = \"body\"` parameter cannot be combined with body fields".into());
    }
    if ep.verb == "GET" && (bodies > 0 || has("json") || has("form") || has("json_form")) {
        return Err("a GET has no body".into());
    }
    if let Some(enc) = &ep.body_encoding {
        if bodies == 0 {
            return Err("body_encoding without an `in = \"body\"` parameter".into());
        }
        if !ENCODINGS.contains(&enc.then.as_str()) || !ENCODINGS.contains(&enc.otherwise.as_str()) {
            return Err(format!(
                "body_encoding: encodings must be one of {ENCODINGS:?}"
            ));
        }
        check_switch(ep, &enc.when).map_err(|e| format!("body_encoding: {e}"))?;
    }

    if !ep.exactly_one_of.is_empty() {
        if ep.exactly_one_of.len() < 2 {
            return Err("exactly_one_of needs at least two parameters".into());
        }
        for name in &ep.exactly_one_of {
            match ep.param(name) {
                Some(p) if p.optional => {}
                Some(_) => return Err(format!("exactly_one_of: `{name}` must be optional")),
                None => return Err(format!("exactly_one_of: no parameter `{name}`")),
            }
        }
    }
    Ok(())
}

fn check_switch(ep: &Endpoint, name: &str) -> Result<(), String> {
    match ep.param(name) {
        None => Err(format!("no parameter `{name}`")),
        Some(p)
            if matches!(
                p.ty.as_str(),
                "string" | "server_role" | "project_role" | "grant_type" | "api_version"
            ) =>
        {
            Ok(())
        }
        Some(p) => Err(format!(
            "parameter `{name}` of type {} cannot be compared with a value",
            p.ty
        )),
    }
}

fn validate_param(ep: &Endpoint, p: &Param) -> Result<(), String> {
    if !is_ident(&p.name) {
        return Err("name must be snake_case".into());
    }
    if !LOCATIONS.contains(&p.location.as_str()) {
        return Err(format!(
            "unknown location `{}` (expected one of {LOCATIONS:?})",
            p.location
        ));
    }
    if !TYPES.contains(&p.ty.as_str()) {
        return Err(format!(
            "unknown type `{}` (expected one of {TYPES:?})",
            p.ty
        ));
    }
    if p.doc.trim().is_empty() {
        return Err("missing doc".into());
    }
    if p.optional && p.default.is_some() {
        return Err("both optional and default".into());
    }
    if let Some(src) = &p.source {
        if !SOURCES.contains(&src.as_str()) {
            return Err(format!(
                "unknown source `{src}` (expected one of {SOURCES:?})"
            ));
        }
        if p.optional || p.default.is_some() || p.ty != "string" {
            return Err(
                "a `source` parameter is a plain string, neither optional nor defaulted".into(),
            );
        }
    }
    if let Some(d) = &p.default {
        let fits = match (p.ty.as_str(), d) {
            ("bool", toml::Value::Boolean(_)) => true,
            ("string", toml::Value::String(_)) => true,
            ("api_version", toml::Value::String(s)) => is_api_version(s),
            _ => false,
        };
        if !fits {
            return Err(format!("default {} does not fit type {}", show(d), p.ty));
        }
    }
    if p.location == "path" {
        if p.optional {
            return Err("a path parameter cannot be optional".into());
        }
        if !matches!(p.ty.as_str(), "string" | "api_version") {
            return Err(format!("a path parameter cannot be of type {}", p.ty));
        }
    }
    if p.location == "body" && p.ty != "map" {
        return Err("an `in = \"body\"` parameter must be of type map".into());
    }
    if p.ty == "map" && p.location != "body" {
        return Err("type map only goes `in = \"body\"`".into());
    }
    if p.keep_null && (p.location != "json" || !(p.optional || p.source.is_some())) {
        return Err("keep_null is for optional or sourced JSON fields".into());
    }
    if p.skip_empty
        && !matches!(
            p.ty.as_str(),
            "string" | "email" | "string_list" | "id_list"
        )
    {
        return Err(format!("skip_empty does not apply to type {}", p.ty));
    }
    if p.join.is_some()
        && (p.ty != "string_list" || !matches!(p.location.as_str(), "query" | "form"))
    {
        return Err("join is for string_list query or form values".into());
    }
    if matches!(p.ty.as_str(), "string_list" | "id_list")
        && matches!(p.location.as_str(), "query" | "form")
        && p.join.is_none()
    {
        return Err("a list in a query or form needs `join`".into());
    }
    if matches!(p.ty.as_str(), "id_list" | "json")
        && !matches!(p.location.as_str(), "json" | "json_form")
    {
        return Err(format!("type {} only goes in json or json_form", p.ty));
    }
    if let Some(w) = &p.only_when {
        if w.param == p.name {
            return Err("only_when refers to itself".into());
        }
        check_switch(ep, &w.param).map_err(|e| format!("only_when: {e}"))?;
    }
    if p.is_positional() && p.example.is_none() {
        return Err("a required parameter needs an `example` for the generated doc".into());
    }
    Ok(())
}

pub fn is_api_version(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn is_reply_type(s: &str) -> bool {
    let name = |t: &str| {
        let mut c = t.chars();
        matches!(c.next(), Some(f) if f.is_ascii_uppercase())
            && c.all(|c| c.is_ascii_alphanumeric())
    };
    s == "()"
        || name(s)
        || s.strip_prefix("Vec<")
            .and_then(|r| r.strip_suffix('>'))
            .is_some_and(name)
}

/// A default value as the docs show it (`false`, `"v1"`).
pub fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        other => format!("{other:?}"),
    }
}
