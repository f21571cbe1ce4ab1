//! The examples issue's "Done when", end to end, on both engines (`example_<name>::docker`: docker
//! build on dockerd 20.10; `example_<name>::buildx`: buildx build on buildkitd v0.24, where the twin
//! goes through BuildKit's own Dockerfile frontend): every example (examples/<name>/example.toml)
//! builds with Slipway and with its Dockerfile twin into images with the same config, files and
//! size (±2 %); every final image runs and answers; the test targets run the tests and fail the
//! build when a test fails; the parallel example's independent stages overlap; a one-file edit
//! re-runs only the steps after the source copy, as many as with the twin; and the results row
//! (sizes vs single-stage, cold and warm build times) is printed — `make examples-table` writes it
//! into examples/README.md. The logic lives in `slipway_e2e::examples`.
//!
//! Slow (real builds of every toolchain): run with
//! `cargo test -p slipway-e2e --test examples -- --nocapture --test-threads=1`.
//! Examples run one at a time regardless (they take the crate's exclusive slot). These tests
//! never skip: no engine, no frontend image or an unbuildable base-image substitute is a failure.

/// `examples!(go => "go", …)`: a module per example with a test per engine.
macro_rules! examples {
    ($($m:ident => $name:literal),* $(,)?) => {$(
        mod $m {
            use slipway_e2e::{examples::run_example, Client};
            #[test]
            fn docker() {
                run_example($name, Client::Docker)
            }
            #[test]
            fn buildx() {
                run_example($name, Client::Buildx)
            }
        }
    )*};
}

examples!(
    example_go => "go",
    example_node => "node",
    example_python => "python",
    example_rust => "rust",
    example_java => "java",
    example_static_site => "static-site",
    example_parallel => "parallel",
    example_external_image => "external-image",
    example_ci_targets => "ci-targets",
);

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
