//! The base images a target needs, as the frontend asks BuildKit for them:
//! deduplicated, each with its reference as written (the key the compiler
//! looks configs up by) and as Docker reads it (`alpine:3.20` →
//! `docker.io/library/alpine:3.20`: BuildKit's resolver needs the full form,
//! Docker 20.10 fails on the short one). And, when BuildKit cannot resolve
//! one, the error at the YAML line that named it.

use std::collections::{BTreeMap, BTreeSet};

use slipway_spec::{did_you_mean, Base, Diagnostic, Diagnostics, From, Plan, Span, StepKind};

use crate::{diagnostics, targets, CompileOptions, NamedContext, Platform};

/// An image whose config the frontend should resolve before compiling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageRequest {
    /// The reference exactly as written in the plan (the key for
    /// [`CompileOptions::images`]), or the image a named context maps it to.
    pub reference: String,
    /// The same reference normalized as Docker reads it (`docker.io/library/…:latest`).
    pub normalized: String,
    pub platform: Platform,
}

/// Where the selected target uses an image: a stage's `from:` or a step's
/// copy/bind/cache source.
struct Use<'p> {
    /// The reference as written in the plan (before named-context mapping).
    written: &'p str,
    span: Span,
    /// `base image` or `copy source` …, for messages.
    role: &'static str,
    platform: Option<&'p Platform>,
}

