//! Named contexts from OCI layouts and remote main contexts (git, HTTP
//! tarball), against the fake BuildKit (tests/common).

mod common;

use common::{drive, Fake};
use prost::Message;
use slipway_gateway::Outcome;
use slipway_proto::gateway as gw;
use slipway_proto::pb;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin","FROM_LAYOUT=yes"],"WorkingDir":"/srv"},"rootfs":{"type":"layers","diff_ids":[]}}"#;

/// A BuildKit with these LLB caps on top of v0.8's (the fake's default).
fn with_llb_caps(mut f: Fake, caps: &[&str]) -> Fake {
    for c in caps {
        f.pong.llb_caps.push(slipway_proto::apicaps::ApiCap {
            id: c.to_string(),
            enabled: true,
            ..Default::default()
        });
    }
    f
}

/// Every source op of a solve: (identifier, attrs).
fn sources(req: &gw::SolveRequest) -> Vec<pb::SourceOp> {
    let d = req.definition.as_ref().unwrap().decode().unwrap();
    d.def
        .iter()
        .filter_map(|b| match pb::Op::decode(b.as_slice()).ok()?.op {
            Some(pb::op::Op::Source(s)) => Some(s),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_layout_context_is_resolved_from_the_client_store() {
    let spec = "stages:\n  app:\n    from: base\n    steps:\n      - run: echo $FROM_LAYOUT\n";
    let fake =
        Fake::new()
            .file("slipway.yaml", spec)
            .image(&format!("base@{DIGEST}"), DIGEST, CONFIG);
    let ctx = format!("context:base=oci-layout://store-1:latest@{DIGEST}");
    // BuildKit v0.8 cannot read OCI layouts: said so, with what to do instead.
    let out = drive(&fake, &[&ctx]).await;
    assert!(
        matches!(&out, Outcome::Failed(m) if m.contains("cannot read OCI layouts") && m.contains("docker-image://")),
        "{out:?}"
    );
    let fake = with_llb_caps(
        Fake::new()
            .file("slipway.yaml", spec)
            .image(&format!("base@{DIGEST}"), DIGEST, CONFIG),
        &["source.ocilayout"],
    );
    let ctx = format!("context:base=oci-layout://store-1:latest@{DIGEST}");
    let out = drive(&fake, &[&ctx]).await;
    assert_eq!(out, Outcome::Success, "{:?}", fake.state().calls);
    let st = fake.state();
    let r = &st.resolves[0];
    assert_eq!(r.r#ref, format!("docker.io/library/base@{DIGEST}"));
    assert_eq!(r.resolver_type, 1, "the OCI layout resolver");
    assert_eq!(r.store_id, "store-1");
    assert_eq!(r.session_id, "sess-1");
    let build = st.solves.last().unwrap();
    let src = sources(build)
        .into_iter()
        .find(|s| s.identifier.starts_with("oci-layout://"))
        .expect("an oci-layout source");
    assert_eq!(
        src.identifier,
        format!("oci-layout://docker.io/library/base@{DIGEST}")
    );
    assert_eq!(src.attrs["oci.store"], "store-1");
    assert_eq!(src.attrs["oci.session"], "sess-1");
    // The layout image's config is the base of the stage.
    drop(st);
    let res = fake.returned().result.unwrap();
    let cfg: serde_json::Value =
        serde_json::from_slice(&res.metadata["containerimage.config"]).unwrap();
    assert_eq!(cfg["config"]["WorkingDir"], "/srv");
    assert!(cfg["config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("FROM_LAYOUT=yes")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oci_layout_without_digest_is_a_clear_error() {
    let fake = Fake::new().file("slipway.yaml", "stages:\n  app:\n    from: base\n");
    let out = drive(&fake, &["context:base=oci-layout://store-1:latest"]).await;
    let Outcome::Failed(m) = out else {
        panic!("{out:?}")
    };
    assert!(
        m.contains("named context `base`") && m.contains("has no digest"),
        "{m}"
    );
}

const REMOTE_SPEC: &str = "\
stages:
  app:
    from: alpine:3.20
    steps:
      - copy: hello.txt
        to: /hello.txt
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_context_holds_the_spec_and_the_files() {
    // A sub-directory needs BuildKit v0.9's source.git.subdir (v0.8 says so).
    let fake = with_llb_caps(
        Fake::new()
            .file("slipway.yaml", REMOTE_SPEC)
            .image("alpine:3.20", "sha256:aa", CONFIG),
        &["source.git.subdir"],
    );
    let out = drive(&fake, &["context=git://127.0.0.1:9418/app.git#main:sub"]).await;
    assert_eq!(out, Outcome::Success, "{:?}", fake.state().calls);
    let st = fake.state();
    // The spec is read from the git source, no local transfer.
    let first = sources(&st.solves[0]);
    assert_eq!(first.len(), 1);
    // BuildKit's git identifier: remote#ref:subdir.
    assert_eq!(first[0].identifier, "git://127.0.0.1:9418/app.git#main:sub");
    assert_eq!(
        first[0].attrs["git.fullurl"],
        "git://127.0.0.1:9418/app.git"
    );
    assert!(st.solves.iter().all(|s| sources(s)
        .iter()
        .all(|o| !o.identifier.starts_with("local://"))));
    // The build copies from the same source.
    let build = sources(st.solves.last().unwrap());
    assert!(build.contains(&first[0]), "{build:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_tarball_context_is_downloaded_and_unpacked() {
    let fake =
        Fake::new()
            .file("slipway.yaml", REMOTE_SPEC)
            .image("alpine:3.20", "sha256:aa", CONFIG);
    let url = "http://127.0.0.1:8000/ctx.tar.gz";
    let out = drive(&fake, &[&format!("context={url}")]).await;
    assert_eq!(out, Outcome::Success, "{:?}", fake.state().calls);
    let st = fake.state();
    let d = st.solves[0].definition.as_ref().unwrap().decode().unwrap();
    let ops: Vec<pb::Op> = d
        .def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect();
    let Some(pb::op::Op::Source(s)) = &ops[0].op else {
        panic!("{ops:?}")
    };
    assert_eq!(s.identifier, url);
    assert_eq!(s.attrs["http.filename"], "context");
    let Some(pb::op::Op::File(f)) = &ops[1].op else {
        panic!("{ops:?}")
    };
    let Some(pb::file_action::Action::Copy(c)) = &f.actions[0].action else {
        panic!("{f:?}")
    };
    assert!(c.attempt_unpack_docker_compatibility);
    assert_eq!(c.src, "/context");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_missing_from_a_remote_context_says_where_it_looked() {
    let fake = Fake::new();
    let out = drive(&fake, &["context=git://127.0.0.1/app.git#main"]).await;
    let Outcome::Failed(m) = out else {
        panic!("{out:?}")
    };
    assert!(
        m.contains("cannot read the build spec slipway.yaml from git://127.0.0.1/app.git#main"),
        "{m}"
    );
    assert!(m.contains("-f PATH"), "{m}");
}
