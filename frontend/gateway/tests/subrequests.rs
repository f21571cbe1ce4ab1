//! Subrequests (`requestid`: buildx `--call targets|outline|check`), the
//! `frontend.caps` option, and warnings shown to the user, against the fake
//! BuildKit (tests/common).

mod common;

use common::{drive, Fake};
use slipway_gateway::Outcome;
use slipway_proto::{gateway as gw, pb};

const ALPINE_CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;

const SPEC: &str = "\
# syntax=slipway:dev
args:
  # Base image of every stage.
  BASE: alpine:3.20
default: app
groups:
  ci: [build, test]
stages:
  build:
    from: ${BASE}
    description: compile
    steps:
      - run: make
        secret: {id: netrc, required: true}
  test:
    from: build
    steps:
      - copy: /x
        from: biuld
  app:
    from: build
# The protocol is under test here, not the lint rules.
lint:
  disable: [root-final]
";

fn fake(spec: &str) -> Fake {
    Fake::new()
        .file("slipway.yaml", spec)
        .image("alpine:3.20", "sha256:aaaa", ALPINE_CONFIG)
        .image("biuld", "sha256:bbbb", ALPINE_CONFIG)
}

fn meta(r: &gw::ReturnRequest, key: &str) -> String {
    let res = r.result.as_ref().expect("a result");
    assert!(res.result.is_none(), "a subrequest returns no ref");
    String::from_utf8(res.metadata[key].clone()).unwrap()
}

