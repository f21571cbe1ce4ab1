//! The evaluated plan: what the compiler consumes.
//!
//! A `Plan` is the spec after parsing, validation and interpolation of every
//! `${NAME}` (except inside `run` commands, which reach the shell unchanged).
//! Every piece keeps the `Span` of the YAML it came from, so the compiler can
//! emit source-map locations and point its own errors at the right line.
//!
//! Invariants the spec crate guarantees for a `Plan` it returns:
//! - stage names are unique, non-empty, and not `scratch` or `context`;
//! - every `Base::Stage`/`From::Stage` names an existing stage, and the
//!   stage graph (from / copy.from / bind.from / cache.from) has no cycle;
//! - `default` and every group member name an existing stage or group;
//! - every step has exactly one verb; paths are non-empty;
//! - maps that reach LLB are ordered (Vec of pairs in file order, or BTreeMap).
//!
//! `from` strings of copy/bind/cache that are not stage names stay raw
//! (`From::Other`): whether they are the build context, a named context
//! (`--build-context` / `context:NAME` option) or an image reference depends on
//! the frontend's options, so the compiler decides.

use std::collections::BTreeMap;

use crate::diag::Span;

/// A value together with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// File name as given to `parse` (e.g. `slipway.yaml`).
    pub filename: String,
    /// The whole file text (goes into the LLB source map).
    pub source: String,
    /// Global args after `--build-arg` overrides, in file order. Includes only
    /// args declared in the file (undeclared build-args are ignored, as docker does,
    /// except that they are reported in `unused_build_args`).
    pub args: Vec<(String, String)>,
    /// `--build-arg`s that no `args:` block declares (docker warns about these).
    pub unused_build_args: Vec<String>,
    /// `default:` if given.
    pub default: Option<Spanned<String>>,
    /// Groups in file order.
    pub groups: Vec<Group>,
    /// Stages in file order.
    pub stages: Vec<Stage>,
    /// The `lint:` settings (which lint rules are off).
    pub lint: LintConfig,
}

/// `lint: {disable: [rule-id, …]}`: every id is a known rule (checked).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LintConfig {
    pub disable: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: Spanned<String>,
    /// Member names (stages or groups), in the order written.
    pub members: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: Spanned<String>,
    /// Span of the whole stage mapping.
    pub span: Span,
    pub from: Spanned<Base>,
    /// `platform:` after interpolation, parsed.
    pub platform: Option<Spanned<Platform>>,
    /// Stage args (after overrides and interpolation), in file order. Together
    /// with the global args they are the environment `run` steps see.
    pub args: Vec<(String, String)>,
    /// Stage `env`, interpolated, in file order.
    pub env: Vec<(String, String)>,
    pub workdir: Option<Spanned<String>>,
    /// Shell for string-form `run`; None means inherit (default `/bin/sh -c`).
    pub shell: Option<Vec<String>>,
    pub steps: Vec<Step>,
    pub image: ImageSpec,
    pub description: Option<String>,
    /// `output:` paths as written (relative ones are under the stage's
    /// workdir): when the stage is built as a target, its result is only
    /// these paths on an empty base. Empty: the whole filesystem.
    pub output: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// Another stage of this file (stage names win over images).
    Stage(String),
    /// An image reference exactly as written after interpolation (not normalized).
    Image(String),
}

/// An OCI platform. `os`/`architecture` are lower-case and normalized
/// (`x86_64`→`amd64`, `aarch64`→`arm64`, `arm`→`arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Span of the whole step mapping (all its lines).
    pub span: Span,
    /// Span of the verb key and its value (the line shown in messages).
    pub verb_span: Span,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Run(Run),
    Copy(Copy),
    Add(Add),
    File(FileStep),
    Mkdir(Mkdir),
    Link(Link),
    Remove(Remove),
}

impl StepKind {
    /// The verb as written in YAML (`run`, `copy`, …).
    pub fn verb(&self) -> &'static str {
        match self {
            StepKind::Run(_) => "run",
            StepKind::Copy(_) => "copy",
            StepKind::Add(_) => "add",
            StepKind::File(_) => "file",
            StepKind::Mkdir(_) => "mkdir",
            StepKind::Link(_) => "link",
            StepKind::Remove(_) => "remove",
        }
    }
}

