//! `slipway convert` end to end: each example's Dockerfile twin, converted, builds through the
//! Slipway frontend on the shared engine into images equal to the twin's (the examples suite's
//! comparison: the image config fields of `CONFIG_KEYS`, the file list, the entry types) for every
//! runtime target of its example.toml.
//!
//! Slow (real builds): `cargo test -p slipway-e2e --test convert -- --nocapture --test-threads=1`
//! (one test per example; `SLIPWAY_IMAGE` names the frontend image). Never skips.

use std::collections::BTreeSet;

use serde_json::Value;
use slipway_e2e::examples::{
    ensure_substitutes, file_list, inspect, tail, Builder, Example, CONFIG_KEYS,
};
use slipway_e2e::{docker, engine, frontend_image, repo_root};

/// Env as a set, and a missing field equal to an empty one (as the examples suite compares).
fn norm(key: &str, v: &Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Array(a) if key == "Env" => {
            let mut a = a.clone();
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        _ => v.clone(),
    }
}

fn converted_twin_equals_twin(name: &str) {
    engine();
    ensure_substitutes();
    let ex = Example::load(name);
    let twin = ex.dir.join(ex.file(Builder::Dockerfile));
    let text = std::fs::read_to_string(&twin).unwrap();
    let opts = slipway_convert::Options {
        syntax: frontend_image(),
    };
    let conv = slipway_convert::convert("Dockerfile", &text, &opts)
        .unwrap_or_else(|d| panic!("{name}: conversion failed:\n{d}"));
    assert!(
        conv.warnings.is_empty(),
        "{name}: warnings: {:?}",
        conv.warnings
    );
    // Outside the checkout's tracked files: target/ is ignored.
    let out_dir = repo_root().join("target/convert-e2e");
    std::fs::create_dir_all(&out_dir).unwrap();
    let spec = out_dir.join(format!("{name}.slipway.yaml"));
    std::fs::write(&spec, &conv.yaml).unwrap();
    let mut failures = Vec::new();
    let mut targets: Vec<String> = ex
        .runtimes()
        .iter()
        .filter_map(|r| r["target"].as_str().map(str::to_string))
        .collect();
    targets.dedup();
    assert!(!targets.is_empty(), "{name}: no runtime targets");
    for t in &targets {
        let twin_tag = format!("slipway-e2e/convert-{name}-{t}:dockerfile");
        let conv_tag = format!("slipway-e2e/convert-{name}-{t}:converted");
        let b = ex.build(
            &ex.dir,
            Builder::Dockerfile,
            Some(t),
            Some(&twin_tag),
            &[],
            &[],
        );
        assert!(
            b.success,
            "{name}/{t}: twin build failed:\n{}",
            tail(&b, 40)
        );
        let mut args: Vec<String> = vec![
            "build".into(),
            "--progress=plain".into(),
            "-f".into(),
            spec.display().to_string(),
            "--target".into(),
            t.clone(),
            "-t".into(),
            conv_tag.clone(),
        ];
        for (k, v) in ex.build_args() {
            args.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
        args.push(ex.dir.display().to_string());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let c = docker(&refs);
        assert!(
            c.success,
            "{name}/{t}: converted spec build failed:\n{}\n--- spec ---\n{}",
            tail(&c, 40),
            conv.yaml
        );
        let (a, d) = (inspect(&conv_tag), inspect(&twin_tag));
        for key in CONFIG_KEYS {
            let (va, vd) = (&a["Config"][key], &d["Config"][key]);
            if norm(key, va) != norm(key, vd) {
                failures.push(format!("{t}: Config.{key}: converted {va} vs twin {vd}"));
            }
        }
        let (la, ld) = (file_list(&conv_tag), file_list(&twin_tag));
        let fa: BTreeSet<(&str, char)> = la.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        let fd: BTreeSet<(&str, char)> = ld.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        if fa != fd {
            let only_a: Vec<_> = fa.difference(&fd).take(20).collect();
            let only_d: Vec<_> = fd.difference(&fa).take(20).collect();
            failures.push(format!(
                "{t}: file lists differ; only converted: {only_a:?}; only twin: {only_d:?}"
            ));
        }
        eprintln!(
            "[convert {name}] {t}: config ({} keys) and {} files compared",
            CONFIG_KEYS.len(),
            fa.len()
        );
    }
    assert!(failures.is_empty(), "{name}:\n- {}", failures.join("\n- "));
}

#[test]
fn convert_go() {
    converted_twin_equals_twin("go");
}

#[test]
fn convert_python() {
    converted_twin_equals_twin("python");
}

#[test]
fn convert_node() {
    converted_twin_equals_twin("node");
}

#[test]
fn convert_rust() {
    converted_twin_equals_twin("rust");
}

#[test]
fn convert_java() {
    converted_twin_equals_twin("java");
}

#[test]
fn convert_static_site() {
    converted_twin_equals_twin("static-site");
}

#[test]
fn convert_parallel() {
    converted_twin_equals_twin("parallel");
}

#[test]
fn convert_external_image() {
    converted_twin_equals_twin("external-image");
}

#[test]
fn convert_ci_targets() {
    converted_twin_equals_twin("ci-targets");
}
