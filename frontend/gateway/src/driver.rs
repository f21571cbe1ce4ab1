//! The frontend's conversation with BuildKit: Ping, load the spec and
//! `.dockerignore`, resolve base images, compile, Solve, Return.
//!
//! Every failure becomes a `Return` with a non-zero code ([`serve`]); the
//! caller exits 0 right after.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use slipway_compiler::{
    CompileOptions, Compiled, ImageRequest, InputContext, NamedContext, ResolvedImage,
};
use slipway_proto::gateway as gw;
use slipway_proto::pb;
use slipway_spec::{BaseEnv, Diagnostics, EvalOptions, Loaded, Plan, Platform};

use crate::client::LlbBridge;
use crate::dockerignore;
use crate::errors::{self, FrontendError};
use crate::localsrc::{local_definition, LocalSource};
use crate::options::{platform_from_parts, FrontendOptions, NamedContextRef, OptionError, Worker};
use crate::{frontendcaps, subrequest, warnings};

/// The pure pieces the driver calls (the spec loader and the compiler).
/// A trait so that protocol tests can substitute them; each method is the
/// real thing by default, so a test double overrides only what it watches.
pub trait Pipeline: Send + Sync + 'static {
    fn load(
        &self,
        filename: &str,
        source: &str,
        opts: &EvalOptions,
    ) -> Result<Loaded, Diagnostics> {
        slipway_spec::load(filename, source, opts)
    }
    fn images_to_resolve(
        &self,
        plan: &Plan,
        opts: &CompileOptions,
        platform: &Platform,
    ) -> Result<Vec<ImageRequest>, Diagnostics> {
        slipway_compiler::images_to_resolve(plan, opts, platform)
    }
    fn compile(
        &self,
        plan: &Plan,
        opts: &CompileOptions,
        platform: &Platform,
    ) -> Result<Compiled, Diagnostics> {
        slipway_compiler::compile(plan, opts, platform)
    }
}

/// The real thing: slipway-spec and slipway-compiler.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slipway;

impl Pipeline for Slipway {}

/// What Ping told us.
#[derive(Debug, Clone, Default)]
pub struct ServerInfo {
    /// Enabled frontend API caps.
    pub frontend_caps: BTreeSet<String>,
    /// Enabled LLB caps.
    pub llb_caps: BTreeSet<String>,
    pub workers: Vec<Worker>,
}

impl ServerInfo {
    pub fn from_pong(p: &gw::PongResponse) -> Self {
        let enabled = |caps: &[slipway_proto::apicaps::ApiCap]| {
            caps.iter()
                .filter(|c| c.enabled)
                .map(|c| c.id.clone())
                .collect()
        };
        ServerInfo {
            frontend_caps: enabled(&p.frontend_api_caps),
            llb_caps: enabled(&p.llb_caps),
            workers: p
                .workers
                .iter()
                .map(|w| Worker {
                    id: w.id.clone(),
                    labels: w.labels.clone(),
                    platforms: w
                        .platforms
                        .iter()
                        .filter_map(|p| platform_from_parts(&p.os, &p.architecture, &p.variant))
                        .collect(),
                })
                .collect(),
        }
    }
    pub fn has(&self, cap: &str) -> bool {
        self.frontend_caps.contains(cap)
    }
}

/// How [`serve`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Returned a result.
    Success,
    /// Returned an error (the message sent).
    Failed(String),
    /// The Return call itself failed (connection gone?).
    ReturnFailed(String),
}

