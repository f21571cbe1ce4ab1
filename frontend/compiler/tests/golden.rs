//! Golden tests: every spec under `examples/` (and the compiler's own
//! fixtures) compiles; its JSON dump is snapshot-tested; the Definition
//! passes `slipway_llb::verify` (each op decodes back and re-encodes to the
//! same bytes, digests match, inputs refer to earlier ops, return op last).

use std::path::{Path, PathBuf};

use slipway_compiler::{compile, CompileOptions};
use slipway_spec::{load, EvalOptions, Platform};

fn specs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    let mut stack = vec![
        root.join("examples"),
        root.join("frontend/compiler/tests/specs"),
    ];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml")
                && p.file_name().is_some_and(|n| n != "example.yaml")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn snapshot_name(p: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap();
    let rel = p.canonicalize().unwrap();
    let rel = rel
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .to_string();
    rel.replace(['/', '.'], "_")
}

#[test]
fn every_spec_compiles_verifies_and_matches_its_snapshot() {
    let specs = specs();
    assert!(specs.len() >= 2, "no specs found");
    for p in specs {
        let text = std::fs::read_to_string(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let loaded = load(&name, &text, &EvalOptions::default())
            .unwrap_or_else(|d| panic!("{} does not load:\n{}", p.display(), d.render()));
        let compiled = compile(
            &loaded.plan,
            &CompileOptions::default(),
            &Platform::default(),
        )
        .unwrap_or_else(|d| panic!("{} does not compile:\n{}", p.display(), d.render()));
        let definition = compiled.definition.decode().expect("decodes");
        slipway_llb::verify(&definition).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let config: serde_json::Value = serde_json::from_slice(&compiled.image_config).unwrap();
        let dump = serde_json::json!({
            "llb": slipway_llb::dump_json(&definition),
            "image_config": config,
            "stages": compiled.stages,
        });
        insta::assert_json_snapshot!(snapshot_name(&p), dump);
    }
}