fn json(r: &gw::ReturnRequest) -> serde_json::Value {
    serde_json::from_str(&meta(r, "result.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_lists_stages_groups_and_the_default_without_building() {
    let f = fake(SPEC);
    let caps = "frontend.caps=moby.buildkit.frontend.subrequests+forward";
    assert_eq!(
        drive(&f, &["requestid=frontend.targets", caps]).await,
        Outcome::Success
    );
    let r = f.returned();
    let v = json(&r);
    let names: Vec<&str> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["build", "test", "app", "ci"]);
    assert_eq!(v["targets"][2]["default"], true);
    assert_eq!(v["targets"][0]["description"], "compile");
    assert_eq!(v["targets"][0]["location"]["ranges"][0]["start"]["line"], 9);
    assert_eq!(meta(&r, "version"), "1.0.0");
    assert!(meta(&r, "result.txt").contains("app (default)"));
    let st = f.state();
    // Only the spec and .dockerignore were solved; nothing resolved or built.
    assert_eq!(st.solves.len(), 2, "{:?}", st.calls);
    assert!(st.resolves.is_empty());
    assert!(st.warns.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outline_of_the_target_option() {
    let f = fake(SPEC);
    assert_eq!(
        drive(
            &f,
            &[
                "requestid=frontend.outline",
                "target=build",
                "build-arg:BASE=alpine:3.21"
            ]
        )
        .await,
        Outcome::Success
    );
    let r = f.returned();
    let v = json(&r);
    assert_eq!(v["name"], "build");
    assert_eq!(v["args"][0]["name"], "BASE");
    assert_eq!(v["args"][0]["value"], "alpine:3.21");
    assert_eq!(v["args"][0]["description"], "Base image of every stage.");
    assert_eq!(v["secrets"][0]["name"], "netrc");
    assert_eq!(v["secrets"][0]["required"], true);
    assert!(meta(&r, "result.txt").contains("SECRET"));

    // An unknown target is a located error, not an empty outline.
    let f = fake(SPEC);
    drive(&f, &["requestid=frontend.outline", "target=tset"]).await;
    let e = f.returned_error();
    assert!(e.message.contains("tset"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lint_reports_every_spec_warning_with_its_place_and_status_1() {
    let f = fake(SPEC);
    assert_eq!(
        drive(&f, &["requestid=frontend.lint"]).await,
        Outcome::Success
    );
    let r = f.returned();
    let v = json(&r);
    let w = &v["warnings"][0];
    assert_eq!(w["ruleName"], "maybe-typo");
    assert!(w["detail"].as_str().unwrap().contains("biuld"));
    assert_eq!(w["location"]["ranges"][0]["start"]["line"], 19);
    assert_eq!(v["sources"][0]["filename"], "slipway.yaml");
    assert_eq!(v["sources"][0]["language"], "YAML");
    assert_eq!(meta(&r, "result.statuscode"), "1");
    assert!(meta(&r, "result.txt").contains("1 warning has been found"));
    // As a lint result, the warning is not also sent or built.
    assert!(f.state().warns.is_empty());
    assert_eq!(f.state().solves.len(), 2);

    let clean = SPEC.replace("biuld", "build");
    let f = fake(&clean);
    assert_eq!(
        drive(&f, &["requestid=frontend.lint"]).await,
        Outcome::Success
    );
    let r = f.returned();
    assert_eq!(json(&r)["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(meta(&r, "result.statuscode"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frontend_cap_slipway_lacks_is_refused_as_buildkit_does() {
    let f = fake(SPEC);
    drive(
        &f,
        &["frontend.caps=moby.buildkit.frontend.subrequests,moby.buildkit.frontend.unknown+forward"],
    )
    .await;
    let e = f.returned_error();
    assert_eq!(e.code, 12, "Unimplemented");
    assert!(e
        .message
        .starts_with("unsupported frontend capability moby.buildkit.frontend.unknown"));
    assert!(e.details[0].type_url.ends_with("errdefs.FrontendCap+json"));
    // Refused before any work.
    assert!(f.state().solves.is_empty());
}

/// Docker 20.10: no Warn. Each warning is a vertex named by its located
/// message, in a Solve of its own; the build's Definition is the same bytes
/// as on a daemon with Warn (its cache keys do not change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_warn_each_warning_is_a_progress_vertex_outside_the_build() {
    let f = fake(SPEC);
    assert_eq!(drive(&f, &["target=test"]).await, Outcome::Success);
    let build_def = {
        let st = f.state();
        assert!(st.warns.is_empty());
        assert_eq!(st.solves.len(), 4, "{:?}", st.calls);
        let wsolve = &st.solves[2];
        assert!(wsolve.evaluate, "evaluated, so the vertex runs and shows");
        let d = wsolve.definition.as_ref().unwrap().decode().unwrap();
        let names: Vec<&String> = d
            .metadata
            .values()
            .filter_map(|m| m.description.get("llb.customname"))
            .collect();
        assert_eq!(names.len(), 1);
        assert!(
            names[0].starts_with("[warning] slipway.yaml:19:15: `biuld` is not a stage"),
            "{}",
            names[0]
        );
        assert!(
            names[0].contains("did you mean the stage `build`?"),
            "{}",
            names[0]
        );
        st.solves[3].definition.clone().unwrap()
    };

    let f = fake(SPEC).with_frontend_cap("gateway.warnings");
    assert_eq!(drive(&f, &["target=test"]).await, Outcome::Success);
    let st = f.state();
    assert_eq!(st.warns.len(), 1);
    assert_eq!(st.solves.len(), 3, "no warning vertex with Warn");
    assert_eq!(
        st.solves[2].definition.as_ref().unwrap().0,
        build_def.0,
        "the build's Definition does not depend on how warnings are shown"
    );
}

/// Compile-time warnings (a feature degraded for this daemon) are located
/// too: `link: true` without merge ops (the fake has v0.8's LLB caps).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compile_warnings_carry_their_yaml_range() {
    let spec = "stages:\n  app:\n    from: alpine:3.20\n    steps:\n      - copy: a.txt\n        link: true\nlint: {disable: [root-final]}\n";
    let f = fake(spec).with_frontend_cap("gateway.warnings");
    assert_eq!(drive(&f, &[]).await, Outcome::Success);
    {
        let st = f.state();
        assert_eq!(st.warns.len(), 1, "{:?}", st.calls);
        let w = &st.warns[0];
        let short = String::from_utf8_lossy(&w.short);
        assert!(short.contains("`link: true` needs merge ops"), "{short}");
        assert!(short.contains("slipway.yaml:5"), "{short}");
        assert_eq!(w.ranges[0].start.as_ref().unwrap().line, 5);
        assert_eq!(w.info.as_ref().unwrap().filename, "slipway.yaml");
    }

    // And as a vertex without Warn.
    let f = fake(spec);
    assert_eq!(drive(&f, &[]).await, Outcome::Success);
    let st = f.state();
    let d: pb::Definition = st.solves[2].definition.as_ref().unwrap().decode().unwrap();
    assert!(d
        .metadata
        .values()
        .filter_map(|m| m.description.get("llb.customname"))
        .any(|n| n.starts_with("[warning] slipway.yaml:5:9: `link: true` needs merge ops")));
}
