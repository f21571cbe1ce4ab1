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
    assert_eq!(p.args, vec![("GO_IMAGE".into(), "golang:1.22-alpine".into()), ("VERSION".into(), "dev".into())]);
    assert_eq!(p.default.as_ref().unwrap().value, "runtime");
    assert_eq!(p.groups.len(), 1);
    assert_eq!(p.groups[0].members.iter().map(|m| m.value.as_str()).collect::<Vec<_>>(), ["test", "lint", "runtime"]);
    let names: Vec<&str> = p.stages.iter().map(|s| s.name.value.as_str()).collect();
    assert_eq!(names, ["builder", "test", "lint", "runtime"]);
    let b = &p.stages[0];
    assert_eq!(b.from.value, Base::Image("golang:1.22-alpine".into()));
    assert_eq!(b.workdir.as_ref().unwrap().value, "/app");
    assert_eq!(b.env, vec![("CGO_ENABLED".into(), "0".into())]);
    assert_eq!(b.steps.len(), 4);
    match &b.steps[0].kind {
        StepKind::Copy(c) => {
            assert_eq!(c.sources.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(), ["go.mod", "go.sum"]);
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
            assert_eq!(r.command, Command::Shell("go build -ldflags=\"-s -w\" -o /out/server ./cmd/server".into()));
            assert_eq!(r.cache.iter().map(|c| c.target.as_str()).collect::<Vec<_>>(), ["/go/pkg/mod", "/root/.cache/go-build"]);
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(b.steps[1].verb_span.start.line, 21);
    let t = &p.stages[1];
    assert_eq!(t.from.value, Base::Stage("builder".into()));
    assert_eq!(t.description.as_deref(), Some("unit tests"));
    let r = &p.stages[3];
    assert_eq!(r.from.value, Base::Image("gcr.io/distroless/static-debian12:nonroot".into()));
    match &r.steps[0].kind {
        StepKind::Copy(c) => {
            assert_eq!(c.from.as_ref().unwrap().value, From::Stage("builder".into()));
            assert_eq!(c.to.as_deref(), Some("/server"));
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(r.image.user.as_deref(), Some("nonroot:nonroot"));
    assert_eq!(r.image.expose, ["8080/tcp"]);
    assert_eq!(r.image.entrypoint, Some(Command::Exec(vec!["/server".into()])));
    assert_eq!(p.filename, "slipway.yaml");
    assert_eq!(p.source, src);
}
