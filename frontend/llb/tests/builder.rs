//! Builder behaviour: -1 rules, mount order and outputs, input dedup, caps,
//! digest dedup with metadata merge, reachability, errors, determinism.

use std::collections::BTreeSet;

use prost::Message;
use slipway_llb::*;

fn ops(def: &pb::Definition) -> Vec<pb::Op> {
    def.def
        .iter()
        .map(|b| pb::Op::decode(b.as_slice()).unwrap())
        .collect()
}

fn caps_of(def: &pb::Definition, i: usize) -> Vec<String> {
    def.metadata[&digest(&def.def[i])]
        .caps
        .keys()
        .cloned()
        .collect()
}

fn exec_of(op: &pb::Op) -> &pb::ExecOp {
    match &op.op {
        Some(pb::op::Op::Exec(e)) => e,
        o => panic!("not an exec: {o:?}"),
    }
}

fn file_of(op: &pb::Op) -> &pb::FileOp {
    match &op.op {
        Some(pb::op::Op::File(f)) => f,
        o => panic!("not a file op: {o:?}"),
    }
}

fn alpine(g: &mut Graph) -> Output {
    g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs::default(),
        OpMeta::named("alpine"),
    )
}

#[test]
fn mounts_sorted_outputs_numbered_inputs_deduped() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let ctx = g.local(
        "context",
        LocalOpts {
            session_id: Some("s1".into()),
            ..Default::default()
        },
        OpMeta::default(),
    );
    let mut e = Exec::shell(Some(a), "make");
    e.mounts = vec![
        Mount::Ssh(SshMount {
            dest: "/run/ssh".into(),
            id: "default".into(),
            mode: 0o600,
            ..Default::default()
        }),
        Mount::bind_rw("/out", None),
        Mount::secret("/run/secrets/tok", "tok"),
        Mount::bind_ro("/src", Some(ctx), "sub"),
        Mount::cache("/root/.cache", "c1", pb::CacheSharingOpt::Locked),
        Mount::tmpfs("/tmp", 1 << 20),
        Mount::bind_ro("/alpine", Some(a), ""), // same (digest,index) as root
        Mount::bind_rw("/b", Some(ctx)),
    ];
    let r = g.exec(e, OpMeta::named("build"));
    // root 0, /b 1, /out 2 (sorted by dest)
    assert_eq!(r.root().unwrap().index, 0);
    assert_eq!(
        r.mount(7).unwrap(),
        Output {
            node: r.node,
            index: 1
        }
    );
    assert_eq!(
        r.mount(1).unwrap(),
        Output {
            node: r.node,
            index: 2
        }
    );
    assert_eq!(r.mount(3), Some(ctx)); // read-only: unchanged source
    assert_eq!(r.mount(4), None);

    let def = g.marshal(r.mount(1), None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let all = ops(&def);
    let x = exec_of(&all[2]);
    let dests: Vec<&str> = x.mounts.iter().map(|m| m.dest.as_str()).collect();
    assert_eq!(
        dests,
        [
            "/",
            "/alpine",
            "/b",
            "/out",
            "/root/.cache",
            "/src",
            "/tmp",
            "/run/secrets/tok",
            "/run/ssh"
        ]
    );
    // inputs: alpine (root, /alpine shared), ctx (/b, /src shared)
    assert_eq!(all[2].inputs.len(), 2);
    let io: Vec<(i64, i64)> = x.mounts.iter().map(|m| (m.input, m.output)).collect();
    assert_eq!(
        io,
        [
            (0, 0),
            (0, -1),
            (1, 1),
            (-1, 2),
            (-1, -1),
            (1, -1),
            (-1, -1),
            (-1, 0),
            (-1, 0)
        ]
    );
    assert_eq!(
        x.mounts[4].cache_opt.as_ref().unwrap().sharing,
        pb::CacheSharingOpt::Locked as i32
    );
    assert_eq!(x.mounts[5].selector, "sub");
    assert!(x.meta.as_ref().unwrap().remove_mount_stubs_recursive);
    // return op points at output 2
    assert_eq!(all[3].inputs[0].index, 2);
    assert!(all[2].platform.is_none());
    let caps = caps_of(&def, 2);
    assert_eq!(
        caps,
        [
            "exec.meta.base",
            "exec.mount.bind",
            "exec.mount.cache",
            "exec.mount.cache.sharing",
            "exec.mount.secret",
            "exec.mount.selector",
            "exec.mount.ssh",
            "exec.mount.tmpfs",
            "exec.mount.tmpfs.size",
        ]
    );
    assert!(!caps.iter().any(|c| c.contains("removemountstubs")));
}

