//! Caps (`llb-wire.md` §5) derived from the encoded op itself, so they can
//! never drift from what is on the wire. Unlike the Go client this also
//! emits the caps it forgets (file.* per action, `source.git.subdir`), so an
//! old server fails loudly instead of silently dropping fields. It never
//! emits `exec.meta.removemountstubs.recursive` (no daemon advertises it).

use std::collections::BTreeSet;

use crate::pb;

pub type Caps = BTreeSet<&'static str>;

/// Caps the return op carries: informational, never validated by servers.
pub fn return_op_caps(
    any_ignore_cache: bool,
    any_description: bool,
    any_export_cache: bool,
) -> Caps {
    let mut c: Caps = ["constraints", "platform"].into_iter().collect();
    if any_ignore_cache {
        c.insert("meta.ignorecache");
    }
    if any_description {
        c.insert("meta.description");
    }
    if any_export_cache {
        c.insert("meta.exportcache");
    }
    c
}

/// The caps a (non-return) op needs.
pub fn op_caps(op: &pb::Op) -> Caps {
    let mut c = Caps::new();
    match &op.op {
        Some(pb::op::Op::Source(s)) => source_caps(s, &mut c),
        Some(pb::op::Op::Exec(e)) => exec_caps(e, &mut c),
        Some(pb::op::Op::File(f)) => file_caps(f, &mut c),
        Some(pb::op::Op::Merge(_)) => {
            c.insert("mergeop");
        }
        Some(pb::op::Op::Diff(_)) => {
            c.insert("diffop");
        }
        Some(pb::op::Op::Build(_)) | None => {}
    }
    c
}

pub(crate) fn source_caps(s: &pb::SourceOp, c: &mut Caps) {
    let id = s.identifier.as_str();
    let has = |k: &str| s.attrs.contains_key(k);
    if id.starts_with("docker-image://") {
        c.insert("source.image");
        if s.attrs.get("image.resolvemode").map(String::as_str) == Some("pull") {
            c.insert("source.image.resolvemode");
        }
        if has("image.layerlimit") {
            c.insert("source.image.layerlimit");
        }
        if has("image.checksum") {
            c.insert("source.image.checksum");
        }
    } else if id.starts_with("local://") {
        c.insert("source.local");
        for (k, cap) in [
            ("local.session", "source.local.sessionid"),
            ("local.includepattern", "source.local.includepatterns"),
            ("local.excludepatterns", "source.local.excludepatterns"),
            ("local.followpaths", "source.local.followpaths"),
            ("local.sharedkeyhint", "source.local.sharedkeyhint"),
            ("local.unique", "source.local.unique"),
            ("local.metadatatransfer", "source.local.metadatatransfer"),
        ] {
            if has(k) {
                c.insert(cap);
            }
        }
        // source.local.differ only when required: see `extra_caps`.
    } else if let Some(rest) = id.strip_prefix("git://") {
        c.insert("source.git");
        for (k, cap) in [
            ("git.fullurl", "source.git.fullurl"),
            ("git.keepgitdir", "source.git.keepgitdir"),
            ("git.knownsshhosts", "source.git.knownsshhosts"),
            ("git.mountsshsock", "source.git.mountsshsock"),
            ("git.checksum", "source.git.checksum"),
            ("git.skipsubmodules", "source.git.skipsubmodules"),
        ] {
            if has(k) {
                c.insert(cap);
            }
        }
        let overridden = |k: &str, default: &str| s.attrs.get(k).is_some_and(|v| v != default);
        if overridden("git.authtokensecret", "GIT_AUTH_TOKEN")
            || overridden("git.authheadersecret", "GIT_AUTH_HEADER")
        {
            c.insert("source.git.httpauth");
        }
        if let Some((_, frag)) = rest.split_once('#') {
            if frag.split_once(':').is_some_and(|(_, sub)| !sub.is_empty()) {
                c.insert("source.git.subdir");
            }
        }
    } else if id.starts_with("http://") || id.starts_with("https://") {
        c.insert("source.http");
        if has("http.checksum") {
            c.insert("source.http.checksum");
        }
        if has("http.perm") {
            c.insert("source.http.perm");
        }
        if has("http.uid") || has("http.gid") {
            // Misspelled upstream and must be sent exactly like this.
            c.insert("soruce.http.uidgid");
        }
    } else if id.starts_with("oci-layout://") {
        c.insert("source.ocilayout");
    }
}

fn exec_caps(e: &pb::ExecOp, c: &mut Caps) {
    c.insert("exec.meta.base");
    for m in &e.mounts {
        if !m.selector.is_empty() {
            c.insert("exec.mount.selector");
        }
        match pb::MountType::try_from(m.mount_type).unwrap_or(pb::MountType::Bind) {
            pb::MountType::Cache => {
                c.insert("exec.mount.cache");
                c.insert("exec.mount.cache.sharing");
            }
            pb::MountType::Tmpfs => {
                c.insert("exec.mount.tmpfs");
                if m.tmpfs_opt.as_ref().is_some_and(|t| t.size > 0) {
                    c.insert("exec.mount.tmpfs.size");
                }
            }
            pb::MountType::Secret => {
                c.insert("exec.mount.secret");
            }
            pb::MountType::Ssh => {
                c.insert("exec.mount.ssh");
            }
            pb::MountType::Bind => {
                if m.input >= 0 {
                    c.insert("exec.mount.bind");
                }
            }
        }
        if m.content_cache != 0 {
            c.insert("exec.mount.cache.content");
        }
    }
    if !e.secretenv.is_empty() {
        c.insert("exec.mount.secret");
        c.insert("exec.secretenv");
    }
    if e.network != pb::NetMode::Unset as i32 {
        c.insert("exec.meta.network");
    }
    if e.security == pb::SecurityMode::Insecure as i32 {
        c.insert("exec.meta.security");
    }
    if !e.cdi_devices.is_empty() {
        c.insert("exec.meta.cdi");
    }
    if let Some(m) = &e.meta {
        if m.proxy_env.is_some() {
            c.insert("exec.meta.proxyenv");
        }
        if !m.ulimit.is_empty() {
            c.insert("exec.meta.ulimit");
        }
        if !m.valid_exit_codes.is_empty() {
            c.insert("exec.validexitcode");
        }
        if !m.cgroup_parent.is_empty() {
            c.insert("exec.meta.cgroup.parent");
        }
    }
}

fn file_caps(f: &pb::FileOp, c: &mut Caps) {
    c.insert("file.base");
    for a in &f.actions {
        use pb::file_action::Action as A;
        match &a.action {
            Some(A::Copy(cp)) => {
                if !cp.include_patterns.is_empty() || !cp.exclude_patterns.is_empty() {
                    c.insert("file.copy.includeexcludepatterns");
                }
                if !cp.required_paths.is_empty() {
                    c.insert("file.copy.requiredpaths");
                }
                if cp.always_replace_existing_dest_paths {
                    c.insert("file.copy.alwaysreplaceexistingdestpaths");
                }
                if !cp.mode_str.is_empty() {
                    c.insert("file.copy.modestring");
                }
            }
            Some(A::Rm(rm)) if rm.allow_wildcard => {
                c.insert("file.rm.wildcard");
            }
            Some(A::Symlink(_)) => {
                c.insert("file.symlink.create");
            }
            _ => {}
        }
    }
}
