//! What a command does with its request: show it (`--dry-run`, `--curl`) or send it and print
//! the reply (see `output`).

use crate::failure::Failure;
use crate::output::{self, Data, Format};
use serde::Serialize;
use serde_json::Value;
use squirro_user_api::{Body, Client, Request};
use std::io::Write;

/// How a reply is printed: nothing, one object, or a list (bare, or in the reply's one array
/// field, as `{"users": [...]}`).
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Unit,
    Single,
    List,
    ListIn,
}

/// Instead of sending: the request as HTTP, or as a curl command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Http,
    Curl,
}

/// The output settings of one invocation.
pub struct Run {
    pub show: Option<Show>,
    pub format: Format,
    pub fields: Option<Vec<String>>,
}

/// Whether a field holds a secret (its value is never shown): the SDK's own rule.
pub fn is_secret(name: &str) -> bool {
    Request::is_secret_field(name)
}

impl Run {
    pub fn dry_run(&self) -> bool {
        self.show.is_some()
    }

    /// Prints the request instead of sending it.
    pub fn show(&mut self, client: &Client, request: &Request) -> Result<(), Failure> {
        let text = match self.show {
            Some(Show::Curl) => curl(client, request),
            _ => http(client, request),
        };
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).map_err(Failure::io)?;
        if !text.ends_with('\n') {
            writeln!(out).map_err(Failure::io)?;
        }
        out.flush().map_err(Failure::io)
    }

    /// Prints a reply.
    pub fn print(&mut self, reply: &impl Serialize, shape: Shape) -> Result<(), Failure> {
        let value = serde_json::to_value(reply).map_err(|e| {
            Failure::new(crate::failure::OTHER, format!("cannot show the reply: {e}"))
        })?;
        let data = match shape {
            Shape::Unit => Data::Nothing,
            Shape::Single => Data::One(value),
            Shape::List => Data::Many(match value {
                Value::Array(items) => items,
                other => vec![other],
            }),
            Shape::ListIn => Data::Many(list_in(value)),
        };
        self.write(data)
    }

    pub fn write(&mut self, data: Data) -> Result<(), Failure> {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        output::write(&mut out, data, self.format, self.fields.as_deref())?;
        out.flush().map_err(Failure::io)
    }
}

/// The items of a list reply's array field (`users`, `members`, `grants`, `workspaces`).
fn list_in(value: Value) -> Vec<Value> {
    match value {
        Value::Object(o) => o
            .into_iter()
            .find_map(|(_, v)| match v {
                Value::Array(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default(),
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// The request as the SDK renders it: the token, secret-named fields and every secret the
/// client holds redacted.
pub fn http(client: &Client, request: &Request) -> String {
    client.render(request)
}

// ------------------------------------------------------------------------------- curl

/// A piece of a shell word: literal text, or a variable expanded by the shell.
enum Piece {
    Lit(String),
    Var(String),
}

/// The shell variable that stands for a secret field: `client_secret` → `SQUIRRO_CLIENT_SECRET`.
fn var_for(name: &str) -> String {
    format!("SQUIRRO_{}", name.to_ascii_uppercase())
}

fn word(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Lit(t) if t.is_empty() => {}
            Piece::Lit(t) => {
                s.push('\'');
                s.push_str(&t.replace('\'', r"'\''"));
                s.push('\'');
            }
            Piece::Var(v) => {
                s.push_str("\"$");
                s.push_str(v);
                s.push('"');
            }
        }
    }
    if s.is_empty() { "''".into() } else { s }
}

/// An equivalent curl command. The token is `$SQUIRRO_TOKEN` (it must hold an access token
/// there), and every secret-named field is a `$SQUIRRO_<NAME>` variable, never its value.
pub fn curl(client: &Client, request: &Request) -> String {
    let base = client.user_api_url();
    let mut url = vec![Piece::Lit(format!("{base}{}", request.path()))];
    for (i, (k, v)) in request.query().iter().enumerate() {
        let sep = if i == 0 { "?" } else { "&" };
        if is_secret(k) {
            url.push(Piece::Lit(format!("{sep}{k}=")));
            url.push(Piece::Var(var_for(k)));
        } else {
            url.push(Piece::Lit(format!("{sep}{}", form_pair(k, v))));
        }
    }
    let mut args: Vec<String> = vec![
        "curl".into(),
        "-sS".into(),
        "-X".into(),
        request.method().as_str().into(),
        word(&url),
        "-H".into(),
        word(&[Piece::Lit("Accept: application/json".into())]),
    ];
    if client.render(request).contains("\nAuthorization: Bearer") {
        args.push("-H".into());
        args.push(word(&[
            Piece::Lit("Authorization: Bearer ".into()),
            Piece::Var("SQUIRRO_TOKEN".into()),
        ]));
    }
    match request.body() {
        Body::Empty => {}
        Body::Form(s) => {
            for pair in s.split('&') {
                match pair.split_once('=') {
                    Some((k, _)) if is_secret(k) => {
                        args.push("--data-urlencode".into());
                        args.push(word(&[Piece::Lit(format!("{k}=")), Piece::Var(var_for(k))]));
                    }
                    _ => {
                        args.push("--data-raw".into());
                        args.push(word(&[Piece::Lit(pair.into())]));
                    }
                }
            }
        }
        Body::Json(s) => {
            args.push("-H".into());
            args.push(word(&[Piece::Lit("Content-Type: application/json".into())]));
            args.push("--data-raw".into());
            args.push(word(&json_pieces(s)));
        }
    }
    format!(
        "# $SQUIRRO_TOKEN must hold an access token here; secrets come from $SQUIRRO_* variables\n{}",
        args.join(" ")
    )
}

/// A JSON body with each secret-named string value replaced by its variable.
fn json_pieces(s: &str) -> Vec<Piece> {
    let Ok(mut v) = serde_json::from_str::<Value>(s) else {
        return vec![Piece::Lit(s.into())];
    };
    // Mark secrets with a placeholder that cannot occur in JSON text, then split on it.
    const MARK: char = '\u{1}';
    fn mark(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, v) in o.iter_mut() {
                    if is_secret(k) && v.is_string() {
                        *v = Value::String(format!("{MARK}{}{MARK}", var_for(k)));
                    } else {
                        mark(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(mark),
            _ => {}
        }
    }
    mark(&mut v);
    // serde_json writes U+0001 as \u0001.
    let text = v.to_string();
    let mut pieces = Vec::new();
    for (i, part) in text.split("\\u0001").enumerate() {
        pieces.push(if i % 2 == 1 {
            Piece::Var(part.into())
        } else {
            Piece::Lit(part.into())
        });
    }
    pieces
}

fn form_pair(k: &str, v: &str) -> String {
    format!("{}={}", encode(k), encode(v))
}

/// Percent-encodes a query value (unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
