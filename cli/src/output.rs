//! Formats replies: JSON, JSON lines, a table, or tab-separated text; `--fields` picks keys.

use crate::failure::Failure;
use serde_json::{Map, Value};
use std::io::Write;

/// The output format (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Pretty JSON: the object, or a list's items as an array.
    Json,
    /// One compact JSON object per line (a list's items one by one).
    Jsonl,
    /// An aligned table with a header (a single object as KEY VALUE rows).
    Table,
    /// Tab-separated values, no header: for `$(...)` and `cut`.
    Text,
}

impl Format {
    pub const NAMES: &[&str] = &["json", "jsonl", "table", "text"];

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "json" => Some(Format::Json),
            "jsonl" => Some(Format::Jsonl),
            "table" => Some(Format::Table),
            "text" => Some(Format::Text),
            _ => None,
        }
    }
}

/// What is printed: nothing, one object, or the items of a list.
pub enum Data {
    Nothing,
    One(Value),
    Many(Vec<Value>),
}

/// Writes `data` in `format`, keeping only `fields` when given.
pub fn write(
    out: &mut impl Write,
    data: Data,
    format: Format,
    fields: Option<&[String]>,
) -> Result<(), Failure> {
    let data = match fields {
        Some(f) => project(data, f)?,
        None => data,
    };
    match (data, format) {
        (Data::Nothing, _) => Ok(()),
        (Data::One(v), Format::Json) => json_line(out, &v, true),
        (Data::Many(items), Format::Json) => json_line(out, &Value::Array(items), true),
        (Data::One(v), Format::Jsonl) => json_line(out, &v, false),
        (Data::Many(items), Format::Jsonl) => {
            for item in &items {
                json_line(out, item, false)?;
            }
            Ok(())
        }
        (Data::One(v), Format::Table) if fields.is_none() => key_value_table(out, &v),
        (Data::One(v), f) => rows(out, &[v], f, fields),
        (Data::Many(items), f) => rows(out, &items, f, fields),
    }
}

fn json_line(out: &mut impl Write, v: &Value, pretty: bool) -> Result<(), Failure> {
    let r = if pretty {
        serde_json::to_writer_pretty(&mut *out, v)
    } else {
        serde_json::to_writer(&mut *out, v)
    };
    r.map_err(|e| Failure::io(e.into()))?;
    writeln!(out).map_err(Failure::io)
}

