//! The shape of `endpoints.toml`, and its validation.
//!
//! Shared by `build.rs` (through `generator.rs`) and the generator's tests. Everything here is
//! pure: text in, a checked table or an error naming the entry and the problem out.
//!
//! Every closed value of the table (`verb`, `auth`, `in`, `type`, `source`, the encodings of
//! `body_encoding`, `reply`, `path`, `default`) is a type here that serde builds or refuses, so
//! the generator matches on variants and never compares spellings.

use serde::Deserialize;
use std::collections::BTreeSet;

/// A closed set of spellings in the table, deserialized by serde through `TryFrom<String>` so an
/// unknown spelling is refused with `unknown WHAT `x` (expected one of ...)`.
macro_rules! spec_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "String")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// The value as the table spells it.
            #[allow(dead_code)] // Not every enum's spelling is printed by the generator.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, String> {
                match s.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{s}` (expected one of {})",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

spec_enum!(
    /// `verb`: the HTTP method.
    Verb, "verb", { Get => "GET", Post => "POST", Put => "PUT", Delete => "DELETE" }
);

spec_enum!(
    /// `auth`: whether the request needs a token and a tenant.
    Auth, "auth", { Required => "required", Optional => "optional" }
);

spec_enum!(
    /// `in`: where a parameter goes on the wire.
    Location, "location", {
        Path => "path",
        Query => "query",
        Json => "json",
        Form => "form",
        JsonForm => "json_form",
        Body => "body",
    }
);

spec_enum!(
    /// `type`: the type of a parameter.
    ParamType, "type", {
        String => "string",
        Email => "email",
        Bool => "bool",
        Date => "date",
        StringList => "string_list",
        IdList => "id_list",
        Map => "map",
        Json => "json",
        ServerRole => "server_role",
        ProjectRole => "project_role",
        GrantType => "grant_type",
        ApiVersion => "api_version",
    }
);

spec_enum!(
    /// `source`: a value filled from the client's configuration.
    Source, "source", { ClientId => "client_id", ClientSecret => "client_secret" }
);

spec_enum!(
    /// `then` and `else` of `body_encoding`: how a whole body is encoded.
    Encoding, "encoding", { Json => "json", Form => "form" }
);

/// A parameter type whose values are a closed set, modelled in the crate as a Rust enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    ServerRole,
    ProjectRole,
    GrantType,
    ApiVersion,
}

impl Closed {
    /// The values the table may name, as the API spells them. They mirror the enums of
    /// `src/types.rs` (a value missing there fails the crate's build on the generated code).
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Closed::ServerRole => &["admin", "user", "demo", "reader"],
            Closed::ProjectRole => &["reader", "member", "admin"],
            Closed::GrantType => &["user", "service"],
            Closed::ApiVersion => &["v0", "v1", "v2"],
        }
    }

    fn check(self, ty: ParamType, what: &str, value: &str) -> Result<(), String> {
        if self.values().contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{what} `{value}` is not a value of type {} (expected one of {})",
                ty.as_str(),
                self.values().join(", ")
            ))
        }
    }
}

impl ParamType {
    /// `Some` for the types whose values are a closed set.
    pub fn closed(self) -> Option<Closed> {
        match self {
            ParamType::ServerRole => Some(Closed::ServerRole),
            ParamType::ProjectRole => Some(Closed::ProjectRole),
            ParamType::GrantType => Some(Closed::GrantType),
            ParamType::ApiVersion => Some(Closed::ApiVersion),
            ParamType::String
            | ParamType::Email
            | ParamType::Bool
            | ParamType::Date
            | ParamType::StringList
            | ParamType::IdList
            | ParamType::Map
            | ParamType::Json => None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub name: String,
    pub verb: Verb,
    pub path: Path,
    pub ok: Vec<u16>,
    pub reply: Reply,
    #[serde(default)]
    pub reply_first: bool,
    #[serde(default = "auth_required")]
    pub auth: Auth,
    #[serde(default)]
    pub exactly_one_of: Vec<String>,
    #[serde(default)]
    pub body_encoding: Option<BodyEncoding>,
    #[serde(default)]
    pub deprecated: Option<String>,
    pub doc: String,
    /// Read one by one by [`parse`], so an error names the parameter.
    #[serde(skip)]
    pub params: Vec<Param>,
}

fn auth_required() -> Auth {
    Auth::Required
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyEncoding {
    pub when: String,
    pub is: String,
    pub then: Encoding,
    #[serde(rename = "else")]
    pub otherwise: Encoding,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: Location,
    #[serde(rename = "type")]
    pub ty: ParamType,
    #[serde(default)]
    pub optional: bool,
    #[serde(default)]
    pub default: Option<DefaultValue>,
    #[serde(default)]
    pub source: Option<Source>,
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

/// `default`: a value always sent unless changed. Whether it fits the parameter's type is
/// checked by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "toml::Value")]
pub enum DefaultValue {
    Bool(bool),
    Text(String),
}

impl TryFrom<toml::Value> for DefaultValue {
    type Error = String;

    fn try_from(v: toml::Value) -> Result<Self, String> {
        match v {
            toml::Value::Boolean(b) => Ok(DefaultValue::Bool(b)),
            toml::Value::String(s) => Ok(DefaultValue::Text(s)),
            other => Err(format!(
                "default is of TOML type {}, neither a boolean nor a string",
                other.type_str()
            )),
        }
    }
}

impl std::fmt::Display for DefaultValue {
    /// As the docs show it (`false`, `"v1"`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefaultValue::Bool(b) => write!(f, "{b}"),
            DefaultValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// `reply`: the reply type in `squirro_user_api::models`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Reply {
    /// `()`: no reply body.
    Unit,
    /// `Name`.
    One(String),
    /// `Vec<Name>`.
    List(String),
}

impl TryFrom<String> for Reply {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let name = |t: &str| {
            let mut c = t.chars();
            matches!(c.next(), Some(f) if f.is_ascii_uppercase())
                && c.all(|c| c.is_ascii_alphanumeric())
        };
        if s == "()" {
            return Ok(Reply::Unit);
        }
        if name(&s) {
            return Ok(Reply::One(s));
        }
        match s.strip_prefix("Vec<").and_then(|r| r.strip_suffix('>')) {
            Some(inner) if name(inner) => Ok(Reply::List(inner.to_string())),
            _ => Err(format!("reply `{s}` is not `()`, `Name` or `Vec<Name>`")),
        }
    }
}

/// `path`: a template, relative to the user API base, as written and in parts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Path {
    pub template: String,
    pub parts: Vec<PathPart>,
}

/// One piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Literal(String),
    /// `{tenant}`: the client's tenant.
    Tenant,
    /// `{v}`: the client's API version.
    Version,
    /// Any other `{placeholder}`: the parameter of that name, `in = "path"`.
    Param(String),
}

impl TryFrom<String> for Path {
    type Error = String;

    fn try_from(template: String) -> Result<Self, String> {
        let parts = parse_path(&template)?;
        Ok(Path { template, parts })
    }
}

impl Param {
    /// A parameter that is neither optional, defaulted nor filled from the client: a
    /// positional argument of the method.
    pub fn is_positional(&self) -> bool {
        !self.optional && self.default.is_none() && self.source.is_none()
    }
}

/// What a switch (`only_when`, `body_encoding`) compares: a closed-set parameter and a value.
#[derive(Debug, Clone, Copy)]
pub struct SwitchTest<'a> {
    pub param: &'a Param,
    /// The closed type of `param`.
    pub of: Closed,
    pub value: &'a str,
}

impl Endpoint {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameter `param` of a closed type and its value `value`, or why not.
    pub fn switch<'a>(&'a self, param: &str, value: &'a str) -> Result<SwitchTest<'a>, String> {
        let p = self
            .param(param)
            .ok_or_else(|| format!("no parameter `{param}`"))?;
        let of = p.ty.closed().ok_or_else(|| {
            format!(
                "parameter `{param}` of type {} cannot be compared with a value",
                p.ty.as_str()
            )
        })?;
        of.check(p.ty, "value", value)?;
        Ok(SwitchTest {
            param: p,
            of,
            value,
        })
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
        parts.push(match name {
            "tenant" => PathPart::Tenant,
            "v" => PathPart::Version,
            _ => PathPart::Param(name.to_string()),
        });
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

/// `endpoint #3 (no name)` or `endpoint `get_user``: how errors name a table entry.
fn label(kind: &str, index: usize, table: &toml::Table) -> String {
    match table.get("name").and_then(|n| n.as_str()) {
        Some(n) => format!("{kind} `{n}`"),
        None => format!("{kind} #{} (no name)", index + 1),
    }
}

