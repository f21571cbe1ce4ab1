//! Compiler diagnostics point into the spec (issue 11: `llb` errors had no
//! location), and the compiler's budgets refuse with a located `too-large`.

use slipway_compiler::{compile, CompileOptions};
use slipway_spec::limits::*;
use slipway_spec::{load, EvalOptions, Platform};

fn compile_err(src: &str) -> slipway_spec::Diagnostics {
    let loaded = load("slipway.yaml", src, &EvalOptions::default()).expect("loads");
    compile(
        &loaded.plan,
        &CompileOptions::default(),
        &Platform::default(),
    )
    .expect_err("compile must fail")
}

/// Issue 11: `chown: root` + `link: true` passed `check` and failed
/// `compile` with an unlocated `llb` error blaming the daemon.
#[test]
fn chown_by_name_on_a_link_copy_points_at_its_step() {
    let src = "stages:\n  app:\n    from: alpine\n    steps:\n      - copy: a\n        to: /a\n        chown: root\n        link: true\n";
    let d = compile_err(src);
    let e = &d.items[0];
    assert!(!e.span.is_unknown(), "{}", d.render());
    insta::assert_snapshot!(d.render());
}

/// A file step's owner on scratch is named by its own key (`owner:`), not
/// the copy's `chown:`.
#[test]
fn owner_by_name_on_scratch_names_the_owner_key() {
    let src = "stages:\n  app:\n    from: scratch\n    steps:\n      - mkdir: /data\n        owner: root\n";
    let d = compile_err(src);
    assert_eq!(d.items[0].code, "chown-needs-passwd");
    assert!(
        d.items[0].message.starts_with("`owner: root`"),
        "{}",
        d.render()
    );
    insta::assert_snapshot!(d.render());
}

#[test]
fn run_env_bytes_limit() {
    // Each run carries the stage's env (1,000 × ~100 bytes).
    let mut s = String::from("stages:\n  app:\n    from: alpine\n    env:\n");
    let v = "v".repeat(96);
    for i in 0..1_000 {
        s.push_str(&format!("      K{i}: {v}\n"));
    }
    s.push_str("    steps:\n");
    let runs = MAX_RUN_ENV_BYTES / 100_000 + 10;
    for i in 0..runs {
        s.push_str(&format!("      - run: echo {i}\n"));
    }
    let d = compile_err(&s);
    assert_eq!(d.items[0].code, "too-large", "{}", d.render());
    insta::assert_snapshot!(d.items[0].render(&d.filename, &d.source));
}

#[test]
fn shared_bases_copy_within_budget() {
    // One base with long history read by many stages: each copy is charged.
    let mut s = String::from("stages:\n  base:\n    from: alpine\n    steps:\n");
    for i in 0..3_000 {
        s.push_str(&format!("      - run: echo {i}\n"));
    }
    let children = MAX_INHERITED_ENTRIES / 3_000 + 10;
    for i in 0..children {
        s.push_str(&format!("  c{i}: {{from: base}}\n"));
    }
    s.push_str("groups:\n  all: [");
    s.push_str(
        &(0..children)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str("]\ndefault: all\n");
    let d = compile_err(&s);
    assert_eq!(d.items[0].code, "too-large", "{}", d.render());
    insta::assert_snapshot!(d.items[0].render(&d.filename, &d.source));
}

#[test]
fn a_long_from_chain_hands_its_config_over() {
    // 5,000 stages, each from the previous with one step: the last image
    // has one history entry per step, and nothing is copied on the way.
    let mut s = String::from("stages:\n  s0: {from: alpine}\n");
    for i in 1..5_000 {
        s.push_str(&format!(
            "  s{i}:\n    from: s{}\n    steps:\n      - run: echo {i}\n",
            i - 1
        ));
    }
    let loaded = load("slipway.yaml", &s, &EvalOptions::default()).expect("loads");
    let c = compile(
        &loaded.plan,
        &CompileOptions::default(),
        &Platform::default(),
    )
    .expect("compiles");
    let cfg: serde_json::Value = serde_json::from_slice(&c.image_config).unwrap();
    assert_eq!(cfg["history"].as_array().map(|h| h.len()), Some(4_999));
}

/// An op that fails to encode is named at its step's line (issue 11: `llb`
/// errors had no location). Eval refuses an empty `run` list, so the plan is
/// altered after evaluation to reach the encoder's own check.
#[test]
fn an_op_that_fails_to_encode_points_at_its_step() {
    use slipway_spec::{Command, StepKind};
    let src = "stages:\n  app:\n    from: alpine\n    steps:\n      - run: [true]\n      - run: [make, all]\n";
    let mut loaded = load("slipway.yaml", src, &EvalOptions::default()).expect("loads");
    let StepKind::Run(run) = &mut loaded.plan.stages[0].steps[1].kind else {
        panic!("a run step");
    };
    run.command = Command::Exec(vec![]);
    let d = compile(
        &loaded.plan,
        &CompileOptions::default(),
        &Platform::default(),
    )
    .expect_err("compile must fail");
    let e = &d.items[0];
    assert_eq!(e.code, "llb", "{}", d.render());
    assert_eq!(e.span.start.line, 6, "{}", d.render());
    insta::assert_snapshot!(d.render());
}
