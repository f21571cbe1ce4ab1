//! `slipway schema`: the committed docs/slipway.schema.json is its output, and
//! a real JSON Schema validator (Python `jsonschema`, draft-07) accepts every
//! example and good fixture and rejects every structural bad fixture. The
//! validator must be installed: this test fails, never skips, without it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn yamls(dir: &Path, name: Option<&str>) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        match name {
            Some(n) if p.join(n).is_file() => out.push(p.join(n)),
            None if p.extension().is_some_and(|x| x == "yaml") => out.push(p),
            _ => {}
        }
    }
    out.sort();
    out
}

#[test]
fn committed_schema_is_the_output() {
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(root().join("docs/slipway.schema.json")).unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "`slipway schema` must print docs/slipway.schema.json (the spec crate's test keeps that file equal to the generator)"
    );
}

/// The bad fixtures that are wrong in structure (what a schema can see).
const STRUCTURAL: &[&str] = &[
    "unknown_top_key",
    "unknown_stage_key",
    "unknown_run_modifier",
    "missing_from",
    "wrong_type_bool",
    "wrong_type_env",
    "wrong_type_stage",
    "wrong_type_steps",
    "top_level_list",
    "step_without_verb",
    "step_two_verbs",
    "copy_modifier_on_run",
    "invalid_network",
    "invalid_sharing",
];

#[test]
fn a_real_validator_accepts_examples_and_rejects_structural_errors() {
    let r = root();
    let mut good = yamls(&r.join("examples"), Some("slipway.yaml"));
    good.extend(yamls(&r.join("examples/base-images"), None));
    good.extend(yamls(&r.join("frontend/spec/tests/good"), None));
    good.extend(
        yamls(&r.join("tests/fixtures"), Some("slipway.yaml"))
            .into_iter()
            .filter(|p| !p.to_string_lossy().contains("invalid-spec")),
    );
    assert!(good.len() >= 25, "{good:?}");
    let bad: Vec<PathBuf> = STRUCTURAL
        .iter()
        .map(|n| r.join(format!("frontend/spec/tests/bad/{n}.yaml")))
        .collect();
    let out = Command::new("python3")
        .arg(r.join("scripts/validate-schema.py"))
        .arg(r.join("docs/slipway.schema.json"))
        .arg("--good")
        .args(&good)
        .arg("--bad")
        .args(&bad)
        .output()
        .expect("python3 is needed for the schema test (apt-get install python3 python3-jsonschema python3-yaml)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok ")).count(),
        good.len() + bad.len(),
        "{text}"
    );
}
