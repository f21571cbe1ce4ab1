//! Direct protobuf encoding of a node's op into a reusable buffer, and the
//! caps it needs, without building a `pb::Op` (the marshal hot path: no
//! per-op clones of every string, no nested `encoded_len` passes).
//!
//! Bytes and caps must equal `NodeKind::to_pb(..).encode_to_vec()` and
//! `caps::op_caps` exactly; debug builds cross-check every op marshaled
//! (see `marshal::Walk::emit`), so every test doubles as a check of this
//! module. Field rules are prost's proto3 rules: scalars at their default
//! are skipped, repeated strings are always written, a set optional message
//! or oneof member is always written, `pb::Op` in Go's field order.

use crate::exec::{ExecNode, Mount};
use crate::file::{Action, Chown, FileNode, UserRef};
use crate::graph::{NodeKind, Output, State};
use crate::pb;

const VARINT: u32 = 0;
pub(crate) const LEN: u32 = 2;

#[inline]
pub(crate) fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
pub(crate) fn key(buf: &mut Vec<u8>, tag: u32, wt: u32) {
    varint(buf, u64::from(tag << 3 | wt));
}

#[inline]
pub(crate) fn bytes_field(buf: &mut Vec<u8>, tag: u32, b: &[u8]) {
    key(buf, tag, LEN);
    varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Bytes of a length-delimited field of `len` bytes: key, length, payload.
#[inline]
pub(crate) fn field_len(tag: u32, len: usize) -> usize {
    prost::encoding::key_len(tag) + prost::encoding::encoded_len_varint(len as u64) + len
}

/// A singular string: skipped when empty.
#[inline]
pub(crate) fn string(buf: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        bytes_field(buf, tag, s.as_bytes());
    }
}

/// Repeated strings: every entry written, empty ones too.
#[inline]
fn strings(buf: &mut Vec<u8>, tag: u32, v: &[String]) {
    for s in v {
        bytes_field(buf, tag, s.as_bytes());
    }
}

#[inline]
pub(crate) fn int64(buf: &mut Vec<u8>, tag: u32, v: i64) {
    if v != 0 {
        key(buf, tag, VARINT);
        varint(buf, v as u64);
    }
}

#[inline]
pub(crate) fn int32(buf: &mut Vec<u8>, tag: u32, v: i32) {
    // int32 is sign-extended to 64 bits on the wire.
    int64(buf, tag, i64::from(v));
}

#[inline]
fn uint32(buf: &mut Vec<u8>, tag: u32, v: u32) {
    int64(buf, tag, i64::from(v));
}

#[inline]
pub(crate) fn boolean(buf: &mut Vec<u8>, tag: u32, v: bool) {
    if v {
        key(buf, tag, VARINT);
        buf.push(1);
    }
}

/// A length-delimited sub-message written by `f`; the length is
/// back-patched (one byte reserved, shifted when the body is ≥ 128 bytes).
#[inline]
pub(crate) fn message(buf: &mut Vec<u8>, tag: u32, f: impl FnOnce(&mut Vec<u8>)) {
    key(buf, tag, LEN);
    let at = buf.len();
    buf.push(0);
    f(buf);
    let len = buf.len() - at - 1;
    if len < 0x80 {
        buf[at] = len as u8;
    } else {
        let n = prost::encoding::encoded_len_varint(len as u64);
        let old = buf.len();
        buf.resize(old + n - 1, 0);
        buf.copy_within(at + 1..old, at + n);
        prost::encoding::encode_varint(len as u64, &mut &mut buf[at..at + n]);
    }
}

fn platform(buf: &mut Vec<u8>, p: &Option<pb::Platform>) {
    if let Some(p) = p {
        message(buf, 10, |b| {
            string(b, 1, &p.architecture);
            string(b, 2, &p.os);
            string(b, 3, &p.variant);
            string(b, 4, &p.os_version);
            strings(b, 5, &p.os_features);
        });
    }
}

