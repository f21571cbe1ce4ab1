//! Issue 10 items 3–5 in the pure compiler: a cap the daemon lacks, found
//! only when the Definition is marshaled, is located at the step and named
//! in the spec's words; image times; `output:` targets.

use std::collections::BTreeSet;

use prost::Message;
use serde_json::Value;
use slipway_compiler::{compile, CompileOptions, ResolvedImage};
use slipway_proto::pb;
use slipway_spec::{load, EvalOptions, Platform};

/// The LLB caps Docker 20.10 (BuildKit v0.8.3) advertises (`llb-wire.md` §5).
const DOCKER_20_10_CAPS: &[&str] = &[
    "constraints",
    "platform",
    "meta.ignorecache",
    "meta.description",
    "meta.exportcache",
    "exec.cgroup",
    "exec.meta.base",
    "exec.meta.network",
    "exec.meta.proxyenv",
    "exec.meta.security",
    "exec.meta.security.devices.v1",
    "exec.meta.setsdefaultpath",
    "exec.mount.bind",
    "exec.mount.bind.readwrite-nooutput",
    "exec.mount.cache",
    "exec.mount.cache.sharing",
    "exec.mount.secret",
    "exec.mount.selector",
    "exec.mount.ssh",
    "exec.mount.tmpfs",
    "file.base",
    "file.rm.wildcard",
    "soruce.http.uidgid",
    "source.buildop.llbfilename",
    "source.git",
    "source.git.fullurl",
    "source.git.httpauth",
    "source.git.keepgitdir",
    "source.git.knownsshhosts",
    "source.git.mountsshsock",
    "source.http",
    "source.http.checksum",
    "source.http.perm",
    "source.image",
    "source.image.resolvemode",
    "source.local",
    "source.local.excludepatterns",
    "source.local.followpaths",
    "source.local.includepatterns",
    "source.local.sessionid",
    "source.local.sharedkeyhint",
    "source.local.unique",
];

fn plan(src: &str) -> slipway_spec::Plan {
    load("slipway.yaml", src, &EvalOptions::default())
        .unwrap_or_else(|d| panic!("{}", d.render()))
        .plan
}

