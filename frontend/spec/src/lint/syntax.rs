//! `missing-syntax`: `docker build` needs `# syntax=<frontend image>` on the
//! first line to run Slipway; without it the file is read as a Dockerfile
//! and fails with `unknown instruction`. Only `slipway check` runs this rule
//! (a build that reached Slipway already found the frontend).

use super::warning;
use crate::diag::{Diagnostic, Pos, Span};
use crate::plan::Plan;

pub fn missing_syntax(plan: &Plan) -> Option<Diagnostic> {
    if plan
        .lint
        .disable
        .iter()
        .any(|d| d.value == "missing-syntax")
    {
        return None;
    }
    let src = plan.source.strip_prefix('\u{feff}').unwrap_or(&plan.source);
    let first = src.lines().next().unwrap_or("");
    // Like BuildKit's directive parser: `# key=value` lines at the top of the
    // file (`# escape=`, `# check=` may come first); the first other line ends them.
    let directive = |line: &str| {
        line.strip_prefix('#')
            .and_then(|r| r.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .filter(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
    };
    let directive = src
        .lines()
        .map_while(directive)
        .find(|(k, v)| k == "syntax" && !v.is_empty());
    if directive.is_some() {
        return None;
    }
    let width = first.chars().count().max(1) as u32;
    let at = Span::new(
        Pos {
            line: 1,
            col: 1,
            offset: 0,
        },
        Pos {
            line: 1,
            col: 1 + width,
            offset: first.len() as u32,
        },
    );
    let mut d = warning(
        "missing-syntax",
        at,
        "the first line is not a `# syntax=` directive: `docker build` will read this file as a Dockerfile".into(),
    )
    .with_label("expected `# syntax=IMAGE` here")
    .with_help("make the first line `# syntax=slipway:dev` (the Slipway frontend image BuildKit should run); with buildctl, `--frontend gateway.v0 --opt source=IMAGE` does the same");
    if first.trim().is_empty() && src.is_empty() {
        d.span = Span::default();
    }
    Some(d)
}
