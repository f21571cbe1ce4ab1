//! `RUN --mount=…` → the step's `cache`, `secret`, `ssh`, `bind`, `tmpfs` keys.

use crate::emit::{Entry, Node};

/// One parsed `--mount` value: `type` and the other `key[=value]` fields, in order.
pub struct Mount {
    pub kind: String,
    pub fields: Vec<(String, Option<String>)>,
}

/// Split a mount's CSV (`type=cache,target=/x,"id=a,b"`).
pub fn parse(v: &str) -> Mount {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut parts = Vec::new();
    for c in v.chars() {
        match c {
            '"' => q = !q,
            ',' if !q => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    let mut kind = "bind".to_string();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        let (k, val) = match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.to_string())),
            None => (p.trim().to_ascii_lowercase(), None),
        };
        if k == "type" {
            kind = val.unwrap_or_default().to_ascii_lowercase();
        } else {
            fields.push((k, val));
        }
    }
    Mount { kind, fields }
}

fn canon(k: &str) -> &str {
    match k {
        "dst" | "destination" => "target",
        "src" => "source",
        "readonly" => "ro",
        "readwrite" => "rw",
        other => other,
    }
}

fn truthy(v: &Option<String>) -> bool {
    match v.as_deref() {
        None => true,
        Some(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
    }
}

/// The Slipway mount for one Dockerfile mount: (step key, value), or Err(why
/// it has no Slipway form). `conv` converts a value (Docker expands them).
/// Fields Slipway does not have are listed in `dropped`.
pub fn to_slipway(
    m: &Mount,
    conv: &mut dyn FnMut(&str) -> String,
    dropped: &mut Vec<String>,
) -> Result<(&'static str, Node), String> {
    let get = |name: &str| {
        m.fields
            .iter()
            .rev()
            .find(|(k, _)| canon(k) == name)
            .map(|(_, v)| v.clone())
    };
    let mut obj: Vec<Entry> = Vec::new();
    let push = |obj: &mut Vec<Entry>, key: &str, n: Node| obj.push(Entry::new(key, n));
    let allowed: &[&str];
    let key = match m.kind.as_str() {
        "cache" => {
            allowed = &[
                "target", "id", "sharing", "from", "source", "mode", "uid", "gid",
            ];
            let Some(Some(t)) = get("target") else {
                return Err("a cache mount needs `target`".into());
            };
            push(&mut obj, "target", Node::Str(conv(&t)));
            for k in ["id", "sharing", "from", "source", "mode", "uid", "gid"] {
                if let Some(Some(v)) = get(k) {
                    let n = match k {
                        "uid" | "gid" => v
                            .parse::<u64>()
                            .map(Node::Int)
                            .unwrap_or(Node::Str(conv(&v))),
                        _ => Node::Str(conv(&v)),
                    };
                    push(&mut obj, k, n);
                }
            }
            "cache"
        }
        "secret" => {
            allowed = &["id", "target", "env", "required", "mode", "uid", "gid"];
            let target = get("target").flatten();
            let id = match (get("id").flatten(), &target) {
                (Some(id), _) => id,
                (None, Some(t)) => t.rsplit('/').next().unwrap_or(t).to_string(),
                (None, None) => return Err("a secret mount needs `id` or `target`".into()),
            };
            push(&mut obj, "id", Node::Str(conv(&id)));
            if let Some(t) = target {
                push(&mut obj, "target", Node::Str(conv(&t)));
            }
            if let Some(Some(e)) = get("env") {
                push(&mut obj, "env", Node::Str(conv(&e)));
            }
            if let Some(r) = get("required") {
                push(&mut obj, "required", Node::Bool(truthy(&r)));
            }
            for k in ["mode", "uid", "gid"] {
                if let Some(Some(v)) = get(k) {
                    let n = match k {
                        "uid" | "gid" => v
                            .parse::<u64>()
                            .map(Node::Int)
                            .unwrap_or(Node::Str(conv(&v))),
                        _ => Node::Str(conv(&v)),
                    };
                    push(&mut obj, k, n);
                }
            }
            "secret"
        }
        "ssh" => {
            allowed = &["id", "target", "required"];
            push(
                &mut obj,
                "id",
                Node::Str(conv(
                    &get("id").flatten().unwrap_or_else(|| "default".into()),
                )),
            );
            if let Some(Some(t)) = get("target") {
                push(&mut obj, "target", Node::Str(conv(&t)));
            }
            if let Some(r) = get("required") {
                push(&mut obj, "required", Node::Bool(truthy(&r)));
            }
            "ssh"
        }
        "bind" => {
            allowed = &["from", "source", "target", "rw", "ro"];
            // Docker mounts at the workdir when no target is given.
            let t = get("target").flatten().unwrap_or_else(|| ".".into());
            if let Some(Some(f)) = get("from") {
                push(&mut obj, "from", Node::Str(conv(&f)));
            }
            if let Some(Some(s)) = get("source") {
                push(&mut obj, "source", Node::Str(conv(&s)));
            }
            push(&mut obj, "target", Node::Str(conv(&t)));
            if let Some(rw) = get("rw") {
                if truthy(&rw) {
                    push(&mut obj, "rw", Node::Bool(true));
                }
            }
            "bind"
        }
        "tmpfs" => {
            allowed = &["target", "size"];
            let Some(Some(t)) = get("target") else {
                return Err("a tmpfs mount needs `target`".into());
            };
            push(&mut obj, "target", Node::Str(conv(&t)));
            if let Some(Some(s)) = get("size") {
                push(&mut obj, "size", Node::Str(conv(&s)));
            }
            "tmpfs"
        }
        other => return Err(format!("mount type `{other}` has no Slipway form")),
    };
    for (k, _) in &m.fields {
        let k = canon(k);
        if !allowed.contains(&k) {
            dropped.push(k.to_string());
        }
    }
    // The short forms: `cache: /x`, `secret: id`, `ssh: default`, `tmpfs: /t`.
    let only = |names: &[&str]| obj.iter().all(|e| names.contains(&e.key.as_str()));
    let node = match key {
        "cache" | "tmpfs" if only(&["target"]) => obj.remove(0).value,
        "secret" if only(&["id"]) => obj.remove(0).value,
        "ssh" if only(&["id"]) => obj.remove(0).value,
        _ => Node::FlowMap(obj),
    };
    Ok((key, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let mut conv = |s: &str| s.to_string();
        let mut dropped = vec![];
        let m = parse("type=cache,target=/root/.cache,sharing=locked,ro");
        let (k, n) = to_slipway(&m, &mut conv, &mut dropped).unwrap();
        assert_eq!(k, "cache");
        assert!(matches!(n, Node::FlowMap(ref v) if v.len() == 2));
        assert_eq!(dropped, vec!["ro"]);
        let m = parse("type=secret,target=/run/secrets/npmrc");
        let (_, n) = to_slipway(&m, &mut conv, &mut dropped).unwrap();
        assert!(matches!(n, Node::FlowMap(ref v) if v[0].value == Node::str("npmrc")));
        let (k, n) = to_slipway(&parse("type=ssh"), &mut conv, &mut dropped).unwrap();
        assert_eq!((k, n), ("ssh", Node::str("default")));
        assert!(to_slipway(&parse("type=cache"), &mut conv, &mut dropped).is_err());
    }
}