fn old_caps() -> BTreeSet<String> {
    DOCKER_20_10_CAPS.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_cap_missing_at_marshal_is_located_and_named() {
    // A git source with a subdirectory needs `source.git.subdir` (v0.9); no
    // lowering check knows it, so the marshal's cap check finds it.
    let src = "version: 1\nstages:\n  app:\n    from: alpine:3.20\n    steps:\n      - run: true\n      - add: https://github.com/moby/buildkit.git#v0.12:docs\n        to: /docs/\n";
    let p = plan(src);
    let opts = CompileOptions {
        llb_caps: Some(old_caps()),
        ..Default::default()
    };
    let d = compile(&p, &opts, &Platform::default()).unwrap_err();
    insta::assert_snapshot!("missing_cap_at_marshal", d.render());
    // With the cap the same spec compiles.
    let mut caps = old_caps();
    caps.insert("source.git.subdir".into());
    let opts = CompileOptions {
        llb_caps: Some(caps),
        ..Default::default()
    };
    compile(&p, &opts, &Platform::default()).unwrap();
}

#[test]
fn parents_with_a_glob_on_an_old_daemon() {
    let src = "version: 1\nstages:\n  app:\n    from: alpine:3.20\n    steps:\n      - copy: \"src/*/a.txt\"\n        parents: true\n        to: /out/\n";
    let opts = CompileOptions {
        llb_caps: Some(old_caps()),
        ..Default::default()
    };
    let d = compile(&plan(src), &opts, &Platform::default()).unwrap_err();
    insta::assert_snapshot!("parents_glob_old_daemon", d.render());
}

fn config(c: &slipway_compiler::Compiled) -> Value {
    serde_json::from_slice(&c.image_config).unwrap()
}

#[test]
fn created_and_our_history_are_the_build_time_base_history_kept() {
    let src = "version: 1\nstages:\n  app:\n    from: alpine:3.20\n    workdir: /app\n    steps:\n      - run: make\n";
    let base = br#"{"created":"2020-05-05T05:05:05Z","architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created":"2020-05-05T05:05:05Z","created_by":"ADD rootfs"}]}"#;
    let mut opts = CompileOptions {
        created: Some(slipway_compiler::timestamps::rfc3339(1_704_067_200)),
        ..Default::default()
    };
    opts.images.insert(
        "alpine:3.20".into(),
        ResolvedImage {
            digest: None,
            config: base.to_vec(),
        },
    );
    let c = compile(&plan(src), &opts, &Platform::default()).unwrap();
    let v = config(&c);
    assert_eq!(v["created"], "2024-01-01T00:00:00Z");
    let h = v["history"].as_array().unwrap();
    assert_eq!(h.len(), 3, "{v:#}");
    assert_eq!(
        h[0]["created"], "2020-05-05T05:05:05Z",
        "base history keeps its time"
    );
    for e in &h[1..] {
        assert_eq!(e["created"], "2024-01-01T00:00:00Z", "{e}");
    }
    // Offline, without a time: no `created` at all rather than the base's.
    opts.created = None;
    let v = config(&compile(&plan(src), &opts, &Platform::default()).unwrap());
    assert!(v.get("created").is_none(), "{v:#}");
    assert!(v["history"][1].get("created").is_none(), "{v:#}");
}

const OUTPUT_SPEC: &str = "version: 1\nstages:\n  test:\n    from: alpine:3.20\n    workdir: /src\n    env: {CI: \"1\"}\n    steps:\n      - run: make test\n    output: [reports, /coverage/*.xml]\n  after:\n    from: test\n    steps:\n      - run: ls\n";

fn ops_of(c: &slipway_compiler::Compiled) -> Vec<pb::Op> {
    c.definition
        .decode()
        .unwrap()
        .def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect()
}

#[test]
fn an_output_target_is_only_its_paths_on_an_empty_base() {
    let p = plan(OUTPUT_SPEC);
    let opts = CompileOptions {
        target: Some("test".into()),
        ..Default::default()
    };
    let c = compile(&p, &opts, &Platform::default()).unwrap();
    let ops = ops_of(&c);
    // The result (before the return op) copies the two paths onto scratch.
    let Some(pb::op::Op::File(f)) = &ops[ops.len() - 2].op else {
        panic!("the result is not a file op: {ops:?}")
    };
    let copies: Vec<(String, String, i64)> = f
        .actions
        .iter()
        .map(|a| match &a.action {
            Some(pb::file_action::Action::Copy(cp)) => (cp.src.clone(), cp.dest.clone(), a.input),
            other => panic!("not a copy: {other:?}"),
        })
        .collect();
    assert_eq!(
        copies,
        [
            ("/src/reports".to_string(), "/src/reports".to_string(), -1),
            // The second copy goes onto the first one's result.
            ("/coverage/*.xml".to_string(), "/coverage/".to_string(), 1),
        ],
        "paths resolved against the workdir, the first onto an empty base (input -1)"
    );
    // The copy reads the stage's last step, so the tests run.
    assert_eq!(ops[ops.len() - 2].inputs.len(), 1);
    let v = config(&c);
    assert!(v["config"].get("Env").is_none(), "no base config: {v:#}");
    assert_eq!(
        v["history"][0]["created_by"],
        "OUTPUT /src/reports /coverage/*.xml # slipway"
    );
    // A stage built on it sees the whole filesystem, and has no output of its own.
    let opts = CompileOptions {
        target: Some("after".into()),
        ..Default::default()
    };
    let c = compile(&p, &opts, &Platform::default()).unwrap();
    let ops = ops_of(&c);
    assert!(
        matches!(ops[ops.len() - 2].op, Some(pb::op::Op::Exec(_))),
        "`after` ends with its own run step"
    );
    assert_eq!(config(&c)["config"]["Env"][1], "CI=1");
}