#[test]
fn scratch_root_and_cache_seed() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let mut e = Exec::new(None, vec!["/bin/true".into()]);
    e.mounts = vec![Mount::Cache(CacheMount {
        dest: "/c".into(),
        id: "x".into(),
        sharing: pb::CacheSharingOpt::Shared,
        seed: Some(a),
        selector: "/etc".into(),
    })];
    e.network = pb::NetMode::None;
    e.security = pb::SecurityMode::Insecure;
    e.valid_exit_codes = vec![0, 1];
    e.secret_env = vec![SecretEnv {
        id: "t".into(),
        name: "TOKEN".into(),
        optional: false,
    }];
    e.ulimits = vec![Ulimit {
        name: "nofile".into(),
        soft: 1,
        hard: 2,
    }];
    let r = g.exec(e, OpMeta::default());
    let def = g.marshal(r.root(), None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let all = ops(&def);
    let x = exec_of(&all[1]);
    assert_eq!((x.mounts[0].input, x.mounts[0].output), (-1, 0));
    assert_eq!((x.mounts[1].input, x.mounts[1].output), (0, -1));
    let bytes = x.meta.as_ref().unwrap().encode_to_vec();
    assert!(
        bytes.windows(4).any(|w| w == [0x62, 0x02, 0x00, 0x01]),
        "packed exit codes"
    );
    assert_eq!(
        caps_of(&def, 1),
        [
            "exec.meta.base",
            "exec.meta.network",
            "exec.meta.security",
            "exec.meta.ulimit",
            "exec.mount.cache",
            "exec.mount.cache.sharing",
            "exec.mount.secret",
            "exec.mount.selector",
            "exec.secretenv",
            "exec.validexitcode",
        ]
    );
}

#[test]
fn file_chain_indexes_and_minus_ones() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let ctx = g.local("context", LocalOpts::default(), OpMeta::default());
    let mut c = Copy::new("/app", "/srv/");
    c.include_patterns = vec!["*.rs".into()];
    c.mode_str = "u+x".into();
    c.owner = Some(Chown {
        user: Some(UserRef::Name("app".into())),
        group: Some(UserRef::Id(10)),
    });
    let b = FileOpBuilder::new(Some(a))
        .mkdir(MkDir {
            path: "/srv".into(),
            mode: 0o755,
            make_parents: true,
            ..Default::default()
        })
        .copy(Some(ctx), c)
        .copy(Some(a), Copy::new("/etc/passwd", "/srv/passwd"))
        .rm(Rm {
            path: "/srv/*.tmp".into(),
            allow_not_found: true,
            allow_wildcard: true,
        })
        .symlink(Symlink {
            oldpath: "/srv".into(),
            newpath: "/app".into(),
            ..Default::default()
        });
    let out = g.file(b, OpMeta::named("copy"));
    let def = g.marshal(out, None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let all = ops(&def);
    let f = &all[2];
    assert_eq!(f.inputs.len(), 2, "alpine deduplicated");
    assert!(f.platform.is_none());
    let fo = file_of(f);
    let idx: Vec<(i64, i64, i64)> = fo
        .actions
        .iter()
        .map(|a| (a.input, a.secondary_input, a.output))
        .collect();
    assert_eq!(
        idx,
        [(0, -1, -1), (2, 1, -1), (3, 0, -1), (4, -1, -1), (5, -1, 0)]
    );
    let Some(pb::file_action::Action::Copy(cp)) = &fo.actions[1].action else {
        panic!()
    };
    assert_eq!((cp.mode, cp.timestamp), (-1, -1));
    let Some(pb::user_opt::User::ByName(n)) = cp
        .owner
        .as_ref()
        .unwrap()
        .user
        .as_ref()
        .unwrap()
        .user
        .clone()
    else {
        panic!()
    };
    assert_eq!((n.name.as_str(), n.input), ("app", 2));
    let Some(pb::file_action::Action::Mkdir(md)) = &fo.actions[0].action else {
        panic!()
    };
    assert_eq!(md.timestamp, -1);
    assert_eq!(
        caps_of(&def, 2),
        [
            "file.base",
            "file.copy.includeexcludepatterns",
            "file.copy.modestring",
            "file.rm.wildcard",
            "file.symlink.create"
        ]
    );
}

