//! Rules on stages: `unpinned-base`, `root-final`, `toolchain-runtime`.

use super::chain::Chains;
use super::warning;
use crate::diag::Diagnostic;
use crate::plan::{Base, Plan};

pub fn check(plan: &Plan, chains: &Chains, named_contexts: &[String], out: &mut Vec<Diagnostic>) {
    for (i, stage) in plan.stages.iter().enumerate() {
        let name = &stage.name.value;
        if let Base::Image(r) = &stage.from.value {
            if let Some(why) = unpinned(r).filter(|_| !named_contexts.contains(r)) {
                out.push(
                    warning("unpinned-base", stage.from.span, format!("stage `{name}` builds on `{r}`, {why}"))
                        .with_label("not pinned")
                        .with_help("pin a version tag (e.g. `python:3.12-slim`) or a digest (`…@sha256:…`): an unpinned base changes under you, and with it every layer above"),
                );
            }
        }
        if !chains.is_final[i] {
            continue;
        }
        let root = chains.root[i].map(|(b, _)| b);
        let via = match &stage.from.value {
            Base::Stage(p) => format!(" (through stage `{p}`)"),
            _ => String::new(),
        };
        let root_user = match (chains.user[i], root) {
            (Some(u), _) if is_root(u) => Some(format!("sets `user: {u}`")),
            (Some(_), _) => None,
            // A scratch stage without a program is files to export, not something that runs.
            (None, Some(Base::Scratch))
                if stage.image.entrypoint.is_some() || stage.image.cmd.is_some() =>
            {
                Some("has no `image.user` and builds on scratch".into())
            }
            (None, Some(Base::Image(r))) if !r.contains("nonroot") => {
                Some(format!("has no `image.user`, so it runs as the user of `{r}`{via}, root unless that image says otherwise"))
            }
            _ => None,
        };
        if let Some(why) = root_user {
            out.push(
                warning("root-final", stage.name.span, format!("final stage `{name}` runs as root: it {why}"))
                    .with_label("runs as root")
                    .with_help("create a user in a step (e.g. `useradd --uid 10001 app`) and set `image: {user: app}`, or use a base with a non-root user (`…:nonroot`)"),
            );
        }
        if let Some(Base::Image(r)) = root {
            if is_toolchain(r) {
                out.push(
                    warning("toolchain-runtime", stage.from.span, format!("final stage `{name}` is built on the toolchain image `{r}`{via}: the image ships the compiler, headers and build caches"))
                        .with_label("toolchain base")
                        .with_help("build in a builder stage and `copy` only the result (`from: builder`) into a runtime base such as `gcr.io/distroless/static-debian12`, `debian:bookworm-slim` or a `-jre` image"),
                );
            }
        }
    }
}

/// `(name, tag)` of an image reference (the tag is None when absent); None
/// when the reference is pinned by digest.
fn name_tag(r: &str) -> Option<(&str, Option<&str>)> {
    if r.contains('@') {
        return None;
    }
    let slash = r.rfind('/').map_or(0, |i| i + 1);
    Some(match r[slash..].rfind(':') {
        Some(c) => (&r[..slash + c], Some(&r[slash + c + 1..])),
        None => (r, None),
    })
}

fn unpinned(r: &str) -> Option<&'static str> {
    match name_tag(r)? {
        (_, None) => Some("which has no tag (that means `latest`)"),
        (_, Some("latest")) => Some("the `latest` tag"),
        _ => None,
    }
}

fn is_root(user: &str) -> bool {
    let u = user.split(':').next().unwrap_or("");
    u == "root" || u == "0"
}

/// Compilers and SDKs, not runtimes.
const TOOLCHAINS: &[&str] = &[
    "golang",
    "rust",
    "gcc",
    "clang",
    "maven",
    "gradle",
    "buildpack-deps",
    "openjdk",
    "sdk",
];

fn is_toolchain(r: &str) -> bool {
    let Some((name, tag)) = name_tag(r) else {
        return false;
    };
    let repo = name.rsplit('/').next().unwrap_or(name);
    let tag = tag.unwrap_or("");
    (TOOLCHAINS.contains(&repo) && !tag.contains("jre")) || tag.contains("jdk")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert_eq!(
            unpinned("alpine"),
            Some("which has no tag (that means `latest`)")
        );
        assert!(unpinned("localhost:5000/app").is_some());
        assert!(unpinned("ghcr.io/a/b:latest").is_some());
        assert!(unpinned("localhost:5000/app:1.2").is_none());
        assert!(unpinned("alpine@sha256:abc").is_none());
        assert!(is_toolchain("golang:1.22-alpine"));
        assert!(is_toolchain("eclipse-temurin:17-jdk"));
        assert!(is_toolchain("mcr.microsoft.com/dotnet/sdk:8.0"));
        assert!(!is_toolchain("eclipse-temurin:17-jre"));
        assert!(!is_toolchain("python:3.12-slim"));
        assert!(is_root("0:0") && is_root("root") && !is_root("10001"));
    }
}
