//! Rules on steps: `deps-before-source`, `install-without-cache`, `apt-hygiene`.

use super::chain::fold;
use super::commands::{installs, is_manifest, simple_commands, Install, Manager};
use super::warning;
use crate::diag::{Diagnostic, Span};
use crate::plan::{Plan, Run, StepKind};

/// Sources that copy the whole build context.
pub fn is_whole_context(src: &str) -> bool {
    matches!(src, "." | "./" | "/" | "*" | "./*" | "")
}

/// Where a stage's chain stands: nothing copied yet, manifests copied or
/// dependencies installed (from then on the order is right), or the whole
/// source copied first.
#[derive(Clone, Copy)]
enum Order {
    Clean,
    Settled,
    SourceFirst(Span),
}

pub fn check(plan: &Plan, parent: &[Option<usize>], out: &mut Vec<Diagnostic>) {
    fold(parent, Order::Clean, |i, mut order| {
        for step in &plan.stages[i].steps {
            match &step.kind {
                StepKind::Copy(c) if c.from.is_none() => {
                    if c.sources.iter().any(|s| is_manifest(&s.value)) {
                        if let Order::Clean = order {
                            order = Order::Settled;
                        }
                    } else if matches!(order, Order::Clean)
                        && c.sources.iter().any(|s| is_whole_context(&s.value))
                    {
                        order = Order::SourceFirst(step.verb_span);
                    }
                }
                StepKind::Run(r) => {
                    let found = installs(&r.command);
                    let deps = found
                        .iter()
                        .find(|x| x.manager != Manager::Apt && !x.offline());
                    if let (Some(x), Order::SourceFirst(copy)) = (deps, order) {
                        out.push(deps_after_source(x, step.verb_span, copy));
                        order = Order::Settled;
                    }
                    if deps.is_some() && matches!(order, Order::Clean) {
                        order = Order::Settled;
                    }
                    if let Some(d) = without_cache(r, &found, step.verb_span) {
                        out.push(d);
                    }
                    if let Some(d) = apt_hygiene(r, &found, step.verb_span) {
                        out.push(d);
                    }
                }
                _ => {}
            }
        }
        order
    });
}

fn deps_after_source(x: &Install, at: Span, copy: Span) -> Diagnostic {
    let m = x.manager.manifests();
    warning(
        "deps-before-source",
        at,
        format!(
            "`{}` installs dependencies after the whole source was copied (line {}): any source change reinstalls them all",
            x.short(),
            copy.start.line
        ),
    )
    .with_label("installs after `copy: .`")
    .with_help(format!(
        "copy the dependency manifests first ({m}), install, then copy the rest of the source"
    ))
}

fn without_cache(r: &Run, found: &[Install], at: Span) -> Option<Diagnostic> {
    if !r.cache.is_empty() {
        return None;
    }
    let x = found
        .iter()
        .find(|x| x.manager != Manager::Apt && !x.offline())?;
    let dir = match x.manager {
        Manager::Go => "[/go/pkg/mod, /root/.cache/go-build]".to_string(),
        Manager::Cargo => "[/usr/local/cargo/registry, <workdir>/target]".to_string(),
        m => m.cache_dir().to_string(),
    };
    Some(
        warning(
            "install-without-cache",
            at,
            format!(
                "`{}` downloads packages with no cache mount: every rebuild of this step downloads them all again",
                x.short()
            ),
        )
        .with_label("no `cache:` on this step")
        .with_help(format!(
            "add `cache: {dir}` to this step (a cache mount survives rebuilds and stays out of the image)"
        )),
    )
}

fn apt_hygiene(r: &Run, found: &[Install], at: Span) -> Option<Diagnostic> {
    let apt = found.iter().find(|x| x.manager == Manager::Apt)?;
    let recommends = apt.has("--no-install-recommends")
        || apt
            .words
            .iter()
            .any(|w| w.contains("Install-Recommends=false") || w.contains("Install-Recommends=0"));
    let cached_lists = r.cache.iter().any(|c| c.target.starts_with("/var/lib/apt"));
    let cleaned = cached_lists
        || simple_commands(&r.command).iter().any(|w| {
            w.first().is_some_and(|p| p == "rm")
                && w.iter().any(|a| a.contains("/var/lib/apt/lists"))
        });
    let mut missing = vec![];
    if !recommends {
        missing.push("`--no-install-recommends`");
    }
    if !cleaned {
        missing.push("`rm -rf /var/lib/apt/lists/*`");
    }
    if missing.is_empty() {
        return None;
    }
    Some(
        warning(
            "apt-hygiene",
            at,
            format!("`apt-get install` without {}: the layer carries packages or package lists nobody uses", missing.join(" and ")),
        )
        .with_label("apt install here")
        .with_help(
            "write `apt-get update && apt-get install -y --no-install-recommends PKG… && rm -rf /var/lib/apt/lists/*` in one step (or put /var/lib/apt and /var/cache/apt in `cache:` mounts with `sharing: locked`)",
        ),
    )
}