#[test]
fn owner_by_name_on_scratch_is_an_error() {
    let mut g = Graph::new();
    let b = FileOpBuilder::new(None).mkdir(MkDir {
        path: "/d".into(),
        owner: Some(Chown {
            user: Some(UserRef::Name("app".into())),
            group: None,
        }),
        ..Default::default()
    });
    let out = g.file(b, OpMeta::named("mk"));
    let e = g.marshal(out, None, None).unwrap_err();
    assert!(
        matches!(e, LlbError::Invalid { ref op, .. } if op == "mk"),
        "{e}"
    );
}

#[test]
fn source_caps_and_attrs() {
    let mut g = Graph::new();
    let img = g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs {
            resolve_mode: Some("pull".into()),
            ..Default::default()
        },
        OpMeta::default(),
    );
    let loc = g.local(
        "context",
        LocalOpts {
            session_id: Some("sess".into()),
            include_patterns: vec!["a".into()],
            exclude_patterns: vec!["b".into()],
            follow_paths: vec!["c".into()],
            shared_key_hint: Some("context".into()),
            differ: Some("none".into()),
            differ_required: true,
            unique: None,
        },
        OpMeta::default(),
    );
    let git = g.git(
        "git@github.com:moby/buildkit.git",
        GitOpts {
            git_ref: "v0.12".into(),
            subdir: "docs".into(),
            keep_git_dir: true,
            ..Default::default()
        },
        OpMeta::default(),
    );
    let http = g.http(
        "https://example.com/f.tgz",
        HttpOpts {
            checksum: Some("sha256:00".into()),
            filename: Some("f".into()),
            perm: Some(0o644),
            uid: Some(1),
            gid: None,
        },
        OpMeta::default(),
    );
    let m = g.merge(
        &[Some(img), None, Some(loc), Some(git), Some(http)],
        OpMeta::default(),
    );
    let def = g.marshal(m, None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let all = ops(&def);
    let src = |i: usize| match &all[i].op {
        Some(pb::op::Op::Source(s)) => s.clone(),
        _ => panic!(),
    };
    assert_eq!(
        caps_of(&def, 0),
        ["source.image", "source.image.resolvemode"]
    );
    assert_eq!(src(1).attrs["local.includepattern"], "[\"a\"]");
    assert_eq!(
        caps_of(&def, 1),
        [
            "source.local",
            "source.local.differ",
            "source.local.excludepatterns",
            "source.local.followpaths",
            "source.local.includepatterns",
            "source.local.sessionid",
            "source.local.sharedkeyhint"
        ]
    );
    assert_eq!(
        src(2).identifier,
        "git://github.com/moby/buildkit.git#v0.12:docs"
    );
    assert_eq!(
        src(2).attrs["git.fullurl"],
        "git@github.com:moby/buildkit.git"
    );
    assert_eq!(src(2).attrs["git.mountsshsock"], "default");
    assert_eq!(
        caps_of(&def, 2),
        [
            "source.git",
            "source.git.fullurl",
            "source.git.keepgitdir",
            "source.git.mountsshsock",
            "source.git.subdir"
        ]
    );
    assert_eq!(src(3).attrs["http.perm"], "0644");
    assert_eq!(
        caps_of(&def, 3),
        [
            "soruce.http.uidgid",
            "source.http",
            "source.http.checksum",
            "source.http.perm"
        ]
    );
    assert!(all[1..4].iter().all(|o| o.platform.is_none()));
    // merge: 4 inputs (scratch dropped), not deduplicated, platform dropped
    let Some(pb::op::Op::Merge(mo)) = &all[4].op else {
        panic!()
    };
    assert_eq!(
        mo.inputs.iter().map(|i| i.input).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(caps_of(&def, 4), ["mergeop"]);
}

#[test]
fn diff_with_scratch_lower() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let d = g.diff(None, Some(a), OpMeta::default());
    let def = g.marshal(d, None, None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    let all = ops(&def);
    let Some(pb::op::Op::Diff(x)) = &all[1].op else {
        panic!()
    };
    assert_eq!(
        (
            x.lower.as_ref().unwrap().input,
            x.upper.as_ref().unwrap().input
        ),
        (-1, 0)
    );
    assert_eq!(caps_of(&def, 1), ["diffop"]);
}

#[test]
fn identical_ops_dedup_and_merge_metadata() {
    let mut g = Graph::new();
    let a1 = g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs::default(),
        OpMeta::named("first").with_range(SourceRange::lines(1, 1)),
    );
    let a2 = g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs::default(),
        OpMeta::named("second")
            .with_ignore_cache(true)
            .with_range(SourceRange::lines(5, 6)),
    );
    let m = g.merge(&[Some(a1), Some(a2)], OpMeta::default());
    let src = SourceInfoInput {
        filename: "slipway.yaml",
        data: b"x\n",
        language: "YAML",
    };
    let def = g.marshal(m, Some(src), None).unwrap().decode().unwrap();
    verify(&def).unwrap();
    assert_eq!(def.def.len(), 3);
    let d = digest(&def.def[0]);
    let md = &def.metadata[&d];
    assert!(md.ignore_cache);
    assert_eq!(md.description["llb.customname"], "second");
    let locs = &def.source.as_ref().unwrap().locations[&d].locations;
    assert_eq!(locs.len(), 1);
    assert_eq!(locs[0].ranges.len(), 2);
    assert_eq!(locs[0].ranges[1].start.as_ref().unwrap().line, 5);
    // merge keeps both inputs, both pointing at the single entry
    let all = ops(&def);
    assert_eq!(all[1].inputs.len(), 2);
    let ret = caps_of(&def, 2);
    assert_eq!(
        ret,
        [
            "constraints",
            "meta.description",
            "meta.ignorecache",
            "platform"
        ]
    );
}

