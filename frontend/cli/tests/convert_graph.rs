//! The `convert` and `graph` subcommands as a user runs them: exit codes,
//! what goes to stdout and what to stderr.

use std::path::PathBuf;
use std::process::Command;

fn slipway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
}

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[cfg(feature = "convert")]
#[test]
fn convert_prints_yaml_and_located_warnings() {
    let out = slipway()
        .args(["convert", "--syntax", "registry.example/slipway:1"])
        .arg(repo("frontend/convert/tests/fixtures/features.Dockerfile"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yaml.starts_with("# syntax=registry.example/slipway:1\n"),
        "{yaml}"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("warning[no-slipway-form]: `ONBUILD`"), "{err}");
    assert!(err.contains("features.Dockerfile:60:1"), "{err}");
    assert!(err.contains("converted with 2 warnings"), "{err}");
}

#[cfg(feature = "convert")]
#[test]
fn convert_error_exits_1_without_output() {
    let out = slipway()
        .arg("convert")
        .arg(repo("frontend/convert/tests/fixtures/bad.Dockerfile"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("error[unknown-instruction]: unknown instruction `FROOM`"),
        "{err}"
    );
    assert!(err.contains("did you mean `FROM`?"), "{err}");
}

#[cfg(feature = "graph")]
#[test]
fn graph_formats_and_unknown_target() {
    let dot = slipway()
        .arg("graph")
        .arg(repo("examples/go/slipway.yaml"))
        .args(["--target", "test"])
        .output()
        .unwrap();
    assert!(dot.status.success());
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert!(dot.starts_with("digraph slipway {"), "{dot}");
    assert!(dot.contains("builds 2 of 5 stages"), "{dot}");
    let mm = slipway()
        .arg("graph")
        .arg(repo("examples/go/slipway.yaml"))
        .args(["--format", "mermaid"])
        .output()
        .unwrap();
    assert!(String::from_utf8(mm.stdout)
        .unwrap()
        .contains("flowchart LR"));
    let bad = slipway()
        .arg("graph")
        .arg(repo("examples/go/slipway.yaml"))
        .args(["--target", "tset"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("did you mean `test`?"), "{err}");
}
