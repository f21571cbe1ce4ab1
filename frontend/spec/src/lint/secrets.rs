//! `secret-in-arg`: args and env values whose names say they hold secrets.
//! Arg values end up in the build's provenance and `docker history`; env
//! values in the image config, readable by anyone who pulls the image.

use super::warning;
use crate::diag::{Diagnostic, Pos, Span};
use crate::plan::{Plan, StepKind};

/// `*_TOKEN`, `*_PASSWORD`, `*_KEY`, `*_SECRET`, … (not `*_PUBLIC_KEY`).
pub fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    const WORDS: &[&str] = &[
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "KEY",
        "APIKEY",
        "CREDENTIALS",
    ];
    let last = n.rsplit('_').next().unwrap_or("");
    WORDS.contains(&last) && !n.ends_with("PUBLIC_KEY") && !n.ends_with("GPG_KEY")
}

pub fn check(plan: &Plan, out: &mut Vec<Diagnostic>) {
    let src = plan.source.as_str();
    let whole = Span::new(
        Pos {
            line: 1,
            col: 1,
            offset: 0,
        },
        Pos {
            line: 0,
            col: 0,
            offset: src.len() as u32,
        },
    );
    // Global args are usually written before `stages:`: look there first. A
    // whole-file search is done for at most 32 of them, so this stays linear.
    let before = match plan.stages.iter().map(|s| s.span.start).min() {
        Some(p) => Span::new(whole.start, p),
        None => whole,
    };
    let mut searches = 0;
    for (k, _) in &plan.args {
        if looks_secret(k) {
            let mut d = finding(src, before, k, "a global arg", "args");
            if d.span.start == before.start && searches < 32 {
                searches += 1;
                d = finding(src, whole, k, "a global arg", "args");
            }
            out.push(d);
        }
    }
    for s in &plan.stages {
        let mut found: Vec<(&str, String, Span)> = vec![];
        for (k, _) in s.args.iter().filter(|(k, _)| looks_secret(k)) {
            found.push(("an arg", k.clone(), s.span));
        }
        for (k, _) in s
            .env
            .iter()
            .chain(&s.image.env)
            .filter(|(k, _)| looks_secret(k))
        {
            found.push(("an env value", k.clone(), s.span));
        }
        for step in &s.steps {
            if let StepKind::Run(r) = &step.kind {
                for (k, _) in r.env.iter().filter(|(k, _)| looks_secret(k)) {
                    found.push(("a step env value", k.clone(), step.span));
                }
            }
        }
        for (what, k, within) in found {
            let kind = if what == "an arg" { "args" } else { "env" };
            out.push(finding(src, within, &k, what, kind));
        }
    }
}

fn finding(src: &str, within: Span, name: &str, what: &str, kind: &str) -> Diagnostic {
    let at = find_key(src, within, name).unwrap_or(Span::new(within.start, within.start));
    let id = name.to_ascii_lowercase();
    let stored = match (kind, what) {
        ("args", _) => "build args are recorded in the image's history and the build's provenance",
        (_, "a step env value") => {
            "step env values are written into the build definition, its cache keys and provenance"
        }
        _ => "env values are stored in the image config, readable by anyone who pulls the image",
    };
    warning("secret-in-arg", at, format!("`{name}` looks like a secret passed as {what}: {stored}"))
        .with_label("secret-like name")
        .with_help(format!(
            "pass it as a build secret: `--secret id={id},env={name}` on the command line and `secret: {{id: {id}, env: {name}}}` on the `run` step that needs it"
        ))
}

/// The span of `name` written as a mapping key inside `within` (the first
/// occurrence), scanning only that part of the text.
fn find_key(src: &str, within: Span, name: &str) -> Option<Span> {
    let start = within.start.offset as usize;
    let end = if within.end.line == 0 {
        src.len()
    } else {
        (within.end.offset as usize).min(src.len())
    };
    let text = src.get(start..end)?;
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before = if i == 0 { b'\n' } else { bytes[i - 1] };
        let mut j = i + name.len();
        if matches!(bytes.get(j), Some(b'"' | b'\'')) {
            j += 1;
        }
        while matches!(bytes.get(j), Some(b' ')) {
            j += 1;
        }
        let key_start = matches!(before, b' ' | b'\n' | b'{' | b',' | b'"' | b'\'' | b'\t');
        if key_start && bytes.get(j) == Some(&b':') {
            let head = &text[..i];
            let line = within.start.line + head.matches('\n').count() as u32;
            let col = match head.rfind('\n') {
                Some(nl) => head[nl + 1..].chars().count() as u32 + 1,
                None => within.start.col + head.chars().count() as u32,
            };
            let p = |off: usize, col: u32| Pos {
                line,
                col,
                offset: (start + off) as u32,
            };
            return Some(Span::new(
                p(i, col),
                p(i + name.len(), col + name.chars().count() as u32),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for s in [
            "NPM_TOKEN",
            "DB_PASSWORD",
            "AWS_SECRET_ACCESS_KEY",
            "api_key",
            "SECRET",
            "GITHUB_TOKEN",
        ] {
            assert!(looks_secret(s), "{s}");
        }
        for s in [
            "TOKENIZER",
            "KEYBOARD",
            "SSH_PUBLIC_KEY",
            "GPG_KEY",
            "PATH",
            "MONKEY",
        ] {
            assert!(!looks_secret(s), "{s}");
        }
    }
}
