//! The JSON Schema of `slipway.yaml` (draft-07, for editors and CI
//! validators), generated from the evaluator's own key tables (`TOP_KEYS`,
//! `STAGE_KEYS`, `RUN_KEYS`, … in `eval/keys.rs`, `LINT_KEYS`) and the type table
//! below: every key a table lists gets its type from [`value`], which panics
//! (in the tests) for a key it does not know, so the schema cannot drift
//! from what the evaluator accepts. `docs/slipway.schema.json` is this
//! output, committed; a test checks the two are equal (`UPDATE_SCHEMA=1
//! cargo test -p slipway-spec --lib schema` rewrites the file), and
//! `slipway schema` prints the committed text ([`COMMITTED`]), so the
//! generator and its JSON building stay out of the frontend binary.

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
        // `output: reports` or `output: [reports, junit.xml]`: non-empty.
        ("stage", "output") => {
            json!({"anyOf": [scalar(), {"type": "array", "items": scalar(), "minItems": 1}]})
        }
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

/// A step: a mapping with a verb, checked against that verb's keys (`if`
/// the verb is there, `then` its definition), so a validator names the key
/// that is wrong instead of "matches no alternative". `link` is also a
/// `copy` modifier: a mapping with `copy` is a copy step.
fn step() -> Value {
    let keys_of = |verb: &str| {
        OBJECTS
            .iter()
            .find(|(n, _, _)| *n == verb)
            .map(|(_, k, _)| *k)
            .expect("every verb has a definition")
    };
    let rules: Vec<Value> = VERBS
        .iter()
        .map(|v| {
            let owners: Vec<Value> = VERBS
                .iter()
                .filter(|w| *w != v && keys_of(w).contains(v))
                .map(|w| json!({"required": [w]}))
                .collect();
            let mut cond = json!({"required": [v]});
            if !owners.is_empty() {
                cond["not"] = json!({"anyOf": owners});
            }
            json!({"if": cond, "then": def(v)})
        })
        .collect();
    let any_verb: Vec<Value> = VERBS.iter().map(|v| json!({"required": [v]})).collect();
    json!({"type": "object", "anyOf": any_verb, "allOf": rules})
}

/// The schema as a JSON value.
pub fn schema() -> Value {
    let mut defs = Map::new();
    for (name, keys, required) in OBJECTS.iter().skip(1) {
        defs.insert(name.to_string(), object(name, keys, required));
    }
    defs.insert("step".into(), step());
    let (_, keys, required) = OBJECTS[0];
    let mut top = object("top", keys, required);
    let top = top.as_object_mut().expect("object");
    let mut out = Map::new();
    out.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
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

/// The schema as pretty JSON, with a final newline.
pub fn json() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).expect("a JSON value serializes");
    s.push('\n');
    s
}

/// `docs/slipway.schema.json`, which a test keeps equal to [`json`].
pub const COMMITTED: &str = include_str!("../../../docs/slipway.schema.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_file_is_the_generated_schema() {
        let generated = json();
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/slipway.schema.json"
            );
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            generated == COMMITTED,
            "docs/slipway.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test -p slipway-spec --lib schema`"
        );
    }

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
