//! One test per budget of `limits.rs` (issue 11): an input just over it is
//! refused with a located `too-large` (or the limit's own code); the
//! rendered diagnostic is snapshotted. Inputs are generated (some are
//! megabytes); speed is measured by `scripts/runaway-table.py`, not here.

use slipway_spec::limits::*;
use slipway_spec::*;

/// The first diagnostic with `code`, rendered; panics if the input loads.
fn refused(src: &str, code: &str) -> String {
    let d = load("slipway.yaml", src, &EvalOptions::default()).expect_err("must be refused");
    let first = d
        .items
        .iter()
        .find(|i| i.code == code)
        .unwrap_or_else(|| panic!("no {code}: {}", d.render()));
    assert!(!first.span.is_unknown(), "{code} has no location");
    first.render(&d.filename, &d.source)
}

fn loads(src: &str) {
    if let Err(d) = load("slipway.yaml", src, &EvalOptions::default()) {
        panic!("{}", d.render());
    }
}

fn stages(n: usize) -> String {
    let mut s = String::from("stages:\n");
    for i in 0..n {
        s.push_str(&format!("  s{i}: {{from: scratch}}\n"));
    }
    s
}

#[test]
fn stages_limit() {
    loads(&stages(MAX_STAGES));
    insta::assert_snapshot!(refused(&stages(MAX_STAGES + 1), "too-large"));
}

/// Any mapping, `x-` anchors included, is refused while it is parsed.
#[test]
fn mapping_keys_limit() {
    let keys = |n: usize| {
        let mut s = String::from("x-data:\n");
        for i in 0..n {
            s.push_str(&format!("  k{i}: v\n"));
        }
        s.push_str("stages:\n  app: {from: alpine}\n");
        s
    };
    loads(&keys(MAX_MAPPING_KEYS));
    insta::assert_snapshot!(refused(&keys(MAX_MAPPING_KEYS + 1), "too-large"));
}

#[test]
fn stages_limit_ignores_x_keys() {
    let mut s = stages(MAX_STAGES);
    s.push_str("  x-note: {from: scratch}\n");
    loads(&s);
}

#[test]
fn steps_limit() {
    let steps = |n: usize| {
        let mut s = String::from("stages:\n  app:\n    from: alpine\n    steps:\n");
        for _ in 0..n {
            s.push_str("      - remove: /a\n");
        }
        s
    };
    loads(&steps(MAX_STEPS));
    insta::assert_snapshot!(refused(&steps(MAX_STEPS + 1), "too-large"));
}

#[test]
fn group_members_limit() {
    let mut s = stages(10);
    s.push_str("groups:\n  all:\n");
    for i in 0..=MAX_GROUP_MEMBERS {
        s.push_str(&format!("    - s{}\n", i % 10));
    }
    insta::assert_snapshot!(refused(&s, "too-large"));
}

#[test]
fn env_entries_limit() {
    let env = |n: usize| {
        let mut s = String::from("stages:\n  app:\n    from: alpine\n    env:\n");
        for i in 0..n {
            s.push_str(&format!("      K{i}: v\n"));
        }
        s
    };
    loads(&env(MAX_ENV_ENTRIES));
    insta::assert_snapshot!(refused(&env(MAX_ENV_ENTRIES + 1), "too-large"));
}

#[test]
fn value_bytes_limit() {
    // Each level doubles: 2^21 bytes at level 20.
    let mut s = String::from("args:\n  E0: ab\n");
    for i in 1..=28 {
        s.push_str(&format!("  E{i}: ${{E{}}}${{E{}}}\n", i - 1, i - 1));
    }
    s.push_str("stages:\n  app: {from: alpine}\n");
    insta::assert_snapshot!(refused(&s, "too-large"));
}

#[test]
fn expanded_bytes_limit() {
    let big = "x".repeat(2048);
    let refs = "${BIG}".repeat(300);
    let mut s = format!("args:\n  BIG: {big}\nstages:\n  app:\n    from: alpine\n    env:\n");
    for i in 0..300 {
        s.push_str(&format!("      K{i}: \"{refs}\"\n"));
    }
    let r = refused(&s, "too-large");
    // The long line is shown cut around the column.
    assert!(r.lines().all(|l| l.chars().count() < 260), "{r}");
    insta::assert_snapshot!(r);
}