/// `constraints: Some(WorkerConstraints::default())`: always `5a 00`.
fn constraints(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[0x5a, 0x00]);
}

/// An op's inputs, with digests looked up by node (`digest_of`).
pub(crate) struct Inputs<'a> {
    list: Vec<(u32, u32)>,
    dedup: bool,
    entry_of: &'a dyn Fn(Output) -> u32,
}

impl<'a> Inputs<'a> {
    pub(crate) fn new(dedup: bool, entry_of: &'a dyn Fn(Output) -> u32) -> Self {
        Inputs {
            list: Vec::new(),
            dedup,
            entry_of,
        }
    }
    fn add(&mut self, s: State) -> i64 {
        let Some(o) = s else { return pb::EMPTY };
        let k = ((self.entry_of)(o), o.index);
        if self.dedup {
            if let Some(i) = self.list.iter().position(|x| *x == k) {
                return i as i64;
            }
        }
        self.list.push(k);
        (self.list.len() - 1) as i64
    }
}

/// A string field holding `"sha256:" + hex(d)` (71 bytes).
#[inline]
pub(crate) fn digest_field(buf: &mut Vec<u8>, tag: u32, d: &[u8; 32]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    key(buf, tag, LEN);
    buf.push(71);
    buf.extend_from_slice(b"sha256:");
    let mut hex = [0u8; 64];
    for (i, x) in d.iter().enumerate() {
        hex[2 * i] = HEX[(x >> 4) as usize];
        hex[2 * i + 1] = HEX[(x & 15) as usize];
    }
    buf.extend_from_slice(&hex);
}

/// Writes the inputs (field 1 of `Op`), the digest of entry `e` being
/// `"sha256:" + hex(digests[e])`.
fn write_inputs(buf: &mut Vec<u8>, inputs: &[(u32, u32)], digests: &[[u8; 32]]) {
    for &(e, index) in inputs {
        message(buf, 1, |b| {
            digest_field(b, 1, &digests[e as usize]);
            int64(b, 2, i64::from(index));
        });
    }
}

/// Caps collected while encoding (small, unsorted until `finish`).
pub(crate) type CapList = Vec<&'static str>;

/// Encodes `kind` into `buf` (cleared first) and pushes its caps to `caps`.
/// `body` is a scratch buffer for the op body (inputs are only known once
/// the body has been walked).
pub(crate) fn encode_op(
    kind: &NodeKind,
    entry_of: &dyn Fn(Output) -> u32,
    digests: &[[u8; 32]],
    buf: &mut Vec<u8>,
    body: &mut Vec<u8>,
    caps: &mut CapList,
) -> Result<(), String> {
    buf.clear();
    body.clear();
    match kind {
        NodeKind::Source(src, plat) => {
            platform(buf, plat);
            constraints(buf);
            message(buf, 3, |b| {
                string(b, 1, &src.identifier);
                for (k, v) in &src.attrs {
                    message(b, 2, |b| {
                        string(b, 1, k);
                        string(b, 2, v);
                    });
                }
            });
            let mut c = crate::caps::Caps::new();
            crate::caps::source_caps(src, &mut c);
            caps.extend(c);
        }
        NodeKind::Exec(e) => {
            let mut t = Inputs::new(true, entry_of);
            exec_body(e, &mut t, body, caps)?;
            write_inputs(buf, &t.list, digests);
            platform(buf, &e.exec.platform);
            constraints(buf);
            key(buf, 2, LEN);
            varint(buf, body.len() as u64);
            buf.extend_from_slice(body);
        }
        NodeKind::File(f) => {
            let mut t = Inputs::new(true, entry_of);
            file_body(f, &mut t, body, caps)?;
            write_inputs(buf, &t.list, digests);
            constraints(buf);
            key(buf, 4, LEN);
            varint(buf, body.len() as u64);
            buf.extend_from_slice(body);
        }
        NodeKind::Merge(ins) => {
            let mut t = Inputs::new(false, entry_of);
            message(body, 6, |b| {
                for o in ins {
                    let i = t.add(Some(*o));
                    message(b, 1, |b| int64(b, 1, i));
                }
            });
            write_inputs(buf, &t.list, digests);
            constraints(buf);
            buf.extend_from_slice(body);
            caps.push("mergeop");
        }
        NodeKind::Diff(l, u) => {
            let mut t = Inputs::new(false, entry_of);
            let lower = t.add(*l);
            let upper = t.add(*u);
            message(body, 7, |b| {
                message(b, 1, |b| int64(b, 1, lower));
                message(b, 2, |b| int64(b, 1, upper));
            });
            write_inputs(buf, &t.list, digests);
            constraints(buf);
            buf.extend_from_slice(body);
            caps.push("diffop");
        }
        NodeKind::Foreign(f) => {
            // Kept as the client encoded it: its digest is the client's.
            buf.extend_from_slice(&f.bytes);
            caps.extend(crate::caps::op_caps(&f.op));
        }
    }
    Ok(())
}

