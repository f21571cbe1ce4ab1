//! Listings as text and as JSON.
//!
//! JSON follows BuildKit's subrequest results (`frontend/subrequests/targets`,
//! `outline`): what buildx `--call targets|outline` reads. Locations are
//! `pb.Location`s into `sources[0]` (the spec): 1-based lines, 0-based
//! characters. Text is what buildx prints from that JSON (tab-aligned
//! columns as Go's `text/tabwriter` lays them out), so `slipway targets`
//! and `buildx build --call targets` read the same.

use base64::Engine;
use serde_json::{json, Map, Value};
use slipway_spec::{Plan, Span};

use super::{Outline, TargetEntry};

/// `{"ranges":[{start,end}]}`, or None for an unknown span.
pub fn location(span: Span) -> Option<Value> {
    if span.is_unknown() {
        return None;
    }
    let end = if span.end.line == 0 {
        span.start
    } else {
        span.end
    };
    Some(json!({
        "ranges": [{
            "start": {"line": span.start.line, "character": span.start.col.saturating_sub(1)},
            "end": {"line": end.line, "character": end.col.saturating_sub(1)},
        }]
    }))
}

fn sources(plan: &Plan) -> Value {
    json!([base64::engine::general_purpose::STANDARD.encode(plan.source.as_bytes())])
}

/// Insert `key` unless the value is empty (Go's `omitempty`).
fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    match v {
        None | Some(Value::Bool(false)) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(v) => {
            m.insert(key.to_string(), v);
        }
    }
}

pub fn targets_json(plan: &Plan, list: &[TargetEntry]) -> Value {
    let targets: Vec<Value> = list
        .iter()
        .map(|t| {
            let mut m = Map::new();
            put(&mut m, "name", Some(json!(t.name)));
            put(&mut m, "default", Some(json!(t.default)));
            put(
                &mut m,
                "description",
                t.description.as_ref().map(|d| json!(d)),
            );
            put(&mut m, "base", t.base.as_ref().map(|d| json!(d)));
            put(&mut m, "platform", t.platform.as_ref().map(|d| json!(d)));
            put(&mut m, "location", location(t.span));
            Value::Object(m)
        })
        .collect();
    json!({"targets": targets, "sources": sources(plan)})
}

pub fn outline_json(plan: &Plan, o: &Outline) -> Value {
    let mut m = Map::new();
    put(&mut m, "name", Some(json!(o.name)));
    put(
        &mut m,
        "description",
        o.description.as_ref().map(|d| json!(d)),
    );
    let args: Vec<Value> = o
        .args
        .iter()
        .map(|a| {
            let mut e = Map::new();
            e.insert("name".into(), json!(a.name));
            put(
                &mut e,
                "description",
                a.description.as_ref().map(|d| json!(d)),
            );
            put(&mut e, "value", a.value.as_ref().map(|d| json!(d)));
            put(&mut e, "location", location(a.span));
            Value::Object(e)
        })
        .collect();
    let mounts = |list: &[super::MountEntry]| -> Vec<Value> {
        list.iter()
            .map(|s| {
                let mut e = Map::new();
                e.insert("name".into(), json!(s.id));
                put(&mut e, "required", Some(json!(s.required)));
                put(&mut e, "location", location(s.span));
                Value::Object(e)
            })
            .collect()
    };
    if !args.is_empty() {
        m.insert("args".into(), Value::Array(args));
    }
    if !o.secrets.is_empty() {
        m.insert("secrets".into(), Value::Array(mounts(&o.secrets)));
    }
    if !o.ssh.is_empty() {
        m.insert("ssh".into(), Value::Array(mounts(&o.ssh)));
    }
    m.insert("sources".into(), sources(plan));
    Value::Object(m)
}

/// Pretty JSON with a final newline.
pub fn to_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

pub fn targets_text(list: &[TargetEntry]) -> String {
    let mut rows = vec![vec!["TARGET".to_string(), "DESCRIPTION".to_string()]];
    for t in list {
        let name = if t.default {
            format!("{} (default)", t.name)
        } else {
            t.name.clone()
        };
        rows.push(vec![name, t.description.clone().unwrap_or_default()]);
    }
    table(&rows, 1)
}

pub fn outline_text(o: &Outline) -> String {
    let mut out = String::new();
    let mut head = vec![vec!["TARGET:".to_string(), o.name.clone()]];
    if let Some(d) = &o.description {
        head.push(vec!["DESCRIPTION:".to_string(), d.clone()]);
    }
    out.push_str(&table(&head, 1));
    out.push('\n');
    if !o.args.is_empty() {
        let mut rows = vec![vec![
            "BUILD ARG".into(),
            "VALUE".into(),
            "DESCRIPTION".into(),
        ]];
        for a in &o.args {
            rows.push(vec![
                a.name.clone(),
                a.value.clone().unwrap_or_default(),
                a.description.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&table(&rows, 3));
        out.push('\n');
    }
    for (title, list) in [("SECRET", &o.secrets), ("SSH", &o.ssh)] {
        if list.is_empty() {
            continue;
        }
        let mut rows = vec![vec![title.to_string(), "REQUIRED".to_string()]];
        for s in list.iter() {
            rows.push(vec![
                s.id.clone(),
                if s.required {
                    "true".into()
                } else {
                    String::new()
                },
            ]);
        }
        out.push_str(&table(&rows, 3));
        out.push('\n');
    }
    out
}

/// Rows of cells laid out as Go's tabwriter does with cells separated by
/// tabs (minwidth 0, padding `pad`, spaces): every cell but the last of a
/// row is padded to its column's widest cell plus `pad`.
pub fn table(rows: &[Vec<String>], pad: usize) -> String {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut width = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < r.len() {
                let n = width[i] + pad - c.chars().count();
                out.extend(std::iter::repeat_n(' ', n));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_like_tabwriter() {
        let rows = vec![
            vec!["TARGET".to_string(), "DESCRIPTION".to_string()],
            vec!["a".to_string(), String::new()],
            vec!["longer-name".to_string(), "x".to_string()],
        ];
        assert_eq!(
            table(&rows, 1),
            "TARGET      DESCRIPTION\na           \nlonger-name x\n"
        );
    }
}
