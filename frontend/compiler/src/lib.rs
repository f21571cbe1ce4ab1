//! The compiler: a validated [`slipway_spec::Plan`] plus build options →
//! an LLB `pb::Definition` and the OCI image config of the result.
//!
//! Pure: no I/O, no tokio. Everything that needs BuildKit (reading the spec,
//! resolving base images' configs, the server's caps) is passed in through
//! [`CompileOptions`], so the same code runs in `slipway compile` (offline,
//! with assumed image configs) and in the frontend (with resolved ones).

use std::collections::{BTreeMap, BTreeSet};

mod caps;
mod context;
mod env;
pub mod graph;
pub mod imageconfig;
mod images;
pub mod listing;
mod lower;
mod output;
pub mod paths;
pub mod remote;
pub mod targets;
pub mod timestamps;

use slipway_spec::{Diagnostic, Diagnostics, Plan, Span};

pub use images::{base_env, images_to_resolve, unresolvable_image, ImageRequest};
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
    /// `input:NAME`: a frontend input (another build's result, e.g. buildx
    /// bake's `target:NAME` contexts), already decoded.
    Input(InputContext),
    /// A git or http(s) URL.
    Url(String),
    /// `oci-layout://STORE[:TAG]@DIGEST`: an image in an OCI layout the
    /// client's session exposes as content store STORE, already resolved.
    OciLayout(OciLayoutContext),
    /// The main build context from a URL (`context=URL`): a git repository or
    /// an HTTP(S) tarball, unpacked ([`remote::remote_context`]).
    Remote(String),
}

/// An `input:NAME` named context.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputContext {
    /// The input's Definition: its ops join the build as they are.
    pub definition: slipway_proto::pb::Definition,
    /// Its image config JSON (`containerimage.config` of the client's
    /// `input-metadata:NAME`), empty when the client sent none.
    pub config: Vec<u8>,
}

/// A resolved `oci-layout://` named context.
#[derive(Debug, Clone, PartialEq)]
pub struct OciLayoutContext {
    /// The source's reference: normalized, with the digest
    /// (`docker.io/library/NAME@sha256:…`, NAME being the context's name).
    pub reference: String,
    /// The client's content store id and session.
    pub store: String,
    pub session: String,
    /// The image config JSON, as ResolveImageConfig returned it.
    pub config: Vec<u8>,
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
    /// Platform of the build machine (for `$BUILDPLATFORM` in run steps);
    /// None: linux/amd64.
    pub build_platform: Option<Platform>,
    /// When the image is made, RFC 3339 (see [`timestamps`]): its `created`
    /// and the time of each history entry Slipway adds. The driver passes
    /// `SOURCE_DATE_EPOCH` or the build's start; None (offline): left out.
    pub created: Option<String>,
    /// The build's `SOURCE_DATE_EPOCH` ([`timestamps::epoch`]): a predefined
    /// arg for `run` commands that name it. None: not set (never the clock).
    pub source_date_epoch: Option<u64>,
}

/// The result of a compilation.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The LLB in wire form, ready to go into a SolveRequest or to be
    /// written out (`.decode()` gives the `pb::Definition`).
    pub definition: slipway_proto::pb::EncodedDefinition,
    /// The LLB graph the Definitions were marshaled from (for views of the
    /// build such as an outline). Handed out rather than freed here:
    /// freeing its ~30 allocations per op took ~10 ms per 10,000 ops, which
    /// the frontend would otherwise spend before sending its Solve (the CLI
    /// exits without freeing).
    pub graph: slipway_llb::Graph,
    /// OCI image config JSON (with Docker's extensions such as Healthcheck)
    /// for the target's result, with one history entry per step.
    pub image_config: Vec<u8>,
    /// For a group target: the other members' results, which must be built
    /// too (the driver solves them concurrently with `evaluate`). The group's
    /// image is its last member, which is `definition`.
    pub also_build: Vec<(String, slipway_proto::pb::EncodedDefinition)>,
    /// Stages that were compiled (the target and what it depends on), in
    /// file order.
    pub stages: Vec<String>,
    /// Non-fatal findings (e.g. a feature degraded for an old daemon), located.
    pub warnings: Vec<Diagnostic>,
}

/// Check that `target` names a stage or group of the plan.
pub fn check_target(plan: &Plan, target: &str) -> Result<(), Diagnostics> {
    targets::resolve_target(plan, Some(target))
        .map(|_| ())
        .map_err(|d| diagnostics(plan, vec![d]))
}