/// Reads the table. Every error names the entry (by name, or by position when the name is
/// missing), the parameter when the problem is one of a parameter's, and the problem.
pub fn parse(src: &str) -> Result<Vec<Endpoint>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        endpoint: Vec<toml::Table>,
    }
    let raw: Raw = toml::from_str(src).map_err(|e| format!("endpoints.toml: {e}"))?;
    let mut out = Vec::with_capacity(raw.endpoint.len());
    let mut names = BTreeSet::new();
    for (i, mut table) in raw.endpoint.into_iter().enumerate() {
        let label = label("endpoint", i, &table);
        let params = table.remove("params");
        let mut ep: Endpoint = table
            .try_into()
            .map_err(|e: toml::de::Error| format!("{label}: {}", e.message()))?;
        ep.params = parse_params(params).map_err(|e| format!("{label}: {e}"))?;
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

fn parse_params(params: Option<toml::Value>) -> Result<Vec<Param>, String> {
    let items = match params {
        Some(toml::Value::Array(items)) => items,
        Some(_) => return Err("`params` must be an array of tables".into()),
        None => return Err("missing field `params`".into()),
    };
    let mut out = Vec::with_capacity(items.len());
    for (j, item) in items.into_iter().enumerate() {
        let toml::Value::Table(table) = item else {
            return Err(format!("parameter #{}: not a table", j + 1));
        };
        let label = label("parameter", j, &table);
        let p: Param = table
            .try_into()
            .map_err(|e: toml::de::Error| format!("{label}: {}", e.message()))?;
        out.push(p);
    }
    Ok(out)
}

fn validate(ep: &Endpoint) -> Result<(), String> {
    if !is_ident(&ep.name) {
        return Err("name must be snake_case".into());
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
    if ep.reply_first && !matches!(ep.reply, Reply::One(_)) {
        return Err("reply_first needs a single element type as reply".into());
    }

    let mut seen = BTreeSet::new();
    for p in &ep.params {
        if !seen.insert(p.name.as_str()) {
            return Err(format!("duplicate parameter `{}`", p.name));
        }
        validate_param(ep, p).map_err(|e| format!("parameter `{}`: {e}", p.name))?;
    }

    // Path placeholders and path parameters must match one to one.
    let mut placeholders = BTreeSet::new();
    for part in &ep.path.parts {
        let name = match part {
            PathPart::Literal(_) => continue,
            PathPart::Tenant => "tenant",
            PathPart::Version => "v",
            PathPart::Param(name) => name.as_str(),
        };
        if !placeholders.insert(name) {
            return Err(format!("path placeholder `{{{name}}}` appears twice"));
        }
        if let PathPart::Param(name) = part {
            match ep.param(name).map(|p| p.location) {
                Some(Location::Path) => {}
                Some(_) => {
                    return Err(format!(
                        "path placeholder `{{{name}}}`: its parameter is not `in = \"path\"`"
                    ));
                }
                None => return Err(format!("path placeholder `{{{name}}}` has no parameter")),
            }
        }
    }
    for p in &ep.params {
        if p.location == Location::Path && !placeholders.contains(p.name.as_str()) {
            return Err(format!(
                "path parameter `{}` does not appear in path `{}`",
                p.name, ep.path.template
            ));
        }
    }

    let count = |loc: Location| ep.params.iter().filter(|p| p.location == loc).count();
    let json_fields = count(Location::Json);
    let form_fields = count(Location::Form) + count(Location::JsonForm);
    let bodies = count(Location::Body);
    if json_fields > 0 && form_fields > 0 {
        return Err("mixes JSON body fields and form body fields".into());
    }
    if bodies > 1 {
        return Err("more than one `in = \"body\"` parameter".into());
    }
    if bodies == 1 && json_fields + form_fields > 0 {
        return Err("an `in = \"body\"` parameter cannot be combined with body fields".into());
    }
    if ep.verb == Verb::Get && bodies + json_fields + form_fields > 0 {
        return Err("a GET has no body".into());
    }
    if let Some(enc) = &ep.body_encoding {
        if bodies == 0 {
            return Err("body_encoding without an `in = \"body\"` parameter".into());
        }
        ep.switch(&enc.when, &enc.is)
            .map_err(|e| format!("body_encoding: {e}"))?;
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

fn validate_param(ep: &Endpoint, p: &Param) -> Result<(), String> {
    use Location as L;
    use ParamType as T;
    if !is_ident(&p.name) {
        return Err("name must be snake_case".into());
    }
    if p.doc.trim().is_empty() {
        return Err("missing doc".into());
    }
    if p.optional && p.default.is_some() {
        return Err("both optional and default".into());
    }
    if p.source.is_some() && (p.optional || p.default.is_some() || p.ty != T::String) {
        return Err(
            "a `source` parameter is a plain string, neither optional nor defaulted".into(),
        );
    }
    if let Some(d) = &p.default {
        let fits = match (p.ty.closed(), d) {
            (_, DefaultValue::Bool(_)) => p.ty == T::Bool,
            (Some(of), DefaultValue::Text(s)) => of.values().contains(&s.as_str()),
            (None, DefaultValue::Text(_)) => p.ty == T::String,
        };
        if !fits {
            return Err(format!("default {d} does not fit type {}", p.ty.as_str()));
        }
    }
    if let (Some(of), Some(example)) = (p.ty.closed(), &p.example) {
        of.check(p.ty, "example", example)?;
    }
    if p.location == L::Path {
        if p.optional {
            return Err("a path parameter cannot be optional".into());
        }
        if !matches!(p.ty, T::String | T::ApiVersion) {
            return Err(format!(
                "a path parameter cannot be of type {}",
                p.ty.as_str()
            ));
        }
    }
    if p.location == L::Body && p.ty != T::Map {
        return Err("an `in = \"body\"` parameter must be of type map".into());
    }
    if p.ty == T::Map && p.location != L::Body {
        return Err("type map only goes `in = \"body\"`".into());
    }
    if p.keep_null && (p.location != L::Json || !(p.optional || p.source.is_some())) {
        return Err("keep_null is for optional or sourced JSON fields".into());
    }
    if p.skip_empty && !matches!(p.ty, T::String | T::Email | T::StringList | T::IdList) {
        return Err(format!(
            "skip_empty does not apply to type {}",
            p.ty.as_str()
        ));
    }
    let query_or_form = matches!(p.location, L::Query | L::Form);
    if p.join.is_some() && (p.ty != T::StringList || !query_or_form) {
        return Err("join is for string_list query or form values".into());
    }
    if matches!(p.ty, T::StringList | T::IdList) && query_or_form && p.join.is_none() {
        return Err("a list in a query or form needs `join`".into());
    }
    if matches!(p.ty, T::IdList | T::Json) && !matches!(p.location, L::Json | L::JsonForm) {
        return Err(format!(
            "type {} only goes in json or json_form",
            p.ty.as_str()
        ));
    }
    if let Some(w) = &p.only_when {
        if w.param == p.name {
            return Err("only_when refers to itself".into());
        }
        ep.switch(&w.param, &w.is)
            .map_err(|e| format!("only_when: {e}"))?;
    }
    if p.is_positional() && p.example.is_none() {
        return Err("a required parameter needs an `example` for the generated doc".into());
    }
    Ok(())
}
