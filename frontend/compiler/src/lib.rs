//! The compiler: a validated [`slipway_spec::Plan`] plus build options →
//! an LLB `pb::Definition` and the OCI image config of the result.
//!
//! Pure: no I/O, no tokio. Everything that needs BuildKit (reading the spec,
//! resolving base images' configs, the server's caps) is passed in through
//! [`CompileOptions`], so the same code runs in `slipway compile` (offline,
//! with assumed image configs) and in the frontend (with resolved ones).

use std::collections::{BTreeMap, BTreeSet};

pub use slipway_spec::Platform;

/// The config of a base image as BuildKit resolved it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedImage {
    /// Manifest digest (`sha256:…`) to pin the reference to; None when the
    /// daemon did not give one (Docker 20.10 for images only in its local store).
    pub digest: Option<String>,
    /// The image config JSON as returned by ResolveImageConfig.
    pub config: Vec<u8>,
}

/// What a `from:` that is not a stage of the file can refer to, beyond an
/// image: named contexts given by the client (`context:NAME=…` options).
#[derive(Debug, Clone, PartialEq)]
pub enum NamedContext {
    /// `docker-image://REF`
    Image(String),
    /// `local:NAME`: a directory the client session exposes under NAME.
    Local(String),
    /// `input:NAME`: a frontend input's Definition, already decoded.
    Input(slipway_proto::pb::Definition),
    /// A git or http(s) URL.
    Url(String),
}

/// `--no-cache`: off, all stages, or the named ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NoCache {
    #[default]
    Off,
    All,
    Stages(BTreeSet<String>),
}

#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// `--target`: a stage or a group. None: `default:`, else the last stage.
    pub target: Option<String>,
    /// `label:NAME=VALUE` options, added to the image's labels.
    pub labels: BTreeMap<String, String>,
    pub no_cache: NoCache,
    /// `BUILDKIT_SESSION_ID`, put into local sources.
    pub session_id: Option<String>,
    /// Exclude patterns from `.dockerignore` (already parsed, in file order).
    pub context_excludes: Vec<String>,
    /// Base image configs by reference exactly as written in the plan. An
    /// image missing here compiles with an assumed config (Docker's default
    /// PATH, root, `/`).
    pub images: BTreeMap<String, ResolvedImage>,
    /// `image-resolve-mode` option: `default`, `pull` or `local`.
    pub image_resolve_mode: Option<String>,
    /// Named contexts from `context:NAME` options.
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// LLB caps the server supports (from Ping). None: assume a current
    /// BuildKit with every cap Slipway may use.
    pub llb_caps: Option<BTreeSet<String>>,
    /// `force-network-mode`: `none`, `host` or `sandbox`.
    pub force_network_mode: Option<String>,
    /// `add-hosts`: (host, ip) pairs.
    pub extra_hosts: Vec<(String, String)>,
    /// `BUILDKIT_CACHE_MOUNT_NS` build arg: prefix for cache mount ids.
    pub cache_mount_ns: Option<String>,
}

/// The result of a compilation.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The LLB, ready to go into a SolveRequest (or to be written as bytes).
    pub definition: slipway_proto::pb::Definition,
    /// OCI image config JSON (with Docker's extensions such as Healthcheck)
    /// for the target's result, with one history entry per step.
    pub image_config: Vec<u8>,
    /// For a group target: the other members' results, which must be built
    /// too (the driver solves them concurrently with `evaluate`). The group's
    /// image is its last member, which is `definition`.
    pub also_build: Vec<(String, slipway_proto::pb::Definition)>,
    /// Stages that were compiled (the target and what it depends on), in
    /// file order.
    pub stages: Vec<String>,
    /// Non-fatal findings (e.g. a feature degraded for an old daemon).
    pub warnings: Vec<String>,
}

/// An image whose config the frontend should resolve before compiling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageRequest {
    /// The reference exactly as written in the plan (the key for
    /// [`CompileOptions::images`]).
    pub reference: String,
    pub platform: Platform,
}

/// The base images (stage `from:` images and images used as copy/bind
/// sources) that the selected target needs, deduplicated and sorted, so that
/// the frontend can resolve their configs concurrently before [`compile`].
pub fn images_to_resolve(
    plan: &slipway_spec::Plan,
    opts: &CompileOptions,
    target_platform: &Platform,
) -> Result<Vec<ImageRequest>, slipway_spec::Diagnostics> {
    let _ = (plan, opts, target_platform);
    todo!("being written")
}

/// Compile the selected target of `plan` into LLB and an image config.
pub fn compile(
    plan: &slipway_spec::Plan,
    opts: &CompileOptions,
    target_platform: &Platform,
) -> Result<Compiled, slipway_spec::Diagnostics> {
    let _ = (plan, opts, target_platform);
    todo!("being written")
}
