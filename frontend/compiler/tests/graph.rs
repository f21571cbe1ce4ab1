//! `slipway graph`: snapshots of the dot and Mermaid output for examples, with
//! and without a target, and the pruning rules.

use slipway_compiler::graph::{graph, GraphFormat};

fn plan(path: &str) -> slipway_spec::Plan {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    let text = std::fs::read_to_string(&p).unwrap();
    slipway_spec::load(path, &text, &Default::default())
        .unwrap()
        .plan
}

#[test]
fn go_default_target_dot() {
    insta::assert_snapshot!(
        graph(&plan("examples/go/slipway.yaml"), None, GraphFormat::Dot).unwrap()
    );
}

#[test]
fn go_test_target_mermaid() {
    insta::assert_snapshot!(graph(
        &plan("examples/go/slipway.yaml"),
        Some("test"),
        GraphFormat::Mermaid
    )
    .unwrap());
}

#[test]
fn ci_group_dot() {
    insta::assert_snapshot!(graph(
        &plan("examples/ci-targets/slipway.yaml"),
        Some("ci"),
        GraphFormat::Dot
    )
    .unwrap());
}

#[test]
fn parallel_mermaid() {
    insta::assert_snapshot!(graph(
        &plan("examples/parallel/slipway.yaml"),
        None,
        GraphFormat::Mermaid
    )
    .unwrap());
}

/// A target prunes exactly the stages outside its closure; binds and caches are edges.
#[test]
fn pruning_and_edge_kinds() {
    let src = r#"
stages:
  tools: {from: alpine}
  seed: {from: alpine}
  build:
    from: alpine
    steps:
      - run: make
        bind: {from: tools, target: /t}
        cache: {target: /c, from: seed}
  unrelated: {from: busybox}
  final:
    from: build
"#;
    let p = slipway_spec::load("s.yaml", src, &Default::default())
        .unwrap()
        .plan;
    let dot = graph(&p, Some("final"), GraphFormat::Dot).unwrap();
    assert!(
        dot.contains("s1 -> s2 [label=\"cache\", style=dotted]"),
        "{dot}"
    );
    assert!(
        dot.contains("s0 -> s2 [label=\"bind\", style=dashed]"),
        "{dot}"
    );
    assert!(
        dot.contains("s3 [label=\"unrelated\", shape=box, style=\"rounded,dashed\""),
        "{dot}"
    );
    assert!(dot.contains("builds 4 of 5 stages"), "{dot}");
    // busybox is read only by the pruned stage: greyed too
    assert!(
        dot.contains("[label=\"busybox\", shape=note, color=\"#bbbbbb\""),
        "{dot}"
    );
    let mm = graph(&p, Some("unrelated"), GraphFormat::Mermaid).unwrap();
    assert!(mm.contains("class s3 target;"), "{mm}");
    assert!(mm.contains("class s0,s1,s2,s4 pruned;"), "{mm}");
    assert!(graph(&p, Some("nope"), GraphFormat::Dot).is_err());
}
