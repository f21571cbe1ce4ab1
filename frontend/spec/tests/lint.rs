//! Every lint rule on a bad spec (snapshotted: the rendered warnings of that
//! rule) and on the good form of the same spec (no finding of that rule);
//! `lint.disable` turns a rule off.

use slipway_spec::*;

fn opts(ctx: Option<ContextInfo>) -> EvalOptions {
    EvalOptions {
        context: ctx,
        ..Default::default()
    }
}

/// Rendered findings of `rule` (the spec must load).
fn findings(rule: &str, src: &str, o: &EvalOptions) -> String {
    let l = load("slipway.yaml", src, o).unwrap_or_else(|d| panic!("{}", d.render()));
    let mut out = String::new();
    for w in l.warnings.iter().filter(|w| w.code == rule) {
        assert_eq!(w.severity, Severity::Warning);
        out.push_str(&w.render("slipway.yaml", src));
    }
    if rule == "missing-syntax" {
        if let Some(w) = lint::missing_syntax(&l.plan) {
            out.push_str(&w.render("slipway.yaml", src));
        }
    }
    out
}

fn case(rule: &str, bad: &str, good: &str, o: &EvalOptions) {
    let found = findings(rule, bad, o);
    assert!(!found.is_empty(), "{rule}: the bad spec has no finding");
    insta::assert_snapshot!(rule, found);
    let clean = findings(rule, good, o);
    assert!(
        clean.is_empty(),
        "{rule}: the good spec has findings:\n{clean}"
    );
    let disabled = format!("lint: {{disable: [{rule}]}}\n{bad}");
    let off = findings(rule, &disabled, o);
    assert!(
        off.is_empty(),
        "{rule}: still reported when disabled:\n{off}"
    );
    assert!(lint::RULES.iter().any(|r| r.id == rule));
}

const HEAD: &str = "# syntax=slipway:dev\n";

#[test]
fn deps_before_source() {
    let bad = "stages:\n  app:\n    from: node:20-alpine\n    workdir: /app\n    steps:\n      - copy: .\n      - run: npm ci\n        cache: /root/.npm\n    image: {user: node, cmd: [node, .]}\n";
    let good = "stages:\n  app:\n    from: node:20-alpine\n    workdir: /app\n    steps:\n      - copy: [package.json, package-lock.json]\n      - run: npm ci\n        cache: /root/.npm\n      - copy: .\n    image: {user: node, cmd: [node, .]}\n";
    case("deps-before-source", bad, good, &opts(None));
    // through a parent stage: the child installs after its parent copied everything
    let chain = "stages:\n  src:\n    from: python:3.12\n    steps:\n      - copy: .\n  deps:\n    from: src\n    steps:\n      - run: pip install -r requirements.txt\n        cache: /root/.cache/pip\n";
    assert!(!findings("deps-before-source", chain, &opts(None)).is_empty());
}

#[test]
fn install_without_cache() {
    let bad = "stages:\n  app:\n    from: python:3.12-slim\n    steps:\n      - copy: requirements.txt\n      - run: python -m venv /v && /v/bin/pip install -r requirements.txt\n";
    let good = "stages:\n  app:\n    from: python:3.12-slim\n    steps:\n      - copy: requirements.txt\n      - run: python -m venv /v && /v/bin/pip install -r requirements.txt\n        cache: /root/.cache/pip\n      - run: /v/bin/pip install --no-index --find-links /wheels app\n";
    case("install-without-cache", bad, good, &opts(None));
}

#[test]
fn root_final() {
    let bad = "stages:\n  build:\n    from: golang:1.22\n    steps:\n      - run: go build -o /app .\n        cache: /go/pkg/mod\n  app:\n    from: debian:bookworm-slim\n    steps:\n      - copy: /app\n        from: build\n    image: {entrypoint: [/app]}\n  scratchy:\n    from: scratch\n    image: {cmd: [/x], user: \"0:0\"}\n";
    let good = "stages:\n  build:\n    from: golang:1.22\n  app:\n    from: debian:bookworm-slim\n    steps:\n      - run: useradd --uid 10001 app\n    image: {entrypoint: [/app], user: app}\n  child:\n    from: app\n    image: {cmd: [--help]}\n  distroless:\n    from: gcr.io/distroless/static-debian12:nonroot\n    image: {cmd: [/x]}\n  reports:\n    from: scratch\n    steps:\n      - copy: /x\n        from: build\n";
    case("root-final", bad, good, &opts(None));
}