/// Run the build and Return its outcome (exactly once).
pub async fn serve<P: Pipeline>(
    bridge: &LlbBridge,
    opts: Result<FrontendOptions, OptionError>,
    pipeline: Arc<P>,
) -> Outcome {
    let res = match opts {
        Ok(o) => match crate::attest::check(bridge, &o).await {
            Err(e) => Err(e),
            Ok(()) if crate::platforms::is_multi(&o) => {
                crate::platforms::run_multi(bridge, o, pipeline).await
            }
            Ok(()) => run(bridge, o, pipeline).await,
        },
        Err(e) => Err(FrontendError::invalid(e.0)),
    };
    match res {
        Ok(result) => match bridge.return_result(result).await {
            Ok(()) => Outcome::Success,
            Err(s) => {
                // The server refused the result: tell it why, as an error.
                let e = FrontendError::from_status("returning the build result failed", &s);
                let msg = e.message.clone();
                match bridge.return_error(e.into_status()).await {
                    Ok(()) => Outcome::Failed(msg),
                    Err(s2) => Outcome::ReturnFailed(format!("{s}; {s2}")),
                }
            }
        },
        Err(e) => {
            let msg = e.message.clone();
            eprintln!("slipway: build failed: {msg}");
            match bridge.return_error(e.into_status()).await {
                Ok(()) => Outcome::Failed(msg),
                Err(s) => Outcome::ReturnFailed(s.to_string()),
            }
        }
    }
}

