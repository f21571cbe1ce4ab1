//! Lowering: stages and steps → LLB ops in a [`slipway_llb::Graph`].
//!
//! Each stage is lowered once, after the stages it reads from (memoized), so
//! independent stages become independent branches that BuildKit runs in
//! parallel. A stage carries two things forward: its filesystem state and its
//! image config (Docker's inheritance: a stage starts from its base's config;
//! steps run as the inherited user; `image:` shapes only the result).

use std::collections::{BTreeMap, BTreeSet};

use slipway_llb::{self as llb, pb, Graph, OpMeta, SourceRange, State};
use slipway_spec::{
    AddKind, Base, Command, Diagnostic, From, Network, Plan, Platform, Security, Sharing, Span,
    Stage, Step, StepKind,
};

use std::fmt::Write as _;

use crate::caps::ServerCaps;
use crate::imageconfig::{self, History, Image, DEFAULT_PATH};
use crate::paths;
use crate::{remote, CompileOptions, NamedContext, NoCache};
use slipway_spec::limits::MAX_RUN_ENV_BYTES;

/// What a lowered stage hands to the stages built on it.
#[derive(Clone, Debug)]
pub(crate) struct StageResult {
    pub fs: State,
    pub image: Image,
    pub platform: Platform,
    /// The stage's `output:` paths, resolved against its workdir (empty:
    /// the whole filesystem is the result). Not inherited by `from: stage`.
    pub outputs: Vec<(String, Span)>,
}

pub(crate) struct Lowering<'a> {
    pub plan: &'a Plan,
    pub opts: &'a CompileOptions,
    pub target_platform: &'a Platform,
    pub caps: ServerCaps<'a>,
    pub graph: Graph,
    pub index: crate::targets::StageIndex<'a>,
    /// The one `local://context` source, created on first use.
    context: Option<State>,
    /// Include patterns for the context: None means the whole context.
    context_includes: Option<Vec<String>>,
    /// Per stage of the plan, once lowered.
    results: Vec<Option<StageResult>>,
    /// Per stage of the plan: being lowered (guards against cycles).
    in_progress: Vec<bool>,
    /// Image sources by (normalized ref, platform), so a base image used by
    /// several stages is one op.
    images: BTreeMap<(String, String), State>,
    /// `normalize_image_ref` per reference as written: every stage `FROM`
    /// the same base would otherwise parse it again (lookup only).
    normalized: std::collections::HashMap<String, Result<String, String>>,
    /// BUILDPLATFORM, TARGETARCH… (the same for every step).
    /// Global and predefined args by name (`env::arg_index`).
    arg_index: crate::env::ArgIndex,
    /// Per stage of the plan: whether its image config is used once it is
    /// lowered (a target, or the base of another stage). Other stages only
    /// hand on their filesystem: their history is not recorded and their
    /// config is dropped when done (memory of large builds).
    image_used: Vec<bool>,
    /// Per stage of the plan: how many times its result is read whole (as
    /// a base of a stage of the build, or as a target). A base read once
    /// hands its image config over instead of copying it, so a `from:`
    /// chain is linear (copying made memory grow with the square).
    result_reads: Vec<u32>,
    /// Image-config entries (history, env) copied from bases read more
    /// than once (`MAX_INHERITED_ENTRIES`).
    copied: usize,
    /// Bytes of env carried by the run ops so far (`MAX_RUN_ENV_BYTES`).
    run_env_bytes: usize,
    /// A budget ran out: the remaining stages are not lowered.
    pub aborted: bool,
    pub errors: Vec<Diagnostic>,
    /// Non-fatal findings, located (severity Warning).
    pub warnings: Vec<Diagnostic>,
}

