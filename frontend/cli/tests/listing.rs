//! `slipway targets` / `slipway outline`: the listings buildx shows for
//! `--call targets|outline`, offline. Snapshots of the text; the JSON is
//! BuildKit's subrequest shape.

use std::process::Command;

fn slipway(args: &[&str]) -> (i32, String, String) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn targets_text_and_json() {
    let (code, out, err) = slipway(&["targets", "examples/ci-targets/slipway.yaml"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r"
    TARGET            DESCRIPTION
    source            
    test              unittest (FAIL_TEST=1 makes it fail on purpose)
    lint              pyflakes + compileall
    runtime (default) 
    ci                group: test, lint, runtime
    ");
    let (code, out, _) = slipway(&[
        "targets",
        "examples/ci-targets/slipway.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["targets"][3]["name"], "runtime");
    assert_eq!(v["targets"][3]["default"], true);
    assert_eq!(v["sources"].as_array().unwrap().len(), 1);
}

#[test]
fn outline_text_json_and_errors() {
    let (code, out, err) = slipway(&[
        "outline",
        "examples/go/slipway.yaml",
        "--target",
        "test",
        "--build-arg",
        "FAIL_TEST=1",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r"
    TARGET:      test
    DESCRIPTION: go test (FAIL_TEST=1 makes it fail on purpose)

    BUILD ARG   VALUE                DESCRIPTION
    GO_IMAGE    golang:1.22-alpine   
    FAIL_TEST   1                    
    ");
    let (code, out, _) = slipway(&["outline", "examples/go/slipway.yaml", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "runtime-scratch");
    assert_eq!(v["args"][0]["name"], "GO_IMAGE");
    let spec = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/go/slipway.yaml"),
    )
    .unwrap();
    let line = 1 + spec
        .lines()
        .position(|l| l.trim_start().starts_with("GO_IMAGE:"))
        .unwrap();
    assert_eq!(v["args"][0]["location"]["ranges"][0]["start"]["line"], line);

    let (code, out, err) = slipway(&["outline", "examples/go/slipway.yaml", "--target", "tset"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    insta::assert_snapshot!(err, @r"
    error[unknown-target]: target `tset` is not a stage or group of examples/go/slipway.yaml
      = help: did you mean `test`? valid stages: builder, test, runtime-alpine, runtime-distroless, runtime-scratch
    ");
}
