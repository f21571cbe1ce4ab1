//! Slipway spec v1: the YAML build language.
//!
//! Two stages, as in rattler-build: the file as written (a YAML tree whose every
//! node carries its span) and the evaluated [`plan::Plan`] (validated, every
//! `${NAME}` interpolated, types checked). This crate does no I/O: text in,
//! plan or [`diag::Diagnostics`] out.

pub mod diag;
mod eval;
pub mod interp;
pub mod limits;
pub mod lint;
pub mod plan;
mod platform;
pub mod schema;
pub mod yaml;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity, Span};
pub use plan::*;

use std::collections::BTreeMap;

pub use eval::{
    did_you_mean, is_valid_image_ref, parse_duration, parse_mode, parse_port, parse_size,
    PREDEFINED,
};
pub use platform::parse_platform;

/// A successfully evaluated spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub plan: Plan,
    /// Non-fatal findings (e.g. a `from:` that looks like a misspelt stage).
    pub warnings: Vec<Diagnostic>,
}

/// Parse, validate and evaluate a spec. Pure: no I/O.
///
/// On failure every diagnostic found is returned (errors first, in source
/// order, then warnings).
pub fn load(filename: &str, source: &str, opts: &EvalOptions) -> Result<Loaded, Diagnostics> {
    let fail = |mut items: Vec<Diagnostic>| {
        items.sort_by_key(|a| (a.severity, a.span.start));
        Diagnostics {
            filename: filename.to_string(),
            source: source.to_string(),
            items,
        }
    };
    let parsed = yaml::parse(source);
    let Some(root) = parsed.root else {
        let mut errs = parsed.errors;
        if errs.is_empty() {
            let start = Pos {
                line: 1,
                col: 1,
                offset: 0,
            };
            errs.push(
                Diagnostic::error("empty-file", Span::new(start, start), "the spec is empty")
                    .with_label("nothing but comments and blank lines")
                    .with_help(
                        "a spec needs at least `stages:`, e.g. `stages: {app: {from: alpine}}`",
                    ),
            );
        }
        return Err(fail(errs));
    };
    let mut ev = eval::Ev::new(source, opts);
    let plan = ev.eval(filename, root);
    let mut errors = parsed.errors;
    errors.extend(ev.errors);
    if let Some((n, span)) = ev.dropped {
        errors.push(
            Diagnostic::error(
                "too-many-errors",
                span,
                format!("{n} more errors from here on are not shown"),
            )
            .with_label("the first error not shown")
            .with_help(format!(
                "at most {} errors are reported; fix these and check again",
                limits::MAX_ERRORS
            )),
        );
    }
    match plan {
        Some(plan) if errors.is_empty() => {
            let mut warnings = ev.warnings;
            warnings.extend(lint::run(&plan, opts));
            lint::retain_enabled(&plan.lint, &mut warnings);
            warnings.sort_by_key(|d| d.span.start);
            Ok(Loaded { plan, warnings })
        }
        _ => {
            errors.extend(ev.warnings);
            Err(fail(errors))
        }
    }
}

/// What evaluation needs from outside the file.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `--build-arg NAME=VALUE`, overriding `args:` defaults.
    pub build_args: BTreeMap<String, String>,
    /// Platform of the machine doing the build (BUILDPLATFORM…).
    pub build_platform: Platform,
    /// Platform of the result (TARGETPLATFORM…).
    pub target_platform: Platform,
    /// The environment base images bring, which `${NAME}` in a stage's `env:`
    /// values and steps sees (as Docker's `ENV PATH=/x:$PATH` does).
    pub base_env: BaseEnv,
    /// What is known about the build context (for the `context-not-ignored`
    /// lint rule); None: nothing, the rule is skipped.
    pub context: Option<ContextInfo>,
    /// Names given as named contexts (`--build-context NAME=…`, bake's
    /// `contexts`): a `from:` naming one is not an image reference the
    /// `unpinned-base` rule could ask to pin.
    pub named_contexts: Vec<String>,
}

/// Docker's default `PATH`: the env of `scratch`, and of an image whose
/// config is unknown (offline `compile`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the base images' configs say about their environment.
#[derive(Debug, Clone, PartialEq)]
pub enum BaseEnv {
    /// Env entries (`Config.Env`, in order) per image reference as written in
    /// `from:` after interpolation. An image missing here, and `scratch`,
    /// have Docker's default env (`PATH=` [`DEFAULT_PATH`]): what offline
    /// compilation assumes.
    Known(BTreeMap<String, Vec<(String, String)>>),
    /// The configs are not resolved yet: a name that no arg, env entry or
    /// default env defines reads as empty inside stages instead of being an
    /// error. Only for the frontend's first pass, which finds the images to
    /// resolve; the build evaluates again with `Known`.
    Discover,
}

impl Default for BaseEnv {
    fn default() -> Self {
        BaseEnv::Known(BTreeMap::new())
    }
}

impl BaseEnv {
    /// The env a stage `from:` this image starts with.
    pub fn of(&self, base: &Base) -> Vec<(String, String)> {
        let default = || vec![("PATH".to_string(), DEFAULT_PATH.to_string())];
        match (self, base) {
            (BaseEnv::Known(m), Base::Image(r)) => m.get(r).cloned().unwrap_or_else(default),
            _ => default(),
        }
    }
}

/// The build context as far as lint rules need it.
#[derive(Debug, Clone, Default)]
pub struct ContextInfo {
    /// `.dockerignore` patterns (parsed: cleaned, `!` exceptions kept).
    pub excludes: Vec<String>,
    /// The spec file's path inside the context; None: not in the context (or unknown).
    pub spec_path: Option<String>,
    /// Which of `.git`, `node_modules`, `target` exist at the context's root;
    /// None: unknown (the rule then guesses from the stage's commands).
    pub entries: Option<Vec<String>>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}