fn exec_body(
    n: &ExecNode,
    t: &mut Inputs,
    b: &mut Vec<u8>,
    caps: &mut CapList,
) -> Result<(), String> {
    let e = &n.exec;
    if e.args.is_empty() {
        return Err("exec needs at least one argument".into());
    }
    caps.push("exec.meta.base");
    // Meta (field 1).
    message(b, 1, |b| {
        strings(b, 1, &e.args);
        strings(b, 2, &e.env);
        string(b, 3, if e.cwd.is_empty() { "/" } else { &e.cwd });
        string(b, 4, &e.user);
        if let Some(p) = &e.proxy_env {
            message(b, 5, |b| {
                string(b, 1, &p.http_proxy);
                string(b, 2, &p.https_proxy);
                string(b, 3, &p.ftp_proxy);
                string(b, 4, &p.no_proxy);
                string(b, 5, &p.all_proxy);
            });
        }
        for (h, ip) in &e.extra_hosts {
            message(b, 6, |b| {
                string(b, 1, h);
                string(b, 2, ip);
            });
        }
        string(b, 7, &e.hostname);
        for u in &e.ulimits {
            message(b, 9, |b| {
                string(b, 1, &u.name);
                int64(b, 2, u.soft);
                int64(b, 3, u.hard);
            });
        }
        boolean(b, 11, true);
        if !e.valid_exit_codes.is_empty() {
            message(b, 12, |b| {
                for c in &e.valid_exit_codes {
                    varint(b, i64::from(*c) as u64);
                }
            });
        }
    });
    if e.proxy_env.is_some() {
        caps.push("exec.meta.proxyenv");
    }
    if !e.ulimits.is_empty() {
        caps.push("exec.meta.ulimit");
    }
    if !e.valid_exit_codes.is_empty() {
        caps.push("exec.validexitcode");
    }
    // Mounts (field 2), in emission order.
    for (m, out) in &n.ordered {
        match m {
            Mount::Bind(bm) => {
                let input = t.add(bm.source);
                if !bm.selector.is_empty() {
                    caps.push("exec.mount.selector");
                }
                if input >= 0 {
                    caps.push("exec.mount.bind");
                }
                message(b, 2, |b| {
                    int64(b, 1, input);
                    string(b, 2, &bm.selector);
                    string(b, 3, &bm.dest);
                    int64(b, 4, *out);
                    boolean(b, 5, bm.readonly);
                });
            }
            Mount::Cache(c) => {
                if c.id.is_empty() {
                    return Err(format!("cache mount at {} needs an id", c.dest));
                }
                let input = t.add(c.seed);
                if !c.selector.is_empty() {
                    caps.push("exec.mount.selector");
                }
                caps.push("exec.mount.cache");
                caps.push("exec.mount.cache.sharing");
                message(b, 2, |b| {
                    int64(b, 1, input);
                    string(b, 2, &c.selector);
                    string(b, 3, &c.dest);
                    int64(b, 4, pb::EMPTY);
                    int32(b, 6, pb::MountType::Cache as i32);
                    message(b, 20, |b| {
                        string(b, 1, &c.id);
                        int32(b, 2, c.sharing as i32);
                    });
                });
            }
            Mount::Tmpfs(tm) => {
                caps.push("exec.mount.tmpfs");
                if tm.size > 0 {
                    caps.push("exec.mount.tmpfs.size");
                }
                message(b, 2, |b| {
                    int64(b, 1, pb::EMPTY);
                    string(b, 3, &tm.dest);
                    int64(b, 4, pb::EMPTY);
                    int32(b, 6, pb::MountType::Tmpfs as i32);
                    message(b, 19, |b| int64(b, 1, tm.size));
                });
            }
            Mount::Secret(s) | Mount::Ssh(s) => {
                let (ty, tag, cap) = match m {
                    Mount::Secret(_) => (pb::MountType::Secret, 21, "exec.mount.secret"),
                    _ => (pb::MountType::Ssh, 22, "exec.mount.ssh"),
                };
                caps.push(cap);
                message(b, 2, |b| {
                    int64(b, 1, pb::EMPTY);
                    string(b, 3, &s.dest);
                    int32(b, 6, ty as i32);
                    message(b, tag, |b| {
                        string(b, 1, &s.id);
                        uint32(b, 2, s.uid);
                        uint32(b, 3, s.gid);
                        uint32(b, 4, s.mode);
                        boolean(b, 5, s.optional);
                    });
                });
            }
        }
    }
    int32(b, 3, e.network as i32);
    int32(b, 4, e.security as i32);
    for s in &e.secret_env {
        message(b, 5, |b| {
            string(b, 1, &s.id);
            string(b, 2, &s.name);
            boolean(b, 3, s.optional);
        });
    }
    if !e.secret_env.is_empty() {
        caps.push("exec.mount.secret");
        caps.push("exec.secretenv");
    }
    if e.network != pb::NetMode::Unset {
        caps.push("exec.meta.network");
    }
    if e.security == pb::SecurityMode::Insecure {
        caps.push("exec.meta.security");
    }
    Ok(())
}

