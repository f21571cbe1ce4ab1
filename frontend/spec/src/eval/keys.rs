//! The key tables: which keys each part of a spec accepts (also the source of
//! the JSON Schema, `crate::schema`).

pub const TOP_KEYS: &[&str] = &["version", "args", "default", "groups", "stages", "lint"];
pub const STAGE_KEYS: &[&str] = &[
    "from",
    "platform",
    "args",
    "env",
    "workdir",
    "shell",
    "steps",
    "image",
    "description",
    "output",
];
pub const VERBS: &[&str] = &["run", "copy", "add", "file", "mkdir", "link", "remove"];
pub const RUN_KEYS: &[&str] = &[
    "run", "cache", "secret", "ssh", "tmpfs", "bind", "env", "workdir", "user", "network",
    "security", "no-cache",
];
pub const COPY_KEYS: &[&str] = &[
    "copy",
    "from",
    "to",
    "chown",
    "chmod",
    "include",
    "exclude",
    "link",
    "parents",
    "follow-symlinks",
];
pub const ADD_KEYS: &[&str] = &[
    "add",
    "checksum",
    "ref",
    "keep-git-dir",
    "to",
    "chown",
    "chmod",
];
pub const FILE_KEYS: &[&str] = &["file", "content", "mode", "owner"];
pub const MKDIR_KEYS: &[&str] = &["mkdir", "mode", "owner"];
pub const LINK_KEYS: &[&str] = &["link", "target"];
pub const REMOVE_KEYS: &[&str] = &["remove"];
pub const IMAGE_KEYS: &[&str] = &[
    "user",
    "entrypoint",
    "cmd",
    "expose",
    "labels",
    "volumes",
    "healthcheck",
    "stop-signal",
    "env",
    "workdir",
];
pub const HEALTH_KEYS: &[&str] = &["test", "interval", "timeout", "start-period", "retries"];
pub const CACHE_KEYS: &[&str] = &[
    "target", "id", "sharing", "from", "source", "mode", "uid", "gid",
];
pub const SECRET_KEYS: &[&str] = &["id", "target", "env", "required", "mode", "uid", "gid"];
pub const SSH_KEYS: &[&str] = &["id", "target", "required"];
pub const TMPFS_KEYS: &[&str] = &["target", "size"];
pub const BIND_KEYS: &[&str] = &["from", "source", "target", "rw"];

/// Predefined platform arguments (from `EvalOptions`).
pub const PREDEFINED: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];
