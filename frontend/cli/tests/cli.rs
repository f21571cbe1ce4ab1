//! The CLI as a user runs it: separate processes, real files.

use std::path::PathBuf;
use std::process::Command;

fn slipway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
}

fn example(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn two_processes_give_identical_bytes() {
    for spec in [
        "examples/go/slipway.yaml",
        "examples/ci-targets/slipway.yaml",
        "frontend/compiler/tests/specs/builder-runtime.yaml",
    ] {
        for target in [None, Some("ci")] {
            let run = || {
                let mut c = slipway();
                c.arg("compile")
                    .arg(example(spec))
                    .args(["--build-arg", "VERSION=1.2.3"]);
                if let Some(t) = target {
                    c.args(["--target", t]);
                }
                c.output().unwrap()
            };
            let (a, b) = (run(), run());
            assert_eq!(a.status.success(), b.status.success(), "{spec}");
            if !a.status.success() {
                // e.g. no `ci` group in this spec: the error must be stable too.
                assert_eq!(a.stderr, b.stderr);
                continue;
            }
            assert!(!a.stdout.is_empty());
            assert!(
                a.stdout == b.stdout,
                "{spec} {target:?}: output differs between processes"
            );
        }
    }
}

#[test]
fn json_dump_is_readable_and_stable() {
    let run = || {
        slipway()
            .args(["compile", "--format", "json"])
            .arg(example("examples/go/slipway.yaml"))
            .output()
            .unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(a.stdout, b.stdout);
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert!(v.as_array().is_some_and(|ops| ops.len() > 3), "{v}");
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("slipway-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    std::fs::write(
        &f,
        "stages:\n  app:\n    form: alpine\n    steps:\n      - run: make\n        cahce: /x\n",
    )
    .unwrap();
    let out = slipway().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:3:5"), "{err}");
    assert!(err.contains("did you mean `from`"), "{err}");
    assert!(err.contains("bad.yaml:6:9"), "{err}");
    assert!(err.contains("did you mean `cache`"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn unknown_target_lists_valid_ones() {
    let out = slipway()
        .args(["compile", "--target", "tset"])
        .arg(example("examples/ci-targets/slipway.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("target `tset`"), "{err}");
    assert!(err.contains("did you mean `test`"), "{err}");
    assert!(err.contains("runtime"), "{err}");
}

#[test]
fn a_100_mb_file_is_refused_without_reading_it() {
    let dir = std::env::temp_dir().join(format!("slipway-cli-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("big.yaml");
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap(); // sparse: no 100 MB write needed
    let out = slipway().arg("check").arg(&f).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("too-large") && err.contains("104857600 bytes"),
        "{err}"
    );
}
