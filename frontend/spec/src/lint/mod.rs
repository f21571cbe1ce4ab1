//! Lint rules: advice from the guides' checklist, found on the evaluated
//! [`Plan`]. Pure and linear: every rule walks the stages and steps once
//! (stage chains are resolved once, memoized, in [`chain`]). Findings are
//! warnings with a stable rule id as their code; `lint: {disable: [id, …]}`
//! turns rules off for one spec.
//!
//! `maybe-typo` is found by the evaluator itself (it knows which names are
//! stages while classifying `from`); it is listed here so that it can be
//! documented and disabled like the others.

mod chain;
mod commands;
mod config;
mod context;
mod secrets;
mod stages;
mod steps;
mod syntax;

pub use config::{config, LINT_KEYS};
pub use context::excluded;
pub use syntax::missing_syntax;

use crate::diag::{Diagnostic, Severity};
use crate::plan::{LintConfig, Plan};
use crate::EvalOptions;

/// One lint rule: its stable id, its severity and what it checks.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn rule(id: &'static str, summary: &'static str) -> Rule {
    Rule {
        id,
        severity: Severity::Warning,
        summary,
    }
}

/// Every rule, in the order of `docs/lint.md`.
pub const RULES: &[Rule] = &[
    rule(
        "deps-before-source",
        "dependencies are installed after the whole source was copied",
    ),
    rule(
        "install-without-cache",
        "a package-manager install without a cache mount",
    ),
    rule("root-final", "a final stage runs as root"),
    rule(
        "unpinned-base",
        "a base image without a tag, or with `latest`",
    ),
    rule(
        "toolchain-runtime",
        "a final stage is built on a toolchain (SDK) image",
    ),
    rule(
        "apt-hygiene",
        "`apt-get install` without `--no-install-recommends` or list cleanup",
    ),
    rule("secret-in-arg", "a secret passed as an arg or env value"),
    rule(
        "context-not-ignored",
        "`copy: .` sends the spec file, `.git`, `node_modules` or `target` into the image",
    ),
    rule(
        "maybe-typo",
        "a `from` that looks like a misspelt stage name",
    ),
    rule(
        "missing-syntax",
        "the first line is not a `# syntax=` directive (`slipway check` only)",
    ),
];

/// Every lint finding on a plan (not filtered by `lint.disable`: see [`retain_enabled`]).
pub fn run(plan: &Plan, opts: &EvalOptions) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let chains = chain::resolve(plan);
    stages::check(plan, &chains, &opts.named_contexts, &mut out);
    steps::check(plan, &chains.parent, &mut out);
    secrets::check(plan, &mut out);
    if let Some(ctx) = &opts.context {
        context::check(plan, ctx, &mut out);
    }
    out
}

/// Drops the findings of rules the spec disables.
pub fn retain_enabled(cfg: &LintConfig, findings: &mut Vec<Diagnostic>) {
    if cfg.disable.is_empty() {
        return;
    }
    findings.retain(|d| !cfg.disable.iter().any(|id| id.value == d.code));
}

/// A warning of `rule` (its id is the diagnostic's code).
fn warning(rule: &'static str, span: crate::Span, message: String) -> Diagnostic {
    debug_assert!(RULES.iter().any(|r| r.id == rule), "{rule}");
    Diagnostic {
        severity: Severity::Warning,
        code: rule,
        message,
        span,
        label: None,
        help: None,
    }
}
