//! Several platforms in one build, against the fake BuildKit (tests/common):
//! the result shape BuildKit's exporters read, and the emulation check.

mod common;

use common::{drive, Fake};
use prost::Message;
use slipway_gateway::Outcome;
use slipway_proto::gateway as gw;
use slipway_proto::pb;

const CROSS: &str = "\
# syntax=slipway:dev
stages:
  builder:
    from: golang:1.22-alpine
    platform: ${BUILDPLATFORM}
    steps:
      - run: GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -o /out/app .
  app:
    from: scratch
    steps:
      - copy: /out/app
        from: builder
        to: /app
    image:
      entrypoint: [/app]
";

const NATIVE_RUN: &str = "\
# syntax=slipway:dev
stages:
  app:
    from: alpine:3.20
    steps:
      - run: echo hi >/hi
";

const GO_CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/go/bin:/usr/bin:/bin"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn fake(spec: &str) -> Fake {
    Fake::new()
        .file("slipway.yaml", spec)
        .image("golang:1.22-alpine", "sha256:go", GO_CONFIG)
        .image("alpine:3.20", "sha256:alp", GO_CONFIG)
}

/// The exec ops' (platform, environment) of a solved Definition.
fn execs(req: &gw::SolveRequest) -> Vec<(String, String)> {
    let d = req.definition.as_ref().unwrap().decode().unwrap();
    d.def
        .iter()
        .filter_map(|b| {
            let op = pb::Op::decode(b.as_slice()).ok()?;
            let Some(pb::op::Op::Exec(e)) = &op.op else {
                return None;
            };
            let p = op.platform.as_ref()?;
            let env = e.meta.as_ref()?.env.join(" ");
            Some((format!("{}/{}", p.os, p.architecture), env))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_platforms_return_a_ref_each_with_configs_and_platform_list() {
    let fake = fake(CROSS);
    let out = drive(&fake, &["platform=linux/arm64,linux/amd64", "target=app"]).await;
    assert_eq!(out, Outcome::Success, "calls: {:?}", fake.state().calls);
    let res = fake.returned().result.expect("a result");
    let Some(gw::result::Result::Refs(m)) = &res.result else {
        panic!("expected a ref map, got {:?}", res.result)
    };
    let keys: Vec<&str> = m.refs.keys().map(String::as_str).collect();
    assert_eq!(keys, ["linux/amd64", "linux/arm64"]);
    assert_ne!(m.refs["linux/amd64"].id, m.refs["linux/arm64"].id);
    for (p, arch) in [("linux/amd64", "amd64"), ("linux/arm64", "arm64")] {
        let cfg: serde_json::Value =
            serde_json::from_slice(&res.metadata[&format!("containerimage.config/{p}")]).unwrap();
        assert_eq!(cfg["architecture"], arch, "{p}");
        assert_eq!(cfg["os"], "linux");
    }
    assert!(!res.metadata.contains_key("containerimage.config"));
    let listed: serde_json::Value =
        serde_json::from_slice(&res.metadata["refs.platforms"]).unwrap();
    assert_eq!(
        listed,
        serde_json::json!({"Platforms": [
            {"ID": "linux/arm64", "Platform": {"architecture": "arm64", "os": "linux"}},
            {"ID": "linux/amd64", "Platform": {"architecture": "amd64", "os": "linux"}},
        ]})
    );
    // Each platform's build: the builder runs on the build platform (amd64)
    // and cross-compiles for the target named in its command.
    let st = fake.state();
    let mut builds: Vec<Vec<(String, String)>> = st
        .solves
        .iter()
        .map(execs)
        .filter(|e| !e.is_empty())
        .collect();
    builds.sort();
    assert_eq!(builds.len(), 2, "{:?}", st.calls);
    for (b, arch) in builds.iter().zip(["amd64", "arm64"]) {
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].0, "linux/amd64");
        assert!(b[0].1.contains(&format!("TARGETARCH={arch}")), "{b:?}");
        assert!(b[0].1.contains("TARGETOS=linux"), "{b:?}");
    }
    // The image is resolved for the build platform only (builder stage).
    assert!(st
        .resolves
        .iter()
        .all(|r| r.platform.as_ref().unwrap().architecture == "amd64"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_platform_with_one_platform_still_returns_a_map() {
    let fake = fake(CROSS);
    let out = drive(&fake, &["multi-platform=true", "target=app"]).await;
    assert_eq!(out, Outcome::Success);
    let res = fake.returned().result.unwrap();
    let Some(gw::result::Result::Refs(m)) = &res.result else {
        panic!("{:?}", res.result)
    };
    // No platform given: the worker's.
    assert_eq!(m.refs.keys().collect::<Vec<_>>(), ["linux/amd64"]);
    assert!(res
        .metadata
        .contains_key("containerimage.config/linux/amd64"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_step_on_a_platform_no_worker_executes_fails_naming_it() {
    let fake = fake(NATIVE_RUN);
    let out = drive(&fake, &["platform=linux/amd64,linux/arm64"]).await;
    let Outcome::Failed(msg) = out else {
        panic!("{out:?}")
    };
    assert!(
        msg.starts_with(
            "slipway.yaml:6: step \"run: echo hi >/hi\" in stage app runs on linux/arm64"
        ),
        "{msg}"
    );
    assert!(msg.contains("workers run linux/amd64"), "{msg}");
    assert!(msg.contains("BUILDPLATFORM"), "{msg}");
    let err = fake.returned_error();
    assert_eq!(err.code, 9);
    // Nothing for arm64 was solved: the check runs before the build.
    {
        let st = fake.state();
        assert!(st
            .solves
            .iter()
            .all(|s| execs(s).iter().all(|(p, _)| p != "linux/arm64")));
    }

    // The same for a single platform build.
    let fake = fake_single();
    let out = drive(&fake, &["platform=linux/arm64"]).await;
    assert!(
        matches!(&out, Outcome::Failed(m) if m.contains("runs on linux/arm64")),
        "{out:?}"
    );
    // The build platform itself is fine.
    let fake = fake_single();
    assert_eq!(
        drive(&fake, &["platform=linux/amd64"]).await,
        Outcome::Success
    );
}

fn fake_single() -> Fake {
    fake(NATIVE_RUN)
}