/// The build itself, without Return.
pub async fn run<P: Pipeline>(
    bridge: &LlbBridge,
    mut opts: FrontendOptions,
    pipeline: Arc<P>,
) -> Result<gw::Result, FrontendError> {
    frontendcaps::check(opts.raw.get("frontend.caps").map(String::as_str))?;
    if let Some(answer) = opts.request_id.as_deref().and_then(subrequest::early) {
        bridge
            .ping()
            .await
            .map_err(|s| FrontendError::from_status("BuildKit did not answer Ping", &s))?;
        return answer;
    }
    // Ping and the spec/.dockerignore transfers do not depend on each other:
    // one round trip instead of two on every build.
    // Phase timings go to the daemon log (stderr), for profiling builds.
    let t0 = std::time::Instant::now();
    let mut marks: Vec<(&str, std::time::Duration)> = Vec::new();
    let (pong, files) = tokio::join!(bridge.ping(), load_files(bridge, &opts));
    marks.push(("ping+read", t0.elapsed()));
    let pong = pong.map_err(|s| FrontendError::from_status("BuildKit did not answer Ping", &s))?;
    let server = ServerInfo::from_pong(&pong);

    let workers = if server.workers.is_empty() {
        &opts.workers
    } else {
        &server.workers
    };
    let build_platform = workers
        .iter()
        .flat_map(|w| w.platforms.first())
        .next()
        .cloned()
        .unwrap_or_default();
    let target_platform = match &opts.platform {
        Some(p) => p.clone(),
        None => {
            opts.apply_platform_contexts(&build_platform)
                .map_err(|e| FrontendError::invalid(e.0))?;
            build_platform.clone()
        }
    };

    // 1. The spec file and .dockerignore, both transfers at once.
    let (spec_bytes, excludes, spec_vertex) = files?;
    let source = String::from_utf8(spec_bytes).map_err(|e| {
        FrontendError::invalid(format!(
            "{} is not valid UTF-8 text (invalid byte at offset {}); save the spec as UTF-8",
            opts.filename,
            e.utf8_error().valid_up_to()
        ))
    })?;

    // 2. Evaluate the spec.
    //    First with the base images' env unknown: only to find which images
    //    to resolve (step 4), then again with it.
    let source = Arc::new(source);
    let eval = EvalOptions {
        build_args: opts.build_args.clone(),
        build_platform: build_platform.clone(),
        target_platform: target_platform.clone(),
        base_env: BaseEnv::Discover,
        // For the `context-not-ignored` lint rule (the spec is assumed to be
        // at the context's root under its own name).
        context: Some(slipway_spec::ContextInfo {
            excludes: excludes.clone(),
            spec_path: opts.filename.rsplit('/').next().map(String::from),
            entries: None,
        }),
        named_contexts: opts.named_contexts.keys().cloned().collect(),
    };
    let load = |eval: EvalOptions| {
        let (filename, source, pipeline) =
            (opts.filename.clone(), source.clone(), pipeline.clone());
        async move {
            blocking(pipeline, move |p| p.load(&filename, &source, &eval))
                .await?
                .map_err(|d| FrontendError::from_diagnostics(&d))
        }
    };
    // The first pass assumes Docker's default env for every base image (what
    // offline compilation does). If that reads no undefined name, its plan is
    // the Discover pass's plan (Discover differs only in reading undefined
    // names as empty), and when every resolved image turns out to have the
    // default env it is also the final plan: one evaluation instead of two
    // (on a 1,000-stage spec, a whole parse and evaluation). Otherwise:
    // Discover, then the Known pass below, as before.
    let offline = EvalOptions {
        base_env: BaseEnv::Known(BTreeMap::new()),
        ..eval.clone()
    };
    let (loaded, offline_plan) = match load(offline).await {
        Ok(l) => (l, true),
        Err(_) => (load(eval.clone()).await?, false),
    };
    marks.push(("load", t0.elapsed()));
    let mut plan = Arc::new(loaded.plan);
    if let Some(req) = opts.request_id.as_deref() {
        return subrequest::answer(req, opts.target.as_deref(), &plan, &loaded.warnings);
    }
    // Reported once (not again per platform), from this pass, so they show
    // even when a base image then fails to resolve.
    if !opts.quiet {
        warnings::report(bridge, &server, &spec_vertex, &plan, &loaded.warnings).await;
    }

    // 3. Named contexts that are frontend inputs.
    let named_contexts = named_contexts(bridge, &server, &opts, &target_platform).await?;

    // The image's time: SOURCE_DATE_EPOCH (build arg, else the spec's global
    // default), else now (the core has no clock).
    let epoch = slipway_compiler::timestamps::epoch(&plan.args, &opts.build_args)
        .map_err(FrontendError::invalid)?;
    let created = epoch.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });

    #[allow(clippy::needless_update)]
    let mut copts = CompileOptions {
        target: opts.target.clone(),
        labels: opts.labels.clone(),
        no_cache: opts.no_cache.clone(),
        session_id: opts.session_id.clone(),
        context_excludes: excludes,
        images: BTreeMap::new(),
        image_resolve_mode: opts.image_resolve_mode.clone(),
        named_contexts,
        llb_caps: if server.llb_caps.is_empty() {
            None
        } else {
            Some(server.llb_caps.clone())
        },
        force_network_mode: opts.force_network_mode.clone(),
        extra_hosts: opts.add_hosts.clone(),
        cache_mount_ns: opts.cache_mount_ns.clone(),
        build_platform: Some(build_platform.clone()),
        created: Some(slipway_compiler::timestamps::rfc3339(created)),
        source_date_epoch: epoch,
        // Fields added later keep their defaults.
        ..Default::default()
    };

    // 4. Base image configs, all at once.
    let images = {
        let (p, c, t) = (plan.clone(), copts.clone(), target_platform.clone());
        blocking(pipeline.clone(), move |pl| pl.images_to_resolve(&p, &c, &t))
            .await?
            .map_err(|d| FrontendError::from_diagnostics(&d))?
    };
    marks.push(("images", t0.elapsed()));
    copts.images = resolve_images(bridge, &images, opts.image_resolve_mode.as_deref())
        .await
        .map_err(|(img, s)| {
            let mut e = FrontendError::from_diagnostics(&slipway_compiler::unresolvable_image(
                &plan,
                &copts,
                &img,
                crate::client::status_to_rpc(&s).message.as_str(),
            ));
            e.code = errors::CODE_NOT_FOUND;
            e
        })?;
    marks.push(("resolve", t0.elapsed()));
    // 4b. The spec again, now that `${PATH}` in `env:` can see the base
    //     image's, unless the first pass already evaluated with exactly this env.
    let base_env = slipway_compiler::base_env(&copts);
    if !(offline_plan && base_env.values().all(|e| is_default_env(e))) {
        let loaded = load(EvalOptions {
            base_env: BaseEnv::Known(base_env),
            ..eval
        })
        .await?;
        plan = Arc::new(loaded.plan);
        marks.push(("reload", t0.elapsed()));
    }

    // 5. Compile.
    let compiled = {
        let (p, c, t) = (plan.clone(), copts, target_platform.clone());
        blocking(pipeline.clone(), move |pl| pl.compile(&p, &c, &t))
            .await?
            .map_err(|d| FrontendError::from_diagnostics(&d))?
    };
    marks.push(("compile", t0.elapsed()));
    if !opts.quiet {
        warnings::report(bridge, &server, &spec_vertex, &plan, &compiled.warnings).await;
    }

    // 6. Solve (and evaluate, so failures can be mapped to the spec), unless
    //    a `run` step needs a platform no worker executes.
    let workers = if server.workers.is_empty() {
        &opts.workers
    } else {
        &server.workers
    };
    crate::platforms::check_emulation(workers, &target_platform, &compiled.definition, &plan)?;
    let evaluate = server.has("gateway.solve.evaluate");
    let solve_req = |def: pb::EncodedDefinition| gw::SolveRequest {
        definition: Some(def),
        allow_result_return: true,
        allow_result_array_ref: true,
        cache_imports: opts.cache_imports.clone(),
        evaluate,
        ..Default::default()
    };
    let mut others = tokio::task::JoinSet::new();
    for (name, def) in compiled.also_build.clone() {
        let (b, req, plan) = (bridge.clone(), solve_req(def.clone()), plan.clone());
        others.spawn(async move {
            b.solve(req).await.map(|_| ()).map_err(|s| {
                let mut e = errors::build_failure(&s, &def, &plan);
                if !e.message.contains(&name) {
                    e.message = format!("{} (building {name})", e.message);
                }
                e
            })
        });
    }
    let main = bridge.solve(solve_req(compiled.definition.clone()));
    let (main, others) = tokio::join!(main, async {
        let mut first_err = None;
        while let Some(r) = others.join_next().await {
            let r = r.unwrap_or_else(|j| {
                Err(FrontendError::new(
                    errors::CODE_INTERNAL,
                    errors::panic_message(&j.to_string()),
                ))
            });
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err
    });
    marks.push(("solve", t0.elapsed()));
    let timings: Vec<String> = marks
        .iter()
        .map(|(n, d)| format!("{n} {:.1}ms", d.as_secs_f64() * 1e3))
        .collect();
    eprintln!("slipway: timings (cumulative): {}", timings.join(", "));
    let resp = main.map_err(|s| errors::build_failure(&s, &compiled.definition, &plan))?;
    if let Some(e) = others {
        return Err(e);
    }
    let id = resp
        .result
        .as_ref()
        .and_then(|r| r.single_ref_id())
        .map(String::from)
        .unwrap_or_else(|| resp.r#ref.clone());

    let mut metadata = BTreeMap::new();
    metadata.insert(
        "containerimage.config".to_string(),
        compiled.image_config.clone(),
    );
    if let Some(e) = epoch {
        // BuildKit v0.11+ clamps the exported image's times to it (and with
        // `rewrite-timestamp=true` the layers' file times); older ones ignore it.
        metadata.insert(
            slipway_compiler::timestamps::EXPORTER_EPOCH_KEY.to_string(),
            e.to_string().into_bytes(),
        );
    }
    let result = if server.has("proto.refarray") || server.frontend_caps.is_empty() {
        gw::result::Result::Ref(gw::Ref { id, def: None })
    } else {
        gw::result::Result::RefDeprecated(id)
    };
    Ok(gw::Result {
        result: Some(result),
        metadata,
    })
}

/// An image env that is exactly Docker's default (`PATH=` [`DEFAULT_PATH`]),
/// what [`BaseEnv::of`] gives an image it does not know.
fn is_default_env(env: &[(String, String)]) -> bool {
    matches!(env, [(k, v)] if k == "PATH" && v == slipway_spec::DEFAULT_PATH)
}

/// Run a pure, possibly slow (and possibly panicking) step off the runtime
/// threads; a panic there becomes an error (with panic=unwind) instead of
/// killing the connection.
async fn blocking<P, T, F>(p: Arc<P>, f: F) -> Result<T, FrontendError>
where
    P: Pipeline,
    T: Send + 'static,
    F: FnOnce(&P) -> T + Send + 'static,
{
    tokio::task::spawn_blocking(move || f(&p))
        .await
        .map_err(|e| {
            let what = match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into()),
                Err(e) => e.to_string(),
            };
            FrontendError::new(errors::CODE_INTERNAL, errors::panic_message(&what))
        })
}