#[test]
fn unpinned_base() {
    let bad = "args: {BASE: alpine}\nstages:\n  a:\n    from: ${BASE}\n  b:\n    from: ghcr.io/org/tool:latest\n  app:\n    from: a\n    image: {user: \"1000\"}\n";
    let good = "stages:\n  a:\n    from: alpine:3.20\n  b:\n    from: ghcr.io/org/tool@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n  app:\n    from: a\n    image: {user: \"1000\"}\n";
    case("unpinned-base", bad, good, &opts(None));
}

/// `from: base` where `base` is a named context (bake's `contexts`,
/// `--build-context`): not an image to pin; the same name without the
/// context is.
#[test]
fn unpinned_base_skips_named_contexts() {
    let src = "stages:\n  app:\n    from: base\n    image: {user: \"1000\"}\n";
    assert!(!findings("unpinned-base", src, &opts(None)).is_empty());
    let named = EvalOptions {
        named_contexts: vec!["base".into()],
        ..Default::default()
    };
    assert_eq!(findings("unpinned-base", src, &named), "");
}

#[test]
fn toolchain_runtime() {
    let bad = "stages:\n  build:\n    from: golang:1.22-alpine\n    steps:\n      - run: go build -o /out/app .\n        cache: /go/pkg/mod\n  runtime:\n    from: build\n    image: {user: \"65532\", entrypoint: [/out/app]}\n";
    let good = "stages:\n  build:\n    from: golang:1.22-alpine\n    steps:\n      - run: go build -o /out/app .\n        cache: /go/pkg/mod\n  runtime:\n    from: gcr.io/distroless/static-debian12:nonroot\n    steps:\n      - copy: /out/app\n        from: build\n    image: {entrypoint: [/out/app]}\n";
    case("toolchain-runtime", bad, good, &opts(None));
}

#[test]
fn apt_hygiene() {
    let bad = "stages:\n  a:\n    from: debian:bookworm\n    steps:\n      - run: apt-get update && apt-get install -y curl\n      - run: apt-get update && apt-get install -y --no-install-recommends git\n    image: {user: \"1000\"}\n";
    let good = "stages:\n  a:\n    from: debian:bookworm\n    steps:\n      - run: >-\n          apt-get update\n          && apt-get install -y --no-install-recommends curl\n          && rm -rf /var/lib/apt/lists/*\n      - run: apt-get update && apt-get install -y --no-install-recommends git\n        cache:\n          - {target: /var/cache/apt, sharing: locked}\n          - {target: /var/lib/apt, sharing: locked}\n    image: {user: \"1000\"}\n";
    case("apt-hygiene", bad, good, &opts(None));
}

#[test]
fn secret_in_arg() {
    let bad = "args:\n  NPM_TOKEN: \"\"\nstages:\n  a:\n    from: node:20\n    args: {DB_PASSWORD: x}\n    env:\n      API_KEY: abc\n    steps:\n      - run: ./deploy\n        env: {GITHUB_TOKEN: t}\n    image: {user: node}\n";
    let good = "args:\n  NPM_REGISTRY: https://registry.npmjs.org\nstages:\n  a:\n    from: node:20\n    env:\n      SSH_PUBLIC_KEY: ssh-ed25519 AAAA\n    steps:\n      - run: ./deploy\n        secret: {id: github_token, env: GITHUB_TOKEN}\n    image: {user: node}\n";
    case("secret-in-arg", bad, good, &opts(None));
}

#[test]
fn context_not_ignored() {
    let spec = "stages:\n  app:\n    from: node:20\n    workdir: /app\n    steps:\n      - copy: [package.json, package-lock.json]\n      - run: npm ci\n        cache: /root/.npm\n      - copy: .\n    image: {user: node, cmd: [node, .]}\n";
    let ctx = |excludes: &[&str], entries: Option<&[&str]>| {
        opts(Some(ContextInfo {
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
            spec_path: Some("slipway.yaml".into()),
            entries: entries.map(|e| e.iter().map(|s| s.to_string()).collect()),
        }))
    };
    // The CLI knows the context's entries.
    let bad = ctx(&["*.log"], Some(&[".git", "node_modules"]));
    let found = findings("context-not-ignored", spec, &bad);
    insta::assert_snapshot!("context-not-ignored", found);
    let good = ctx(
        &["slipway.yaml", ".git", "**/node_modules"],
        Some(&[".git", "node_modules"]),
    );
    assert_eq!(findings("context-not-ignored", spec, &good), "");
    // The frontend does not: node_modules is guessed from `npm ci`, .git is not guessed.
    let frontend = findings("context-not-ignored", spec, &ctx(&["slipway.yaml"], None));
    assert!(
        frontend.contains("`node_modules`") && !frontend.contains(".git"),
        "{frontend}"
    );
    // Unknown context: the rule does not run.
    assert_eq!(findings("context-not-ignored", spec, &opts(None)), "");
    let off = format!("lint: {{disable: [context-not-ignored]}}\n{spec}");
    assert_eq!(findings("context-not-ignored", &off, &bad), "");
}

