//! The JSON Schema of `slipway.yaml` (draft-07, for editors and CI
//! validators), generated from the evaluator's own key tables (`TOP_KEYS`,
//! `STAGE_KEYS`, `RUN_KEYS`, … in `eval.rs`, `LINT_KEYS`) and the type table
//! below: every key a table lists gets its type from [`value`], which panics
//! (in the tests) for a key it does not know, so the schema cannot drift
//! from what the evaluator accepts. `slipway schema` prints it;
//! `docs/slipway.schema.json` is that output, committed.

use serde_json::{json, Map, Value};

use crate::eval::*;
use crate::lint::{LINT_KEYS, RULES};

/// Where a set of keys lives: its name in `definitions` and its key table.
const OBJECTS: &[(&str, &[&str], &[&str])] = &[
    // (definition, keys, required)
    ("top", TOP_KEYS, &["stages"]),
    ("lint", LINT_KEYS, &[]),
    ("stage", STAGE_KEYS, &["from"]),
    ("run", RUN_KEYS, &["run"]),
    ("copy", COPY_KEYS, &["copy"]),
    ("add", ADD_KEYS, &["add"]),
    ("file", FILE_KEYS, &["file", "content"]),
    ("mkdir", MKDIR_KEYS, &["mkdir"]),
    ("link", LINK_KEYS, &["link", "target"]),
    ("remove", REMOVE_KEYS, &["remove"]),
    ("image", IMAGE_KEYS, &[]),
    ("healthcheck", HEALTH_KEYS, &["test"]),
    ("cache", CACHE_KEYS, &["target"]),
    ("secret", SECRET_KEYS, &["id"]),
    ("ssh", SSH_KEYS, &[]),
    ("tmpfs", TMPFS_KEYS, &["target"]),
    ("bind", BIND_KEYS, &["target"]),
];

/// A YAML scalar the evaluator reads as text (`8080`, `true` and `"x"` alike).
fn scalar() -> Value {
    json!({"type": ["string", "number", "boolean"]})
}
fn strings() -> Value {
    json!({"anyOf": [scalar(), {"type": "array", "items": scalar()}]})
}
fn command() -> Value {
    json!({"anyOf": [scalar(), {"type": "array", "items": scalar(), "minItems": 1}]})
}
fn boolean() -> Value {
    json!({"type": "boolean"})
}
fn uint() -> Value {
    json!({"type": "integer", "minimum": 0})
}
fn vars(null_ok: bool) -> Value {
    let v = if null_ok {
        json!({"type": ["string", "number", "boolean", "null"]})
    } else {
        scalar()
    };
    json!({"type": "object", "additionalProperties": v})
}
fn def(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}
/// One item or a list of them (`cache: /x` or `cache: [/x, {target: /y}]`).
fn one_or_many(item: Value) -> Value {
    json!({"anyOf": [item.clone(), {"type": "array", "items": item}]})
}
/// A fixed word, or a `${…}` reference that interpolates to one.
fn word(words: &[&str]) -> Value {
    json!({"anyOf": [{"enum": words}, {"type": "string", "pattern": "\\$\\{"}]})
}