fn solve_local_req(def: pb::EncodedDefinition) -> gw::SolveRequest {
    gw::SolveRequest {
        definition: Some(def),
        allow_result_return: true,
        allow_result_array_ref: true,
        ..Default::default()
    }
}

fn ref_of(resp: &gw::SolveResponse) -> String {
    resp.result
        .as_ref()
        .and_then(|r| r.single_ref_id())
        .map(String::from)
        .unwrap_or_else(|| resp.r#ref.clone())
}

fn is_not_found(s: &tonic::Status) -> bool {
    let m = s.message().to_ascii_lowercase();
    s.code() == tonic::Code::NotFound || m.contains("no such file") || m.contains("not found")
}

/// Solve `local://dockerfile` and `local://context` (for `.dockerignore`)
/// concurrently, then read the spec and both ignore files concurrently.
/// Returns the spec bytes, the parsed exclude patterns and the digest of
/// the vertex that loaded the spec (warnings are attached to it).
async fn load_files(
    bridge: &LlbBridge,
    opts: &FrontendOptions,
) -> Result<(Vec<u8>, Vec<String>, String), FrontendError> {
    if let (Some(url), None) = (&opts.remote_context, &opts.dockerfile_key) {
        return crate::remote::load_files(bridge, opts, url).await;
    }
    let filename = opts.filename.clone();
    let spec_ignore = format!("{filename}.dockerignore");
    let session = opts.session_id.as_deref();
    let spec_def = local_definition(&LocalSource {
        // `dockerfilekey`: the client names the spec's local otherwise.
        name: opts.dockerfile_key.as_deref().unwrap_or("dockerfile"),
        follow_paths: vec![filename.clone(), spec_ignore.clone()],
        session_id: session,
        shared_key_hint: "dockerfile",
        custom_name: format!("[internal] load build definition from {filename}"),
    });
    let ignore_def = local_definition(&LocalSource {
        name: "context",
        follow_paths: vec![".dockerignore".into()],
        session_id: session,
        shared_key_hint: "context-.dockerignore",
        custom_name: "[internal] load .dockerignore".into(),
    });
    // The vertex that loads the spec (its source op, the Definition's first).
    let spec_vertex = spec_def
        .decode()
        .ok()
        .and_then(|d| d.def.first().map(|b| slipway_llb::digest(b)))
        .unwrap_or_default();
    let (spec_res, ignore_res) = tokio::join!(
        bridge.solve(solve_local_req(spec_def)),
        bridge.solve(solve_local_req(ignore_def)),
    );
    let spec_ref = ref_of(&spec_res.map_err(|s| {
        FrontendError::from_status(
            &format!("loading the build spec {filename} from the client failed"),
            &s,
        )
    })?);
    // No context (or no .dockerignore in it) simply means no excludes.
    let ignore_ref = ignore_res
        .ok()
        .map(|r| ref_of(&r))
        .filter(|r| !r.is_empty());

    let read = |r: String, path: String| {
        let b = bridge.clone();
        async move {
            b.read_file(gw::ReadFileRequest {
                r#ref: r,
                file_path: path,
                range: None,
            })
            .await
        }
    };
    let (spec, spec_ign, ctx_ign) = tokio::join!(
        read(spec_ref.clone(), filename.clone()),
        read(spec_ref, spec_ignore),
        async {
            match ignore_ref {
                Some(r) => Some(read(r, ".dockerignore".into()).await),
                None => None,
            }
        }
    );
    let spec = spec.map_err(|s| {
        let mut e =
            FrontendError::from_status(&format!("cannot read the build spec {filename}"), &s);
        if is_not_found(&s) {
            e.code = errors::CODE_NOT_FOUND;
            e.message.push_str(&format!(
                "\nhint: Slipway reads `{filename}` from the directory of `-f`; pass the spec with \
                 `docker build -f path/to/slipway.yaml .` (or `--opt filename=NAME` with buildctl)"
            ));
        }
        e
    })?;
    let ignore = match (spec_ign, ctx_ign) {
        (Ok(r), _) => Some(r.data),
        (Err(_), Some(Ok(r))) => Some(r.data),
        _ => None,
    };
    let excludes = ignore.map(|d| dockerignore::parse(&d)).unwrap_or_default();
    Ok((spec.data, excludes, spec_vertex))
}

async fn named_contexts(
    bridge: &LlbBridge,
    server: &ServerInfo,
    opts: &FrontendOptions,
    platform: &Platform,
) -> Result<BTreeMap<String, NamedContext>, FrontendError> {
    let wants_inputs = opts
        .named_contexts
        .values()
        .any(|c| matches!(c, NamedContextRef::Input(_)));
    let inputs = if wants_inputs {
        if !server.has("frontend.inputs") {
            return Err(FrontendError::new(
                errors::CODE_UNIMPLEMENTED,
                "a named context refers to a frontend input (`input:NAME`), but this BuildKit \
                 does not support frontend inputs",
            ));
        }
        bridge
            .inputs()
            .await
            .map_err(|s| FrontendError::from_status("fetching the frontend inputs failed", &s))?
            .definitions
    } else {
        BTreeMap::new()
    };
    let mut out = BTreeMap::new();
    for (name, c) in &opts.named_contexts {
        let v =
            match c {
                NamedContextRef::Image(r) => NamedContext::Image(r.clone()),
                NamedContextRef::Local(l) => NamedContext::Local(l.clone()),
                NamedContextRef::Url(u) => NamedContext::Url(u.clone()),
                NamedContextRef::Input(i) => {
                    match inputs.get(i) {
                        Some(d) => NamedContext::Input(InputContext {
                            definition: d.clone(),
                            config: input_config(&opts.raw, i)?,
                        }),
                        None => {
                            let have: Vec<&str> = inputs.keys().map(String::as_str).collect();
                            return Err(FrontendError::invalid(format!(
                        "named context `{name}` refers to input `{i}`, but the client sent no \
                         such input (inputs: {})",
                        if have.is_empty() { "none".to_string() } else { have.join(", ") }
                    )));
                        }
                    }
                }
                NamedContextRef::OciLayout(v) => {
                    let has =
                        server.llb_caps.is_empty() || server.llb_caps.contains("source.ocilayout");
                    crate::ocilayout::resolve(
                        bridge,
                        name,
                        v,
                        opts.session_id.as_deref(),
                        platform,
                        has,
                    )
                    .await?
                }
            };
        out.insert(name.clone(), v);
    }
    if let Some(url) = &opts.remote_context {
        out.entry("context".to_string())
            .or_insert_with(|| NamedContext::Remote(url.clone()));
    }
    Ok(out)
}

/// The image config of input NAME from `input-metadata:NAME` (buildx sends
/// the other target's result metadata: a JSON object of base64 values, as
/// Go writes `map[string][]byte`), empty when absent.
fn input_config(raw: &BTreeMap<String, String>, name: &str) -> Result<Vec<u8>, FrontendError> {
    use base64::Engine;
    let Some(md) = raw.get(&format!("input-metadata:{name}")) else {
        return Ok(Vec::new());
    };
    let bad = |why: String| {
        FrontendError::invalid(format!(
            "the client's `input-metadata:{name}` cannot be read: {why}"
        ))
    };
    let m: BTreeMap<String, String> = serde_json::from_str(md).map_err(|e| bad(e.to_string()))?;
    match m.get("containerimage.config") {
        Some(v) => base64::engine::general_purpose::STANDARD
            .decode(v)
            .map_err(|e| bad(format!("containerimage.config: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn pb_platform(p: &Platform) -> pb::Platform {
    pb::Platform {
        architecture: p.architecture.clone(),
        os: p.os.clone(),
        variant: p.variant.clone().unwrap_or_default(),
        ..Default::default()
    }
}

/// ResolveImageConfig for every image, concurrently, by its normalized
/// reference (Docker 20.10 cannot parse `alpine:3.20`). An empty digest
/// (Docker 20.10, image only in the local store) means: do not pin. A failure
/// hands back the image and BuildKit's status, to be located in the spec.
async fn resolve_images(
    bridge: &LlbBridge,
    images: &[ImageRequest],
    mode: Option<&str>,
) -> Result<BTreeMap<String, ResolvedImage>, (ImageRequest, tonic::Status)> {
    let mut set = tokio::task::JoinSet::new();
    for (i, img) in images.iter().enumerate() {
        let b = bridge.clone();
        let req = gw::ResolveImageConfigRequest {
            r#ref: img.normalized.clone(),
            platform: Some(pb_platform(&img.platform)),
            resolve_mode: mode.unwrap_or("default").to_string(),
            log_name: format!("[internal] load metadata for {}", img.normalized),
            ..Default::default()
        };
        set.spawn(async move { (i, b.resolve_image_config(req).await) });
    }
    let mut results: Vec<Option<Result<gw::ResolveImageConfigResponse, tonic::Status>>> =
        vec![None; images.len()];
    while let Some(j) = set.join_next().await {
        match j {
            Ok((i, r)) => results[i] = Some(r),
            Err(e) => {
                return Err((
                    images[0].clone(),
                    tonic::Status::internal(errors::panic_message(&e.to_string())),
                ))
            }
        }
    }
    let mut out = BTreeMap::new();
    for (img, r) in images.iter().zip(results) {
        let resp = r
            .unwrap_or_else(|| Err(tonic::Status::internal("no answer")))
            .map_err(|s| (img.clone(), s))?;
        let digest = Some(resp.digest).filter(|d| !d.is_empty());
        out.insert(
            img.reference.clone(),
            ResolvedImage {
                digest,
                config: resp.config,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::input_config;
    use std::collections::BTreeMap;

    fn raw(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn input_metadata_gives_the_image_config() {
        // buildx writes Go's map[string][]byte: base64 values.
        let cfg = r#"{"config":{"Env":["A=1"]}}"#;
        let md = format!(
            r#"{{"containerimage.config":"{}","other":"eA=="}}"#,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, cfg)
        );
        let r = raw(&[("input-metadata:base", md.as_str())]);
        assert_eq!(input_config(&r, "base").unwrap(), cfg.as_bytes());
        // No metadata, or none for this input: no config.
        assert!(input_config(&r, "other").unwrap().is_empty());
        let r = raw(&[("input-metadata:base", r#"{"other":"eA=="}"#)]);
        assert!(input_config(&r, "base").unwrap().is_empty());
        // Unreadable metadata is a clear error naming the option.
        let r = raw(&[("input-metadata:base", "{not json")]);
        let e = input_config(&r, "base").unwrap_err();
        assert!(e.message.contains("input-metadata:base"), "{}", e.message);
    }
}