#[test]
fn maybe_typo() {
    let bad = "stages:\n  builder:\n    from: alpine:3.20\n  app:\n    from: alpine:3.20\n    steps:\n      - copy: /x\n        from: buidler\n    image: {user: \"1\"}\n";
    let good = "stages:\n  builder:\n    from: alpine:3.20\n  app:\n    from: alpine:3.20\n    steps:\n      - copy: /x\n        from: builder\n    image: {user: \"1\"}\n";
    case("maybe-typo", bad, good, &opts(None));
}

#[test]
fn missing_syntax() {
    let body = "version: 1\nstages:\n  a:\n    from: alpine:3.20\n    image: {user: \"1\"}\n";
    case(
        "missing-syntax",
        body,
        &format!("{HEAD}{body}"),
        &opts(None),
    );
    // Other directives may come first, as BuildKit reads them; a plain comment ends them.
    let after_escape = format!("# escape=`\n{HEAD}{body}");
    assert_eq!(findings("missing-syntax", &after_escape, &opts(None)), "");
    let after_comment = format!("# my app\n{HEAD}{body}");
    assert!(findings("missing-syntax", &after_comment, &opts(None)).contains(":1:1"));
}

#[test]
fn unknown_rule_id_is_an_error() {
    let src = "lint:\n  disable: [unpined-base]\nstages: {a: {from: alpine:3.20}}\n";
    let d = load("slipway.yaml", src, &opts(None)).unwrap_err();
    insta::assert_snapshot!("unknown-rule", d.render());
    let src = "lint: {disabled: x}\nstages: {a: {from: alpine:3.20}}\n";
    assert!(load("slipway.yaml", src, &opts(None))
        .unwrap_err()
        .render()
        .contains("unknown key `disabled` in `lint`"));
}

#[test]
fn every_rule_is_documented() {
    let doc = include_str!("../../../docs/lint.md");
    for r in lint::RULES {
        assert!(
            doc.contains(&format!("## `{}`", r.id)),
            "docs/lint.md lacks `{}`",
            r.id
        );
    }
}

/// Every example is clean, or says why it disables a rule: a `# lint:` comment
/// right above its `lint:` key. Context facts are read as `slipway check` does.
#[test]
fn examples_are_clean_or_say_why() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut specs = vec![];
    for e in std::fs::read_dir(&root).unwrap() {
        let dir = e.unwrap().path();
        if dir.join("slipway.yaml").is_file() {
            specs.push(dir.join("slipway.yaml"));
        }
    }
    for e in std::fs::read_dir(root.join("base-images")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            specs.push(p);
        }
    }
    specs.sort();
    assert!(specs.len() >= 15, "{specs:?}");
    let mut bad = vec![];
    for spec in &specs {
        let dir = spec.parent().unwrap();
        let src = std::fs::read_to_string(spec).unwrap();
        let ignore = std::fs::read_to_string(dir.join(".dockerignore")).unwrap_or_default();
        let excludes = ignore
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        let entries = [".git", "node_modules", "target"]
            .iter()
            .filter(|e| dir.join(e).exists())
            .map(|e| e.to_string())
            .collect();
        let o = opts(Some(ContextInfo {
            excludes,
            spec_path: Some(spec.file_name().unwrap().to_string_lossy().into_owned()),
            entries: Some(entries),
        }));
        let l = load("slipway.yaml", &src, &o)
            .unwrap_or_else(|d| panic!("{}: {}", spec.display(), d.render()));
        for w in l
            .warnings
            .iter()
            .chain(lint::missing_syntax(&l.plan).iter())
        {
            bad.push(format!(
                "{}: {}",
                spec.display(),
                w.render("slipway.yaml", &src)
            ));
        }
        if let Some(i) = src.lines().position(|x| x.starts_with("lint:")) {
            let above = src.lines().nth(i.wrapping_sub(1)).unwrap_or("");
            if !above.starts_with('#') || !src.contains("# lint: ") {
                bad.push(format!(
                    "{}: `lint:` without a `# lint: <reason>` comment above it",
                    spec.display()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
