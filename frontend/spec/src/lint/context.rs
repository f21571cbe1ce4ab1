//! `context-not-ignored`: `copy: .` while the spec file, `.git`,
//! `node_modules` or `target` are not in `.dockerignore`. Each of them
//! changes without the app changing (or is large), and every change re-runs
//! the copy and every step after it.
//!
//! Patterns are matched as moby's patternmatcher does: `*`, `?`, `[…]` within
//! a path segment, `**` for any number of segments, `!` exceptions (the last
//! matching pattern wins), and a pattern that matches a parent directory
//! excludes what is inside it.

use super::commands::{installs, Manager};
use super::steps::is_whole_context;
use super::warning;
use crate::diag::Diagnostic;
use crate::plan::{Plan, StepKind};
use crate::ContextInfo;

pub fn check(plan: &Plan, ctx: &ContextInfo, out: &mut Vec<Diagnostic>) {
    for stage in &plan.stages {
        // What this stage's commands say about the project (used when the
        // context's files are not known, as in the frontend).
        let uses = |m: &[Manager]| {
            stage.steps.iter().any(|s| match &s.kind {
                StepKind::Run(r) => installs(&r.command).iter().any(|x| m.contains(&x.manager)),
                _ => false,
            })
        };
        let node = uses(&[Manager::Npm, Manager::Yarn, Manager::Pnpm]);
        let cargo = uses(&[Manager::Cargo]);
        for step in &stage.steps {
            let StepKind::Copy(c) = &step.kind else {
                continue;
            };
            if c.from.is_some() || !c.sources.iter().any(|s| is_whole_context(&s.value)) {
                continue;
            }
            let present = |name: &str, likely: bool| match &ctx.entries {
                Some(e) => e.iter().any(|x| x == name),
                None => likely,
            };
            let mut sent: Vec<String> = vec![];
            if let Some(spec) = &ctx.spec_path {
                if !excluded(&ctx.excludes, spec) {
                    sent.push(spec.clone());
                }
            }
            for (name, likely) in [(".git", false), ("node_modules", node), ("target", cargo)] {
                if present(name, likely) && !excluded(&ctx.excludes, name) {
                    sent.push(name.to_string());
                }
            }
            if sent.is_empty() {
                continue;
            }
            let list = sent
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(
                warning(
                    "context-not-ignored",
                    step.verb_span,
                    format!("this copy of the whole context also copies {list}: a change there re-runs this step and every step after it"),
                )
                .with_label("copies the whole context")
                .with_help(format!(
                    "add {} to the `.dockerignore` beside the context (or `{}.dockerignore` beside the spec)",
                    sent.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" and "),
                    ctx.spec_path.as_deref().unwrap_or("slipway.yaml"),
                )),
            );
        }
    }
}

/// True when `.dockerignore` patterns exclude `path` (relative to the context).
pub fn excluded(patterns: &[String], path: &str) -> bool {
    let path: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let mut out = false;
    for p in patterns {
        let (neg, p) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p.as_str()),
        };
        let pat: Vec<&str> = p
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect();
        if pat.is_empty() {
            continue;
        }
        // The path itself or one of its parent directories.
        if (1..=path.len()).any(|n| match_segments(&pat, &path[..n])) {
            out = !neg;
        }
    }
    out
}

fn match_segments(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|i| match_segments(rest, &path[i..])),
        Some((p, rest)) => match path.split_first() {
            Some((s, prest)) => glob(p.as_bytes(), s.as_bytes()) && match_segments(rest, prest),
            None => false,
        },
    }
}

/// One segment: `*`, `?`, `[…]` (with `^`/`!` negation and ranges), `\x`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, si));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, len)) = class(&p[pi..], s[si]) {
                        if ok {
                            pi += len;
                            si += 1;
                            continue;
                        }
                    }
                }
                b'\\' if pi + 1 < p.len() && p[pi + 1] == s[si] => {
                    pi += 2;
                    si += 1;
                    continue;
                }
                c if c == s[si] => {
                    pi += 1;
                    si += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, ss)) => {
                pi = sp + 1;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// `[…]` at the start of `p`: (does `c` match, length of the class).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let neg = matches!(p.get(1), Some(b'^' | b'!'));
    if neg {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != b']' || first) {
        first = false;
        let lo = p[i];
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&h| h != b']') {
            hit |= lo <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((hit != neg, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(pats: &[&str], path: &str) -> bool {
        excluded(
            &pats.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            path,
        )
    }

    #[test]
    fn patterns_like_moby() {
        assert!(ex(&["slipway.yaml"], "slipway.yaml"));
        assert!(ex(&["*.yaml"], "slipway.yaml"));
        assert!(ex(&["**/node_modules"], "node_modules"));
        assert!(ex(&["node_modules"], "node_modules"));
        assert!(ex(&["sub"], "sub/slipway.yaml"));
        assert!(ex(&["s[a-z]ipway.y?ml"], "slipway.yaml"));
        assert!(ex(&["**"], ".git"));
        assert!(!ex(&["*.yaml", "!slipway.yaml"], "slipway.yaml"));
        assert!(!ex(&["Dockerfile*"], "slipway.yaml"));
        assert!(!ex(&["slipway.yaml"], "sub/slipway.yaml"));
        assert!(!ex(&["[!s]lipway.yaml"], "slipway.yaml"));
        assert!(!ex(&[], ".git"));
    }
}
