//! LLB messages (proto package `pb`, BuildKit `solver/pb/ops.proto`), written
//! by hand from the wire facts in `llb-wire.md` §1: field numbers and types
//! only, no copied .proto.
//!
//! Why a hand-written [`Op`] encoder: BuildKit v0.18+ re-marshals every op with
//! protobuf-go, which writes non-oneof fields first and the oneof last
//! (`inputs=1, platform=10, constraints=11, <op body>`), then re-keys vertices
//! by the new digest. prost's derive writes pure field-number order, which
//! would give different digests and lose source-map snippets. So `Op`
//! implements [`prost::Message`] manually: it *encodes* in the Go order and
//! *decodes* any order. Every other message is unaffected by the rule
//! (their oneofs already come after the plain fields, or stand alone).
//!
//! Maps are `BTreeMap` so keys come out sorted, as Go's deterministic mode does.

use std::collections::BTreeMap;
use std::sync::Arc;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message as _};

/// `-1`: "no input" / "no output" marker (`pb.Empty`, `pb.SkipOutput`).
pub const EMPTY: i64 = -1;

// ---------------------------------------------------------------------------
// Op (vertex)

/// One LLB vertex. Encodes in the protobuf-go v1.x deterministic order; see
/// the module docs.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct Op {
    /// 1
    pub inputs: Vec<Input>,
    /// oneof op: 2 exec, 3 source, 4 file, 5 build, 6 merge, 7 diff
    pub op: Option<op::Op>,
    /// 10
    pub platform: Option<Platform>,
    /// 11
    pub constraints: Option<WorkerConstraints>,
}

pub mod op {
    /// The `op` oneof of [`super::Op`].
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Op {
        #[prost(message, tag = "2")]
        Exec(super::ExecOp),
        #[prost(message, tag = "3")]
        Source(super::SourceOp),
        #[prost(message, tag = "4")]
        File(super::FileOp),
        #[prost(message, tag = "5")]
        Build(super::BuildOp),
        #[prost(message, tag = "6")]
        Merge(super::MergeOp),
        #[prost(message, tag = "7")]
        Diff(super::DiffOp),
    }
}

