//! The build args a `run` step sees as environment variables.
//!
//! Dockerfile `ARG`s are visible to `RUN` only in the stage that declares
//! them, which keeps an unrelated arg change from invalidating every step's
//! cache. Slipway keeps that property without the ceremony: a stage's own
//! `args` are always visible; global args and the predefined platform args
//! are visible to a command that names them (`$NAME` or `${NAME…}`).

use slipway_spec::{Command, Plan, Platform, Stage};

/// (name, value) pairs in a fixed order: globals, predefined (as computed
/// once by [`predefined`]), then stage args.
pub fn run_args<'a>(
    plan: &'a Plan,
    stage: &'a Stage,
    command: &Command,
    predefined: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    // Only `$` references can name a global or predefined arg (an exec
    // form's words are joined only then).
    let any_ref = match command {
        Command::Shell(s) => s.contains('$'),
        Command::Exec(v) => v.iter().any(|w| w.contains('$')),
    };
    let text: std::borrow::Cow<str> = match command {
        _ if !any_ref => "".into(),
        Command::Shell(s) => s.as_str().into(),
        Command::Exec(v) => v.join(" ").into(),
    };
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut push = |k: &'a str, v: &'a str| {
        if let Some(e) = out.iter_mut().find(|(n, _)| *n == k) {
            e.1 = v;
        } else {
            out.push((k, v));
        }
    };
    if any_ref {
        for (k, v) in plan.args.iter().chain(predefined) {
            if mentions(&text, k) {
                push(k, v);
            }
        }
    }
    for (k, v) in &stage.args {
        push(k, v);
    }
    out
}

/// The predefined platform args, Docker's names.
pub fn predefined(target: &Platform, build: &Platform) -> Vec<(String, String)> {
    let fmt = |p: &Platform| match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    };
    vec![
        ("BUILDPLATFORM".into(), fmt(build)),
        ("BUILDOS".into(), build.os.clone()),
        ("BUILDARCH".into(), build.architecture.clone()),
        (
            "BUILDVARIANT".into(),
            build.variant.clone().unwrap_or_default(),
        ),
        ("TARGETPLATFORM".into(), fmt(target)),
        ("TARGETOS".into(), target.os.clone()),
        ("TARGETARCH".into(), target.architecture.clone()),
        (
            "TARGETVARIANT".into(),
            target.variant.clone().unwrap_or_default(),
        ),
    ]
}

/// Does shell text reference `$name` or `${name…}`?
fn mentions(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(p) = text[i..].find('$') {
        let at = i + p + 1;
        let rest = &text[at..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        if let Some(after) = rest.strip_prefix(name) {
            let next = after.as_bytes().first().copied();
            if !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                return true;
            }
        }
        i = at;
        if i >= bytes.len() {
            break;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn finds_references() {
        assert!(mentions("echo $VERSION", "VERSION"));
        assert!(mentions("echo ${VERSION:-x}", "VERSION"));
        assert!(!mentions("echo $VERSIONS", "VERSION"));
        assert!(!mentions("echo VERSION", "VERSION"));
        assert!(mentions("a=$B; echo $VERSION", "VERSION"));
        assert!(!mentions("echo $", "VERSION"));
    }
}
