//! The build args a `run` step sees as environment variables.
//!
//! Dockerfile `ARG`s are visible to `RUN` only in the stage that declares
//! them, which keeps an unrelated arg change from invalidating every step's
//! cache. Slipway keeps that property without the ceremony: a stage's own
//! `args` are always visible; global args and the predefined platform args
//! are visible to a command that names them (`$NAME` or `${NAME…}`).

use slipway_spec::{Command, Plan, Platform, Stage};

/// Global and predefined args by name: (position of the name's first
/// entry in `plan.args` then `predefined`, its last value). Built once per
/// compile, so that a step's visible args cost what its command references,
/// not the number of args.
pub type ArgIndex = std::collections::HashMap<String, (usize, String)>;

pub fn arg_index(plan: &Plan, predefined: &[(String, String)]) -> ArgIndex {
    let mut idx = ArgIndex::with_capacity(plan.args.len() + predefined.len());
    for (i, (k, v)) in plan.args.iter().chain(predefined).enumerate() {
        idx.entry(k.clone())
            .and_modify(|e| e.1 = v.clone())
            .or_insert((i, v.clone()));
    }
    idx
}

/// (name, value) pairs in a fixed order: globals, predefined (as computed
/// once by [`predefined`]), then stage args.
pub fn run_args<'a>(
    index: &'a ArgIndex,
    stage: &'a Stage,
    command: &Command,
) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    // Only `$` references can name a global or predefined arg.
    let mut refs: Vec<(usize, &str, &str)> = Vec::new();
    let mut add_refs = |text: &str| {
        for name in referenced(text) {
            if let Some((k, (pos, v))) = index.get_key_value(name) {
                refs.push((*pos, v.as_str(), k.as_str()));
            }
        }
    };
    match command {
        Command::Shell(s) => add_refs(s),
        Command::Exec(v) => v.iter().for_each(|w| add_refs(w)),
    }
    refs.sort_unstable();
    refs.dedup_by_key(|r| r.0);
    // `pos` is the first position: the key of `index`, so the name too.
    out.extend(refs.into_iter().map(|(_, v, name)| (name, v)));
    if out.len().saturating_mul(stage.args.len()) <= 1024 {
        for (k, v) in &stage.args {
            match out.iter_mut().find(|(n, _)| *n == k) {
                Some(e) => e.1 = v,
                None => out.push((k, v)),
            }
        }
    } else {
        let mut at: std::collections::HashMap<&str, usize> =
            out.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
        for (k, v) in &stage.args {
            match at.get(k.as_str()) {
                Some(&i) => out[i].1 = v,
                None => {
                    at.insert(k, out.len());
                    out.push((k, v));
                }
            }
        }
    }
    out
}

/// The names `text` references as `$NAME` or `${NAME…}`: the longest run of
/// letters, digits and `_` after the `$` (or `${`), in one pass.
fn referenced(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    memchr_dollar(b).filter_map(move |at| {
        let mut i = at + 1;
        if b.get(i) == Some(&b'{') {
            i += 1;
        }
        let n = b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        (n > 0).then(|| &text[i..i + n])
    })
}

fn memchr_dollar(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    b.iter()
        .enumerate()
        .filter(|(_, c)| **c == b'$')
        .map(|(i, _)| i)
}

/// The predefined args, Docker's names: the platform args, and
/// `SOURCE_DATE_EPOCH` when the build has one (see `crate::timestamps`).
pub fn predefined(
    target: &Platform,
    build: &Platform,
    source_date_epoch: Option<u64>,
) -> Vec<(String, String)> {
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
    .into_iter()
    .chain(source_date_epoch.map(|e| (crate::timestamps::SOURCE_DATE_EPOCH.into(), e.to_string())))
    .collect()
}

/// Does shell text reference `$name` or `${name…}`?
#[cfg(test)]
fn mentions(text: &str, name: &str) -> bool {
    referenced(text).any(|n| n == name)
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
