//! `slipway convert` end to end: each example's Dockerfile twin, converted, builds through the
//! Slipway frontend into images equal to the twin's (the examples suite's comparison: the image
//! config fields of `CONFIG_KEYS`, the file list, the entry types) for every runtime target of its
//! example.toml, on both engines: `convert_<name>::docker` (docker build on dockerd 20.10, the twin
//! through its built-in Dockerfile frontend) and `convert_<name>::buildx` (buildx build on
//! buildkitd v0.24, the twin through BuildKit's own Dockerfile frontend; images loaded into dockerd
//! for the comparison).
//!
//! Slow (real builds): `cargo test -p slipway-e2e --test convert -- --nocapture --test-threads=1`
//! (`SLIPWAY_IMAGE` names the frontend image). Never skips.

use std::collections::BTreeSet;

use serde_json::Value;
use slipway_e2e::clients::{self, Client, Frontend};
use slipway_e2e::examples::{
    ensure_substitutes, file_list, inspect, tail, Builder, Example, CONFIG_KEYS,
};
use slipway_e2e::{engine, frontend_image, repo_root};

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

fn converted_twin_equals_twin(name: &str, client: Client) {
    engine();
    ensure_substitutes();
    let mut ex = Example::load(name);
    ex.client = client;
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
    let spec = out_dir.join(format!("{name}.{}.slipway.yaml", client.name()));
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
        let twin_tag = format!(
            "slipway-e2e/convert-{name}-{t}:dockerfile-{}",
            client.name()
        );
        let conv_tag = format!("slipway-e2e/convert-{name}-{t}:converted-{}", client.name());
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
            "{name}/{t} ({}): twin build failed:\n{}",
            client.name(),
            tail(&b, 40)
        );
        let mut flags: Vec<String> = vec!["--target".into(), t.clone()];
        for (k, v) in ex.build_args() {
            flags.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
        let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
        let c = clients::build(&clients::Build {
            client,
            frontend: Frontend::Slipway,
            file: &spec,
            context: &ex.dir,
            tag: Some(&conv_tag),
            flags: &refs,
        });
        assert!(
            c.success,
            "{name}/{t} ({}): converted spec build failed:\n{}\n--- spec ---\n{}",
            client.name(),
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
            "[convert {name} {}] {t}: config ({} keys) and {} files compared",
            client.name(),
            CONFIG_KEYS.len(),
            fa.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{name} ({}):\n- {}",
        client.name(),
        failures.join("\n- ")
    );
}

/// `converts!(convert_go => "go", …)`: a module per example with a test per engine.
macro_rules! converts {
    ($($m:ident => $name:literal),* $(,)?) => {$(
        mod $m {
            use slipway_e2e::Client;
            #[test]
            fn docker() {
                super::converted_twin_equals_twin($name, Client::Docker)
            }
            #[test]
            fn buildx() {
                super::converted_twin_equals_twin($name, Client::Buildx)
            }
        }
    )*};
}

converts!(
    convert_go => "go",
    convert_python => "python",
    convert_node => "node",
    convert_rust => "rust",
    convert_java => "java",
    convert_static_site => "static-site",
    convert_parallel => "parallel",
    convert_external_image => "external-image",
    convert_ci_targets => "ci-targets",
);
