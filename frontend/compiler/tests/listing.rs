//! Listings (`slipway targets|outline`, `--call targets|outline`): every
//! example's targets and default outline as text are snapshot-tested, and a
//! spec with groups, documented args, secrets and SSH ids is checked in text
//! and in BuildKit's JSON shape.

use std::path::Path;

use slipway_compiler::listing::{self, render};
use slipway_spec::{load, EvalOptions, Plan};

fn plan(name: &str, text: &str, build_args: &[(&str, &str)]) -> Plan {
    let opts = EvalOptions {
        build_args: build_args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    load(name, text, &opts)
        .unwrap_or_else(|d| panic!("{name} does not load:\n{}", d.render()))
        .plan
}

#[test]
fn every_example_lists_its_targets_and_outline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("slipway.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "examples not found in {}", root.display());
    for d in dirs {
        let text = std::fs::read_to_string(d.join("slipway.yaml")).unwrap();
        let p = plan("slipway.yaml", &text, &[]);
        let list = listing::targets(&p);
        assert_eq!(list.len(), p.stages.len() + p.groups.len());
        assert_eq!(
            list.iter().filter(|t| t.default).count(),
            1,
            "{}",
            d.display()
        );
        let o = listing::outline(&p, None).unwrap();
        let out = format!(
            "{}\n{}",
            render::targets_text(&list),
            render::outline_text(&o)
        );
        let name = d.file_name().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(format!("example_{name}"), out);
    }
}

const SPEC: &str = "\
# syntax=slipway:dev
args:
  # The Go toolchain image.
  GO_IMAGE: golang:1.22-alpine
  VERSION: dev   # stamped into the binary
  UNUSED: x
  TAG:
default: app
groups:
  ci: [test, lint]
stages:
  build:
    from: ${GO_IMAGE}
    description: compile the server
    args:
      # Extra flags for go build.
      LDFLAGS: -s -w
    steps:
      - run: go build -ldflags \"$LDFLAGS -X main.v=$VERSION\" ./...
        secret: {id: netrc, target: /root/.netrc, required: true}
        ssh: default
      - run: go mod download
        secret: [netrc, {id: gh_token, env: GH_TOKEN}]
  test:
    from: build
    steps:
      - run: go test ./...
  lint:
    from: build
    platform: linux/arm64
    steps:
      - run: golangci-lint run
        ssh: {id: github, required: true}
  app:
    from: scratch
    steps:
      - copy: /out/server
        from: build
";

#[test]
fn targets_in_text_and_json() {
    let p = plan("slipway.yaml", SPEC, &[]);
    let list = listing::targets(&p);
    insta::assert_snapshot!(render::targets_text(&list), @r"
    TARGET        DESCRIPTION
    build         compile the server
    test          
    lint          
    app (default) 
    ci            group: test, lint
    ");
    let v = render::targets_json(&p, &list);
    let t = &v["targets"];
    assert_eq!(t[0]["name"], "build");
    assert_eq!(t[0]["base"], "golang:1.22-alpine");
    assert_eq!(t[0]["location"]["ranges"][0]["start"]["line"], 12);
    assert_eq!(t[0]["location"]["ranges"][0]["start"]["character"], 2);
    assert_eq!(t[2]["platform"], "linux/arm64");
    assert_eq!(t[3]["default"], true);
    assert_eq!(t[3]["base"], "scratch");
    assert!(t[0].get("default").is_none(), "false is omitted as Go does");
    assert_eq!(t[4]["name"], "ci");
    assert_eq!(t[4]["location"]["ranges"][0]["start"]["line"], 10);
    use base64::Engine;
    let src = base64::engine::general_purpose::STANDARD
        .decode(v["sources"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(src, SPEC.as_bytes());
}

#[test]
fn outline_of_a_target_lists_what_it_uses() {
    let p = plan("slipway.yaml", SPEC, &[("VERSION", "1.2.3")]);
    let o = listing::outline(&p, Some("test")).unwrap();
    insta::assert_snapshot!(render::outline_text(&o), @r"
    TARGET: test

    BUILD ARG   VALUE                DESCRIPTION
    GO_IMAGE    golang:1.22-alpine   The Go toolchain image.
    VERSION     1.2.3                stamped into the binary
    LDFLAGS     -s -w                Extra flags for go build.

    SECRET     REQUIRED
    netrc      true
    gh_token   

    SSH       REQUIRED
    default   
    ");
    let v = render::outline_json(&p, &o);
    assert_eq!(v["name"], "test");
    assert_eq!(v["args"][0]["name"], "GO_IMAGE");
    assert_eq!(v["args"][0]["location"]["ranges"][0]["start"]["line"], 4);
    assert_eq!(v["secrets"][0]["required"], true);
    assert!(v["secrets"][1].get("required").is_none());
    assert_eq!(
        v["secrets"][0]["location"]["ranges"][0]["start"]["line"],
        20
    );

    // The lint target adds its own ssh id; the default target (app) needs
    // build's args through copy.from; UNUSED and TAG are named by no stage.
    let lint = listing::outline(&p, Some("lint")).unwrap();
    let ids: Vec<&str> = lint.ssh.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["default", "github"]);
    let app = listing::outline(&p, None).unwrap();
    assert_eq!(app.name, "app");
    let names: Vec<&str> = app.args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["GO_IMAGE", "VERSION", "LDFLAGS"]);
    // A group: every member's needs, described by its members.
    let ci = listing::outline(&p, Some("ci")).unwrap();
    assert_eq!(ci.description.as_deref(), Some("group: test, lint"));
    assert!(ci.ssh.iter().any(|s| s.id == "github" && s.required));
}

#[test]
fn unknown_target_is_a_located_error() {
    let p = plan("slipway.yaml", SPEC, &[]);
    let e = listing::outline(&p, Some("tset")).unwrap_err();
    let r = e.render();
    assert!(r.contains("tset"), "{r}");
    assert!(r.contains("test"), "{r}");
}

/// Listings stay linear: 5,000 stages take about as long per stage as 500
/// (a quadratic lookup would take ~10× longer per stage).
#[test]
fn listings_scale_linearly() {
    let time = |n: usize| {
        let text = slipway_compiler::generated_spec(n);
        let p = plan("big.yaml", &text, &[]);
        let t = std::time::Instant::now();
        let o = listing::outline(&p, None).unwrap();
        let list = listing::targets(&p);
        let d = t.elapsed().as_secs_f64();
        assert_eq!(list.len(), n);
        assert_eq!(o.args.len(), 1, "BASE, used by every stage");
        d / n as f64
    };
    let small = time(500);
    let large = time(5_000);
    eprintln!(
        "listing per stage: {:.2} µs at 500, {:.2} µs at 5,000",
        small * 1e6,
        large * 1e6
    );
    assert!(
        large < small * 4.0 + 20e-6,
        "per stage: {:.1} µs at 500 stages, {:.1} µs at 5,000",
        small * 1e6,
        large * 1e6
    );
}