/// Keeps the named keys of each object, in the order given.
fn project(data: Data, fields: &[String]) -> Result<Data, Failure> {
    let keep = |v: &Value| -> Value {
        let mut m = Map::new();
        for f in fields {
            m.insert(f.clone(), path(v, f));
        }
        Value::Object(m)
    };
    let check = |items: &[&Value]| -> Result<(), Failure> {
        if items.is_empty() {
            return Ok(());
        }
        for f in fields {
            let first = f.split('.').next().unwrap_or(f);
            if !items.iter().any(|v| v.get(first).is_some()) {
                let known: Vec<&str> = items[0]
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(Failure::usage(format!(
                    "--fields: the reply has no field `{f}` (it has: {})",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    };
    Ok(match data {
        Data::Nothing => Data::Nothing,
        Data::One(v) => {
            check(&[&v])?;
            Data::One(keep(&v))
        }
        Data::Many(items) => {
            check(&items.iter().collect::<Vec<_>>())?;
            Data::Many(items.iter().map(keep).collect())
        }
    })
}

/// The value at a dotted path (`groups.id`): a list on the way gives the list of its
/// elements' values. Missing is null.
fn path(v: &Value, dotted: &str) -> Value {
    let mut current = v.clone();
    for key in dotted.split('.') {
        current = match current {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| i.get(key).cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
            other => other.get(key).cloned().unwrap_or(Value::Null),
        };
    }
    current
}

/// A cell: text as is, null empty, a list of scalars joined with `sep`, anything else as
/// JSON.
fn cell(v: &Value, sep: &str) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(is_scalar) => items
            .iter()
            .map(|i| cell(i, sep))
            .collect::<Vec<_>>()
            .join(sep),
        other => other.to_string(),
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// The columns of a table: the given fields, else every key with a scalar or scalar-list
/// value in some row, in the order first seen.
fn columns(items: &[Value], fields: Option<&[String]>) -> Vec<String> {
    if let Some(f) = fields {
        return f.to_vec();
    }
    let mut cols: Vec<String> = Vec::new();
    for item in items {
        if let Some(o) = item.as_object() {
            for (k, v) in o {
                let shown = is_scalar(v)
                    || matches!(v, Value::Array(a) if !a.is_empty() && a.iter().all(is_scalar));
                if shown && !v.is_null() && !cols.contains(k) {
                    cols.push(k.clone());
                }
            }
        }
    }
    cols
}

fn rows(
    out: &mut impl Write,
    items: &[Value],
    format: Format,
    fields: Option<&[String]>,
) -> Result<(), Failure> {
    let cols = columns(items, fields);
    // In text, a list's values are fields of their own (for `xargs`); in a table, one cell.
    let sep = if format == Format::Text { "\t" } else { "," };
    let cells: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            cols.iter()
                .map(|c| {
                    let v = cell(item.get(c).unwrap_or(&Value::Null), sep);
                    v.split('\t').map(clean).collect::<Vec<_>>().join("\t")
                })
                .collect()
        })
        .collect();
    if format == Format::Text {
        for row in &cells {
            writeln!(out, "{}", row.join("\t")).map_err(Failure::io)?;
        }
        return Ok(());
    }
    let header: Vec<String> = cols.iter().map(|c| c.to_uppercase()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    aligned(out, &header, &widths)?;
    for row in &cells {
        aligned(out, row, &widths)?;
    }
    Ok(())
}

fn key_value_table(out: &mut impl Write, v: &Value) -> Result<(), Failure> {
    let Some(o) = v.as_object() else {
        return writeln!(out, "{}", cell(v, ",")).map_err(Failure::io);
    };
    let width = o.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (k, v) in o {
        if v.is_null() {
            continue;
        }
        writeln!(out, "{k:<width$}  {}", clean(&cell(v, ","))).map_err(Failure::io)?;
    }
    Ok(())
}

fn aligned(out: &mut impl Write, row: &[String], widths: &[usize]) -> Result<(), Failure> {
    let mut line = String::new();
    for (i, (c, w)) in row.iter().zip(widths).enumerate() {
        if i + 1 == row.len() {
            line.push_str(c);
        } else {
            line.push_str(c);
            line.extend(std::iter::repeat_n(
                ' ',
                w.saturating_sub(c.chars().count()) + 2,
            ));
        }
    }
    writeln!(out, "{}", line.trim_end()).map_err(Failure::io)
}

/// No tabs or line breaks inside a cell.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn show(data: Data, format: Format, fields: Option<&[String]>) -> Result<String, Failure> {
        let mut out = Vec::new();
        write(&mut out, data, format, fields)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn table_text_and_fields() {
        let items = vec![
            json!({"id": "a", "email": "a@x", "groups": [{"id": 1}], "role_permissions": ["x", "y"]}),
            json!({"id": "bb", "email": null, "full_name": "B"}),
        ];
        assert_eq!(
            show(Data::Many(items.clone()), Format::Table, None).unwrap(),
            "ID  EMAIL  ROLE_PERMISSIONS  FULL_NAME\na   a@x    x,y\nbb                           B\n"
        );
        let f = vec!["email".to_string(), "id".to_string()];
        assert_eq!(
            show(Data::Many(items.clone()), Format::Text, Some(&f)).unwrap(),
            "a@x\ta\n\tbb\n"
        );
        assert_eq!(
            show(Data::Many(items.clone()), Format::Jsonl, Some(&f)).unwrap(),
            "{\"email\":\"a@x\",\"id\":\"a\"}\n{\"email\":null,\"id\":\"bb\"}\n"
        );
        let nested = vec!["groups.id".to_string()];
        let user = json!({"id": "u", "groups": [{"id": "g1"}, {"id": "g2"}]});
        assert_eq!(
            show(Data::One(user.clone()), Format::Text, Some(&nested)).unwrap(),
            "g1\tg2\n"
        );
        assert_eq!(
            show(Data::One(user), Format::Table, Some(&nested)).unwrap(),
            "GROUPS.ID\ng1,g2\n"
        );
        let bad = vec!["nope".to_string()];
        let e = show(Data::Many(items), Format::Json, Some(&bad)).unwrap_err();
        assert!(e.to_string().contains("no field `nope`"), "{e}");
        assert_eq!(
            show(
                Data::One(json!({"id": "a", "n": null})),
                Format::Table,
                None
            )
            .unwrap(),
            "id  a\n"
        );
        assert_eq!(show(Data::Nothing, Format::Json, None).unwrap(), "");
    }
}