/// The type of `key` in the object `obj` (the type table).
fn value(obj: &str, key: &str) -> Value {
    match (obj, key) {
        ("top", "version") => json!({"enum": [1, "1"]}),
        ("top", "args") | ("stage", "args") => vars(true),
        ("top", "default") => scalar(),
        ("top", "groups") => json!({"type": "object", "patternProperties": {"^x-": {}},
            "additionalProperties": strings()}),
        ("top", "stages") => json!({"type": "object", "minProperties": 1,
            "patternProperties": {"^x-": {}}, "additionalProperties": def("stage")}),
        ("top", "lint") => def("lint"),
        ("lint", "disable") => {
            one_or_many(json!({"enum": RULES.iter().map(|r| r.id).collect::<Vec<_>>()}))
        }
        ("stage", "shell") => json!({"type": "array", "items": scalar(), "minItems": 1}),
        ("stage", "steps") => json!({"type": ["array", "null"], "items": def("step")}),
        ("stage", "image") => def("image"),
        ("stage" | "run" | "image", "env") | ("image", "labels") => vars(false),
        ("run", "run") | ("image", "entrypoint" | "cmd") | ("healthcheck", "test") => command(),
        ("run", "cache") => one_or_many(json!({"anyOf": [scalar(), def("cache")]})),
        ("run", "secret") => one_or_many(json!({"anyOf": [scalar(), def("secret")]})),
        ("run", "ssh") => one_or_many(json!({"anyOf": [scalar(), def("ssh")]})),
        ("run", "tmpfs") => one_or_many(json!({"anyOf": [scalar(), def("tmpfs")]})),
        ("run", "bind") => one_or_many(def("bind")),
        ("run", "network") => word(&["default", "none", "host"]),
        ("run", "security") => word(&["sandbox", "insecure"]),
        ("cache", "sharing") => word(&["shared", "private", "locked"]),
        ("copy", "copy" | "include" | "exclude") | ("remove", "remove") => strings(),
        ("image", "expose" | "volumes") => strings(),
        ("image", "healthcheck") => def("healthcheck"),
        ("healthcheck", "retries") | ("cache" | "secret", "uid" | "gid") => uint(),
        ("run", "no-cache")
        | ("copy", "link" | "parents" | "follow-symlinks")
        | ("add", "keep-git-dir")
        | ("secret" | "ssh", "required")
        | ("bind", "rw") => boolean(),
        // Everything else is one value read as text: paths, ids, refs,
        // modes ("0755"), owners, durations, sizes, signals.
        ("stage", "from" | "platform" | "workdir" | "description")
        | ("run", "workdir" | "user")
        | ("copy", "from" | "to" | "chown" | "chmod")
        | ("add", "add" | "checksum" | "ref" | "to" | "chown" | "chmod")
        | ("file", "file" | "content" | "mode" | "owner")
        | ("mkdir", "mkdir" | "mode" | "owner")
        | ("link", "link" | "target")
        | ("image", "user" | "stop-signal" | "workdir")
        | ("healthcheck", "interval" | "timeout" | "start-period")
        | ("cache", "target" | "id" | "from" | "source" | "mode")
        | ("secret", "id" | "target" | "env" | "mode")
        | ("ssh", "id" | "target")
        | ("tmpfs", "target" | "size")
        | ("bind", "from" | "source" | "target") => scalar(),
        _ => panic!("schema: no type for `{key}` in `{obj}`: add it to schema::value"),
    }
}

fn object(name: &str, keys: &[&str], required: &[&str]) -> Value {
    let mut props = Map::new();
    for k in keys {
        props.insert(k.to_string(), value(name, k));
    }
    let mut o = json!({
        "type": "object",
        "properties": props,
        "patternProperties": {"^x-": {}},
        "additionalProperties": false,
    });
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    let mut defs = Map::new();
    for (name, keys, required) in OBJECTS.iter().skip(1) {
        defs.insert(name.to_string(), object(name, keys, required));
    }
    // A step is exactly one verb with that verb's modifiers.
    let verbs: Vec<Value> = VERBS.iter().map(|v| def(v)).collect();
    defs.insert("step".into(), json!({"anyOf": verbs}));
    let (_, keys, required) = OBJECTS[0];
    let mut top = object("top", keys, required);
    let top = top.as_object_mut().expect("object");
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    out.insert(
        "$id".into(),
        json!("https://slipway.dev/schema/v1/slipway.schema.json"),
    );
    out.insert(
        "title".into(),
        json!("Slipway build spec (slipway.yaml), version 1"),
    );
    out.insert(
        "description".into(),
        json!("Generated by `slipway schema` from the evaluator's key tables; see docs/spec.md."),
    );
    out.extend(std::mem::take(top));
    out.insert("definitions".into(), Value::Object(defs));
    Value::Object(out)
}

/// The schema as pretty JSON (what `slipway schema` prints).
pub fn json() -> String {
    serde_json::to_string_pretty(&schema()).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_key_has_a_type_and_every_verb_a_definition() {
        let s = schema();
        for (name, keys, _) in OBJECTS {
            let props = if *name == "top" {
                &s["properties"]
            } else {
                &s["definitions"][name]["properties"]
            };
            let got: Vec<&str> = props
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut want: Vec<&str> = keys.to_vec();
            let mut got = got;
            want.sort();
            got.sort();
            assert_eq!(got, want, "{name}");
        }
        for v in VERBS {
            assert!(s["definitions"][v]["properties"][v].is_object(), "verb {v}");
        }
    }
}
