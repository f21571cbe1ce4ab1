use slipway_spec::*;

fn load_ok(src: &str) -> Loaded {
    match load("slipway.yaml", src, &EvalOptions::default()) {
        Ok(l) => l,
        Err(d) => panic!("{}", d.render()),
    }
}

#[test]
fn spec_v1_example() {
    let src = include_str!("good/example.yaml");
    let l = load_ok(src);
    let p = &l.plan;
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(
        p.args,
        vec![
            ("GO_IMAGE".into(), "golang:1.22-alpine".into()),
            ("VERSION".into(), "dev".into())
        ]
    );
    assert_eq!(p.default.as_ref().unwrap().value, "runtime");
    assert_eq!(p.groups.len(), 1);
    assert_eq!(
        p.groups[0]
            .members
            .iter()
            .map(|m| m.value.as_str())
            .collect::<Vec<_>>(),
        ["test", "lint", "runtime"]
    );
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.value.as_str()).collect();
    assert_eq!(names, ["builder", "test", "lint", "runtime"]);
    let b = &p.stages[0];
    assert_eq!(b.from.value, Base::Image("golang:1.22-alpine".into()));
    assert_eq!(b.workdir.as_ref().unwrap().value, "/app");
    assert_eq!(b.env, vec![("CGO_ENABLED".into(), "0".into())]);
    assert_eq!(b.steps.len(), 4);
    match &b.steps[0].kind {
        StepKind::Copy(c) => {
            assert_eq!(
                c.sources
                    .iter()
                    .map(|s| s.value.as_str())
                    .collect::<Vec<_>>(),
                ["go.mod", "go.sum"]
            );
            assert_eq!(c.to.as_deref(), Some("./"));
            assert!(c.from.is_none());
        }
        k => panic!("{k:?}"),
    }
    match &b.steps[1].kind {
        StepKind::Run(r) => {
            assert_eq!(r.command, Command::Shell("go mod download".into()));
            assert_eq!(r.cache.len(), 1);
            assert_eq!(r.cache[0].target, "/go/pkg/mod");
            assert_eq!(r.cache[0].sharing, Sharing::Shared);
            assert_eq!(r.cache[0].id, None);
        }
        k => panic!("{k:?}"),
    }
    match &b.steps[3].kind {
        StepKind::Run(r) => {
            assert_eq!(
                r.command,
                Command::Shell("go build -ldflags=\"-s -w\" -o /out/server ./cmd/server".into())
            );
            assert_eq!(
                r.cache
                    .iter()
                    .map(|c| c.target.as_str())
                    .collect::<Vec<_>>(),
                ["/go/pkg/mod", "/root/.cache/go-build"]
            );
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(b.steps[1].verb_span.start.line, 21);
    let t = &p.stages[1];
    assert_eq!(t.from.value, Base::Stage("builder".into()));
    assert_eq!(t.description.as_deref(), Some("unit tests"));
    let r = &p.stages[3];
    assert_eq!(
        r.from.value,
        Base::Image("gcr.io/distroless/static-debian12:nonroot".into())
    );
    match &r.steps[0].kind {
        StepKind::Copy(c) => {
            assert_eq!(
                c.from.as_ref().unwrap().value,
                From::Stage("builder".into())
            );
            assert_eq!(c.to.as_deref(), Some("/server"));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(r.image.user.as_deref(), Some("nonroot:nonroot"));
    assert_eq!(r.image.expose, ["8080/tcp"]);
    assert_eq!(
        r.image.entrypoint,
        Some(Command::Exec(vec!["/server".into()]))
    );
    assert_eq!(p.filename, "slipway.yaml");
    assert_eq!(p.source, src);
}

fn opts(build_args: &[(&str, &str)]) -> EvalOptions {
    EvalOptions {
        build_args: build_args
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        build_platform: parse_platform("linux/amd64").unwrap(),
        target_platform: parse_platform("linux/arm64").unwrap(),
        ..Default::default()
    }
}

#[test]
fn args_env_scope_and_build_args() {
    let src = r#"
args:
  BASE: alpine
  TAG: "3.20"
  IMG: ${BASE}:${TAG}
  UNSET:
stages:
  builder:
    from: ${IMG}
    platform: ${BUILDPLATFORM}
    args:
      GOOS: ${TARGETOS}
      TARGETARCH:
      TAG:
    env:
      ROOT: /src
      BIN: $ROOT/bin
      PRICE: "5$$"
      OPT: ${UNSET:-none}-${GOOS:+os}
    workdir: ${ROOT}
    steps:
      - run: echo $ROOT ${TAG}
        env: {X: "${BIN}/x"}
  child:
    from: builder
    workdir: ${BIN}/child
"#;
    let l = load("s.yaml", src, &opts(&[("TAG", "edge"), ("NOPE", "1")]))
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let p = &l.plan;
    assert_eq!(
        p.args,
        vec![
            ("BASE".into(), "alpine".into()),
            ("TAG".into(), "edge".into()),
            ("IMG".into(), "alpine:edge".into())
        ]
    );
    assert_eq!(p.unused_build_args, vec!["NOPE".to_string()]);
    let b = &p.stages[0];
    assert_eq!(b.from.value, Base::Image("alpine:edge".into()));
    assert_eq!(
        b.platform.as_ref().unwrap().value.to_string(),
        "linux/amd64"
    );
    assert_eq!(
        b.args,
        vec![
            ("GOOS".into(), "linux".into()),
            ("TARGETARCH".into(), "arm64".into()),
            ("TAG".into(), "edge".into())
        ]
    );
    assert_eq!(
        b.env,
        vec![
            ("ROOT".into(), "/src".into()),
            ("BIN".into(), "/src/bin".into()),
            ("PRICE".into(), "5$".into()),
            ("OPT".into(), "none-os".into())
        ]
    );
    assert_eq!(b.workdir.as_ref().unwrap().value, "/src");
    match &b.steps[0].kind {
        StepKind::Run(r) => {
            assert_eq!(
                r.command,
                Command::Shell("echo $ROOT ${TAG}".into()),
                "run commands are not interpolated"
            );
            assert_eq!(r.env, vec![("X".into(), "/src/bin/x".into())]);
        }
        k => panic!("{k:?}"),
    }
    // env of the parent stage is visible in the child
    assert_eq!(
        p.stages[1].workdir.as_ref().unwrap().value,
        "/src/bin/child"
    );
    assert_eq!(p.stages[1].from.value, Base::Stage("builder".into()));
}

#[test]
fn all_step_kinds() {
    let src = r#"
stages:
  base:
    from: scratch
  app:
    from: debian:12
    shell: [/bin/bash, -eu, -c]
    steps:
      - run: [make, all]
        cache:
          - /root/.cache
          - {target: /var/cache/apt, id: apt, sharing: locked, mode: "0755", uid: 0, gid: 0}
          - {target: /x, from: base, source: /cache}
        secret: [npmrc, {id: tok, env: TOKEN, required: true}]
        ssh: default
        tmpfs: {target: /tmp, size: 64m}
        bind: {from: base, source: /, target: /mnt, rw: true}
        workdir: /w
        user: "1000:1000"
        network: none
        security: insecure
        no-cache: true
      - copy: [a, "b/*"]
        from: context
        to: /dst/
        chown: app:app
        chmod: "0644"
        include: ["*.go"]
        exclude: vendor
        link: true
        parents: true
        follow-symlinks: true
      - add: https://example.com/x.tgz
        checksum: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        to: /opt/
      - add: git@github.com:moby/buildkit.git
        ref: v0.15.0
        keep-git-dir: true
        to: /src
      - add: https://github.com/moby/buildkit.git#v0.14.0
      - file: /etc/app.conf
        content: |
          port=${PORT:-8080}
          literal=$$HOME
        mode: 0644
        owner: root
      - mkdir: /data
        mode: 755
      - link: /usr/local/bin/app
        target: /app/bin/app
      - remove: [/tmp/a, /tmp/b]
      - copy: /bin
        from: base
    image:
      env: {PORT: "8080"}
      user: app
      entrypoint: /app --port $PORT
      cmd: [serve]
      expose: [8080, "9090/udp", "8000-8010"]
      labels: {org.opencontainers.image.source: "https://x/${PORT}"}
      volumes: [/data]
      healthcheck: {test: "curl -f localhost", interval: 1m30s, timeout: 500ms, start-period: 5s, retries: 3}
      stop-signal: SIGQUIT
      workdir: /app
"#;
    let l =
        load("s.yaml", src, &EvalOptions::default()).unwrap_or_else(|d| panic!("{}", d.render()));
    let app = &l.plan.stages[1];
    assert_eq!(
        app.shell.as_deref(),
        Some(&["/bin/bash".to_string(), "-eu".into(), "-c".into()][..])
    );
    let StepKind::Run(r) = &app.steps[0].kind else {
        panic!()
    };
    assert_eq!(r.command, Command::Exec(vec!["make".into(), "all".into()]));
    assert_eq!(r.cache.len(), 3);
    assert_eq!(r.cache[1].id.as_deref(), Some("apt"));
    assert_eq!(r.cache[1].sharing, Sharing::Locked);
    assert_eq!(r.cache[1].mode, Some(0o755));
    assert_eq!(r.cache[2].from, Some(From::Stage("base".into())));
    assert_eq!(r.secrets.len(), 2);
    assert_eq!(r.secrets[1].env.as_deref(), Some("TOKEN"));
    assert!(r.secrets[1].required);
    assert_eq!(r.ssh[0].id, "default");
    assert_eq!(r.tmpfs[0].size, Some(64 << 20));
    assert!(r.binds[0].rw);
    assert_eq!(r.network, Some(Network::None));
    assert_eq!(r.security, Some(Security::Insecure));
    assert!(r.no_cache);
    let StepKind::Copy(c) = &app.steps[1].kind else {
        panic!()
    };
    assert_eq!(
        c.from.as_ref().unwrap().value,
        From::Other("context".into())
    );
    assert!(c.link && c.parents && c.follow_symlinks);
    assert_eq!(c.exclude, ["vendor"]);
    let StepKind::Add(a) = &app.steps[2].kind else {
        panic!()
    };
    assert_eq!(a.kind, AddKind::Http);
    let StepKind::Add(a) = &app.steps[3].kind else {
        panic!()
    };
    assert_eq!(a.kind, AddKind::Git);
    assert_eq!(a.git_ref.as_deref(), Some("v0.15.0"));
    let StepKind::Add(a) = &app.steps[4].kind else {
        panic!()
    };
    assert_eq!(
        (a.kind, a.source.value.as_str(), a.git_ref.as_deref()),
        (
            AddKind::Git,
            "https://github.com/moby/buildkit.git",
            Some("v0.14.0")
        )
    );
    let StepKind::File(f) = &app.steps[5].kind else {
        panic!()
    };
    assert_eq!(f.content, "port=8080\nliteral=$HOME\n");
    assert_eq!(f.mode, Some(0o644));
    let StepKind::Mkdir(m) = &app.steps[6].kind else {
        panic!()
    };
    assert_eq!(m.mode, Some(0o755));
    let StepKind::Link(k) = &app.steps[7].kind else {
        panic!()
    };
    assert_eq!(k.target, "/app/bin/app");
    let StepKind::Remove(rm) = &app.steps[8].kind else {
        panic!()
    };
    assert_eq!(rm.paths, ["/tmp/a", "/tmp/b"]);
    let im = &app.image;
    assert_eq!(
        im.entrypoint,
        Some(Command::Shell("/app --port $PORT".into()))
    );
    assert_eq!(im.expose, ["8080/tcp", "9090/udp", "8000-8010/tcp"]);
    assert_eq!(
        im.labels["org.opencontainers.image.source"],
        "https://x/8080"
    );
    assert_eq!(
        im.healthcheck,
        Some(Healthcheck::Check {
            test: vec!["CMD-SHELL".into(), "curl -f localhost".into()],
            interval_ns: Some(90_000_000_000),
            timeout_ns: Some(500_000_000),
            start_period_ns: Some(5_000_000_000),
            retries: Some(3)
        })
    );
    assert_eq!(im.stop_signal.as_deref(), Some("SIGQUIT"));
}

#[test]
fn anchors_merge_and_x_keys() {
    let src = r#"
x-go: &go
  from: golang:1.22
  env: {CGO_ENABLED: "0"}
stages:
  a:
    <<: *go
    x-note: ignored
    workdir: /a
  b:
    <<: *go
    env: {GOOS: linux}
"#;
    let l =
        load("s.yaml", src, &EvalOptions::default()).unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(
        l.plan.stages[0].env,
        vec![("CGO_ENABLED".into(), "0".into())]
    );
    assert_eq!(l.plan.stages[1].env, vec![("GOOS".into(), "linux".into())]);
    assert_eq!(
        l.plan.stages[1].from.value,
        Base::Image("golang:1.22".into())
    );
}

#[test]
fn typo_of_stage_is_a_warning() {
    let src = "stages:\n  builder: {from: alpine}\n  app:\n    from: alpine\n    steps:\n      - copy: /x\n        from: buidler\n";
    let l = load("s.yaml", src, &EvalOptions::default()).unwrap();
    assert_eq!(l.warnings.len(), 1);
    assert_eq!(l.warnings[0].code, "maybe-typo");
    assert_eq!(l.warnings[0].severity, Severity::Warning);
}

#[test]
fn image_refs() {
    for ok in [
        "alpine",
        "alpine:3.20",
        "library/alpine",
        "ghcr.io/org/app:v1",
        "localhost:5000/x",
        "docker.io/a/b@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "a__b",
        "a-b.c_d",
    ] {
        assert!(is_valid_image_ref(ok), "{ok}");
    }
    for bad in [
        "Alpine",
        "a:",
        ":x",
        "a/",
        "a b",
        "a@sha256:xyz",
        "-a",
        "a!",
    ] {
        assert!(!is_valid_image_ref(bad), "{bad}");
    }
}

/// A step's span covers its own lines only: a block mapping's end event sits at the next token,
/// which must not pull the next step's line into this one (the LLB source map buildx quotes).
#[test]
fn step_span_ends_on_its_last_line() {
    let l = load_ok(
        "version: 1\nstages:\n  app:\n    from: busybox:1.36\n    steps:\n      - run: echo one   # comment\n      - run: echo two\n        cache: /c\n\n      - run: echo four\n",
    );
    let steps = &l.plan.stages[0].steps;
    let lines: Vec<_> = steps
        .iter()
        .map(|s| (s.span.start.line, s.span.end.line))
        .collect();
    assert_eq!(lines, [(6, 6), (7, 8), (10, 10)]);
    assert_eq!(steps[0].span.end.col, 22, "ends right after `echo one`");
}
