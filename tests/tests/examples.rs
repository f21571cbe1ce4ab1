//! The examples issue's "Done when", end to end: every example (examples/<name>/example.toml)
//! builds with Slipway and with its Dockerfile twin into images with the same config, files and
//! size (±2 %); every final image runs and answers; the test targets run the tests and fail the
//! build when a test fails; the parallel example's independent stages overlap; a one-file edit
//! re-runs only the steps after the source copy, as many as with the twin; and the results table
//! of examples/README.md is rewritten from the measurements (sizes vs single-stage, cold and warm
//! build times). The logic lives in `slipway_e2e::examples`.
//!
//! Slow (real builds of every toolchain): run with
//! `cargo test -p slipway-e2e --test examples -- --nocapture --test-threads=1`.
//! Examples run one at a time regardless (they take the crate's exclusive slot). These tests
//! never skip: no engine, no frontend image or an unbuildable base-image substitute is a failure.

use slipway_e2e::examples::run_example;

#[test]
fn example_go() {
    run_example("go");
}

#[test]
fn example_node() {
    run_example("node");
}

#[test]
fn example_python() {
    run_example("python");
}

#[test]
fn example_rust() {
    run_example("rust");
}

#[test]
fn example_java() {
    run_example("java");
}

#[test]
fn example_static_site() {
    run_example("static-site");
}

#[test]
fn example_parallel() {
    run_example("parallel");
}

#[test]
fn example_external_image() {
    run_example("external-image");
}

#[test]
fn example_ci_targets() {
    run_example("ci-targets");
}

/// Every example directory with an example.toml has a test above (and the other way round).
#[test]
fn every_example_is_covered() {
    let dir = slipway_e2e::repo_root().join("examples");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("example.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = slipway_e2e::examples::EXAMPLES
        .iter()
        .map(|s| s.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "examples with an example.toml vs slipway_e2e::examples::EXAMPLES"
    );
}