impl prost::Message for Op {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for input in &self.inputs {
            encoding::message::encode(1, input, buf);
        }
        if let Some(p) = &self.platform {
            encoding::message::encode(10, p, buf);
        }
        if let Some(c) = &self.constraints {
            encoding::message::encode(11, c, buf);
        }
        if let Some(op) = &self.op {
            op.encode(buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        match tag {
            1 => encoding::message::merge_repeated(wire_type, &mut self.inputs, buf, ctx),
            2..=7 => op::Op::merge(&mut self.op, tag, wire_type, buf, ctx),
            10 => encoding::message::merge(
                wire_type,
                self.platform.get_or_insert_with(Default::default),
                buf,
                ctx,
            ),
            11 => encoding::message::merge(
                wire_type,
                self.constraints.get_or_insert_with(Default::default),
                buf,
                ctx,
            ),
            _ => encoding::skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        encoding::message::encoded_len_repeated(1, &self.inputs)
            + self
                .platform
                .as_ref()
                .map_or(0, |p| encoding::message::encoded_len(10, p))
            + self
                .constraints
                .as_ref()
                .map_or(0, |c| encoding::message::encoded_len(11, c))
            + self.op.as_ref().map_or(0, |o| o.encoded_len())
    }

    fn clear(&mut self) {
        *self = Op::default();
    }
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Platform {
    #[prost(string, tag = "1")]
    pub architecture: String,
    #[prost(string, tag = "2")]
    pub os: String,
    #[prost(string, tag = "3")]
    pub variant: String,
    #[prost(string, tag = "4")]
    pub os_version: String,
    #[prost(string, repeated, tag = "5")]
    pub os_features: Vec<String>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct WorkerConstraints {
    #[prost(string, repeated, tag = "1")]
    pub filter: Vec<String>,
}

/// An edge: output `index` of the op whose digest is `digest`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, ::prost::Message)]
pub struct Input {
    #[prost(string, tag = "1")]
    pub digest: String,
    #[prost(int64, tag = "2")]
    pub index: i64,
}

// ---------------------------------------------------------------------------
// Exec

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ExecOp {
    #[prost(message, optional, tag = "1")]
    pub meta: Option<Meta>,
    #[prost(message, repeated, tag = "2")]
    pub mounts: Vec<Mount>,
    #[prost(enumeration = "NetMode", tag = "3")]
    pub network: i32,
    #[prost(enumeration = "SecurityMode", tag = "4")]
    pub security: i32,
    #[prost(message, repeated, tag = "5")]
    pub secretenv: Vec<SecretEnv>,
    #[prost(message, repeated, tag = "6")]
    pub cdi_devices: Vec<CdiDevice>,
}

/// Exec process settings (not related to [`OpMetadata`]). Tag 8 never used.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Meta {
    #[prost(string, repeated, tag = "1")]
    pub args: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub env: Vec<String>,
    #[prost(string, tag = "3")]
    pub cwd: String,
    #[prost(string, tag = "4")]
    pub user: String,
    #[prost(message, optional, tag = "5")]
    pub proxy_env: Option<ProxyEnv>,
    #[prost(message, repeated, tag = "6")]
    pub extra_hosts: Vec<HostIp>,
    #[prost(string, tag = "7")]
    pub hostname: String,
    #[prost(message, repeated, tag = "9")]
    pub ulimit: Vec<Ulimit>,
    #[prost(string, tag = "10")]
    pub cgroup_parent: String,
    #[prost(bool, tag = "11")]
    pub remove_mount_stubs_recursive: bool,
    /// packed (proto3 default), like Go.
    #[prost(int32, repeated, tag = "12")]
    pub valid_exit_codes: Vec<i32>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct HostIp {
    #[prost(string, tag = "1")]
    pub host: String,
    #[prost(string, tag = "2")]
    pub ip: String,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Ulimit {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(int64, tag = "2")]
    pub soft: i64,
    #[prost(int64, tag = "3")]
    pub hard: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SecretEnv {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(bool, tag = "3")]
    pub optional: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CdiDevice {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(bool, tag = "2")]
    pub optional: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ProxyEnv {
    #[prost(string, tag = "1")]
    pub http_proxy: String,
    #[prost(string, tag = "2")]
    pub https_proxy: String,
    #[prost(string, tag = "3")]
    pub ftp_proxy: String,
    #[prost(string, tag = "4")]
    pub no_proxy: String,
    #[prost(string, tag = "5")]
    pub all_proxy: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum NetMode {
    Unset = 0,
    Host = 1,
    None = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum SecurityMode {
    Sandbox = 0,
    Insecure = 1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum MountType {
    Bind = 0,
    Secret = 1,
    Ssh = 2,
    Cache = 3,
    Tmpfs = 4,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum CacheSharingOpt {
    Shared = 0,
    Private = 1,
    Locked = 2,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum MountContentCache {
    Default = 0,
    On = 1,
    Off = 2,
}

/// An exec mount. `input`/`output` use -1 for none (see [`EMPTY`]).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Mount {
    #[prost(int64, tag = "1")]
    pub input: i64,
    #[prost(string, tag = "2")]
    pub selector: String,
    #[prost(string, tag = "3")]
    pub dest: String,
    #[prost(int64, tag = "4")]
    pub output: i64,
    #[prost(bool, tag = "5")]
    pub readonly: bool,
    #[prost(enumeration = "MountType", tag = "6")]
    pub mount_type: i32,
    #[prost(message, optional, tag = "19")]
    pub tmpfs_opt: Option<TmpfsOpt>,
    #[prost(message, optional, tag = "20")]
    pub cache_opt: Option<CacheOpt>,
    #[prost(message, optional, tag = "21")]
    pub secret_opt: Option<SecretOpt>,
    #[prost(message, optional, tag = "22")]
    pub ssh_opt: Option<SshOpt>,
    #[prost(string, tag = "23")]
    pub result_id: String,
    #[prost(enumeration = "MountContentCache", tag = "24")]
    pub content_cache: i32,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TmpfsOpt {
    #[prost(int64, tag = "1")]
    pub size: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct CacheOpt {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(enumeration = "CacheSharingOpt", tag = "2")]
    pub sharing: i32,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SecretOpt {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(uint32, tag = "2")]
    pub uid: u32,
    #[prost(uint32, tag = "3")]
    pub gid: u32,
    #[prost(uint32, tag = "4")]
    pub mode: u32,
    #[prost(bool, tag = "5")]
    pub optional: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SshOpt {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(uint32, tag = "2")]
    pub uid: u32,
    #[prost(uint32, tag = "3")]
    pub gid: u32,
    #[prost(uint32, tag = "4")]
    pub mode: u32,
    #[prost(bool, tag = "5")]
    pub optional: bool,
}

// ---------------------------------------------------------------------------
// Source / build

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SourceOp {
    #[prost(string, tag = "1")]
    pub identifier: String,
    #[prost(btree_map = "string, string", tag = "2")]
    pub attrs: BTreeMap<String, String>,
}

/// Experimental nested build. `builder` -1 = the built-in LLB builder.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct BuildOp {
    #[prost(int64, tag = "1")]
    pub builder: i64,
    #[prost(btree_map = "string, message", tag = "2")]
    pub inputs: BTreeMap<String, BuildInput>,
    #[prost(message, optional, tag = "3")]
    pub def: Option<Definition>,
    #[prost(btree_map = "string, string", tag = "4")]
    pub attrs: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct BuildInput {
    #[prost(int64, tag = "1")]
    pub input: i64,
}

// ---------------------------------------------------------------------------
// FileOp

/// Actions are at tag 2; tag 1 is unused.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileOp {
    #[prost(message, repeated, tag = "2")]
    pub actions: Vec<FileAction>,
}

/// `input`/`secondary_input` index `Op.inputs` (or, at `len(inputs)+i`, the
/// result of action i); -1 = scratch/none. `output` -1 = intermediate.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileAction {
    #[prost(int64, tag = "1")]
    pub input: i64,
    #[prost(int64, tag = "2")]
    pub secondary_input: i64,
    #[prost(int64, tag = "3")]
    pub output: i64,
    #[prost(oneof = "file_action::Action", tags = "4, 5, 6, 7, 8")]
    pub action: Option<file_action::Action>,
}

pub mod file_action {
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Action {
        #[prost(message, tag = "4")]
        Copy(super::FileActionCopy),
        #[prost(message, tag = "5")]
        Mkfile(super::FileActionMkFile),
        #[prost(message, tag = "6")]
        Mkdir(super::FileActionMkDir),
        #[prost(message, tag = "7")]
        Rm(super::FileActionRm),
        #[prost(message, tag = "8")]
        Symlink(super::FileActionSymlink),
    }
}

/// `mode` -1 keeps source modes (0 would chmod to 0000); `timestamp` -1 = none
/// (0 would be the epoch).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileActionCopy {
    #[prost(string, tag = "1")]
    pub src: String,
    #[prost(string, tag = "2")]
    pub dest: String,
    #[prost(message, optional, tag = "3")]
    pub owner: Option<ChownOpt>,
    #[prost(int32, tag = "4")]
    pub mode: i32,
    #[prost(bool, tag = "5")]
    pub follow_symlink: bool,
    #[prost(bool, tag = "6")]
    pub dir_copy_contents: bool,
    #[prost(bool, tag = "7")]
    pub attempt_unpack_docker_compatibility: bool,
    #[prost(bool, tag = "8")]
    pub create_dest_path: bool,
    #[prost(bool, tag = "9")]
    pub allow_wildcard: bool,
    #[prost(bool, tag = "10")]
    pub allow_empty_wildcard: bool,
    #[prost(int64, tag = "11")]
    pub timestamp: i64,
    #[prost(string, repeated, tag = "12")]
    pub include_patterns: Vec<String>,
    #[prost(string, repeated, tag = "13")]
    pub exclude_patterns: Vec<String>,
    #[prost(bool, tag = "14")]
    pub always_replace_existing_dest_paths: bool,
    #[prost(string, tag = "15")]
    pub mode_str: String,
    #[prost(string, repeated, tag = "16")]
    pub required_paths: Vec<String>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileActionMkFile {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(int32, tag = "2")]
    pub mode: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub data: Vec<u8>,
    #[prost(message, optional, tag = "4")]
    pub owner: Option<ChownOpt>,
    #[prost(int64, tag = "5")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileActionMkDir {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(int32, tag = "2")]
    pub mode: i32,
    #[prost(bool, tag = "3")]
    pub make_parents: bool,
    #[prost(message, optional, tag = "4")]
    pub owner: Option<ChownOpt>,
    #[prost(int64, tag = "5")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileActionRm {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(bool, tag = "2")]
    pub allow_not_found: bool,
    #[prost(bool, tag = "3")]
    pub allow_wildcard: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct FileActionSymlink {
    /// The link target.
    #[prost(string, tag = "1")]
    pub oldpath: String,
    /// Where the link is created.
    #[prost(string, tag = "2")]
    pub newpath: String,
    #[prost(message, optional, tag = "3")]
    pub owner: Option<ChownOpt>,
    #[prost(int64, tag = "4")]
    pub timestamp: i64,
}

/// Aliases with the names used in the brief / Go client.
pub type MkFile = FileActionMkFile;
pub type MkDir = FileActionMkDir;
pub type Rm = FileActionRm;
pub type Symlink = FileActionSymlink;

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ChownOpt {
    #[prost(message, optional, tag = "1")]
    pub user: Option<UserOpt>,
    #[prost(message, optional, tag = "2")]
    pub group: Option<UserOpt>,
}

/// A set oneof member is always written, so `ById(0)` encodes as `10 00`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct UserOpt {
    #[prost(oneof = "user_opt::User", tags = "1, 2")]
    pub user: Option<user_opt::User>,
}

pub mod user_opt {
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum User {
        #[prost(message, tag = "1")]
        ByName(super::NamedUserOpt),
        #[prost(uint32, tag = "2")]
        ById(u32),
    }
}

/// `input`: which input's /etc/passwd and /etc/group resolve the name (>= 0).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct NamedUserOpt {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(int64, tag = "2")]
    pub input: i64,
}

// ---------------------------------------------------------------------------
// Merge / diff

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct MergeInput {
    #[prost(int64, tag = "1")]
    pub input: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct MergeOp {
    #[prost(message, repeated, tag = "1")]
    pub inputs: Vec<MergeInput>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct LowerDiffInput {
    #[prost(int64, tag = "1")]
    pub input: i64,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct UpperDiffInput {
    #[prost(int64, tag = "1")]
    pub input: i64,
}

/// Both sides must be present; -1 = scratch.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct DiffOp {
    #[prost(message, optional, tag = "1")]
    pub lower: Option<LowerDiffInput>,
    #[prost(message, optional, tag = "2")]
    pub upper: Option<UpperDiffInput>,
}

// ---------------------------------------------------------------------------
// Definition and metadata

/// `def`: marshaled ops, return op last. `metadata` and `source.locations` are
/// keyed by `sha256:<hex>` of the exact `def` bytes.
///
/// [`prost::Message`] is implemented by hand with prost's exact bytes, so
/// that each nested map value's length is computed once per encode (the
/// derive recomputes it at every nesting level: with 10k ops that was
/// most of the encoding time). `encode_to_vec` sizes the buffer from the
/// same pass.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct Definition {
    /// 1
    pub def: Vec<Vec<u8>>,
    /// 2
    pub metadata: BTreeMap<String, OpMetadata>,
    /// 3
    pub source: Option<Source>,
}

/// Lengths of a Definition's nested messages, computed once.
struct DefLens {
    metadata: Vec<usize>,
    locations: Vec<usize>,
    /// Encoded length of `source` (body only).
    source: usize,
    total: usize,
}

/// Length of a `map<string, message>` entry's body (prost skips a default
/// key or value).
fn map_entry_len(key: &str, val_len: usize, val_is_default: bool) -> usize {
    let k = if key.is_empty() {
        0
    } else {
        1 + encoding::encoded_len_varint(key.len() as u64) + key.len()
    };
    let v = if val_is_default {
        0
    } else {
        1 + encoding::encoded_len_varint(val_len as u64) + val_len
    };
    k + v
}

fn encode_map_entry<M: prost::Message + Default + PartialEq>(
    tag: u32,
    key: &str,
    val: &M,
    val_len: usize,
    buf: &mut impl BufMut,
) {
    let is_default = *val == M::default();
    encoding::encode_key(tag, WireType::LengthDelimited, buf);
    encoding::encode_varint(map_entry_len(key, val_len, is_default) as u64, buf);
    if !key.is_empty() {
        encoding::encode_key(1, WireType::LengthDelimited, buf);
        encoding::encode_varint(key.len() as u64, buf);
        buf.put_slice(key.as_bytes());
    }
    if !is_default {
        encoding::encode_key(2, WireType::LengthDelimited, buf);
        encoding::encode_varint(val_len as u64, buf);
        val.encode_raw(buf);
    }
}

impl Definition {
    fn lens(&self) -> DefLens {
        let mut total = 0;
        for d in &self.def {
            total += 1 + encoding::encoded_len_varint(d.len() as u64) + d.len();
        }
        let mut metadata = Vec::with_capacity(self.metadata.len());
        for (k, v) in &self.metadata {
            let l = v.encoded_len();
            metadata.push(l);
            let e = map_entry_len(k, l, *v == OpMetadata::default());
            total += 1 + encoding::encoded_len_varint(e as u64) + e;
        }
        let mut locations = Vec::new();
        let mut source = 0;
        if let Some(s) = &self.source {
            locations.reserve(s.locations.len());
            for (k, v) in &s.locations {
                let l = v.encoded_len();
                locations.push(l);
                let e = map_entry_len(k, l, *v == Locations::default());
                source += 1 + encoding::encoded_len_varint(e as u64) + e;
            }
            source += encoding::message::encoded_len_repeated(2, &s.infos);
            total += 1 + encoding::encoded_len_varint(source as u64) + source;
        }
        DefLens {
            metadata,
            locations,
            source,
            total,
        }
    }

    fn write(&self, l: &DefLens, buf: &mut impl BufMut) {
        for d in &self.def {
            encoding::encode_key(1, WireType::LengthDelimited, buf);
            encoding::encode_varint(d.len() as u64, buf);
            buf.put_slice(d);
        }
        for ((k, v), len) in self.metadata.iter().zip(&l.metadata) {
            encode_map_entry(2, k, v, *len, buf);
        }
        if let Some(s) = &self.source {
            encoding::encode_key(3, WireType::LengthDelimited, buf);
            encoding::encode_varint(l.source as u64, buf);
            for ((k, v), len) in s.locations.iter().zip(&l.locations) {
                encode_map_entry(1, k, v, *len, buf);
            }
            for info in &s.infos {
                encoding::message::encode(2, info, buf);
            }
        }
    }
}

impl prost::Message for Definition {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        let l = self.lens();
        self.write(&l, buf);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let r = match tag {
            1 => encoding::bytes::merge_repeated(wire_type, &mut self.def, buf, ctx)
                .map_err(|e| (e, "def")),
            2 => encoding::check_wire_type(WireType::LengthDelimited, wire_type)
                .and_then(|()| {
                    encoding::btree_map::merge(
                        encoding::string::merge,
                        encoding::message::merge,
                        &mut self.metadata,
                        buf,
                        ctx,
                    )
                })
                .map_err(|e| (e, "metadata")),
            3 => encoding::message::merge(
                wire_type,
                self.source.get_or_insert_with(Default::default),
                buf,
                ctx,
            )
            .map_err(|e| (e, "source")),
            _ => return encoding::skip_field(wire_type, tag, buf, ctx),
        };
        r.map_err(|(mut e, field)| {
            e.push("Definition", field);
            e
        })
    }

    fn encoded_len(&self) -> usize {
        self.lens().total
    }

    fn clear(&mut self) {
        *self = Definition::default();
    }

    fn encode_to_vec(&self) -> Vec<u8> {
        let l = self.lens();
        let mut buf = Vec::with_capacity(l.total);
        self.write(&l, &mut buf);
        buf
    }
}

/// A `Definition` already in wire form, as `Graph::marshal` writes it. It is
/// sent as is inside requests (a message field and its bytes are the same
/// thing on the wire), so a large build is never held as a `Definition`
/// struct; [`EncodedDefinition::decode`] gives one back when needed (error
/// mapping, dumps, tests). Shared, not copied, when cloned: the Solve request
/// and the error mapping of its answer hold the same bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedDefinition(pub Arc<Vec<u8>>);

impl From<Vec<u8>> for EncodedDefinition {
    fn from(bytes: Vec<u8>) -> Self {
        EncodedDefinition(Arc::new(bytes))
    }
}

impl EncodedDefinition {
    /// The bytes, copied only if they are still shared.
    pub fn into_bytes(self) -> Vec<u8> {
        Arc::unwrap_or_clone(self.0)
    }
    pub fn decode(&self) -> Result<Definition, DecodeError> {
        <Definition as prost::Message>::decode(self.0.as_slice())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// True for the empty Definition (a scratch result: nothing to build).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&Definition> for EncodedDefinition {
    fn from(d: &Definition) -> Self {
        EncodedDefinition::from(prost::Message::encode_to_vec(d))
    }
}

impl prost::Message for EncodedDefinition {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    /// Decoding keeps each field's payload as it came (key and length
    /// re-encoded), so a decoded request re-encodes identically.
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        // Unshared while it is being decoded: no copy.
        let out = Arc::make_mut(&mut self.0);
        match wire_type {
            WireType::Varint => {
                let v = encoding::decode_varint(buf)?;
                encoding::encode_key(tag, wire_type, out);
                encoding::encode_varint(v, out);
            }
            WireType::SixtyFourBit => {
                let mut v = 0u64;
                encoding::fixed64::merge(wire_type, &mut v, buf, ctx)?;
                encoding::encode_key(tag, wire_type, out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            WireType::ThirtyTwoBit => {
                let mut v = 0u32;
                encoding::fixed32::merge(wire_type, &mut v, buf, ctx)?;
                encoding::encode_key(tag, wire_type, out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            WireType::LengthDelimited => {
                let mut v: Vec<u8> = Vec::new();
                encoding::bytes::merge(wire_type, &mut v, buf, ctx)?;
                encoding::bytes::encode(tag, &v, out);
            }
            // Groups never occur in LLB: reject them as a wire-type error.
            WireType::StartGroup | WireType::EndGroup => {
                encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
            }
        }
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        *self = EncodedDefinition::default();
    }
}

/// Tag 3 is reserved (old worker constraint): never used here.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct OpMetadata {
    #[prost(bool, tag = "1")]
    pub ignore_cache: bool,
    #[prost(btree_map = "string, string", tag = "2")]
    pub description: BTreeMap<String, String>,
    #[prost(message, optional, tag = "4")]
    pub export_cache: Option<ExportCache>,
    #[prost(btree_map = "string, bool", tag = "5")]
    pub caps: BTreeMap<String, bool>,
    #[prost(message, optional, tag = "6")]
    pub progress_group: Option<ProgressGroup>,
    #[prost(message, optional, tag = "7")]
    pub linux_resources: Option<LinuxResources>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ExportCache {
    #[prost(bool, tag = "1")]
    pub value: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ProgressGroup {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(bool, tag = "3")]
    pub weak: bool,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct LinuxResources {
    #[prost(int64, tag = "1")]
    pub memory: i64,
    #[prost(int64, tag = "2")]
    pub memory_swap: i64,
    #[prost(uint64, tag = "3")]
    pub cpu_shares: u64,
    #[prost(uint64, tag = "4")]
    pub cpu_period: u64,
    #[prost(int64, tag = "5")]
    pub cpu_quota: i64,
    #[prost(string, tag = "6")]
    pub cpuset_cpus: String,
    #[prost(string, tag = "7")]
    pub cpuset_mems: String,
}

// ---------------------------------------------------------------------------
// Source maps

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Source {
    #[prost(btree_map = "string, message", tag = "1")]
    pub locations: BTreeMap<String, Locations>,
    #[prost(message, repeated, tag = "2")]
    pub infos: Vec<SourceInfo>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Locations {
    #[prost(message, repeated, tag = "1")]
    pub locations: Vec<Location>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SourceInfo {
    #[prost(string, tag = "1")]
    pub filename: String,
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
    #[prost(message, optional, tag = "3")]
    pub definition: Option<Definition>,
    #[prost(string, tag = "4")]
    pub language: String,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Location {
    #[prost(int32, tag = "1")]
    pub source_index: i32,
    #[prost(message, repeated, tag = "2")]
    pub ranges: Vec<Range>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Range {
    #[prost(message, optional, tag = "1")]
    pub start: Option<Position>,
    #[prost(message, optional, tag = "2")]
    pub end: Option<Position>,
}

/// Lines are 1-based.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Position {
    #[prost(int32, tag = "1")]
    pub line: i32,
    #[prost(int32, tag = "2")]
    pub character: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn image_op() -> Op {
        Op {
            inputs: vec![],
            op: Some(op::Op::Source(SourceOp {
                identifier: "docker-image://docker.io/library/alpine:latest".into(),
                attrs: BTreeMap::new(),
            })),
            platform: Some(Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..Default::default()
            }),
            constraints: Some(WorkerConstraints::default()),
        }
    }

    #[test]
    fn op_encodes_in_go_order_and_decodes_any_order() {
        let op = image_op();
        let bytes = op.encode_to_vec();
        let id = hex(b"docker-image://docker.io/library/alpine:latest");
        assert_eq!(
            hex(&bytes),
            format!("520e0a05616d64363412056c696e75785a001a300a2e{id}")
        );
        assert_eq!(bytes.len(), op.encoded_len());
        assert_eq!(Op::decode(bytes.as_slice()).unwrap(), op);
        // prost/gogo field-number order decodes to the same message.
        let prost_order = hex_decode(&format!("1a300a2e{id}520e0a05616d64363412056c696e75785a00"));
        assert_eq!(Op::decode(prost_order.as_slice()).unwrap(), op);
    }

    #[test]
    fn user_opt_by_id_zero_is_written() {
        let c = ChownOpt {
            user: Some(UserOpt {
                user: Some(user_opt::User::ById(0)),
            }),
            group: None,
        };
        assert_eq!(hex(&c.encode_to_vec()), "0a021000");
    }

    #[test]
    fn minus_one_is_ten_bytes() {
        let m = Mount {
            input: -1,
            ..Default::default()
        };
        assert_eq!(hex(&m.encode_to_vec()), "08ffffffffffffffffff01");
    }

    #[test]
    fn encoded_definition_is_the_message_field_and_survives_a_decode() {
        let def = Definition {
            def: vec![image_op().encode_to_vec(), vec![0x0a, 0x01, 0x41]],
            metadata: [(
                "sha256:ab".to_string(),
                OpMetadata {
                    ignore_cache: true,
                    caps: [("source.image".to_string(), true)].into_iter().collect(),
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            source: None,
        };
        let enc = EncodedDefinition::from(&def);
        assert_eq!(enc.decode().unwrap(), def);
        // Inside a request, the bytes are exactly what a nested Definition gives.
        let req = crate::gateway::SolveRequest {
            definition: Some(enc.clone()),
            frontend: "x".into(),
            evaluate: true,
            ..Default::default()
        };
        let wire = req.encode_to_vec();
        let mut nested = Vec::new();
        prost::encoding::message::encode(1, &def, &mut nested);
        assert!(wire.starts_with(&nested));
        let back = crate::gateway::SolveRequest::decode(wire.as_slice()).unwrap();
        assert_eq!(back.definition.as_ref(), Some(&enc));
        assert_eq!(back.encode_to_vec(), wire);
        // A varint and fixed-width fields keep their payloads too.
        let mut odd = Vec::new();
        prost::encoding::uint64::encode(7, &300, &mut odd);
        prost::encoding::fixed64::encode(8, &5, &mut odd);
        prost::encoding::fixed32::encode(9, &6, &mut odd);
        let mut e = EncodedDefinition::default();
        e.merge(odd.as_slice()).unwrap();
        assert_eq!(*e.0, odd);
        // A group is rejected, not silently dropped.
        assert!(EncodedDefinition::default().merge(&[0x0b][..]).is_err());
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
