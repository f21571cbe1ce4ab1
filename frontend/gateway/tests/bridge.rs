//! Protocol and driver tests against a fake BuildKit (tests/common).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use common::{drive_with as drive, env, serve, Fake};
use prost::Message;
use slipway_compiler::{CompileOptions, Compiled};
use slipway_gateway::driver::{Pipeline, Slipway};
use slipway_gateway::options::FrontendOptions;
use slipway_gateway::{run_frontend, transport, LlbBridge, Outcome};
use slipway_proto::gateway as gw;
use slipway_proto::{pb, rpc};
use slipway_spec::{Diagnostics, Plan, Platform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SPEC: &str = "\
# syntax=slipway:dev
stages:
  build:
    from: alpine:3.20
    workdir: /src
    steps:
      - copy: .
      - run: exit 3
  test:
    from: build
    steps:
      - run: go test ./...
# The protocol is under test here, not the lint rules.
lint:
  disable: [root-final, deps-before-source, install-without-cache, context-not-ignored]
";

const ALPINE_CONFIG: &str = r#"{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}}"#;

fn good_fake() -> Fake {
    Fake::new()
        .file("slipway.yaml", SPEC)
        .image("alpine:3.20", "sha256:aaaa", ALPINE_CONFIG)
}

fn line_of(needle: &str) -> i32 {
    SPEC.lines().position(|l| l.contains(needle)).unwrap() as i32 + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_solve_readfile_return_round_trip() {
    let fake = Fake::new().file("a.txt", "hello");
    let (ch, _closed) = transport::connect(serve(fake.clone())).await.unwrap();
    let b = LlbBridge::new(ch);
    let pong = b.ping().await.unwrap();
    assert!(pong
        .frontend_api_caps
        .iter()
        .any(|c| c.id == "gateway.solve.evaluate"));
    assert_eq!(pong.workers[0].platforms[0].architecture, "amd64");
    let s = b
        .solve(gw::SolveRequest {
            allow_result_return: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = s.result.unwrap().single_ref_id().unwrap().to_string();
    assert_eq!(id, "ref-0");
    let r = b
        .read_file(gw::ReadFileRequest {
            r#ref: id.clone(),
            file_path: "a.txt".into(),
            range: None,
        })
        .await
        .unwrap();
    assert_eq!(r.data, b"hello");
    let missing = b
        .read_file(gw::ReadFileRequest {
            r#ref: id,
            file_path: "nope".into(),
            range: None,
        })
        .await
        .unwrap_err();
    assert!(missing.message().contains("no such file"));
    // Code 0 is never sent: it becomes Unknown.
    b.return_error(rpc::Status {
        code: 0,
        message: "x".into(),
        details: vec![],
    })
    .await
    .unwrap();
    assert!(b.has_returned());
    assert_eq!(fake.returned_error().code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_fails_clearly_before_sending() {
    let fake = Fake::new();
    let (ch, _closed) = transport::connect(serve(fake.clone())).await.unwrap();
    let b = LlbBridge::new(ch);
    let def = pb::Definition {
        def: vec![vec![0u8; 5 << 20]],
        ..Default::default()
    };
    let e = b
        .solve(gw::SolveRequest {
            definition: Some((&def).into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(e.message().contains("4 MiB"), "{}", e.message());
    assert!(fake.state().solves.is_empty());
}

/// BuildKit v0.14+ accepts 16 MiB requests: once Ping shows such a server
/// (a cap v0.14 defined), a 5 MiB Solve is sent and a 17 MiB one refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_limit_is_16_mib_on_buildkit_v0_14() {
    let mut fake = Fake::new();
    fake.pong.llb_caps.push(slipway_proto::apicaps::ApiCap {
        id: "file.copy.alwaysreplaceexistingdestpaths".into(),
        enabled: true,
        ..Default::default()
    });
    let (ch, _closed) = transport::connect(serve(fake.clone())).await.unwrap();
    let b = LlbBridge::new(ch);
    let solve = |n: usize| gw::SolveRequest {
        definition: Some(
            (&pb::Definition {
                def: vec![vec![0u8; n]],
                ..Default::default()
            })
                .into(),
        ),
        ..Default::default()
    };
    // Before Ping: the v0.8 limit still holds.
    let e = b.solve(solve(5 << 20)).await.unwrap_err();
    assert!(e.message().contains("4 MiB"), "{}", e.message());
    b.ping().await.unwrap();
    b.solve(solve(5 << 20)).await.unwrap();
    assert_eq!(fake.state().solves.len(), 1);
    let e = b.solve(solve(17 << 20)).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::ResourceExhausted);
    assert!(e.message().contains("16 MiB"), "{}", e.message());
    assert_eq!(fake.state().solves.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_responses_are_accepted() {
    let big = "x".repeat(6 << 20);
    let fake = Fake::new().file("big", &big);
    let (ch, _closed) = transport::connect(serve(fake.clone())).await.unwrap();
    let b = LlbBridge::new(ch);
    let r = b
        .read_file(gw::ReadFileRequest {
            r#ref: "r".into(),
            file_path: "big".into(),
            range: None,
        })
        .await
        .unwrap();
    assert_eq!(r.data.len(), 6 << 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_build_returns_ref_and_config() {
    let fake = good_fake()
        .file(".dockerignore", "# c\n/target\n!keep\n")
        .file("slipway.yaml.dockerignore", "only-this\n");
    let rec = Recording::default();
    let out = drive(
        &fake,
        &[
            "filename=slipway.yaml",
            "target=test",
            "cache-from=reg/cache",
            "image-resolve-mode=pull",
            "add-hosts=",
        ],
        rec.clone(),
    )
    .await;
    assert_eq!(out, Outcome::Success, "calls: {:?}", fake.state().calls);
    let ret = fake.returned();
    assert!(ret.error.is_none());
    let res = ret.result.unwrap();
    let id = res.single_ref_id().unwrap().to_string();
    let st = fake.state();
    // Two local solves first, then the build.
    assert_eq!(st.solves.len(), 3, "{:?}", st.calls);
    let names: Vec<String> = st.solves[..2]
        .iter()
        .map(|s| {
            let d = s.definition.as_ref().unwrap().decode().unwrap();
            let src = pb::Op::decode(d.def[0].as_slice()).unwrap();
            let Some(pb::op::Op::Source(so)) = src.op else {
                panic!()
            };
            let meta = &d.metadata[&slipway_llb::digest(&d.def[0])];
            assert_eq!(so.attrs["local.session"], "sess-1");
            format!(
                "{} {} {}",
                so.identifier, so.attrs["local.followpaths"], meta.description["llb.customname"]
            )
        })
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(
        names,
        [
            r#"local://context [".dockerignore"] [internal] load .dockerignore"#,
            r#"local://dockerfile ["slipway.yaml","slipway.yaml.dockerignore"] [internal] load build definition from slipway.yaml"#,
        ]
    );
    let last = &st.solves[2];
    assert!(last.evaluate, "evaluate with cap gateway.solve.evaluate");
    assert!(last.allow_result_return && last.allow_result_array_ref);
    assert_eq!(last.cache_imports.len(), 1);
    assert_eq!(last.cache_imports[0].attrs["ref"], "reg/cache");
    assert_eq!(id, "ref-2");
    assert!(res.metadata.contains_key("containerimage.config"));
    let cfg: serde_json::Value =
        serde_json::from_slice(&res.metadata["containerimage.config"]).unwrap();
    assert_eq!(cfg["os"], "linux");
    // Image resolution.
    assert_eq!(st.resolves.len(), 1);
    // Asked for as Docker reads the name (Docker 20.10 cannot parse the short form).
    assert_eq!(st.resolves[0].r#ref, "docker.io/library/alpine:3.20");
    assert_eq!(
        st.resolves[0].log_name,
        "[internal] load metadata for docker.io/library/alpine:3.20"
    );
    assert_eq!(st.resolves[0].resolve_mode, "pull");
    assert_eq!(
        st.resolves[0].platform.as_ref().unwrap().architecture,
        "amd64"
    );
    drop(st);
    // The spec-specific ignore file wins over the context's.
    let seen = rec.0.lock().unwrap().clone().unwrap();
    assert_eq!(seen.context_excludes, vec!["only-this".to_string()]);
    assert_eq!(
        seen.images["alpine:3.20"].digest.as_deref(),
        Some("sha256:aaaa")
    );
    assert_eq!(seen.target.as_deref(), Some("test"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_dockerignore_and_unpinned_local_image() {
    // Docker 20.10: local-only image → empty digest → not pinned.
    let fake = Fake::new()
        .file("slipway.yaml", SPEC)
        .file(".dockerignore", "# c\n/target\n!keep\n")
        .image("alpine:3.20", "", ALPINE_CONFIG);
    let rec = Recording::default();
    assert_eq!(drive(&fake, &[], rec.clone()).await, Outcome::Success);
    let seen = rec.0.lock().unwrap().clone().unwrap();
    assert_eq!(
        seen.context_excludes,
        vec!["target".to_string(), "!keep".to_string()]
    );
    assert_eq!(seen.images["alpine:3.20"].digest, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_error_returns_diagnostic_and_source_detail() {
    let bad = "stages:\n  app:\n    form: alpine\n";
    let fake = Fake::new().file("slipway.yaml", bad);
    let out = drive(&fake, &[], Slipway).await;
    assert!(matches!(out, Outcome::Failed(_)), "{out:?}");
    let e = fake.returned_error();
    assert_ne!(e.code, 0);
    assert!(e.message.contains("slipway.yaml:"), "{}", e.message);
    assert!(e.message.contains('^'), "caret in {}", e.message);
    let d = e
        .details
        .iter()
        .find(|d| d.type_url == "github.com/moby/buildkit/errdefs.Source+json")
        .expect("errdefs.Source detail");
    let v: serde_json::Value = serde_json::from_slice(&d.value).unwrap();
    assert_eq!(v["info"]["filename"], "slipway.yaml");
    assert_eq!(v["info"]["language"], "YAML");
    let data = base64::engine::general_purpose::STANDARD
        .decode(v["info"]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, bad.as_bytes());
    let line = v["ranges"][0]["start"]["line"].as_i64().unwrap();
    assert!((1..=3).contains(&line), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_spec_says_how_to_fix() {
    let fake = Fake::new();
    drive(&fake, &["filename=build.yaml"], Slipway).await;
    let e = fake.returned_error();
    assert_eq!(e.code, 5);
    assert!(
        e.message.contains("build.yaml") && e.message.contains("-f"),
        "{}",
        e.message
    );
}

/// Fails the build solve (the one with evaluate) with the given details.
fn failing_build(
    details: impl Fn(&pb::Definition) -> Vec<rpc::Any> + Send + Sync + 'static,
) -> Fake {
    good_fake().on_solve(move |_, req| {
        if !req.evaluate {
            return None;
        }
        let def = req.definition.as_ref().unwrap().decode().unwrap();
        let st = rpc::Status {
            code: 2,
            message: "executor failed running [/bin/sh -c exit 3]: exit code: 3".into(),
            details: details(&def),
        };
        Some(tonic::Status::with_details(
            tonic::Code::Unknown,
            st.message.clone(),
            st.encode_to_vec().into(),
        ))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_evaluate_is_mapped_to_the_yaml_line_via_source_detail() {
    let line = line_of("run: exit 3");
    let fake = failing_build(move |_| {
        vec![slipway_gateway::errors::source_detail(
            "slipway.yaml",
            SPEC.as_bytes(),
            (line, 0),
            (line, 0),
        )]
    });
    drive(&fake, &["target=build"], Slipway).await;
    let e = fake.returned_error();
    assert_eq!(e.code, 2);
    assert_eq!(
        e.message,
        format!(
            "slipway.yaml:{line}: step \"run: exit 3\" in stage build failed: executor failed \
             running [/bin/sh -c exit 3]: exit code: 3"
        )
    );
    assert_eq!(e.details.len(), 1, "original details kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_evaluate_is_mapped_via_vertex_digest_and_source_map() {
    let want = line_of("run: go test");
    let fake = failing_build(move |def| {
        // The op whose source-map location is the go test line.
        let src = def.source.as_ref().expect("compiler emits a source map");
        let digest = src
            .locations
            .iter()
            .find(|(_, l)| {
                l.locations.iter().any(|loc| {
                    loc.ranges
                        .iter()
                        .any(|r| r.start.as_ref().map(|p| p.line) == Some(want))
                })
            })
            .map(|(d, _)| d.clone())
            .expect("a location for the run step");
        vec![rpc::Any {
            type_url: "github.com/moby/buildkit/errdefs.Vertex+json".into(),
            value: format!(r#"{{"digest":"{digest}"}}"#).into_bytes(),
        }]
    });
    drive(&fake, &["target=test"], Slipway).await;
    let e = fake.returned_error();
    assert!(
        e.message.starts_with(&format!(
            "slipway.yaml:{want}: step \"run: go test ./...\" in stage test failed: executor failed"
        )),
        "{}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_subrequest_and_unsupported_ones() {
    let fake = Fake::new();
    assert_eq!(
        drive(&fake, &["requestid=frontend.subrequests.describe"], Slipway).await,
        Outcome::Success
    );
    let r = fake.returned().result.unwrap();
    assert!(r.result.is_none());
    let v: serde_json::Value = serde_json::from_slice(&r.metadata["result.json"]).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "frontend.outline",
            "frontend.targets",
            "frontend.lint",
            "frontend.subrequests.describe"
        ]
    );
    assert_eq!(r.metadata["version"], b"1.0.0");

    let fake = Fake::new();
    drive(&fake, &["requestid=frontend.convertllb"], Slipway).await;
    let e = fake.returned_error();
    assert_ne!(e.code, 0);
    assert_eq!(e.message, "unsupported request frontend.convertllb");
    assert!(e.details[0].type_url.ends_with("errdefs.Subrequest+json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_warnings_go_through_warn_when_supported() {
    let spec = "stages:\n  build:\n    from: alpine:3.20\n  app:\n    from: buidl\n";
    let fake = Fake::new()
        .with_frontend_cap("gateway.warnings")
        .file("slipway.yaml", spec)
        .image("alpine:3.20", "sha256:aaaa", ALPINE_CONFIG)
        .image("buidl", "sha256:bbbb", ALPINE_CONFIG);
    assert_eq!(drive(&fake, &[], Slipway).await, Outcome::Success);
    {
        let st = fake.state();
        // The misspelt stage, and the lint findings on the same plan (an
        // unpinned `buidl` image, a final stage without a user): all through Warn.
        assert_eq!(st.warns.len(), 3, "{:?}", st.calls);
        let shorts: Vec<String> = st
            .warns
            .iter()
            .map(|w| String::from_utf8_lossy(&w.short).into_owned())
            .collect();
        assert!(
            shorts.iter().any(|s| s.contains("runs as root")),
            "{shorts:?}"
        );
        assert!(
            shorts.iter().any(|s| s.contains("builds on `buidl`")),
            "{shorts:?}"
        );
        let w = st
            .warns
            .iter()
            .find(|w| String::from_utf8_lossy(&w.short).contains("not a stage"))
            .unwrap();
        let short = String::from_utf8_lossy(&w.short);
        assert!(short.contains("slipway.yaml:5"), "{short}");
        assert_eq!(w.ranges[0].start.as_ref().unwrap().line, 5);
        assert_eq!(w.info.as_ref().unwrap().language, "YAML");
        // The vertex that loaded the spec.
        let d = st.solves[0].definition.as_ref().unwrap().decode().unwrap();
        let local_digests: Vec<String> = st.solves[..2]
            .iter()
            .map(|s| slipway_llb::digest(&s.definition.as_ref().unwrap().decode().unwrap().def[0]))
            .collect();
        assert!(local_digests.contains(&w.digest), "{d:?}");
    }

    // Docker 20.10 has no Warn: the build still succeeds, and the warning
    // is a vertex of its own Solve (subrequests.rs tests that in detail).
    let fake = Fake::new()
        .file("slipway.yaml", spec)
        .image("alpine:3.20", "sha256:aaaa", ALPINE_CONFIG)
        .image("buidl", "sha256:bbbb", ALPINE_CONFIG);
    assert_eq!(drive(&fake, &[], Slipway).await, Outcome::Success);
    assert!(!fake.state().calls.iter().any(|c| c == "Warn"));
    assert_eq!(
        fake.state().solves.len(),
        4,
        "spec, .dockerignore, warning, build"
    );
}

/// Every way a build can fail Returns exactly one error with a non-zero code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_path_returns_a_nonzero_code() {
    struct Case {
        name: &'static str,
        fake: Fake,
        opts: Vec<&'static str>,
        panic: bool,
        needle: &'static str,
    }
    let cases = vec![
        Case {
            name: "a platform no worker executes",
            fake: good_fake(),
            opts: vec!["platform=linux/amd64,linux/arm64"],
            panic: false,
            needle: "runs on linux/arm64, which this BuildKit cannot execute",
        },
        Case {
            name: "bad option",
            fake: good_fake(),
            opts: vec!["image-resolve-mode=maybe"],
            panic: false,
            needle: "image-resolve-mode",
        },
        Case {
            name: "spec error",
            fake: Fake::new().file("slipway.yaml", "stages: 3\n"),
            opts: vec![],
            panic: false,
            needle: "slipway.yaml",
        },
        Case {
            name: "empty spec",
            fake: Fake::new().file("slipway.yaml", ""),
            opts: vec![],
            panic: false,
            needle: "empty",
        },
        Case {
            name: "not utf-8",
            fake: {
                let mut f = Fake::new();
                f.files.insert("slipway.yaml".into(), vec![0xff, 0xfe]);
                f
            },
            opts: vec![],
            panic: false,
            needle: "UTF-8",
        },
        Case {
            name: "missing spec",
            fake: Fake::new(),
            opts: vec![],
            panic: false,
            needle: "slipway.yaml",
        },
        Case {
            name: "unknown target",
            fake: good_fake(),
            opts: vec!["target=nope"],
            panic: false,
            needle: "nope",
        },
        Case {
            name: "image not found",
            fake: Fake::new().file("slipway.yaml", SPEC),
            opts: vec![],
            panic: false,
            needle: "alpine:3.20",
        },
        Case {
            name: "local solve fails",
            fake: good_fake()
                .on_solve(|n, _| (n < 2).then(|| tonic::Status::unavailable("session gone"))),
            opts: vec![],
            panic: false,
            needle: "session gone",
        },
        Case {
            name: "build fails",
            fake: good_fake().on_solve(|_, r| r.evaluate.then(|| tonic::Status::unknown("boom"))),
            opts: vec![],
            panic: false,
            needle: "boom",
        },
        Case {
            name: "missing input",
            fake: good_fake(),
            opts: vec!["context:x=input:nothere"],
            panic: false,
            needle: "nothere",
        },
        Case {
            name: "pipeline panics",
            fake: good_fake(),
            opts: vec![],
            panic: true,
            needle: "internal error",
        },
    ];
    for c in cases {
        let out = if c.panic {
            drive(&c.fake, &c.opts, Panicky).await
        } else {
            drive(&c.fake, &c.opts, Slipway).await
        };
        assert!(matches!(out, Outcome::Failed(_)), "{}: {out:?}", c.name);
        let e = c.fake.returned_error();
        assert_ne!(e.code, 0, "{}", c.name);
        assert!(e.message.contains(c.needle), "{}: {}", c.name, e.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_within_a_second_when_the_peer_closes() {
    let (ours, mut theirs) = tokio::io::duplex(1 << 16);
    let peer = tokio::spawn(async move {
        // Read the client preface (and whatever follows), then hang up.
        let mut buf = [0u8; 24];
        theirs.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = theirs.shutdown().await;
        drop(theirs);
        Instant::now()
    });
    let o = FrontendOptions::from_env(env(&[]));
    let run = tokio::spawn(run_frontend(ours, o, Arc::new(Slipway), false));
    let closed_at = peer.await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(3), run)
        .await
        .expect("still running")
        .unwrap();
    assert!(
        closed_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        closed_at.elapsed()
    );
    assert!(matches!(out, Outcome::ReturnFailed(_)), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_within_a_second_when_the_peer_closes_mid_solve() {
    // A fake whose build solve never answers; the proxy is then cut.
    let mut fake = good_fake();
    fake.hang_evaluate = true;
    let (ours, kill) = common::serve_killable(fake.clone());
    let o = FrontendOptions::from_env(env(&[]));
    let run = tokio::spawn(run_frontend(ours, o, Arc::new(Slipway), false));
    // Wait until the build solve is in flight.
    let t0 = Instant::now();
    while fake.state().solves.len() < 3 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{:?}",
            fake.state().calls
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    kill.abort();
    let closed_at = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(3), run)
        .await
        .expect("still running")
        .unwrap();
    assert!(
        closed_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        closed_at.elapsed()
    );
    assert!(matches!(out, Outcome::ReturnFailed(_)), "{out:?}");
}

// --- pipelines -------------------------------------------------------------

/// The real pipeline, recording the CompileOptions it was given.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Option<CompileOptions>>>);

impl Pipeline for Recording {
    fn compile(&self, p: &Plan, o: &CompileOptions, t: &Platform) -> Result<Compiled, Diagnostics> {
        *self.0.lock().unwrap() = Some(o.clone());
        Slipway.compile(p, o, t)
    }
}

struct Panicky;

impl Pipeline for Panicky {
    fn compile(&self, _: &Plan, _: &CompileOptions, _: &Platform) -> Result<Compiled, Diagnostics> {
        panic!("compiler exploded")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_over_real_os_pipes_and_notices_eof() {
    use std::os::fd::OwnedFd;
    // p1: BuildKit -> frontend (stdin); p2: frontend -> BuildKit (stdout).
    let (r1, w1) = std::io::pipe().unwrap();
    let (r2, w2) = std::io::pipe().unwrap();
    let ours = transport::pipe_stream(OwnedFd::from(r1), OwnedFd::from(w2)).unwrap();
    let mut theirs = transport::pipe_stream(OwnedFd::from(r2), OwnedFd::from(w1)).unwrap();
    let fake = Fake::new();
    let mut server_side = serve(fake.clone());
    let proxy = tokio::spawn(async move {
        let _ = tokio::io::copy_bidirectional(&mut theirs, &mut server_side).await;
    });
    let (ch, mut closed) = transport::connect(ours).await.unwrap();
    let b = LlbBridge::new(ch);
    b.ping().await.unwrap();
    b.return_error(rpc::Status {
        code: 2,
        message: "m".into(),
        details: vec![],
    })
    .await
    .unwrap();
    assert_eq!(fake.returned_error().message, "m");
    assert!(!closed.is_closed());
    proxy.abort();
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(1), closed.wait())
        .await
        .expect("EOF noticed");
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// With a panic anywhere after connecting (release builds abort on panic),
/// the hook Returns an error with a non-zero code and exits 0. Runs itself
/// as a child process, because the hook ends the process.
#[test]
fn panic_hook_returns_an_error_and_exits_0() {
    if std::env::var_os("SLIPWAY_PANIC_CHILD").is_some() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let fake = good_fake();
            let io = serve(fake.clone());
            let o = FrontendOptions::from_env(env(&[]));
            run_frontend(io, o, Arc::new(Panicky), true).await;
        });
        // Only reached if the hook did not exit.
        eprintln!("CHILD-NOT-EXITED");
        std::process::exit(7);
    }
    assert_child_returned_the_panic("panic_hook_returns_an_error_and_exits_0");
}

/// Runs test `name` again as a child process (with `SLIPWAY_PANIC_CHILD`,
/// where it panics inside the frontend) and checks that the hook Returned
/// the panic as an internal error and exited 0.
fn assert_child_returned_the_panic(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("SLIPWAY_PANIC_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "status {:?}, stderr: {err}",
        out.status
    );
    assert!(
        err.contains("FAKE-RETURN code=13 msg=internal error in the Slipway frontend"),
        "{err}"
    );
    assert!(err.contains("compiler exploded"), "{err}");
    assert!(!err.contains("CHILD-NOT-EXITED"), "{err}");
}

/// The same through the frontend's own threads ([`run_threaded`]: two
/// one-thread runtimes, the connection on its own thread), as
/// `slipway frontend` runs: the hook still Returns the panic.
#[test]
fn panic_hook_returns_an_error_on_the_frontends_own_threads() {
    if std::env::var_os("SLIPWAY_PANIC_CHILD").is_some() {
        // The fake BuildKit runs on a runtime of its own.
        let fake_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let io = fake_rt.block_on(async { serve(good_fake()) });
        let o = FrontendOptions::from_env(env(&[]));
        slipway_gateway::run_threaded(move || Ok(io), o, Arc::new(Panicky));
        eprintln!("CHILD-NOT-EXITED");
        std::process::exit(7);
    }
    assert_child_returned_the_panic("panic_hook_returns_an_error_on_the_frontends_own_threads");
}

/// BuildKit hands the frontend blocking pipes. The stream must switch them to
/// O_NONBLOCK, or a read parks a runtime worker inside read(2) and the build
/// hangs (a real hang seen under load before this was checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_pipes_are_switched_to_nonblocking() {
    use std::os::fd::{AsRawFd, OwnedFd};
    fn nonblocking(fd: i32) -> bool {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .unwrap()
            .trim();
        u32::from_str_radix(flags, 8).unwrap() & 0o4000 != 0 // O_NONBLOCK
    }
    let (r, w) = std::io::pipe().unwrap();
    let (rfd, wfd) = (r.as_raw_fd(), w.as_raw_fd());
    assert!(
        !nonblocking(rfd) && !nonblocking(wfd),
        "std pipes start blocking"
    );
    let stream = transport::pipe_stream(OwnedFd::from(r), OwnedFd::from(w)).unwrap();
    assert!(nonblocking(rfd), "read end still blocking");
    assert!(nonblocking(wfd), "write end still blocking");
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_copy_source_fails_at_its_line_with_the_stage_it_was_meant_to_be() {
    let spec = "# syntax=slipway:dev\nversion: 1\nstages:\n  builder:\n    from: alpine:3.20\n    steps:\n      - run: make\n  app:\n    from: scratch\n    steps:\n      - copy: /out\n        from: buidler\n";
    let fake =
        Fake::new()
            .file("slipway.yaml", spec)
            .image("alpine:3.20", "sha256:aaaa", ALPINE_CONFIG);
    drive(&fake, &["target=app"], Slipway).await;
    let st = fake.state.lock().unwrap();
    let asked: Vec<&str> = st.resolves.iter().map(|r| r.r#ref.as_str()).collect();
    assert_eq!(asked, ["docker.io/library/buidler:latest"]);
    drop(st);
    let e = fake.returned_error();
    assert_eq!(e.code, 5, "NotFound: {}", e.message);
    assert!(
        e.message.starts_with(
            "error[unresolvable-image]: cannot resolve copy source `buidler` for linux/amd64: \
             docker.io/library/buidler:latest: not found\n --> slipway.yaml:12:15"
        ),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("did you mean the stage `builder`?"),
        "{}",
        e.message
    );
    // buildx/buildctl print the snippet from the Source detail.
    assert!(
        e.details
            .iter()
            .any(|d| d.type_url.contains("errdefs.Source")),
        "{:?}",
        e.details
    );
}