impl<'a> Lowering<'a> {
    pub fn new(
        plan: &'a Plan,
        opts: &'a CompileOptions,
        target_platform: &'a Platform,
        stages: &BTreeSet<usize>,
        roots: &[usize],
        index: crate::targets::StageIndex<'a>,
    ) -> Self {
        let mut image_used = vec![false; plan.stages.len()];
        let mut result_reads = vec![0u32; plan.stages.len()];
        for &r in roots {
            image_used[r] = true;
            result_reads[r] += 1;
        }
        for &i in stages {
            if let Base::Stage(s) = &plan.stages[i].from.value {
                if let Some(&j) = index.get(s.as_str()) {
                    image_used[j] = true;
                    result_reads[j] += 1;
                }
            }
        }
        let ops: usize = stages.iter().map(|&i| plan.stages[i].steps.len() + 2).sum();
        let graph = Graph::with_capacity(ops);
        Lowering {
            plan,
            opts,
            target_platform,
            caps: ServerCaps::new(opts.llb_caps.as_ref()),
            graph,
            index,
            context: None,
            context_includes: crate::context::include_patterns(plan, stages),
            results: vec![None; plan.stages.len()],
            in_progress: vec![false; plan.stages.len()],
            images: BTreeMap::new(),
            normalized: std::collections::HashMap::new(),
            arg_index: crate::env::arg_index(
                plan,
                &crate::env::predefined(
                    target_platform,
                    opts.build_platform.as_ref().unwrap_or(&Platform::default()),
                    opts.source_date_epoch,
                ),
            ),
            image_used,
            result_reads,
            copied: 0,
            run_env_bytes: 0,
            aborted: false,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Lower stage `i` (and, first, every stage it reads from).
    pub fn stage(&mut self, i: usize) -> StageResult {
        self.ensure(i);
        self.results[i].clone().expect("ensured")
    }

    /// The result of stage `i` for a stage built on it: handed over when
    /// this is its only reader (its filesystem stays for copies and
    /// mounts), else copied and charged to `MAX_INHERITED_ENTRIES`.
    fn base_result(&mut self, i: usize, span: Span) -> StageResult {
        self.ensure(i);
        self.result_reads[i] = self.result_reads[i].saturating_sub(1);
        let r = self.results[i].as_mut().expect("ensured");
        if self.result_reads[i] == 0 {
            return StageResult {
                fs: r.fs,
                image: std::mem::take(&mut r.image),
                platform: r.platform.clone(),
                // A stage built on this one sees its whole filesystem.
                outputs: Vec::new(),
            };
        }
        self.copied += r.image.history.len() + r.image.env().len();
        if self.copied > slipway_spec::limits::MAX_INHERITED_ENTRIES && !self.aborted {
            self.aborted = true;
            self.errors.push(
                Diagnostic::error(
                    "too-large",
                    span,
                    format!(
                        "stages built on other stages copy more than {} history and env entries",
                        slipway_spec::limits::MAX_INHERITED_ENTRIES
                    ),
                )
                .with_label("over the limit here")
                .with_help(
                    "a build spec should be small: build fewer stages on one long-built stage",
                ),
            );
        }
        r.clone()
    }

    /// The filesystem of stage `i` (what copies and mounts read), without
    /// cloning the stage's whole image config.
    fn stage_fs(&mut self, i: usize) -> State {
        self.ensure(i);
        self.results[i].as_ref().expect("ensured").fs
    }

    pub fn ensure(&mut self, i: usize) {
        if self.results[i].is_some() {
            return;
        }
        let stage = &self.plan.stages[i];
        if self.aborted {
            self.results[i] = Some(self.scratch_result(self.stage_platform(stage)));
            return;
        }
        if std::mem::replace(&mut self.in_progress[i], true) {
            // The spec crate rejects cycles; this only keeps a bad plan from recursing forever.
            self.errors.push(Diagnostic::error(
                "cycle",
                stage.from.span,
                format!("stage `{}` depends on itself", stage.name.value),
            ));
            let r = self.scratch_result(self.stage_platform(stage));
            self.results[i] = Some(r);
            return;
        }
        let mut r = self.lower_stage(stage, self.image_used[i]);
        if !self.image_used[i] {
            r.image = Image::default();
        }
        self.in_progress[i] = false;
        self.results[i] = Some(r);
    }

    fn scratch_result(&self, platform: Platform) -> StageResult {
        // Docker gives `FROM scratch` its default PATH and `/` as workdir.
        let mut image = Image::assumed(&platform);
        image.config.working_dir = "/".into();
        StageResult {
            fs: None,
            image,
            platform,
            outputs: Vec::new(),
        }
    }

    fn stage_platform(&self, stage: &Stage) -> Platform {
        stage
            .platform
            .as_ref()
            .map(|p| p.value.clone())
            .unwrap_or_else(|| self.target_platform.clone())
    }

    /// `history`: whether the stage's image config records history (only
    /// when the config is used: see `image_used`).
    fn lower_stage(&mut self, stage: &'a Stage, history: bool) -> StageResult {
        let platform = self.stage_platform(stage);
        // FROM, then the implicit WORKDIR (numbered like Docker's), then the steps.
        let implicit = 1 + usize::from(stage.workdir.is_some());
        let n = stage.steps.len() + implicit;
        let name = &stage.name.value;
        let mut st = match &stage.from.value {
            Base::Scratch => self.scratch_result(platform.clone()),
            Base::Stage(s) => {
                let j = self.index.get(s.as_str()).copied().unwrap_or(0);
                let mut r = self.base_result(j, stage.from.span);
                // A stage with its own platform keeps the base's files but
                // reports its own platform.
                if stage.platform.is_some() {
                    r.platform = platform.clone();
                }
                r.outputs.clear();
                r
            }
            Base::Image(reference) => {
                let meta = OpMeta::named(format!("[{name} 1/{n}] FROM {reference}"))
                    .with_range(range(stage.from.span));
                let fs = self.image_state(reference, &platform, stage.from.span, meta);
                let image = self.base_config(reference, &platform, stage.from.span);
                StageResult {
                    fs,
                    image,
                    platform: platform.clone(),
                    outputs: Vec::new(),
                }
            }
        };
        st.image.architecture = st.platform.architecture.clone();
        st.image.os = st.platform.os.clone();
        st.image.variant = st.platform.variant.clone();
        // Ensure a PATH like Docker does for images without one, so steps
        // find their tools and the env is explicit (and deterministic).
        if imageconfig::get_env(st.image.env(), "PATH").is_none() && st.fs.is_some() {
            st.image.set_env("PATH", DEFAULT_PATH);
        }

        // Stage env is persisted into the image (Docker's ENV).
        st.image
            .set_envs(stage.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        // Workdir: created like Docker's WORKDIR does, owned by root.
        if let Some(wd) = &stage.workdir {
            let base = cwd_of(&st.image);
            let dir = paths::clean_owned(paths::resolve(base, &wd.value));
            st.image.config.working_dir = dir.clone();
            let b = llb::FileOpBuilder::new(st.fs).mkdir(llb::MkDir {
                path: dir.clone(),
                mode: 0o755,
                make_parents: true,
                ..Default::default()
            });
            let mut meta =
                OpMeta::named(format!("[{name} 2/{n}] WORKDIR {dir}")).with_range(range(wd.span));
            meta.ignore_cache = self.stage_no_cache(name);
            st.fs = self.graph.file(b, meta);
            if history {
                st.image
                    .history
                    .push(history_entry(format!("WORKDIR {dir}"), false));
            }
        }
        if let Some(shell) = &stage.shell {
            st.image.config.shell = Some(shell.clone());
        }

        let mut label = String::with_capacity(name.len() + 24);
        for (idx, step) in stage.steps.iter().enumerate() {
            label.clear();
            let _ = write!(label, "[{name} {}/{n}]", idx + 1 + implicit);
            self.step(stage, step, &label, history, &mut st);
        }
        // Output paths are where the steps wrote them: under the workdir
        // the steps saw, before `image:` may change it.
        for o in &stage.output {
            let p = paths::clean_owned(paths::resolve(cwd_of(&st.image), &o.value));
            st.outputs.push((p, o.span));
        }
        self.apply_image_spec(stage, &mut st);
        st
    }

    pub(crate) fn stage_no_cache(&self, stage: &str) -> bool {
        match &self.opts.no_cache {
            NoCache::Off => false,
            NoCache::All => true,
            NoCache::Stages(s) => s.contains(stage),
        }
    }

    /// The config of a base image: resolved by the frontend, or assumed offline.
    fn base_config(&mut self, reference: &str, platform: &Platform, span: Span) -> Image {
        match self.opts.named_contexts.get(reference) {
            Some(NamedContext::Image(r)) => {
                if let Some(res) = self.opts.images.get(r.as_str()) {
                    return self.parse_config(r, &res.config, platform, span);
                }
            }
            Some(NamedContext::OciLayout(o)) => {
                let (r, c) = (o.reference.clone(), o.config.clone());
                return self.parse_config(&r, &c, platform, span);
            }
            Some(NamedContext::Input(i)) => {
                let c = i.config.clone();
                return self.parse_config(reference, &c, platform, span);
            }
            _ => {}
        }
        match self.opts.images.get(reference) {
            Some(res) => self.parse_config(reference, &res.config, platform, span),
            None => Image::assumed(platform),
        }
    }

    fn parse_config(
        &mut self,
        reference: &str,
        bytes: &[u8],
        platform: &Platform,
        span: Span,
    ) -> Image {
        if bytes.is_empty() {
            return Image::assumed(platform);
        }
        match Image::parse(bytes) {
            Ok(img) => img,
            Err(e) => {
                self.errors.push(
                    Diagnostic::error(
                        "bad-image-config",
                        span,
                        format!("the config of image `{reference}` could not be read: {e}"),
                    )
                    .with_help("check that the reference names a container image"),
                );
                Image::assumed(platform)
            }
        }
    }

    /// An image source, pinned by digest when the frontend resolved one.
    fn image_state(
        &mut self,
        reference: &str,
        platform: &Platform,
        span: Span,
        meta: OpMeta,
    ) -> State {
        // A named context can stand in for an image reference.
        let reference = match self.opts.named_contexts.get(reference) {
            Some(NamedContext::Image(r)) => r.as_str(),
            Some(other) => {
                let other = other.clone();
                return self.named_context_state(reference, &other, span);
            }
            None => reference,
        };
        if reference == "scratch" {
            return None;
        }
        let known = match self.normalized.get(reference) {
            Some(r) => r.clone(),
            None => {
                let r = llb::normalize_image_ref(reference).map_err(|e| e.to_string());
                self.normalized.insert(reference.to_string(), r.clone());
                r
            }
        };
        let normalized = match known {
            Ok(r) => r,
            Err(e) => {
                self.errors.push(
                    Diagnostic::error("bad-image-ref", span, format!("`{reference}` is not a valid image reference: {e}"))
                        .with_help("use a reference like `alpine:3.20`, `ghcr.io/org/app:1.0` or `name@sha256:…`"),
                );
                return None;
            }
        };
        let pinned = match self
            .opts
            .images
            .get(reference)
            .and_then(|r| r.digest.clone())
        {
            Some(d) if !d.is_empty() && !normalized.contains('@') => {
                // name:tag@digest keeps the tag for readability, as docker does.
                format!("{normalized}@{d}")
            }
            _ => normalized,
        };
        let key = (pinned.clone(), platform_string(platform));
        if let Some(s) = self.images.get(&key) {
            return *s;
        }
        let attrs = llb::ImageAttrs {
            resolve_mode: match self.opts.image_resolve_mode.as_deref() {
                Some("pull") => Some("pull".into()),
                Some("local") => Some("local".into()),
                _ => None,
            },
            ..Default::default()
        };
        let st = Some(
            self.graph
                .image(&pinned, Some(pb_platform(platform)), attrs, meta),
        );
        self.images.insert(key, st);
        st
    }

    fn named_context_state(&mut self, name: &str, ctx: &NamedContext, span: Span) -> State {
        match ctx {
            NamedContext::Image(r) => {
                let p = self.target_platform.clone();
                self.image_state(
                    &r.clone(),
                    &p,
                    span,
                    OpMeta::named(format!("[context {name}] {r}")),
                )
            }
            NamedContext::Local(local) => Some(self.graph.local(
                local,
                llb::LocalOpts {
                    session_id: self.opts.session_id.clone(),
                    shared_key_hint: Some(local.clone()),
                    ..Default::default()
                },
                OpMeta::named(format!("[context {name}] load from client")),
            )),
            NamedContext::Url(url) => {
                let meta = OpMeta::named(format!("[context {name}] {url}"));
                if is_git_url(url) {
                    let (remote, git_ref) = split_git_fragment(url);
                    Some(self.graph.git(
                        &remote,
                        llb::GitOpts {
                            git_ref,
                            ..Default::default()
                        },
                        meta,
                    ))
                } else {
                    Some(self.graph.http(url, llb::HttpOpts::default(), meta))
                }
            }
            NamedContext::OciLayout(o) => {
                let attrs = [
                    ("oci.session".to_string(), o.session.clone()),
                    ("oci.store".to_string(), o.store.clone()),
                ]
                .into_iter()
                .collect();
                let p = pb_platform(&self.target_platform.clone());
                Some(self.graph.raw_source(
                    &format!("oci-layout://{}", o.reference),
                    attrs,
                    Some(p),
                    OpMeta::named(format!("[context {name}] OCI load from client")),
                ))
            }
            NamedContext::Remote(url) => remote::remote_context(&mut self.graph, url),
            NamedContext::Input(input) => match self.graph.add_definition(&input.definition) {
                Ok(st) => st,
                Err(e) => {
                    self.errors.push(
                        Diagnostic::error(
                            "bad-context",
                            span,
                            format!("named context `{name}` is a frontend input whose LLB cannot be used: {e}"),
                        )
                        .with_help("the client sent a broken Definition for it: rebuild with a current buildx or buildctl"),
                    );
                    None
                }
            },
        }
    }

    /// The build context (`local://context`), shared by every copy.
    fn context_state(&mut self) -> State {
        if let Some(s) = self.context {
            return s;
        }
        // `context=URL`, or `--build-context context=…`: the main context replaced.
        if let Some(ctx) = self.opts.named_contexts.get("context").cloned() {
            let s = self.named_context_state("context", &ctx, Span::default());
            self.context = Some(s);
            return s;
        }
        let opts = llb::LocalOpts {
            session_id: self.opts.session_id.clone(),
            include_patterns: self.context_includes.clone().unwrap_or_default(),
            exclude_patterns: self.opts.context_excludes.clone(),
            shared_key_hint: Some("context".into()),
            ..Default::default()
        };
        let s = Some(self.graph.local(
            "context",
            opts,
            OpMeta::named("[internal] load build context"),
        ));
        self.context = Some(s);
        s
    }

    /// Resolve a copy/bind/cache `from`.
    /// The state a copy/bind/cache reads from.
    fn state_of_from(&mut self, from: Option<&From>, span: Span) -> State {
        match from {
            None => self.context_state(),
            Some(From::Stage(s)) => {
                let j = self.index.get(s.as_str()).copied().unwrap_or(0);
                self.stage_fs(j)
            }
            Some(From::Other(x)) if x == "context" && !self.opts.named_contexts.contains_key(x) => {
                self.context_state()
            }
            Some(From::Other(x)) => {
                let p = self.target_platform.clone();
                self.image_state(
                    x,
                    &p,
                    span,
                    OpMeta::named(format!("[internal] load {x}")).with_range(range(span)),
                )
            }
        }
    }

    fn step(
        &mut self,
        stage: &'a Stage,
        step: &'a Step,
        label: &str,
        history: bool,
        st: &mut StageResult,
    ) {
        let what = describe(step);
        let mut name = String::with_capacity(label.len() + 1 + what.len());
        name.push_str(label);
        name.push(' ');
        name.push_str(&what);
        let mut meta = OpMeta::named(name).with_range(range(step.span));
        meta.ignore_cache = self.stage_no_cache(&stage.name.value);
        let mut created_by = what;
        created_by.push_str(" # slipway");
        match &step.kind {
            StepKind::Run(run) => self.run(stage, step, run, meta, st),
            StepKind::Copy(c) => self.copy(step, c, meta, st),
            StepKind::Add(a) => self.add(step, a, meta, st),
            StepKind::File(f) => {
                let path = paths::clean_owned(paths::resolve(cwd_of(&st.image), &f.path));
                let owner =
                    self.chown("owner", f.owner.as_deref(), step.verb_span, st.fs.is_some());
                let b = llb::FileOpBuilder::new(st.fs)
                    .mkdir(llb::MkDir {
                        path: paths::parent(&path),
                        mode: 0o755,
                        make_parents: true,
                        ..Default::default()
                    })
                    .mkfile(llb::MkFile {
                        path,
                        mode: f.mode.unwrap_or(0o644) as i32,
                        data: f.content.clone().into_bytes(),
                        owner,
                        timestamp: None,
                    });
                st.fs = self.graph.file(b, meta);
            }
            StepKind::Mkdir(m) => {
                let path = paths::clean_owned(paths::resolve(cwd_of(&st.image), &m.path));
                let owner =
                    self.chown("owner", m.owner.as_deref(), step.verb_span, st.fs.is_some());
                let b = llb::FileOpBuilder::new(st.fs).mkdir(llb::MkDir {
                    path,
                    mode: m.mode.unwrap_or(0o755) as i32,
                    make_parents: true,
                    owner,
                    timestamp: None,
                });
                st.fs = self.graph.file(b, meta);
            }
            StepKind::Link(l) => {
                let newpath = paths::clean_owned(paths::resolve(cwd_of(&st.image), &l.path));
                if !self.caps.has("file.symlink.create") {
                    self.errors.push(self.caps.missing(
                        step.verb_span,
                        "`link` steps",
                        "file.symlink.create",
                    ));
                    return;
                }
                let b = llb::FileOpBuilder::new(st.fs)
                    .mkdir(llb::MkDir {
                        path: paths::parent(&newpath),
                        mode: 0o755,
                        make_parents: true,
                        ..Default::default()
                    })
                    .symlink(llb::Symlink {
                        oldpath: l.target.clone(),
                        newpath,
                        owner: None,
                        timestamp: None,
                    });
                st.fs = self.graph.file(b, meta);
            }
            StepKind::Remove(r) => {
                let cwd = cwd_of(&st.image);
                let mut b = llb::FileOpBuilder::new(st.fs);
                for p in &r.paths {
                    b = b.rm(llb::Rm {
                        path: paths::clean_owned(paths::resolve(cwd, p)),
                        allow_not_found: true,
                        allow_wildcard: true,
                    });
                }
                st.fs = self.graph.file(b, meta);
            }
        }
        if history {
            st.image.history.push(history_entry(created_by, false));
        }
    }

    fn run(
        &mut self,
        stage: &'a Stage,
        step: &'a Step,
        run: &'a slipway_spec::Run,
        meta: OpMeta,
        st: &mut StageResult,
    ) {
        let mut meta = meta;
        if run.no_cache {
            meta.ignore_cache = true;
        }
        let args = match &run.command {
            Command::Shell(s) => {
                let mut sh = st
                    .image
                    .config
                    .shell
                    .clone()
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                sh.push(s.clone());
                sh
            }
            Command::Exec(v) => v.clone(),
        };
        let cwd = match &run.workdir {
            Some(w) => paths::clean_owned(paths::resolve(cwd_of(&st.image), w)),
            None => cwd_of(&st.image).to_string(),
        };
        // Env: the image's, then the build args the command can see, then the step's.
        let visible = crate::env::run_args(&self.arg_index, stage, &run.command);
        let image_env = st.image.env();
        let mut env: Vec<String> =
            Vec::with_capacity(image_env.len() + visible.len() + run.env.len());
        env.extend_from_slice(image_env);
        // As in Docker, an ENV of the same name wins over a build arg.
        let visible: Vec<(&str, &str)> = if visible.len() * image_env.len() > 1024 {
            let names: std::collections::HashSet<&str> = image_env
                .iter()
                .filter_map(|e| e.split_once('=').map(|(k, _)| k))
                .collect();
            visible
                .into_iter()
                .filter(|(k, _)| !names.contains(k))
                .collect()
        } else {
            visible
                .into_iter()
                .filter(|(k, _)| imageconfig::get_env(image_env, k).is_none())
                .collect()
        };
        env.extend(
            visible
                .into_iter()
                .map(|(k, v)| imageconfig::env_entry(k, v)),
        );
        imageconfig::set_envs_in(
            &mut env,
            run.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        // Every run op carries its whole env: bounded over the build.
        self.run_env_bytes += env.iter().map(|e| e.len() + 2).sum::<usize>();
        if self.run_env_bytes > MAX_RUN_ENV_BYTES && !self.aborted {
            self.aborted = true;
            self.errors.push(
                Diagnostic::error(
                    "too-large",
                    step.verb_span,
                    format!("the env of all `run` steps together passes {MAX_RUN_ENV_BYTES} bytes"),
                )
                .with_label("over the limit here")
                .with_help("every `run` carries the stage's whole env: keep env values small, or use fewer steps"),
            );
        }
        let user = run
            .user
            .clone()
            .unwrap_or_else(|| st.image.config.user.clone());

        let mut mounts = Vec::new();
        for c in &run.cache {
            let target = paths::clean_owned(paths::resolve(&cwd, &c.target));
            let id = match &c.id {
                Some(id) => id.clone(),
                None => target.clone(),
            };
            let id = match &self.opts.cache_mount_ns {
                Some(ns) if !ns.is_empty() => format!("{ns}/{id}"),
                _ => id,
            };
            let sharing = match c.sharing {
                Sharing::Shared => pb::CacheSharingOpt::Shared,
                Sharing::Private => pb::CacheSharingOpt::Private,
                Sharing::Locked => pb::CacheSharingOpt::Locked,
            };
            let (seed, selector) = if c.from.is_some() {
                let src = self.state_of_from(c.from.as_ref(), c.span);
                (
                    src,
                    c.source
                        .as_deref()
                        .map(|s| paths::clean_owned(format!("/{s}")))
                        .unwrap_or_default(),
                )
            } else if c.mode.is_some() || c.uid.is_some() || c.gid.is_some() {
                // BuildKit's cache mounts have no mode/owner of their own:
                // seed the cache from a directory that has them, as the
                // Dockerfile frontend does.
                let owner = match (c.uid, c.gid) {
                    (None, None) => None,
                    (u, g) => Some(llb::Chown {
                        user: Some(llb::UserRef::Id(u.unwrap_or(0))),
                        group: Some(llb::UserRef::Id(g.unwrap_or(0))),
                    }),
                };
                let b = llb::FileOpBuilder::new(None).mkdir(llb::MkDir {
                    path: "/cache".into(),
                    mode: c.mode.unwrap_or(0o755) as i32,
                    make_parents: true,
                    owner,
                    timestamp: None,
                });
                let s = self.graph.file(
                    b,
                    OpMeta::named(format!("[internal] settings for cache mount {target}")),
                );
                (s, "/cache".into())
            } else {
                (None, String::new())
            };
            mounts.push(llb::Mount::Cache(llb::CacheMount {
                dest: target,
                id,
                sharing,
                seed,
                selector,
            }));
        }
        for b in &run.binds {
            let src = self.state_of_from(b.from.as_ref(), b.span);
            let selector = b
                .source
                .as_deref()
                .map(|s| paths::clean_owned(format!("/{s}")))
                .filter(|s| s != "/")
                .unwrap_or_default();
            let dest = paths::clean_owned(paths::resolve(&cwd, &b.target));
            mounts.push(llb::Mount::Bind(llb::BindMount {
                dest,
                source: src,
                selector,
                readonly: !b.rw,
                // rw binds keep changes only for the step, as Docker's do.
                no_output: b.rw,
            }));
        }
        for t in &run.tmpfs {
            let mut size = t.size.unwrap_or(0) as i64;
            if size > 0 && !self.caps.has("exec.mount.tmpfs.size") {
                self.warnings.push(warning(
                    "tmpfs-size-ignored",
                    t.span,
                    "tmpfs `size` ignored: this BuildKit lacks exec.mount.tmpfs.size",
                    "the mount has no size limit here; BuildKit v0.10 (Docker 23) applies it",
                ));
                size = 0;
            }
            mounts.push(llb::Mount::tmpfs(
                paths::clean_owned(paths::resolve(&cwd, &t.target)),
                size,
            ));
        }
        let mut secret_env = Vec::new();
        for s in &run.secrets {
            if let Some(name) = &s.env {
                if !self.caps.has("exec.secretenv") {
                    self.errors.push(self.caps.missing(
                        s.span,
                        "secrets exposed as environment variables",
                        "exec.secretenv",
                    ));
                }
                secret_env.push(llb::SecretEnv {
                    id: s.id.clone(),
                    name: name.clone(),
                    optional: !s.required,
                });
            }
            if s.env.is_none() || s.target.is_some() {
                let dest = match &s.target {
                    Some(t) => paths::clean_owned(paths::resolve(&cwd, t)),
                    None => format!("/run/secrets/{}", s.id),
                };
                mounts.push(llb::Mount::Secret(llb::SecretMount {
                    dest,
                    id: s.id.clone(),
                    uid: s.uid.unwrap_or(0),
                    gid: s.gid.unwrap_or(0),
                    mode: s.mode.unwrap_or(0o400),
                    optional: !s.required,
                }));
            }
        }
        for (i, s) in run.ssh.iter().enumerate() {
            let dest = match &s.target {
                Some(t) => paths::clean_owned(paths::resolve(&cwd, t)),
                None => format!("/run/buildkit/ssh_agent.{i}"),
            };
            if i == 0 && imageconfig::get_env(&env, "SSH_AUTH_SOCK").is_none() {
                imageconfig::set_env_in(&mut env, "SSH_AUTH_SOCK", &dest);
            }
            mounts.push(llb::Mount::Ssh(llb::SshMount {
                dest,
                id: s.id.clone(),
                uid: 0,
                gid: 0,
                mode: 0o600,
                optional: !s.required,
            }));
        }

        let network = match run.network {
            Some(Network::Host) => pb::NetMode::Host,
            Some(Network::None) => pb::NetMode::None,
            Some(Network::Default) => pb::NetMode::Unset,
            None => match self.opts.force_network_mode.as_deref() {
                Some("host") => pb::NetMode::Host,
                Some("none") => pb::NetMode::None,
                _ => pb::NetMode::Unset,
            },
        };
        let security = match run.security {
            Some(Security::Insecure) => pb::SecurityMode::Insecure,
            _ => pb::SecurityMode::Sandbox,
        };
        let mut exec = llb::Exec::new(st.fs, args);
        exec.env = env;
        exec.cwd = cwd;
        exec.user = user;
        exec.extra_hosts = self.opts.extra_hosts.clone();
        exec.mounts = mounts;
        exec.network = network;
        exec.security = security;
        exec.secret_env = secret_env;
        exec.platform = Some(pb_platform(&st.platform));
        let _ = (stage, step);
        st.fs = self.graph.exec(exec, meta).root();
    }

    fn copy(
        &mut self,
        step: &'a Step,
        c: &'a slipway_spec::Copy,
        meta: OpMeta,
        st: &mut StageResult,
    ) {
        let span = c.from.as_ref().map(|f| f.span).unwrap_or(step.verb_span);
        let src = self.state_of_from(c.from.as_ref().map(|f| &f.value), span);
        let cwd = cwd_of(&st.image);
        let several = c.sources.len() > 1 || c.sources.iter().any(|s| paths::has_glob(&s.value));
        let mut to = c.to.clone().unwrap_or_else(|| "./".into());
        if several && !to.ends_with('/') {
            // Several sources always go into a directory (Docker requires the
            // trailing slash; adding it is what the user meant).
            to.push('/');
        }
        let dest = paths::resolve(cwd, &to);
        // A `link: true` copy is made on an empty layer: no /etc/passwd
        // there to look an owner name up (issue 11: this reached the
        // marshal as an unlocated `llb` error).
        let linked = c.link && self.caps.has("mergeop");
        let owner = if linked && st.fs.is_some() {
            self.chown_linked(c.chown.as_deref(), step.verb_span)
        } else {
            self.chown("chown", c.chown.as_deref(), step.verb_span, st.fs.is_some())
        };
        let (mode, mode_str) = self.chmod(c.chmod.as_deref(), step.verb_span);
        let parents_glob = c.parents && c.sources.iter().any(|s| paths::has_glob(&s.value));
        if (!c.include.is_empty() || !c.exclude.is_empty() || parents_glob)
            && !self.caps.has("file.copy.includeexcludepatterns")
        {
            self.errors.push(self.caps.missing(
                step.verb_span,
                if parents_glob {
                    "copies with `parents` and a glob"
                } else {
                    "`include`/`exclude` on copy"
                },
                "file.copy.includeexcludepatterns",
            ));
        }
        let use_link = c.link && self.caps.has("mergeop");
        if c.link && !use_link {
            self.warnings.push(warning(
                "link-fallback",
                step.verb_span,
                "`link: true` needs merge ops, which this BuildKit lacks; copying into the stage instead",
                "the copy works but its layer is rebuilt when earlier steps change; BuildKit v0.10 (Docker 23) links it",
            ));
        }
        let base = if use_link { None } else { st.fs };
        let mut b = llb::FileOpBuilder::new(base);
        for s in &c.sources {
            let (src_path, dest_path, dir_contents, includes) = if c.parents {
                let rel = paths::context_relative(&s.value);
                if paths::has_glob(&rel) {
                    ("/".to_string(), dest.clone(), true, vec![rel])
                } else {
                    let d = paths::resolve(
                        &paths::clean(&dest),
                        &format!(
                            "{}/",
                            paths::parent(&format!("/{rel}")).trim_start_matches('/')
                        ),
                    );
                    (format!("/{rel}"), d, false, vec![])
                }
            } else {
                (
                    paths::clean_owned(format!("/{}", s.value)),
                    dest.clone(),
                    true,
                    vec![],
                )
            };
            let mut include_patterns = includes;
            include_patterns.extend(c.include.iter().cloned());
            b = b.copy(
                src,
                llb::Copy {
                    src: src_path,
                    dest: dest_path,
                    owner: owner.clone(),
                    mode,
                    mode_str: mode_str.clone(),
                    follow_symlink: c.follow_symlinks,
                    dir_copy_contents: dir_contents,
                    create_dest_path: true,
                    allow_wildcard: true,
                    allow_empty_wildcard: true,
                    include_patterns,
                    exclude_patterns: c.exclude.clone(),
                    ..Default::default()
                },
            );
        }
        let link_meta = use_link.then(|| {
            OpMeta::named(format!(
                "{} (link)",
                meta.custom_name.as_deref().unwrap_or_default()
            ))
        });
        let copied = self.graph.file(b, meta);
        st.fs = match link_meta {
            Some(m) => self.graph.merge(&[st.fs, copied], m),
            None => copied,
        };
    }

    fn add(
        &mut self,
        step: &'a Step,
        a: &'a slipway_spec::Add,
        meta: OpMeta,
        st: &mut StageResult,
    ) {
        let cwd = cwd_of(&st.image);
        let owner = self.chown("chown", a.chown.as_deref(), step.verb_span, st.fs.is_some());
        let (mode, mode_str) = self.chmod(a.chmod.as_deref(), step.verb_span);
        let url = &a.source.value;
        let (src_state, src_path, dest, contents) = match a.kind {
            AddKind::Http => {
                let filename =
                    paths::base_name(url.split(['?', '#']).next().unwrap_or(url)).to_string();
                let filename = if filename.is_empty() {
                    "download".to_string()
                } else {
                    filename
                };
                let s = self.graph.http(
                    url,
                    llb::HttpOpts {
                        checksum: a.checksum.clone(),
                        filename: Some(filename.clone()),
                        ..Default::default()
                    },
                    OpMeta::named(format!("[internal] download {url}"))
                        .with_range(range(step.span)),
                );
                let to = a.to.clone().unwrap_or_else(|| "./".into());
                (
                    Some(s),
                    format!("/{filename}"),
                    paths::resolve(cwd, &to),
                    false,
                )
            }
            AddKind::Git => {
                let (remote, frag_ref) = split_git_fragment(url);
                let git_ref = a.git_ref.clone().unwrap_or(frag_ref);
                let s = self.graph.git(
                    &remote,
                    llb::GitOpts {
                        git_ref,
                        keep_git_dir: a.keep_git_dir,
                        ..Default::default()
                    },
                    OpMeta::named(format!("[internal] git {remote}")).with_range(range(step.span)),
                );
                let to = a.to.clone().unwrap_or_else(|| "./".into());
                let mut dest = paths::resolve(cwd, &to);
                if !dest.ends_with('/') {
                    dest.push('/');
                }
                (Some(s), "/".to_string(), dest, true)
            }
        };
        let b = llb::FileOpBuilder::new(st.fs).copy(
            src_state,
            llb::Copy {
                src: src_path,
                dest,
                owner,
                mode,
                mode_str,
                follow_symlink: true,
                dir_copy_contents: contents,
                create_dest_path: true,
                allow_wildcard: false,
                allow_empty_wildcard: false,
                ..Default::default()
            },
        );
        st.fs = self.graph.file(b, meta);
    }

    /// `chown: user[:group]` → owner for file actions. Names resolve against
    /// the stage's own /etc/passwd, which scratch does not have.
    /// [`Self::chown`] for a `link: true` copy (made on an empty layer).
    fn chown_linked(&mut self, chown: Option<&str>, span: Span) -> Option<llb::Chown> {
        let c = chown?;
        let named = c.split(':').any(|p| p.parse::<u32>().is_err());
        if named {
            self.errors.push(
                Diagnostic::error(
                    "chown-needs-passwd",
                    span,
                    format!("`chown: {c}` uses a name, but a `link: true` copy is made on an empty layer, without the stage's /etc/passwd"),
                )
                .with_label("a name with `link: true`")
                .with_help("use numeric ids, e.g. `chown: \"0:0\"`, or drop `link: true`"),
            );
            return None;
        }
        self.chown("chown", Some(c), span, true)
    }

    /// `key` is what the spec calls it there (`chown` on copies, `owner` on
    /// file steps), for the message.
    fn chown(
        &mut self,
        key: &str,
        chown: Option<&str>,
        span: Span,
        has_fs: bool,
    ) -> Option<llb::Chown> {
        let c = chown?;
        let (u, g) = match c.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (c, None),
        };
        let to_ref = |s: &str| match s.parse::<u32>() {
            Ok(n) => llb::UserRef::Id(n),
            Err(_) => llb::UserRef::Name(s.to_string()),
        };
        let user = to_ref(u);
        let group = g.map(to_ref);
        let named =
            matches!(user, llb::UserRef::Name(_)) || matches!(group, Some(llb::UserRef::Name(_)));
        if named && !has_fs {
            self.errors.push(
                Diagnostic::error(
                    "chown-needs-passwd",
                    span,
                    format!("`{key}: {c}` uses a name, but this stage has no /etc/passwd to look it up (it starts from scratch)"),
                )
                .with_help(format!("use numeric ids, e.g. `{key}: \"65532:65532\"`")),
            );
            return None;
        }
        // Docker: a user without a group gets the user's primary group;
        // BuildKit does this when the group is left out.
        Some(llb::Chown {
            user: Some(user),
            group,
        })
    }

    /// `chmod`: octal bits go into `mode`; symbolic modes into `modeStr`
    /// (BuildKit v0.17+).
    fn chmod(&mut self, chmod: Option<&str>, span: Span) -> (Option<i32>, String) {
        let Some(m) = chmod else {
            return (None, String::new());
        };
        if let Ok(bits) = u32::from_str_radix(m.trim_start_matches("0o"), 8) {
            return (Some(bits as i32), String::new());
        }
        if !self.caps.has("file.copy.modestring") {
            self.errors.push(self.caps.missing(
                span,
                "symbolic `chmod` modes",
                "file.copy.modestring",
            ));
        }
        (None, m.to_string())
    }

    fn apply_image_spec(&mut self, stage: &Stage, st: &mut StageResult) {
        let spec = &stage.image;
        let cfg = &mut st.image.config;
        if let Some(u) = &spec.user {
            cfg.user = u.clone();
        }
        let shell = cfg.shell.clone();
        let form = |c: &Command| match c {
            Command::Exec(v) => v.clone(),
            Command::Shell(s) => {
                let mut v = shell
                    .clone()
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                v.push(s.clone());
                v
            }
        };
        if let Some(e) = &spec.entrypoint {
            cfg.entrypoint = Some(form(e));
            // Docker: setting ENTRYPOINT clears an inherited CMD.
            if spec.cmd.is_none() {
                cfg.cmd = None;
            }
        }
        if let Some(c) = &spec.cmd {
            cfg.cmd = Some(form(c));
        }
        for p in &spec.expose {
            cfg.exposed_ports
                .get_or_insert_with(BTreeMap::new)
                .insert(p.clone(), serde_json::json!({}));
        }
        for (k, v) in &spec.labels {
            cfg.labels
                .get_or_insert_with(BTreeMap::new)
                .insert(k.clone(), v.clone());
        }
        for v in &spec.volumes {
            cfg.volumes
                .get_or_insert_with(BTreeMap::new)
                .insert(v.clone(), serde_json::json!({}));
        }
        match &spec.healthcheck {
            None => {}
            Some(slipway_spec::Healthcheck::None) => {
                cfg.healthcheck = Some(imageconfig::Healthcheck {
                    test: vec!["NONE".into()],
                    ..Default::default()
                })
            }
            Some(slipway_spec::Healthcheck::Check {
                test,
                interval_ns,
                timeout_ns,
                start_period_ns,
                retries,
            }) => {
                cfg.healthcheck = Some(imageconfig::Healthcheck {
                    test: test.clone(),
                    interval: interval_ns.unwrap_or(0),
                    timeout: timeout_ns.unwrap_or(0),
                    start_period: start_period_ns.unwrap_or(0),
                    retries: retries.unwrap_or(0),
                })
            }
        }
        if let Some(s) = &spec.stop_signal {
            cfg.stop_signal = s.clone();
        }
        if let Some(w) = &spec.workdir {
            let base = if cfg.working_dir.is_empty() {
                "/".to_string()
            } else {
                cfg.working_dir.clone()
            };
            cfg.working_dir = paths::clean_owned(paths::resolve(&base, w));
        }
        for (k, v) in &spec.env {
            st.image.set_env(k, v);
        }
    }
}

/// A step as one line for progress output and history, Docker style.
/// Written into one string, with room for the history suffix the caller
/// appends (a `format!` per piece showed up as reallocations per step).
pub(crate) fn describe(step: &Step) -> String {
    let mut out = String::with_capacity(96);
    let short = |out: &mut String, s: &str| {
        // Already one line with single spaces and short: as written.
        if s.len() <= 120
            && !s.starts_with(' ')
            && !s.ends_with(' ')
            && !s.contains("  ")
            && s.chars().all(|c| c == ' ' || !c.is_whitespace())
        {
            out.push_str(s);
            return;
        }
        let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > 120 {
            out.extend(one.chars().take(119));
            out.push('…');
        } else {
            out.push_str(&one);
        }
    };
    let _ = match &step.kind {
        StepKind::Run(r) => {
            out.push_str("RUN ");
            match &r.command {
                Command::Shell(s) => short(&mut out, s),
                Command::Exec(v) => short(&mut out, &serde_json::to_string(v).unwrap_or_default()),
            }
            Ok(())
        }
        StepKind::Copy(c) => {
            out.push_str("COPY ");
            if let Some(f) = &c.from {
                match &f.value {
                    From::Stage(s) | From::Other(s) => {
                        out.push_str("--from=");
                        out.push_str(s);
                        out.push(' ');
                    }
                }
            }
            for (i, s) in c.sources.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&s.value);
            }
            write!(out, " {}", c.to.as_deref().unwrap_or("./"))
        }
        StepKind::Add(a) => write!(
            out,
            "ADD {} {}",
            a.source.value,
            a.to.as_deref().unwrap_or("./")
        ),
        StepKind::File(f) => write!(out, "FILE {}", f.path),
        StepKind::Mkdir(m) => write!(out, "MKDIR {}", m.path),
        StepKind::Link(l) => write!(out, "LINK {} -> {}", l.path, l.target),
        StepKind::Remove(r) => write!(out, "REMOVE {}", r.paths.join(" ")),
    };
    out
}

/// The `comment` of the history entries Slipway adds.
pub(crate) const HISTORY_COMMENT: &str = "slipway.v1";

fn history_entry(created_by: String, empty_layer: bool) -> History {
    History {
        created_by: Some(created_by),
        comment: Some(HISTORY_COMMENT.into()),
        empty_layer,
        ..Default::default()
    }
}

/// The working directory of an image config, `/` when unset.
pub(crate) fn cwd_of(img: &Image) -> &str {
    if img.config.working_dir.is_empty() {
        "/"
    } else {
        &img.config.working_dir
    }
}

pub(crate) fn range(span: Span) -> SourceRange {
    SourceRange {
        start_line: span.start.line as i32,
        start_character: span.start.col.saturating_sub(1) as i32,
        end_line: span.end.line.max(span.start.line) as i32,
        end_character: span.end.col.saturating_sub(1) as i32,
    }
}

pub(crate) fn pb_platform(p: &Platform) -> pb::Platform {
    pb::Platform {
        architecture: p.architecture.clone(),
        os: p.os.clone(),
        variant: p.variant.clone().unwrap_or_default(),
        ..Default::default()
    }
}

pub(crate) fn platform_string(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    }
}

fn is_git_url(u: &str) -> bool {
    u.starts_with("git@")
        || u.starts_with("git://")
        || u.starts_with("ssh://")
        || u.split('#').next().is_some_and(|b| b.ends_with(".git"))
}

/// `url#ref` → (url, ref); no fragment → empty ref (the remote's default).
fn split_git_fragment(u: &str) -> (String, String) {
    match u.split_once('#') {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (u.to_string(), String::new()),
    }
}

/// A located warning (the spec's diagnostics, severity Warning).
fn warning(code: &'static str, span: slipway_spec::Span, message: &str, help: &str) -> Diagnostic {
    let mut d = Diagnostic::error(code, span, message).with_help(help);
    d.severity = slipway_spec::Severity::Warning;
    d
}