#[test]
fn inherited_entries_limit() {
    // Every stage starts from a copy of the global args.
    let mut s = String::from("args:\n");
    for i in 0..2_000 {
        s.push_str(&format!("  A{i}: v\n"));
    }
    s.push_str(&stages(2_100));
    insta::assert_snapshot!(refused(&s, "too-large"));
}

#[test]
fn merged_keys_limit() {
    // Written out (through an alias, the alias budget stops it first), as
    // several mappings each within MAX_MAPPING_KEYS.
    let mut s = String::from("stages:\n  app:\n    from: alpine\n    env:\n      <<:\n");
    let mut i = 0;
    while i <= MAX_MERGED_KEYS {
        s.push_str("        -\n");
        for _ in 0..MAX_MAPPING_KEYS.min(MAX_MERGED_KEYS + 1 - i) {
            s.push_str(&format!("          K{i}: v\n"));
            i += 1;
        }
    }
    insta::assert_snapshot!(refused(&s, "too-large"));
}

#[test]
fn errors_limit() {
    let mut s = String::from("stages:\n");
    for i in 0..MAX_ERRORS + 50 {
        s.push_str(&format!("  s{i}: {{from: alpine, stpes: []}}\n"));
    }
    let d = load("slipway.yaml", &s, &EvalOptions::default()).expect_err("refused");
    let errors = d
        .items
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    assert_eq!(errors, MAX_ERRORS + 1, "{} errors", errors);
    insta::assert_snapshot!(refused(&s, "too-many-errors"));
}

#[test]
fn hints_stay_within_their_budget() {
    // 5,000 stages from distinct images, each close to the stage `alpin`:
    // every `from:` looks for a typo hint over 5,001 names; the shared
    // budget keeps this linear, and the hints found before it runs out are
    // still given.
    let mut s = String::from("stages:\n  alpin: {from: scratch}\n");
    for i in 0..5_000 {
        s.push_str(&format!("  s{i}: {{from: alpine{i}}}\n"));
    }
    let l = load("slipway.yaml", &s, &EvalOptions::default()).expect("loads");
    let hints = l.warnings.iter().filter(|w| w.code == "maybe-typo").count();
    assert!(hints > 0 && hints < 5_000, "{hints} hints");
}

#[test]
fn a_repeated_word_is_hinted_every_time() {
    // The same `from:` everywhere is one question, answered once.
    let mut s = String::from("stages:\n  alpin: {from: scratch}\n");
    for i in 0..5_000 {
        s.push_str(&format!("  s{i}: {{from: alpine}}\n"));
    }
    let l = load("slipway.yaml", &s, &EvalOptions::default()).expect("loads");
    let hints = l.warnings.iter().filter(|w| w.code == "maybe-typo").count();
    assert_eq!(hints, 5_000);
}

/// A step's `env` is refused while the YAML is read (at entry 1,001), and
/// an `env` with a `<<` merge is left to evaluation, which counts merged
/// entries too.
#[test]
fn step_env_entries_limit_and_merges() {
    let mut s = String::from(
        "stages:\n  app:\n    from: alpine\n    steps:\n      - run: env\n        env:\n",
    );
    for i in 0..=MAX_ENV_ENTRIES {
        s.push_str(&format!("          K{i}: v\n"));
    }
    let d = refused(&s, "too-large");
    assert!(d.contains(":1007:11"), "{d}");
    let mut m =
        String::from("x-e: &e {A: a}\nstages:\n  app:\n    from: alpine\n    env:\n      <<: *e\n");
    for i in 0..MAX_ENV_ENTRIES {
        m.push_str(&format!("      K{i}: v\n"));
    }
    let d = refused(&m, "too-large");
    assert!(d.contains("1001 entries"), "{d}");
}