fn chown_check(c: &Option<Chown>, base: i64) -> Result<(), String> {
    let Some(c) = c else { return Ok(()) };
    for u in [&c.user, &c.group] {
        if let Some(UserRef::Name(n)) = u {
            if base < 0 {
                return Err(format!(
                    "owner {n:?} by name needs a base with /etc/passwd, not scratch"
                ));
            }
        }
    }
    Ok(())
}

fn chown(b: &mut Vec<u8>, tag: u32, c: &Option<Chown>, base: i64) {
    let Some(c) = c else { return };
    let user = |b: &mut Vec<u8>, tag: u32, u: &Option<UserRef>| match u {
        None => {}
        Some(UserRef::Id(id)) => message(b, tag, |b| {
            key(b, 2, VARINT);
            varint(b, u64::from(*id));
        }),
        Some(UserRef::Name(n)) => message(b, tag, |b| {
            message(b, 1, |b| {
                string(b, 1, n);
                int64(b, 2, base);
            })
        }),
    };
    message(b, tag, |b| {
        user(b, 1, &c.user);
        user(b, 2, &c.group);
    });
}

fn ts(t: Option<i64>) -> i64 {
    t.unwrap_or(-1)
}

fn file_body(
    f: &FileNode,
    t: &mut Inputs,
    b: &mut Vec<u8>,
    caps: &mut CapList,
) -> Result<(), String> {
    let base = t.add(f.base);
    // Secondary inputs are numbered after the base, in action order.
    let mut secondary = Vec::with_capacity(f.actions.len());
    for a in &f.actions {
        secondary.push(match a {
            Action::Copy(from, _) => t.add(*from),
            _ => pb::EMPTY,
        });
    }
    let n = t.list.len() as i64;
    let last = f.actions.len() - 1;
    caps.push("file.base");
    for (i, a) in f.actions.iter().enumerate() {
        let input = if i == 0 { base } else { n + i as i64 - 1 };
        match a {
            Action::Copy(_, c) => chown_check(&c.owner, input)?,
            Action::MkFile(m) => chown_check(&m.owner, input)?,
            Action::MkDir(m) => chown_check(&m.owner, input)?,
            Action::Symlink(s) => chown_check(&s.owner, input)?,
            Action::Rm(_) => {}
        }
        message(b, 2, |b| {
            int64(b, 1, input);
            int64(b, 2, secondary[i]);
            int64(b, 3, if i == last { 0 } else { pb::EMPTY });
            match a {
                Action::Copy(_, c) => message(b, 4, |b| {
                    string(b, 1, &c.src);
                    string(b, 2, &c.dest);
                    chown(b, 3, &c.owner, input);
                    int32(b, 4, c.mode.unwrap_or(-1));
                    boolean(b, 5, c.follow_symlink);
                    boolean(b, 6, c.dir_copy_contents);
                    boolean(b, 7, c.attempt_unpack_docker_compatibility);
                    boolean(b, 8, c.create_dest_path);
                    boolean(b, 9, c.allow_wildcard);
                    boolean(b, 10, c.allow_empty_wildcard);
                    int64(b, 11, ts(c.timestamp));
                    strings(b, 12, &c.include_patterns);
                    strings(b, 13, &c.exclude_patterns);
                    boolean(b, 14, c.always_replace_existing_dest_paths);
                    string(b, 15, &c.mode_str);
                    strings(b, 16, &c.required_paths);
                }),
                Action::MkFile(m) => message(b, 5, |b| {
                    string(b, 1, &m.path);
                    int32(b, 2, m.mode & 0o777);
                    if !m.data.is_empty() {
                        bytes_field(b, 3, &m.data);
                    }
                    chown(b, 4, &m.owner, input);
                    int64(b, 5, ts(m.timestamp));
                }),
                Action::MkDir(m) => message(b, 6, |b| {
                    string(b, 1, &m.path);
                    int32(b, 2, m.mode & 0o777);
                    boolean(b, 3, m.make_parents);
                    chown(b, 4, &m.owner, input);
                    int64(b, 5, ts(m.timestamp));
                }),
                Action::Rm(r) => message(b, 7, |b| {
                    string(b, 1, &r.path);
                    boolean(b, 2, r.allow_not_found);
                    boolean(b, 3, r.allow_wildcard);
                }),
                Action::Symlink(s) => message(b, 8, |b| {
                    string(b, 1, &s.oldpath);
                    string(b, 2, &s.newpath);
                    chown(b, 3, &s.owner, input);
                    int64(b, 4, ts(s.timestamp));
                }),
            }
        });
        match a {
            Action::Copy(_, cp) => {
                if !cp.include_patterns.is_empty() || !cp.exclude_patterns.is_empty() {
                    caps.push("file.copy.includeexcludepatterns");
                }
                if !cp.required_paths.is_empty() {
                    caps.push("file.copy.requiredpaths");
                }
                if cp.always_replace_existing_dest_paths {
                    caps.push("file.copy.alwaysreplaceexistingdestpaths");
                }
                if !cp.mode_str.is_empty() {
                    caps.push("file.copy.modestring");
                }
            }
            Action::Rm(r) if r.allow_wildcard => caps.push("file.rm.wildcard"),
            Action::Symlink(_) => caps.push("file.symlink.create"),
            _ => {}
        }
    }
    Ok(())
}