#[test]
fn only_reachable_ops_and_scratch_result() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let _unrelated = g.exec(Exec::shell(Some(a), "never"), OpMeta::named("other stage"));
    let def = g.marshal(Some(a), None, None).unwrap().decode().unwrap();
    assert_eq!(def.def.len(), 2);
    let empty = g.marshal(None, None, None).unwrap().decode().unwrap();
    assert_eq!(empty, pb::Definition::default());
    verify(&empty).unwrap();
}

#[test]
fn unsupported_cap_is_a_typed_error() {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let mut e = Exec::shell(Some(a), "x");
    e.mounts = vec![Mount::tmpfs("/t", 10)];
    let r = g.exec(e, OpMeta::named("[stage 1/2] RUN x"));
    let old: BTreeSet<String> = [
        "source.image",
        "exec.meta.base",
        "exec.mount.bind",
        "exec.mount.tmpfs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let err = g.marshal(r.root(), None, Some(&old)).unwrap_err();
    assert_eq!(
        err,
        LlbError::UnsupportedCap {
            cap: "exec.mount.tmpfs.size".into(),
            op: "[stage 1/2] RUN x".into(),
            line: None,
        }
    );
    let mut new = old.clone();
    new.insert("exec.mount.tmpfs.size".into());
    g.marshal(r.root(), None, Some(&new)).unwrap();
}

#[test]
fn exec_without_args_is_invalid() {
    let mut g = Graph::new();
    let r = g.exec(Exec::new(None, vec![]), OpMeta::default());
    assert!(matches!(
        g.marshal(r.root(), None, None),
        Err(LlbError::Invalid { .. })
    ));
}

/// An op that fails to encode keeps its source range: the error names the
/// spec line (issue 11: such errors had no location).
#[test]
fn an_op_that_fails_to_encode_names_its_source_line() {
    let mut g = Graph::new();
    let meta = OpMeta::named("run nothing").with_range(SourceRange::lines(7, 9));
    let r = g.exec(Exec::new(None, vec![]), meta);
    let e = g.marshal(r.root(), None, None).unwrap_err();
    assert_eq!(
        e,
        LlbError::Invalid {
            op: "run nothing".into(),
            reason: "exec needs at least one argument".into(),
            line: Some(7),
        }
    );
}

fn sample() -> (Graph, State) {
    let mut g = Graph::new();
    let a = alpine(&mut g);
    let ctx = g.local("context", LocalOpts::default(), OpMeta::default());
    let mut e = Exec::shell(Some(a), "cargo build");
    e.env = vec!["B=1".into(), "A=2".into()];
    e.mounts = vec![
        Mount::cache("/cache", "c", pb::CacheSharingOpt::Shared),
        Mount::bind_ro("/src", Some(ctx), ""),
    ];
    let r = g.exec(
        e,
        OpMeta::named("build").with_range(SourceRange::lines(3, 4)),
    );
    let f = g.file(
        FileOpBuilder::new(None).copy(r.root(), Copy::new("/bin/app", "/app")),
        OpMeta::named("copy"),
    );
    (g, f)
}

#[test]
fn deterministic() {
    let (g1, r1) = sample();
    let (g2, r2) = sample();
    let src = || {
        Some(SourceInfoInput {
            filename: "s.yaml",
            data: b"a: b\n",
            language: "YAML",
        })
    };
    let d1 = g1.marshal(r1, src(), None).unwrap().0;
    let d2 = g2.marshal(r2, src(), None).unwrap().0;
    let d3 = g1.marshal(r1, src(), None).unwrap().0;
    assert_eq!(d1, d2);
    assert_eq!(d1, d3);
}

#[test]
fn verify_catches_broken_definitions() {
    let (g, r) = sample();
    let good = g.marshal(r, None, None).unwrap().decode().unwrap();
    verify(&good).unwrap();

    let mut swapped = good.clone();
    swapped.def.swap(0, 2); // an input now refers to a later entry
    assert!(verify(&swapped).unwrap_err().contains("earlier"));

    let mut no_ret = good.clone();
    no_ret.def.pop();
    assert!(verify(&no_ret).unwrap_err().contains("return op"));

    let mut bad_md = good.clone();
    bad_md
        .metadata
        .insert(format!("sha256:{}", "0".repeat(64)), Default::default());
    assert!(verify(&bad_md).unwrap_err().contains("metadata"));

    // prost field-number order: decodes, but does not re-encode identically.
    let mut reordered = good.clone();
    let first = &reordered.def[0];
    let (c, body) = first.split_at(2);
    assert_eq!(c, [0x5a, 0x00]);
    reordered.def[0] = [body, c].concat();
    assert!(verify(&reordered).unwrap_err().contains("re-encode"));

    let mut garbage = good.clone();
    garbage.def[0] = vec![0xff];
    assert!(verify(&garbage).is_err());
}

#[test]
fn dump_snapshot() {
    let (g, r) = sample();
    let src = SourceInfoInput {
        filename: "slipway.yaml",
        data: b"a: b\n",
        language: "YAML",
    };
    let def = g.marshal(r, Some(src), None).unwrap().decode().unwrap();
    insta::assert_json_snapshot!("sample_dump", dump_json(&def));
}

#[test]
fn long_chain_does_not_overflow() {
    let mut g = Graph::new();
    let mut s = Some(alpine(&mut g));
    for i in 0..20_000 {
        s = g.file(
            FileOpBuilder::new(s).mkdir(MkDir {
                path: format!("/d{i}"),
                mode: 0o755,
                ..Default::default()
            }),
            OpMeta::default(),
        );
    }
    let def = g.marshal(s, None, None).unwrap().decode().unwrap();
    assert_eq!(def.def.len(), 20_002);
    verify(&def).unwrap();
}

#[test]
fn set_env_moves_key_to_end() {
    let mut e = Exec::new(None, vec!["x".into()]);
    e.env = vec!["A=1".into(), "B=2".into()];
    e.set_env("A", "3");
    assert_eq!(e.env, ["B=2", "A=3"]);
}

/// A node's own metadata: description keys in order with the custom name at
/// its key's place, and a description entry `llb.customname` overriding it;
/// repeated source ranges written once.
#[test]
fn node_metadata_orders_description_keys_around_the_custom_name() {
    let mut g = Graph::new();
    let range = SourceRange::lines(3, 4);
    let meta = OpMeta::named("the name")
        .with_description("a.first", "1")
        .with_description("z.last", "2")
        .with_range(range)
        .with_range(range)
        .with_range(SourceRange::lines(7, 7));
    let a = g.image(
        "docker.io/library/alpine:latest",
        None,
        ImageAttrs::default(),
        meta,
    );
    let b = g.exec(
        Exec::shell(Some(a), "true"),
        OpMeta::named("ignored").with_description("llb.customname", "wins"),
    );
    let def = g
        .marshal(
            b.root(),
            Some(SourceInfoInput {
                filename: "s.yaml",
                data: b"x\n",
                language: "YAML",
            }),
            None,
        )
        .unwrap()
        .decode()
        .unwrap();
    let o = ops(&def);
    let dig = |op: &pb::Op| digest(&op.encode_to_vec());
    let md = |op: &pb::Op| def.metadata[&dig(op)].clone();
    let img = &o[0];
    let want: Vec<(&str, &str)> = vec![
        ("a.first", "1"),
        ("llb.customname", "the name"),
        ("z.last", "2"),
    ];
    let got: Vec<(String, String)> = md(img).description.into_iter().collect();
    assert_eq!(
        got,
        want.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(md(&o[1]).description["llb.customname"], "wins");
    let locs = &def.source.as_ref().unwrap().locations[&dig(img)].locations;
    assert_eq!(
        locs[0].ranges.len(),
        2,
        "the repeated range is written once"
    );
}
