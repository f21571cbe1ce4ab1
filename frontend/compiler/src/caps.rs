//! What the server can do, from its LLB caps (Ping). Features that a daemon
//! lacks either degrade (with a warning) or fail with a message that names
//! the feature in the spec's words, the YAML line, and the first BuildKit
//! and Docker versions that have it.

use std::collections::BTreeSet;

use slipway_spec::{Diagnostic, Plan, Span, StepKind};

#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerCaps<'a> {
    /// None: assume a current BuildKit (offline compile).
    set: Option<&'a BTreeSet<String>>,
}

impl<'a> ServerCaps<'a> {
    pub fn new(set: Option<&'a BTreeSet<String>>) -> Self {
        ServerCaps { set }
    }

    pub fn has(&self, cap: &str) -> bool {
        self.set.is_none_or(|s| s.contains(cap))
    }

    /// `feature` (plural, in the spec's words) needs `cap`, which this daemon lacks.
    pub fn missing(&self, span: Span, feature: &str, cap: &str) -> Diagnostic {
        missing(span, feature, cap)
    }
}

fn missing(span: Span, feature: &str, cap: &str) -> Diagnostic {
    Diagnostic::error(
        "unsupported-by-daemon",
        span,
        format!("{feature} need the BuildKit capability `{cap}`, which this daemon does not have"),
    )
    .with_help(format!(
        "use {} or later, or rewrite this step without the feature",
        since(cap)
    ))
}

/// The BuildKit minor version that first defines an LLB cap; 0 when unknown.
/// Verified against moby/buildkit's `solver/pb/caps.go` at each `v0.N.0` tag
/// (the first tag whose file defines the cap's string; e.g. `file.symlink.create`
/// first appears in v0.19.0, `source.git.skipsubmodules` in v0.24.0,
/// `file.copy.requiredpaths` in v0.26.0).
fn cap_minor(cap: &str) -> u32 {
    match cap {
        "exec.meta.security" | "file.base" => 5,
        "file.rm.wildcard" | "exec.meta.security.devices.v1" => 7,
        "source.git.httpauth" | "source.git.knownsshhosts" | "source.git.mountsshsock" => 8,
        "file.copy.includeexcludepatterns" | "source.git.subdir" | "source.local.differ" => 9,
        "exec.meta.cgroup.parent"
        | "exec.meta.ulimit"
        | "exec.mount.tmpfs.size"
        | "exec.secretenv"
        | "mergeop"
        | "diffop"
        | "file.rm.nofollowsymlink" => 10,
        "source.image.layerlimit" | "source.ocilayout" => 11,
        "exec.mount.cache.content" => 13,
        "file.copy.alwaysreplaceexistingdestpaths" => 14,
        "exec.validexitcode" | "file.copy.modestring" => 17,
        "file.symlink.create" => 19,
        "exec.meta.cdi" => 20,
        "source.local.metadatatransfer" => 21,
        "source.git.checksum" => 22,
        "source.git.skipsubmodules" => 24,
        "source.image.checksum" => 25,
        "file.copy.requiredpaths" => 26,
        _ => 0,
    }
}

/// The first Docker Engine release whose BuildKit is at least v0.`minor`.
/// Source: the `github.com/moby/buildkit` line of moby/moby's `vendor.mod`
/// (`vendor.conf` for 20.10; `go.mod` from the `docker-v29.*` tags on) at each
/// release tag: v20.10.0 950603da (v0.8 branch), v23.0.0 v0.10.6, v24.0.0
/// v0.11.6, v25.0.0 v0.12.5-dev, v26.0.0 v0.13.1, v27.0.1 (the first 27.0
/// release) v0.14.1, v27.1.0 v0.15.0, v27.2.0 v0.15.2, v27.3.0 v0.16.0,
/// v27.4.0 v0.17.3, v27.5.0 v0.18.2, v28.0.0 v0.20.0, v28.1.0 v0.21.0,
/// v28.2.0 v0.22.0, v28.3.0 v0.23.1, v28.4.0 v0.24.0, v28.5.0 v0.25.0,
/// docker-v29.0.0 v0.25.2, docker-v29.1.0 v0.26.2, docker-v29.2.0 v0.27.0,
/// docker-v29.3.0 v0.28.0, docker-v29.4.0 v0.29.0, docker-v29.5.0 v0.30.0,
/// docker-v29.6.0 v0.31.0, docker-v29.7.0 v0.32.0. No Docker release
/// bundled v0.9 or v0.19.
fn docker_for(minor: u32) -> Option<&'static str> {
    Some(match minor {
        0..=8 => "20.10",
        9 | 10 => "23.0",
        11 => "24.0",
        12 => "25.0",
        13 => "26.0",
        14 => "27.0",
        15 => "27.1",
        16 => "27.3",
        17 => "27.4",
        18 => "27.5",
        19 | 20 => "28.0",
        21 => "28.1",
        22 => "28.2",
        23 => "28.3",
        24 => "28.4",
        25 => "28.5",
        26 => "29.1",
        27 => "29.2",
        28 => "29.3",
        29 => "29.4",
        30 => "29.5",
        31 => "29.6",
        32 => "29.7",
        _ => return None,
    })
}

