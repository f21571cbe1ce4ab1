//! `slipway check`: lint findings, the `# syntax=` line, `.dockerignore`, plurals.

use std::process::Command;

fn check(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .arg("check")
        .arg(dir.join("slipway.yaml"))
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stderr).unwrap())
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("slipway-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn missing_syntax_line_and_one_stage() {
    let d = tmp("syntax");
    std::fs::write(
        d.join("slipway.yaml"),
        "version: 1\nstages:\n  a: {from: alpine:3.20, image: {user: \"1\"}}\n",
    )
    .unwrap();
    let (ok, err) = check(&d, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("warning[missing-syntax]"), "{err}");
    assert!(err.contains(":1:1"), "{err}");
    assert!(err.ends_with("ok (1 stage)\n"), "{err}");
}

#[test]
fn dockerignore_beside_the_context_is_read() {
    let d = tmp("ignore");
    let spec = "# syntax=slipway:dev\nstages:\n  a:\n    from: alpine:3.20\n    steps:\n      - copy: .\n    image: {user: \"1\"}\n  b:\n    from: a\n";
    std::fs::write(d.join("slipway.yaml"), spec).unwrap();
    std::fs::create_dir(d.join(".git")).unwrap();
    let (ok, err) = check(&d, &[]);
    assert!(ok, "{err}");
    assert!(
        err.contains("warning[context-not-ignored]") && err.contains("`slipway.yaml`, `.git`"),
        "{err}"
    );
    assert!(err.ends_with("ok (2 stages)\n"), "{err}");
    std::fs::write(
        d.join(".dockerignore"),
        "# build files\nslipway.yaml\n.git\n",
    )
    .unwrap();
    let (_, err) = check(&d, &[]);
    assert!(!err.contains("context-not-ignored"), "{err}");
    // The spec's own ignore file wins over the context's.
    std::fs::write(d.join("slipway.yaml.dockerignore"), "*.log\n").unwrap();
    let (_, err) = check(&d, &[]);
    assert!(err.contains("context-not-ignored"), "{err}");
    // Another context: the spec is not in it, .git is not there.
    let other = tmp("ignore-ctx");
    let (_, err) = check(&d, &["--context", other.to_str().unwrap()]);
    assert!(!err.contains("context-not-ignored"), "{err}");
}