/// Compile the selected target of `plan` into LLB and an image config.
pub fn compile(
    plan: &Plan,
    opts: &CompileOptions,
    target_platform: &Platform,
) -> Result<Compiled, Diagnostics> {
    let roots = targets::resolve_target(plan, opts.target.as_deref())
        .map_err(|d| diagnostics(plan, vec![d]))?;
    let idx = targets::index(plan);
    let (stages, deps) = targets::closure_with_deps(plan, &idx, &roots);
    let mut low = lower::Lowering::new(plan, opts, target_platform, &stages, &roots, idx);
    // Dependencies first, so lowering never recurses deeply.
    for i in targets::topo_order(&deps, &stages) {
        low.ensure(i);
    }
    // A target with `output:` yields only those paths, on an empty base.
    let results: Vec<lower::StageResult> = roots
        .iter()
        .map(|&i| {
            let r = low.stage(i);
            low.output_result(&plan.stages[i], r)
        })
        .collect();
    if !low.errors.is_empty() {
        return Err(diagnostics(plan, std::mem::take(&mut low.errors)));
    }
    let source = || {
        Some(slipway_llb::SourceInfoInput {
            filename: &plan.filename,
            data: plan.source.as_bytes(),
            language: "YAML",
        })
    };
    let marshal = |low: &lower::Lowering, fs| {
        low.graph
            .marshal(fs, source(), opts.llb_caps.as_ref())
            .map_err(|e| diagnostics(plan, vec![llb_error(plan, e)]))
    };
    // The image is the last root's; other group members are built alongside.
    let last = results
        .last()
        .cloned()
        .ok_or_else(|| diagnostics(plan, vec![]))?;
    // A single target's Definition takes the op table's bytes over (no
    // copy); a group's members share the table, so each gets a copy.
    let definition = if roots.len() == 1 {
        low.graph
            .marshal_owned(last.fs, source(), opts.llb_caps.as_ref())
            .map_err(|e| diagnostics(plan, vec![llb_error(plan, e)]))?
    } else {
        marshal(&low, last.fs)?
    };
    let mut also_build = Vec::new();
    for (k, r) in roots.iter().zip(&results).take(roots.len() - 1) {
        also_build.push((plan.stages[*k].name.value.clone(), marshal(&low, r.fs)?));
    }
    let mut image = last.image;
    for (k, v) in &opts.labels {
        image
            .config
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(k.clone(), v.clone());
    }
    timestamps::stamp(&mut image, opts.created.as_deref());
    let warnings = std::mem::take(&mut low.warnings);
    Ok(Compiled {
        definition,
        graph: std::mem::take(&mut low.graph),
        image_config: image.to_json(),
        also_build,
        stages: stages
            .iter()
            .map(|&i| plan.stages[i].name.value.clone())
            .collect(),
        warnings,
    })
}

fn llb_error(plan: &Plan, e: slipway_llb::LlbError) -> Diagnostic {
    use slipway_llb::LlbError;
    // A missing daemon feature: named in the spec's words, at its step.
    if let LlbError::UnsupportedCap { cap, op, line } = &e {
        return caps::unsupported(plan, cap, op, line.unwrap_or(0));
    }
    let (line, help) = match &e {
        LlbError::UnsupportedCap { line, .. } => (
            *line,
            "the daemon lacks a feature this build uses: upgrade BuildKit/Docker, or avoid the feature",
        ),
        LlbError::Invalid { line, .. } => (
            *line,
            "this step cannot be expressed for the daemon: change the step as the message says",
        ),
    };
    let span = line.map_or(Span::default(), |l| line_span(&plan.source, l));
    Diagnostic::error("llb", span, e.to_string())
        .with_label("in this step")
        .with_help(help)
}

/// The span of 1-based line `line` of `source` (lines broken as YAML does:
/// `\n`, `\r\n`, lone `\r`); the file's end past its last line.
fn line_span(source: &str, line: u32) -> Span {
    let b = source.as_bytes();
    let (mut start, mut n) = (0usize, 1u32);
    let mut i = 0;
    while n < line && i < b.len() {
        if b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            n += 1;
            start = i + 1;
        }
        i += 1;
    }
    let end = b[start..]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map_or(b.len(), |k| start + k);
    let pos = |offset: usize, col: usize| slipway_spec::Pos {
        line: n,
        col: col as u32,
        offset: offset as u32,
    };
    Span::new(
        pos(start, 1),
        pos(end, source[start..end].chars().count() + 1),
    )
}

fn diagnostics(plan: &Plan, items: Vec<Diagnostic>) -> Diagnostics {
    Diagnostics {
        filename: plan.filename.clone(),
        source: plan.source.clone(),
        items,
    }
}

/// A generated spec of `stages` stages × 10 steps (context copies, runs with
/// cache mounts, cross-stage copies) whose last stage depends on every
/// other one. Used by the benchmark and the scale tests.
#[doc(hidden)]
pub fn generated_spec(stages: usize) -> String {
    let mut s = String::from(
        "# syntax=slipway:dev\nversion: 1\nargs:\n  BASE: debian:bookworm-slim\nstages:\n",
    );
    for i in 0..stages {
        s.push_str(&format!("  s{i}:\n    from: ${{BASE}}\n    workdir: /work/s{i}\n    env: {{STAGE: \"{i}\"}}\n    steps:\n"));
        s.push_str(&format!(
            "      - copy: [src/a{}.txt, src/b{}.txt]\n        to: ./in/\n",
            i % 50,
            i % 7
        ));
        s.push_str("      - run: make deps\n        cache: [/root/.cache/deps, /var/cache/apt]\n");
        s.push_str(&format!(
            "      - copy: src/c{}/\n        to: ./c/\n",
            i % 13
        ));
        s.push_str(&format!("      - run: make build STAGE=$STAGE\n        cache:\n          - target: /root/.cache/build\n            id: build-{}\n            sharing: locked\n", i % 4));
        if i > 0 {
            s.push_str(&format!(
                "      - copy: /work/s{}/out\n        from: s{}\n        to: ./prev/\n",
                i - 1,
                i - 1
            ));
            s.push_str(&format!(
                "      - copy: /work/s{}/out/lib.a\n        from: s{}\n        to: ./lib/\n",
                i / 2,
                i / 2
            ));
        } else {
            s.push_str("      - mkdir: prev\n      - mkdir: lib\n");
        }
        s.push_str("      - run: [make, test]\n        cache: /root/.cache/test\n");
        s.push_str(
            "      - copy: docs/readme.md\n        to: ./README.md\n        chmod: \"0644\"\n",
        );
        s.push_str("      - run: make install DESTDIR=out\n        env: {V: \"1\"}\n");
        s.push_str("      - remove: [/tmp/build]\n");
    }
    s
}