/// "BuildKit v0.19 (Docker 28.0)" for a cap.
pub(crate) fn since(cap: &str) -> String {
    match cap_minor(cap) {
        0 => "a newer BuildKit".to_string(),
        m => match docker_for(m) {
            Some(d) => format!("BuildKit v0.{m} (Docker {d})"),
            None => format!("BuildKit v0.{m}"),
        },
    }
}

/// The feature behind a cap, in the spec's words, refined by the step it came from.
fn feature(cap: &str, kind: Option<&StepKind>) -> String {
    let words = match (cap, kind) {
        ("file.copy.includeexcludepatterns", Some(StepKind::Copy(c))) if c.parents => {
            "copies with `parents` and a glob"
        }
        ("file.copy.includeexcludepatterns", _) => "`include`/`exclude` on copy",
        ("file.copy.modestring", _) => "symbolic `chmod` modes",
        ("file.symlink.create", _) => "`link` steps",
        ("exec.secretenv", _) => "secrets exposed as environment variables",
        ("exec.mount.tmpfs.size", _) => "tmpfs sizes",
        ("mergeop", _) => "`link: true` copies",
        ("exec.meta.security", _) => "`security: insecure` steps",
        ("exec.meta.network", _) => "`network` modes",
        ("exec.mount.cache", _) | ("exec.mount.cache.sharing", _) => "cache mounts",
        ("exec.mount.secret", _) => "secret mounts",
        ("exec.mount.ssh", _) => "ssh mounts",
        ("source.git.subdir", _) => "git sources with a subdirectory",
        ("source.git.checksum", _) => "git sources pinned by checksum",
        ("source.image.checksum", _) => "images pinned by checksum",
        _ => return format!("steps using LLB capability `{cap}`"),
    };
    words.to_string()
}

/// A marshal-time `UnsupportedCap` as a located diagnostic: the step (or
/// stage `from`) at the op's source line, the feature in its words.
pub(crate) fn unsupported(plan: &Plan, cap: &str, op: &str, line: u32) -> Diagnostic {
    let at = |s: Span| line != 0 && s.start.line <= line && line <= s.end.line.max(s.start.line);
    let step = plan
        .stages
        .iter()
        .flat_map(|st| &st.steps)
        .filter(|s| at(s.span))
        .max_by_key(|s| (s.span.start.line, s.span.start.col));
    let span = match step {
        Some(s) => s.verb_span,
        None => plan
            .stages
            .iter()
            .map(|st| st.from.span)
            .find(|s| at(*s))
            .unwrap_or_default(),
    };
    let mut d = missing(span, &feature(cap, step.map(|s| &s.kind)), cap);
    if span.is_unknown() {
        d.message = format!("{op}: {}", d.message);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_caps() {
        assert_eq!(since("file.symlink.create"), "BuildKit v0.19 (Docker 28.0)");
        assert_eq!(
            since("file.copy.includeexcludepatterns"),
            "BuildKit v0.9 (Docker 23.0)"
        );
        assert_eq!(
            since("source.image.checksum"),
            "BuildKit v0.25 (Docker 28.5)"
        );
        assert_eq!(
            since("file.copy.requiredpaths"),
            "BuildKit v0.26 (Docker 29.1)"
        );
        assert_eq!(
            since("source.git.skipsubmodules"),
            "BuildKit v0.24 (Docker 28.4)"
        );
        assert_eq!(since("exec.meta.cdi"), "BuildKit v0.20 (Docker 28.0)");
        assert_eq!(docker_for(33), None);
        assert_eq!(since("no.such.cap"), "a newer BuildKit");
    }
}