/// Every image use of the target's stages, in file order.
fn uses<'p>(plan: &'p Plan, opts: &CompileOptions) -> Result<Vec<Use<'p>>, Diagnostics> {
    let roots = targets::resolve_target(plan, opts.target.as_deref())
        .map_err(|d| diagnostics(plan, vec![d]))?;
    let idx = targets::index(plan);
    let mut out = Vec::new();
    for &i in &targets::closure(plan, &idx, &roots) {
        let stage = &plan.stages[i];
        let platform = stage.platform.as_ref().map(|p| &p.value);
        if let Base::Image(r) = &stage.from.value {
            out.push(Use {
                written: r,
                span: stage.from.span,
                role: "base image",
                platform,
            });
        }
        for step in &stage.steps {
            let mut other = |f: Option<&'p From>, span: Span, role: &'static str| {
                if let Some(From::Other(x)) = f {
                    if x != "context" || opts.named_contexts.contains_key(x) {
                        out.push(Use {
                            written: x,
                            span,
                            role,
                            platform: None,
                        });
                    }
                }
            };
            match &step.kind {
                StepKind::Copy(c) => {
                    if let Some(f) = &c.from {
                        other(Some(&f.value), f.span, "copy source")
                    }
                }
                StepKind::Run(r) => {
                    r.binds
                        .iter()
                        .for_each(|b| other(b.from.as_ref(), step.verb_span, "bind mount source"));
                    r.cache
                        .iter()
                        .for_each(|c| other(c.from.as_ref(), step.verb_span, "cache mount source"));
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The reference BuildKit is asked for: what a named context maps it to, or
/// itself; None for `scratch` and named contexts that are not images.
fn effective<'a>(opts: &'a CompileOptions, written: &'a str) -> Option<&'a str> {
    let r = match opts.named_contexts.get(written) {
        Some(NamedContext::Image(r)) => r.as_str(),
        Some(_) => return None,
        None => written,
    };
    (r != "scratch").then_some(r)
}

/// The base images (stage `from:` images and images used as copy/bind/cache
/// sources) that the selected target needs, deduplicated and sorted, so that
/// the frontend can resolve their configs concurrently before [`crate::compile`].
/// A reference Docker could not read is an error at its first use.
pub fn images_to_resolve(
    plan: &Plan,
    opts: &CompileOptions,
    target_platform: &Platform,
) -> Result<Vec<ImageRequest>, Diagnostics> {
    let mut out = BTreeSet::new();
    let mut errors = Vec::new();
    let mut bad = BTreeSet::new();
    for u in uses(plan, opts)? {
        let Some(reference) = effective(opts, u.written) else {
            continue;
        };
        match slipway_llb::normalize_image_ref(reference) {
            Ok(normalized) => {
                out.insert(ImageRequest {
                    reference: reference.to_string(),
                    normalized,
                    platform: u.platform.unwrap_or(target_platform).clone(),
                });
            }
            Err(e) if bad.insert(reference.to_string()) => errors.push(
                Diagnostic::error(
                    "bad-image-ref",
                    u.span,
                    format!(
                        "`{reference}` ({}) is not a valid image reference: {}",
                        u.role, e.reason
                    ),
                )
                .with_help(
                    "use a reference like `alpine:3.20`, `ghcr.io/org/app:1.0` or `name@sha256:…`",
                ),
            ),
            Err(_) => {}
        }
    }
    if !errors.is_empty() {
        return Err(diagnostics(plan, errors));
    }
    Ok(out.into_iter().collect())
}

/// BuildKit could not resolve `reference` (as in [`ImageRequest::reference`]):
/// an error at the first line of the target that uses it, with the registry's
/// words, and the stage it was probably meant to be when one is close.
pub fn unresolvable_image(
    plan: &Plan,
    opts: &CompileOptions,
    request: &ImageRequest,
    registry_error: &str,
) -> Diagnostics {
    let used = uses(plan, opts).unwrap_or_default();
    let first = used
        .iter()
        .find(|u| effective(opts, u.written) == Some(request.reference.as_str()));
    let (span, role, written) = match first {
        Some(u) => (u.span, u.role, u.written),
        None => (Span::default(), "image", request.reference.as_str()),
    };
    let mut d = Diagnostic::error(
        "unresolvable-image",
        span,
        if registry_error.contains(&request.normalized) {
            format!(
                "cannot resolve {role} `{written}` for {}: {registry_error}",
                request.platform
            )
        } else {
            format!(
                "cannot resolve {role} `{written}` ({} for {}): {registry_error}",
                request.normalized, request.platform
            )
        },
    )
    .with_label("cannot resolve");
    let stage = did_you_mean(written, plan.stages.iter().map(|s| s.name.value.as_str()));
    d = match stage {
        Some(s) => d.with_help(format!(
            "`{written}` is not a stage of this file, so it was read as an image; did you mean the stage `{s}`?"
        )),
        None => d.with_help(
            "check the name and tag, that the registry is reachable from the BuildKit daemon, and that you are logged in if it is private",
        ),
    };
    diagnostics(plan, vec![d])
}

/// The env each resolved base image brings (`Config.Env`), by reference as
/// written in `from:` — also under the names of named contexts that map to an
/// image — for evaluating the spec again ([`slipway_spec::BaseEnv::Known`]).
/// A config without env, or one that does not parse, is left out (it gets
/// Docker's default env; the compiler reports a config that does not parse).
pub fn base_env(opts: &CompileOptions) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    for (reference, img) in &opts.images {
        let Ok(parsed) = crate::imageconfig::Image::parse(&img.config) else {
            continue;
        };
        let Some(env) = parsed.config.env else {
            continue;
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect();
        for (name, ctx) in &opts.named_contexts {
            if matches!(ctx, NamedContext::Image(r) if r == reference) {
                out.insert(name.clone(), env.clone());
            }
        }
        out.insert(reference.clone(), env);
    }
    for (name, ctx) in &opts.named_contexts {
        let config = match ctx {
            NamedContext::OciLayout(o) => &o.config,
            NamedContext::Input(i) if !i.config.is_empty() => &i.config,
            _ => continue,
        };
        {
            if let Some(env) = crate::imageconfig::Image::parse(config)
                .ok()
                .and_then(|p| p.config.env)
            {
                let env = env
                    .iter()
                    .map(|e| match e.split_once('=') {
                        Some((k, v)) => (k.to_string(), v.to_string()),
                        None => (e.clone(), String::new()),
                    })
                    .collect();
                out.insert(name.clone(), env);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(src: &str) -> Plan {
        slipway_spec::load("slipway.yaml", src, &Default::default())
            .unwrap()
            .plan
    }

    #[test]
    fn references_are_asked_for_as_docker_reads_them() {
        let p = plan(
            "stages:\n  a: {from: alpine}\n  b: {from: 'alpine:3.20'}\n  c: {from: library/alpine}\n  \
             d: {from: docker.io/library/alpine}\n  e: {from: 'localhost:5000/x'}\n  \
             f: {from: 'alpine:3.20@sha256:0123456789012345678901234567890123456789012345678901234567890123'}\n  \
             all:\n    from: scratch\n    steps:\n      - {copy: /x, from: a}\n      - {copy: /x, from: b}\n      \
             - {copy: /x, from: c}\n      - {copy: /x, from: d}\n      - {copy: /x, from: e}\n      - {copy: /x, from: f}\n",
        );
        let opts = CompileOptions {
            target: Some("all".into()),
            ..Default::default()
        };
        let got: Vec<(String, String)> = images_to_resolve(&p, &opts, &Platform::default())
            .unwrap()
            .into_iter()
            .map(|r| (r.reference, r.normalized))
            .collect();
        let want = [
            ("alpine", "docker.io/library/alpine:latest"),
            ("alpine:3.20", "docker.io/library/alpine:3.20"),
            (
                "alpine:3.20@sha256:0123456789012345678901234567890123456789012345678901234567890123",
                "docker.io/library/alpine:3.20@sha256:0123456789012345678901234567890123456789012345678901234567890123",
            ),
            ("docker.io/library/alpine", "docker.io/library/alpine:latest"),
            ("library/alpine", "docker.io/library/alpine:latest"),
            ("localhost:5000/x", "localhost:5000/x:latest"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_unresolvable_from_is_located_with_the_registry_words() {
        let src = "stages:\n  build:\n    from: golang:1.22\n  app:\n    from: buld\n";
        let p = plan(src);
        let opts = CompileOptions {
            target: Some("app".into()),
            ..Default::default()
        };
        let req = &images_to_resolve(&p, &opts, &Platform::default()).unwrap()[0];
        let d = unresolvable_image(
            &p,
            &opts,
            req,
            "pull access denied, repository does not exist",
        );
        let text = d.render();
        assert!(text.contains("cannot resolve base image `buld` (docker.io/library/buld:latest for linux/amd64): pull access denied"), "{text}");
        assert!(text.contains("slipway.yaml:5:11"), "{text}");
        assert!(text.contains("did you mean the stage `build`?"), "{text}");
    }
}
