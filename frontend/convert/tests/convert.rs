//! Snapshot tests of conversions: each `tests/fixtures/*.Dockerfile` converts to
//! the snapshotted YAML and warnings (or errors); every successful output is a
//! spec that `slipway check` accepts (slipway_spec::load) and that compiles.

use std::path::Path;

use slipway_convert::{convert, Options};

mod convert_check {
    include!("common/check.rs");
}
use convert_check::check;

fn run(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.Dockerfile"));
    let text = std::fs::read_to_string(&path).unwrap();
    let file = format!("{name}.Dockerfile");
    match convert(&file, &text, &Options::default()) {
        Ok(c) => {
            let mut out = c.yaml.clone();
            out.push_str("\n----- warnings -----\n");
            for w in &c.warnings {
                out.push_str(&w.render(&file, &text));
            }
            if let Err(e) = check(&c.yaml) {
                panic!(
                    "{name}: the converted spec does not pass check:\n{e}\n{}",
                    c.yaml
                );
            }
            out
        }
        Err(d) => format!("----- errors -----\n{}", d.render()),
    }
}

#[test]
fn features() {
    insta::assert_snapshot!(run("features"));
}

#[test]
fn scoping() {
    insta::assert_snapshot!(run("scoping"));
}

#[test]
fn escape_directive() {
    insta::assert_snapshot!(run("escape"));
}

#[test]
fn unknown_instruction_is_a_located_error() {
    let out = run("bad");
    assert!(
        out.contains("error[unknown-instruction]: unknown instruction `FROOM`"),
        "{out}"
    );
    assert!(out.contains("bad.Dockerfile:3:1"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn instruction_before_from() {
    insta::assert_snapshot!(run("before-from"));
}

/// Same input, same bytes.
#[test]
fn deterministic() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features.Dockerfile"),
    )
    .unwrap();
    let a = convert("f", &text, &Options::default()).unwrap().yaml;
    let b = convert("f", &text, &Options::default()).unwrap().yaml;
    assert_eq!(a, b);
}

/// Each example's Dockerfile twin converts with no warning to a spec that
/// checks and compiles, with the same stages as the twin.
#[test]
fn example_twins_convert_and_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path().join("Dockerfile");
        if !p.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let c = convert("Dockerfile", &text, &Options::default())
            .unwrap_or_else(|d| panic!("{}: {d}", p.display()));
        assert!(c.warnings.is_empty(), "{}: {:?}", p.display(), c.warnings);
        let stages = check(&c.yaml).unwrap_or_else(|e| panic!("{}: {e}\n{}", p.display(), c.yaml));
        let froms = text.lines().filter(|l| l.starts_with("FROM ")).count();
        assert_eq!(stages, froms, "{}", p.display());
        n += 1;
    }
    assert!(n >= 9, "only {n} example twins found");
}
