//! Slipway's LLB graph builder: the compiler describes a build as a [`Graph`]
//! of ops and calls [`Graph::marshal`] to get a `pb::Definition` whose bytes,
//! digests and caps are what BuildKit expects (see `llb-wire.md`).
//!
//! Pure: no I/O, no tokio, no HashMap in any output path, so the same graph
//! always gives the same bytes (BuildKit's cache depends on it).
//!
//! Module map:
//! - [`graph`]: `Graph`, `NodeId`, `Output`, `State`, per-op `OpMeta`; merge/diff.
//! - [`source`]: image / local / git / http source constructors and options.
//! - [`exec`]: exec ops, mounts (sorted as the Go client does), `ExecResult`.
//! - [`file`]: `FileOpBuilder` (copy/mkfile/mkdir/rm/symlink chains).
//! - [`caps`]: the caps each op needs, derived from the encoded op itself.
//! - [`marshal`]: reachable ops in node order, digest dedup, metadata, source maps, caps check.
//! - [`reference`]: docker image reference and platform normalization.
//! - [`verify`]: structural checks on a Definition (for golden tests).
//! - [`dump`]: deterministic JSON dump, like `buildctl debug dump-llb`.

//! ```
//! use slipway_llb::*;
//!
//! let mut g = Graph::new();
//! let platform = normalize_platform("linux", "x86_64", "");
//! let img = normalize_image_ref("rust:1.88").unwrap();
//! let base = g.image(&img, Some(platform.clone()), ImageAttrs::default(), OpMeta::named("rust"));
//! let ctx = g.local("context", LocalOpts { session_id: Some("sess".into()), ..Default::default() },
//!                   OpMeta::named("[internal] load context"));
//!
//! // Copy the context into the image, then build with a cache mount.
//! let src = g.file(
//!     FileOpBuilder::new(Some(base)).copy(Some(ctx), Copy::new("/", "/src/")),
//!     OpMeta::named("COPY . /src").with_range(SourceRange::lines(4, 4)),
//! );
//! let mut run = Exec::shell(src, "cargo build --release");
//! run.cwd = "/src".into();
//! run.set_env("CARGO_HOME", "/cargo");
//! run.platform = Some(platform);
//! run.mounts.push(Mount::cache("/cargo", "cargo-home", pb::CacheSharingOpt::Locked));
//! let built = g.exec(run, OpMeta::named("RUN cargo build").with_range(SourceRange::lines(5, 6)));
//!
//! let spec = SourceInfoInput { filename: "slipway.yaml", data: b"...", language: "YAML" };
//! let def = g.marshal(built.root(), Some(spec), None).unwrap().decode().unwrap();
//! verify(&def).unwrap();
//! assert_eq!(def.def.len(), 5); // image, local, file, exec, return op
//! ```

pub mod caps;
pub mod dump;
mod encode;
pub mod exec;
pub mod file;
mod foreign;
pub mod graph;
pub mod marshal;
mod optable;
pub mod reference;
pub mod source;
pub mod verify;

pub use slipway_proto::pb;

pub use dump::dump_json;
pub use exec::{
    BindMount, CacheMount, Exec, ExecResult, Mount, SecretEnv, SecretMount, SshMount, TmpfsMount,
    Ulimit,
};
pub use file::{Chown, Copy, FileOpBuilder, MkDir, MkFile, Rm, Symlink, UserRef};
pub use foreign::ForeignError;
pub use graph::{Graph, NodeId, OpMeta, Output, SourceRange, State};
pub use marshal::{LlbError, SourceInfoInput};
pub use reference::{normalize_image_ref, normalize_platform, RefError};
pub use source::{GitOpts, HttpOpts, ImageAttrs, LocalOpts};
pub use verify::verify;

use sha2::{Digest, Sha256};

/// `sha256:` + lowercase hex of SHA-256 over `bytes`: the digest BuildKit
/// (go-digest `FromBytes`) uses for ops in `Definition.def`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