/// Shell form (`run: make`) or exec form (`run: [make, all]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

/// Where a copy/bind/cache reads from, when it is not the stage's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// Another stage of this file.
    Stage(String),
    /// Anything else, interpolated but otherwise raw: `context`, a named
    /// context, or an image reference. The compiler resolves it.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Not interpolated: run commands see args as environment variables.
    pub command: Command,
    pub cache: Vec<CacheMount>,
    pub secrets: Vec<SecretMount>,
    pub ssh: Vec<SshMount>,
    pub tmpfs: Vec<TmpfsMount>,
    pub binds: Vec<BindMount>,
    /// Step env, interpolated, in file order.
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub network: Option<Network>,
    pub security: Option<Security>,
    pub no_cache: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CacheMount {
    pub target: String,
    /// None: derived from the target path by the compiler.
    pub id: Option<String>,
    pub sharing: Sharing,
    pub from: Option<From>,
    pub source: Option<String>,
    /// Permission bits (e.g. 0o755).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecretMount {
    pub id: String,
    /// Mount path; None and `env: None` means `/run/secrets/<id>`.
    pub target: Option<String>,
    /// Expose as this environment variable instead of (or as well as, when
    /// target is also set) a file.
    pub env: Option<String>,
    pub required: bool,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SshMount {
    /// `default` unless given.
    pub id: String,
    pub target: Option<String>,
    pub required: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TmpfsMount {
    pub target: String,
    /// Bytes.
    pub size: Option<u64>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BindMount {
    /// None: the build context.
    pub from: Option<From>,
    /// Path inside the source; default `/`.
    pub source: Option<String>,
    pub target: String,
    pub rw: bool,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Sandbox,
    Insecure,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// One or more sources (paths or globs), interpolated.
    pub sources: Vec<Spanned<String>>,
    /// None: the build context.
    pub from: Option<Spanned<From>>,
    /// None: the workdir.
    pub to: Option<String>,
    /// `user`, `user:group`, `uid:gid`.
    pub chown: Option<String>,
    /// Octal bits (`"0755"`) or symbolic (`u+x`), as written.
    pub chmod: Option<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub link: bool,
    pub parents: bool,
    pub follow_symlinks: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Add {
    /// An http(s) URL or a git URL (`git@…`, `https://….git`, `git://…`).
    pub source: Spanned<String>,
    pub kind: AddKind,
    /// `sha256:…` for http sources.
    pub checksum: Option<String>,
    /// Git ref (branch, tag or commit) for git sources.
    pub git_ref: Option<String>,
    pub keep_git_dir: bool,
    pub to: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddKind {
    Http,
    Git,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileStep {
    pub path: String,
    /// Not interpolated? It IS interpolated (it is not a run command); `$$` gives `$`.
    pub content: String,
    pub mode: Option<u32>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mkdir {
    pub path: String,
    pub mode: Option<u32>,
    pub owner: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// Where the symlink is created.
    pub path: String,
    /// What it points at.
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Remove {
    pub paths: Vec<String>,
}

/// Runtime config of the produced image (`image:` of a stage).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageSpec {
    pub user: Option<String>,
    pub entrypoint: Option<Command>,
    pub cmd: Option<Command>,
    /// Normalized `8080/tcp`, `9090/udp`.
    pub expose: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub volumes: Vec<String>,
    pub healthcheck: Option<Healthcheck>,
    pub stop_signal: Option<String>,
    /// Runtime-only env additions, in file order.
    pub env: Vec<(String, String)>,
    /// Workdir for the image only (if given under image:). None: stage workdir.
    pub workdir: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Healthcheck {
    /// `test: none`: disable the base image's healthcheck.
    None,
    Check {
        /// Docker form: `["CMD", …]` or `["CMD-SHELL", "…"]`.
        test: Vec<String>,
        interval_ns: Option<u64>,
        timeout_ns: Option<u64>,
        start_period_ns: Option<u64>,
        retries: Option<u32>,
    },
}
