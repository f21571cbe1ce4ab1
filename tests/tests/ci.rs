//! The CI recipe of docs/ci.md across machines, for real: two buildkitd v0.24 daemons with separate
//! state (the project's `slipway-buildkitd` and a second one, `slipway-buildkitd2`, started by
//! `scripts/buildkitd.sh` with `SLIPWAY_BUILDKITD_NAME`). The first builds a target and exports its
//! cache to the local registry (`mode=max`); the second, which has never built it (fresh args),
//! builds the same target importing that cache — through Slipway, which forwards the cache imports
//! to its solve — and must execute no `RUN` step (every one `CACHED`). With buildctl and buildx,
//! and with an inline cache in a pushed image.

use slipway_e2e::clients::{run_tool, REGISTRY};
use slipway_e2e::*;
use std::process::Command;

const SECOND: &str = "slipway-buildkitd2";

/// Start (idempotent) the second daemon and its buildx builder; its address.
fn second_daemon() -> String {
    engine();
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/buildkitd.sh"))
        .arg("up")
        .env("SLIPWAY_BUILDKITD_NAME", SECOND)
        .output()
        .expect("run scripts/buildkitd.sh");
    assert!(
        out.status.success(),
        "the second buildkitd ({SECOND}) cannot be started:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    format!("unix:///run/{SECOND}.sock")
}

/// RUN vertices of a plain progress output: (name, executed?).
fn run_vertices(out: &str) -> Vec<(String, bool)> {
    parse_progress(out)
        .into_iter()
        .filter(|v| v.name.contains("] RUN "))
        .map(|v| {
            let executed = !v.cached || v.logs.iter().any(|l| l.contains("E2E-STEP-RAN"));
            (v.name, executed)
        })
        .collect()
}

#[track_caller]
fn assert_all_cached(second: &Run, first: &Run) {
    let out = second.all();
    let runs = run_vertices(&out);
    assert!(
        !runs.is_empty(),
        "no RUN vertex in the second daemon's output:\n{out}"
    );
    let executed: Vec<_> = runs.iter().filter(|(_, e)| *e).map(|(n, _)| n).collect();
    assert!(
        executed.is_empty(),
        "the second daemon executed RUN steps despite the imported cache: {executed:?}\n--- second ({}) ---\n{out}\n--- first ({}) ---\n{}",
        second.command,
        first.command,
        first.all()
    );
    // And the first daemon did run them (the args were new to it too).
    let ran_first = run_vertices(&first.all())
        .iter()
        .filter(|(_, e)| *e)
        .count();
    assert_eq!(
        ran_first,
        runs.len(),
        "the first build should have run every RUN step:\n{}",
        first.all()
    );
}

fn buildctl_args(f: &Fixture, image: &str, nonce_arg: &str, extra: &[String]) -> Vec<String> {
    let mut a = vec!["--opt".to_string(), format!("build-arg:{nonce_arg}")];
    a.extend(extra.iter().cloned());
    buildctl_gateway_args(&f.dir, image, &a)
}

/// The same build with buildctl on the first daemon (FIRST flags: exporting a cache), then on
/// the second (address ADDR2, SECOND flags: importing it): both runs.
fn first_then_second(
    f: &Fixture,
    arg: &str,
    first: &[String],
    second: &[String],
    addr2: &str,
) -> (Run, Run) {
    let image = engine().image.clone();
    let a = run_tool("buildctl", &buildctl_args(f, &image, arg, first), &[]).ok();
    let b = run_tool(
        "buildctl",
        &buildctl_args(f, &image, arg, second),
        &[("BUILDKIT_HOST", addr2)],
    )
    .ok();
    (a, b)
}

#[test]
fn buildctl_registry_cache_reaches_a_second_daemon() {
    let _s = shared_slot();
    let addr2 = second_daemon();
    let f = fixture("rebuild-cached", Client::Buildctl);
    let n = nonce();
    let arg = format!("NONCE={n}");
    let cache = format!("{REGISTRY}/slipway-e2e/cache:buildctl-{n}");
    let (first, second) = first_then_second(
        &f,
        &arg,
        &[
            "--export-cache".into(),
            format!("type=registry,ref={cache},mode=max"),
        ],
        &[
            "--import-cache".into(),
            format!("type=registry,ref={cache}"),
        ],
        &addr2,
    );
    assert_all_cached(&second, &first);
}

#[test]
fn buildx_registry_cache_reaches_a_second_daemon() {
    let _s = shared_slot();
    second_daemon();
    let f = fixture("rebuild-cached", Client::Buildx);
    let n = nonce();
    let arg = format!("NONCE={n}");
    let cache = format!("{REGISTRY}/slipway-e2e/cache:buildx-{n}");
    let spec = f.spec_path().display().to_string();
    let dir = f.dir.display().to_string();
    let build = |builder: &str, cache_flag: String| -> Run {
        run_tool(
            "buildx",
            &[
                "build".into(),
                "--progress=plain".into(),
                "--builder".into(),
                builder.into(),
                "-f".into(),
                spec.clone(),
                "--build-arg".into(),
                arg.clone(),
                cache_flag,
                dir.clone(),
            ],
            &[],
        )
    };
    let first = build(
        "slipway-buildkitd",
        format!("--cache-to=type=registry,ref={cache},mode=max"),
    )
    .ok();
    let second = build(SECOND, format!("--cache-from=type=registry,ref={cache}")).ok();
    assert_all_cached(&second, &first);
}

/// Inline cache: the first daemon pushes the image with its cache metadata inside; the second
/// imports the image itself as its cache source.
#[test]
fn buildctl_inline_cache_reaches_a_second_daemon() {
    let _s = shared_slot();
    let addr2 = second_daemon();
    let f = fixture("rebuild-cached", Client::Buildctl);
    let n = nonce();
    let arg = format!("NONCE={n}");
    let pushed = format!("{REGISTRY}/slipway-e2e/inline:{n}");
    let (first, second) = first_then_second(
        &f,
        &arg,
        &[
            "--export-cache".into(),
            "type=inline".into(),
            "--output".into(),
            format!("type=image,name={pushed},push=true"),
        ],
        &[
            "--import-cache".into(),
            format!("type=registry,ref={pushed}"),
        ],
        &addr2,
    );
    assert_all_cached(&second, &first);
}
