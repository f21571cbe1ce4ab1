//! `SOURCE_DATE_EPOCH` through the real engines (docker build on dockerd 20.10, buildx build on
//! buildkitd v0.24), as BuildKit's Dockerfile frontend has it: the build arg wins over a default in
//! the spec's global `args:` (Dockerfile 1.23's global `ARG SOURCE_DATE_EPOCH=…`), the epoch dates
//! the image, and `run` steps see it where the stage asks for it (a stage `args:
//! {SOURCE_DATE_EPOCH:}`, Docker's `ARG SOURCE_DATE_EPOCH`) or the command names it; a command
//! that does neither does not see it. Fixture: tests/fixtures/epoch-run (the run steps write what
//! they saw into files the image's command prints).

use slipway_e2e::{fixture, on_both_engines, shared_slot, Client, Fixture};

/// The fixture as copy NAME (its own image tag: the tests run side by side), with a global
/// `args:` block ARGS (YAML lines) before `stages:` when given.
fn copy(c: Client, name: &str, args: Option<&str>) -> Fixture {
    let f = fixture("epoch-run", c).copy_as(name);
    if let Some(a) = args {
        let text = f
            .spec_text()
            .replacen("\nstages:", &format!("\n{a}\nstages:"), 1);
        std::fs::write(f.spec_path(), text).unwrap();
    }
    f
}

/// What the image's run steps saw: (epoch-named, epoch-other, epoch-declared) lines, and the
/// image's inspect JSON.
fn seen(f: &Fixture, build_args: &[&str]) -> (String, serde_json::Value) {
    let mut flags = vec!["--target", "declared"];
    for a in build_args {
        flags.extend(["--build-arg", a]);
    }
    f.build(&flags).ok();
    (f.run(&[]), f.inspect())
}

const DEFAULT: &str = "args:\n  SOURCE_DATE_EPOCH: \"1700000001\"";

/// Builds the fixture (with `args` prepended when given) and checks the epoch every run step saw
/// (named, the other stage's count of it, declared) and the image's `Created`.
fn epoch_seen(
    c: Client,
    dir: &str,
    args: Option<&str>,
    flags: &[&str],
    epoch: &str,
    created: &str,
) {
    let _s = shared_slot();
    let f = copy(c, dir, args);
    let (out, img) = seen(&f, flags);
    assert_eq!(
        out,
        format!("named={epoch}\n0\nSOURCE_DATE_EPOCH={epoch}\n"),
        "what the run steps saw (named, other's count, declared)"
    );
    assert_eq!(img["Created"].as_str(), Some(created), "{img:#}");
}

/// The build arg alone (the spec declares no arg): a run naming it and a stage declaring it see it.
fn the_build_arg_reaches_runs_that_ask(c: Client) {
    let arg = ["SOURCE_DATE_EPOCH=1704067200"];
    epoch_seen(
        c,
        "epoch-arg",
        None,
        &arg,
        "1704067200",
        "2024-01-01T00:00:00Z",
    );
}

/// A global default with no build arg is the epoch: it dates the image and the runs see it.
fn the_global_default_dates_the_image_and_runs_see_it(c: Client) {
    epoch_seen(
        c,
        "epoch-default",
        Some(DEFAULT),
        &[],
        "1700000001",
        "2023-11-14T22:13:21Z",
    );
}

/// The build arg wins over the global default.
fn the_build_arg_wins_over_the_default(c: Client) {
    let arg = ["SOURCE_DATE_EPOCH=1704067200"];
    epoch_seen(
        c,
        "epoch-override",
        Some(DEFAULT),
        &arg,
        "1704067200",
        "2024-01-01T00:00:00Z",
    );
}

on_both_engines!(
    the_build_arg_reaches_runs_that_ask,
    the_global_default_dates_the_image_and_runs_see_it,
    the_build_arg_wins_over_the_default,
);
