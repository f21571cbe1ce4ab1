//! Instructions → stages. Docker's scoping is kept: a stage's `WORKDIR`s become
//! its final `workdir:` plus per-step `workdir:`/absolute paths for the steps
//! that ran elsewhere (and a `mkdir:` for each intermediate directory, which
//! `WORKDIR` creates); `USER` becomes `user:` on the later `run` steps and
//! `image.user`; a `SHELL` change turns the earlier shell-form runs into exec
//! form; `$VAR` references are kept where Slipway knows the name and otherwise
//! replaced by what Docker would expand them to.

use std::collections::{HashMap, HashSet};

use slipway_spec::{Diagnostic, Severity, Span};

use crate::emit::{self, Entry, Item, Node};
use crate::lexer::{Instr, Lexed};
use crate::mounts;
use crate::words::{self, Known, Resolve};
use crate::Options;

mod copy;
mod finish;
mod run;

/// Docker's default `PATH` (also Slipway's for `scratch` and offline bases).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// Whether the spec language puts the base image's env into a stage's `${…}`
/// scope (issue 10 item 1, on main since 600ef41, not yet on this branch).
/// When true, `$PATH` converts to `${PATH}` and a name only the base image can
/// define to `${NAME:-}` (its value, or "" as in Docker), with no warning;
/// when false `$PATH` becomes Docker's default PATH, with a `base-image-env`
/// warning. Flip after merging main (and accept the two changed snapshots).
const BASE_ENV_IN_SCOPE: bool = true;

fn warning(code: &'static str, span: Span, msg: impl Into<String>) -> Diagnostic {
    let mut d = Diagnostic::error(code, span, msg);
    d.severity = Severity::Warning;
    d
}

/// What later stages need to know about a converted stage.
#[derive(Clone, Default)]
struct Info {
    workdir: Option<String>,
    env: HashSet<String>,
    shell: Option<Vec<String>>,
    /// Its chain of `FROM`s ends in an image (not `scratch`).
    image_root: bool,
}

/// Name resolution for one instruction.
struct Res<'a> {
    scope: &'a HashMap<String, Known>,
    /// Unknown names come from a base image (warn) or are empty (scratch, FROM lines).
    image_root: bool,
    in_stage: bool,
    span: Span,
    warned: &'a mut HashSet<String>,
    diags: &'a mut Vec<Diagnostic>,
}

impl Resolve for Res<'_> {
    fn known(&self, name: &str) -> Known {
        match self.scope.get(name).copied().unwrap_or(Known::Unknown) {
            // In `FROM`, an arg without a default is a required build arg (Docker
            // fails on the empty image name): keep `${NAME}`, Slipway says it is unset.
            Known::NoDefault if !self.in_stage => Known::Value,
            k => k,
        }
    }
    fn unknown(&mut self, name: &str) -> Option<String> {
        if !self.in_stage {
            return None;
        }
        let path = name == "PATH";
        if BASE_ENV_IN_SCOPE {
            // `${PATH}` is always defined (Docker's default offline); `${NAME:-}`
            // is the base image's value, or "" as in Docker: exact, no warning.
            return path.then(|| "${PATH}".to_string());
        }
        if self.image_root && self.warned.insert(name.to_string()) {
            let (what, help) = if path {
                (
                    "`$PATH` comes from the base image, whose env Slipway does not know when converting; Docker's default PATH was written instead".to_string(),
                    "check the base image's PATH (`docker image inspect`) and write its value if it differs".to_string(),
                )
            } else {
                (
                    format!("`${name}` is not declared in this stage; Docker takes it from the base image's env (or \"\"), which Slipway does not know here; written as `${{{name}:-}}`"),
                    format!("if the base image sets {name}, write its value, or declare `ARG {name}` in the stage"),
                )
            };
            self.diags
                .push(warning("base-image-env", self.span, what).with_help(help));
        }
        path.then(|| DEFAULT_PATH.to_string())
    }
    fn unsupported(&mut self, form: &str) {
        self.diags.push(
            warning(
                "no-slipway-form",
                self.span,
                format!("`{form}`: Slipway interpolation has no such operator; the plain value was written"),
            )
            .with_help("Slipway has `${NAME:-word}`, `${NAME:+word}`, `${NAME:?msg}`; move string surgery into a `run` step"),
        );
    }
}

/// A step being built; paths relative to the workdir are fixed up once the
/// stage's final `workdir:` is known.
struct Draft {
    comments: Vec<String>,
    entries: Vec<Entry>,
    /// The workdir in effect (None: the inherited one).
    wd: Option<String>,
    /// Indexes of entries that are paths relative to the workdir.
    rel: Vec<usize>,
    kind: DraftKind,
}

enum DraftKind {
    /// A shell-form run: its command and the shell in effect (None: inherited).
    ShellRun(String, Option<Vec<String>>),
    Run,
    Copy {
        has_to: bool,
    },
    /// A `WORKDIR`: a `mkdir:` unless it is the stage's final workdir.
    Workdir(String),
    Other,
}

struct Stage {
    name: String,
    comments: Vec<String>,
    notes: Vec<String>,
    from: String,
    platform: Option<String>,
    args: Vec<Entry>,
    env: Vec<Entry>,
    scope: HashMap<String, Known>,
    warned: HashSet<String>,
    parent: Info,
    wd: Option<String>,
    user: Option<String>,
    shell: Option<Vec<String>>,
    drafts: Vec<Draft>,
    pending: Vec<String>,
    image: Vec<Entry>,
}

struct Conv<'a> {
    esc: char,
    diags: &'a mut Vec<Diagnostic>,
    globals: HashMap<String, Known>,
    global_args: Vec<Entry>,
    /// Final names of the stages, by index; lower-cased Dockerfile names → index.
    names: Vec<String>,
    by_name: HashMap<String, usize>,
    infos: Vec<Info>,
}

pub fn convert(lx: &Lexed, opts: &Options, diags: &mut Vec<Diagnostic>) -> String {
    let mut c = Conv {
        esc: lx.escape,
        diags,
        globals: HashMap::new(),
        global_args: Vec::new(),
        names: Vec::new(),
        by_name: HashMap::new(),
        infos: Vec::new(),
    };
    for p in slipway_spec::PREDEFINED {
        c.globals.insert(p.to_string(), Known::Value);
    }
    let first_from = lx.instrs.iter().position(|i| i.keyword == "FROM");
    let mut header: Vec<String> = Vec::new();
    if let Some(first) = lx.instrs.first() {
        header = first.comments.clone();
    }
    let pre = first_from.unwrap_or(lx.instrs.len());
    for (k, ins) in lx.instrs[..pre].iter().enumerate() {
        if ins.keyword == "ARG" {
            let mut e = c.arg_entries(ins, None);
            if k > 0 {
                if let Some(first) = e.first_mut() {
                    first.comments = ins.comments.clone();
                }
            }
            for en in e {
                upsert(&mut c.global_args, en);
            }
        } else {
            c.diags.push(
                Diagnostic::error(
                    "instruction-before-from",
                    ins.kw_span,
                    format!("`{}` before the first `FROM`", ins.keyword),
                )
                .with_help("only `ARG` may come before the first `FROM`"),
            );
        }
    }
    if first_from.is_none() {
        c.diags.push(
            Diagnostic::error("no-stages", Span::default(), "the Dockerfile has no `FROM`")
                .with_help("a Dockerfile needs at least one `FROM image` line"),
        );
        return String::new();
    }
    // Stage boundaries and names (renaming those Slipway would misread).
    let froms: Vec<usize> = (pre..lx.instrs.len())
        .filter(|&i| lx.instrs[i].keyword == "FROM")
        .collect();
    c.name_stages(lx, &froms);
    let mut stages_out = Vec::new();
    for (si, &fi) in froms.iter().enumerate() {
        let end = froms.get(si + 1).copied().unwrap_or(lx.instrs.len());
        let from_ins = &lx.instrs[fi];
        let mut st = c.start_stage(si, from_ins, pre == fi && si == 0);
        for ins in &lx.instrs[fi + 1..end] {
            c.instruction(&mut st, ins);
        }
        let (entry, info) = c.finish(st);
        c.infos.push(info);
        stages_out.push(entry);
    }
    let mut doc = Vec::new();
    if !c.global_args.is_empty() {
        doc.push(Entry::new(
            "args",
            Node::Map(std::mem::take(&mut c.global_args)),
        ));
    }
    doc.push(Entry::new("stages", Node::Map(stages_out)));
    let mut out = format!("# syntax={}\n", opts.syntax);
    out.push_str("# Converted from a Dockerfile by `slipway convert`.\n");
    for h in &header {
        if h.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str(&format!("# {h}\n"));
        }
    }
    emit::write(&doc, &mut out);
    for t in &lx.trailing {
        out.push_str(&format!("# {t}\n"));
    }
    out
}

fn upsert(v: &mut Vec<Entry>, e: Entry) {
    if let Some(x) = v.iter_mut().find(|x| x.key == e.key) {
        x.value = e.value;
    } else {
        v.push(e);
    }
}

fn is_json_array(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

fn join_path(base: &str, p: &str) -> String {
    if p.starts_with('/') || p.starts_with('$') {
        return p.to_string();
    }
    let p = p.strip_prefix("./").unwrap_or(p);
    let keep_slash = p.ends_with('/') || p == "." || p.is_empty();
    let p = p.trim_end_matches('/');
    let mut out = base.trim_end_matches('/').to_string();
    if p != "." && !p.is_empty() {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() || keep_slash && !out.ends_with('/') {
        out.push('/');
    }
    out
}

impl Conv<'_> {
    fn res<'b>(
        scope: &'b HashMap<String, Known>,
        warned: &'b mut HashSet<String>,
        diags: &'b mut Vec<Diagnostic>,
        image_root: bool,
        in_stage: bool,
        span: Span,
    ) -> Res<'b> {
        Res {
            scope,
            image_root,
            in_stage,
            span,
            warned,
            diags,
        }
    }

    /// `ARG` entries; in a stage, `scope` gets the names.
    fn arg_entries(&mut self, ins: &Instr, st: Option<&mut Stage>) -> Vec<Entry> {
        let mut warned = HashSet::new();
        let mut out = Vec::new();
        let (scope, image_root, in_stage) = match &st {
            Some(s) => (s.scope.clone(), s.parent.image_root, true),
            None => (self.globals.clone(), false, false),
        };
        let mut r = Self::res(
            &scope,
            &mut warned,
            self.diags,
            image_root,
            in_stage,
            ins.args_span(),
        );
        let pairs = words::pairs(ins.args(), self.esc, false, &mut r);
        if pairs.is_empty() {
            self.diags.push(
                Diagnostic::error("dockerfile-syntax", ins.kw_span, "`ARG` needs a name")
                    .with_help("write `ARG NAME` or `ARG NAME=default`"),
            );
        }
        let mut known = Vec::new();
        for (k, v) in pairs {
            let kn = match (&v, &st) {
                (Some(_), _) => Known::Value,
                (None, Some(_)) => self.globals.get(&k).copied().unwrap_or(Known::NoDefault),
                (None, None) => Known::NoDefault,
            };
            known.push((k.clone(), kn));
            out.push(Entry::new(k, v.map(Node::Str).unwrap_or(Node::Null)));
        }
        match st {
            Some(s) => s.scope.extend(known),
            None => self.globals.extend(known),
        }
        out
    }

    fn name_stages(&mut self, lx: &Lexed, froms: &[usize]) {
        let mut raw_names = Vec::new();
        let mut images = Vec::new();
        for &fi in froms {
            let ins = &lx.instrs[fi];
            let w: Vec<&str> = ins.args().split_whitespace().collect();
            images.push(
                w.first()
                    .map(|s| s.to_ascii_lowercase())
                    .unwrap_or_default(),
            );
            let name = if w.len() >= 3 && w[1].eq_ignore_ascii_case("as") {
                Some(w[2].to_ascii_lowercase())
            } else {
                None
            };
            raw_names.push(name);
        }
        let mut used: HashSet<String> = raw_names.iter().flatten().cloned().collect();
        for (i, n) in raw_names.iter().enumerate() {
            let ins = &lx.instrs[froms[i]];
            let name = match n {
                None => {
                    let mut k = format!("stage-{i}");
                    while used.contains(&k) {
                        k.push('x');
                    }
                    used.insert(k.clone());
                    k
                }
                Some(n) => {
                    let clash = matches!(n.as_str(), "scratch" | "context")
                        || images[..=i].iter().any(|im| im == n)
                        || !n.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                        || !n
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
                    if clash {
                        let mut k: String = n
                            .chars()
                            .map(|c| {
                                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                                    c
                                } else {
                                    '-'
                                }
                            })
                            .collect();
                        k.push_str("-stage");
                        while used.contains(&k) {
                            k.push('x');
                        }
                        used.insert(k.clone());
                        self.diags.push(
                            warning(
                                "stage-renamed",
                                ins.line.span(0, ins.line.text.len()),
                                format!("stage `{n}` is written as `{k}`: in Slipway a `from:` naming a stage means that stage, wherever it is defined (or `{n}` is reserved)"),
                            )
                            .with_help(format!("use `--target {k}` for this stage")),
                        );
                        k
                    } else {
                        n.clone()
                    }
                }
            };
            if let Some(n) = n {
                self.by_name.insert(n.clone(), i);
            }
            self.names.push(name);
        }
    }

    /// A stage reference by Dockerfile name or index, if it is an earlier stage.
    fn stage_ref(&self, raw: &str, before: usize) -> Option<String> {
        let l = raw.to_ascii_lowercase();
        if let Ok(n) = l.parse::<usize>() {
            return (n < before).then(|| self.names[n].clone());
        }
        self.by_name
            .get(&l)
            .filter(|&&i| i < before)
            .map(|&i| self.names[i].clone())
    }

    fn start_stage(&mut self, si: usize, ins: &Instr, first_is_header: bool) -> Stage {
        let mut warned = HashSet::new();
        let globals = self.globals.clone();
        let mut platform = None;
        for f in &ins.flags {
            let mut r = Self::res(&globals, &mut warned, self.diags, false, false, f.span);
            match (f.name.as_str(), &f.value) {
                ("platform", Some(v)) => platform = Some(words::word(v, self.esc, &mut r)),
                _ => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`FROM --{}` has no Slipway form; ignored", f.name),
                    )
                    .with_help("a stage takes `platform:` only"),
                ),
            }
        }
        let w: Vec<&str> = ins.args().split_whitespace().collect();
        if w.is_empty() || (w.len() != 1 && w.len() != 3) {
            self.diags.push(
                Diagnostic::error(
                    "dockerfile-syntax",
                    ins.args_span(),
                    "`FROM` takes `image [AS name]`",
                )
                .with_help("write `FROM image` or `FROM image AS name`"),
            );
        }
        let raw = w.first().copied().unwrap_or("scratch");
        let mut parent = Info {
            image_root: true,
            ..Default::default()
        };
        let from = if raw.eq_ignore_ascii_case("scratch") {
            parent.image_root = false;
            "scratch".to_string()
        } else if let Some(s) = self.stage_ref(raw, si) {
            let idx = self.names.iter().position(|n| *n == s).unwrap();
            parent = self.infos[idx].clone();
            s
        } else {
            let mut r = Self::res(
                &globals,
                &mut warned,
                self.diags,
                false,
                false,
                ins.args_span(),
            );
            words::word(raw, self.esc, &mut r)
        };
        let mut scope: HashMap<String, Known> = HashMap::new();
        for e in &parent.env {
            scope.insert(e.clone(), Known::Value);
        }
        Stage {
            name: self.names[si].clone(),
            comments: if first_is_header {
                Vec::new()
            } else {
                ins.comments.clone()
            },
            notes: Vec::new(),
            from,
            platform,
            args: Vec::new(),
            env: Vec::new(),
            scope,
            warned: HashSet::new(),
            parent,
            wd: None,
            user: None,
            shell: None,
            drafts: Vec::new(),
            pending: Vec::new(),
            image: Vec::new(),
        }
    }

    fn not_supported(&mut self, st: &mut Stage, ins: &Instr, why: &str, help: &str) {
        self.diags.push(
            warning(
                "no-slipway-form",
                ins.kw_span,
                format!("`{}` {why}; left out of the spec", ins.keyword),
            )
            .with_help(help),
        );
        let text: String = ins.line.text.chars().take(60).collect();
        st.notes.push(format!(
            "convert: line {}: `{}` {why}; left out",
            ins.kw_span.start.line,
            text.trim()
        ));
    }

    fn draft(
        &self,
        st: &mut Stage,
        ins: &Instr,
        entries: Vec<Entry>,
        rel: Vec<usize>,
        kind: DraftKind,
    ) {
        let mut comments = std::mem::take(&mut st.pending);
        comments.extend(ins.comments.iter().cloned());
        st.drafts.push(Draft {
            comments,
            entries,
            wd: st.wd.clone(),
            rel,
            kind,
        });
    }

    fn instruction(&mut self, st: &mut Stage, ins: &Instr) {
        let kw = ins.keyword.as_str();
        if !matches!(kw, "RUN" | "COPY" | "ADD") {
            st.pending.extend(ins.comments.iter().cloned());
        }
        let scope = st.scope.clone();
        let esc = self.esc;
        let image_root = st.parent.image_root;
        macro_rules! res {
            ($span:expr) => {
                Self::res(&scope, &mut st.warned, self.diags, image_root, true, $span)
            };
        }
        match kw {
            "ARG" => {
                for e in self.arg_entries(ins, Some(st)) {
                    upsert(&mut st.args, e);
                }
            }
            "ENV" => {
                let mut r = res!(ins.args_span());
                let pairs = words::pairs(ins.args(), esc, true, &mut r);
                for (k, v) in pairs {
                    let Some(mut v) = v else {
                        self.diags.push(
                            Diagnostic::error(
                                "dockerfile-syntax",
                                ins.args_span(),
                                format!("`ENV {k}` has no value"),
                            )
                            .with_help("write `ENV NAME=value`"),
                        );
                        continue;
                    };
                    if let Some(prev) = st.env.iter().find(|e| e.key == k) {
                        // A second `ENV K=…$K…`: a map has one K, so inline the earlier value.
                        if let Node::Str(p) = &prev.value {
                            v = v.replace(&format!("${{{k}}}"), p);
                        }
                    }
                    st.scope.insert(k.clone(), Known::Value);
                    upsert(&mut st.env, Entry::new(k, Node::Str(v)));
                }
            }
            "WORKDIR" => {
                let mut r = res!(ins.args_span());
                let p = words::word(ins.args(), esc, &mut r);
                if p.is_empty() {
                    self.diags.push(
                        Diagnostic::error(
                            "dockerfile-syntax",
                            ins.kw_span,
                            "`WORKDIR` needs a path",
                        )
                        .with_help("write `WORKDIR /app`"),
                    );
                    return;
                }
                let base = st
                    .wd
                    .clone()
                    .or_else(|| st.parent.workdir.clone())
                    .unwrap_or_else(|| "/".into());
                let abs = join_path(&base, &p);
                let abs = if abs.len() > 1 {
                    abs.trim_end_matches('/').to_string()
                } else {
                    abs
                };
                st.wd = Some(abs.clone());
                self.draft(st, ins, Vec::new(), Vec::new(), DraftKind::Workdir(abs));
            }
            "USER" => {
                let mut r = res!(ins.args_span());
                let u = words::word(ins.args(), esc, &mut r);
                st.user = Some(u);
            }
            "SHELL" => match is_json_array(ins.args()) {
                Some(v) if !v.is_empty() => st.shell = Some(v),
                _ => self.diags.push(
                    Diagnostic::error(
                        "dockerfile-syntax",
                        ins.args_span(),
                        "`SHELL` takes a JSON array",
                    )
                    .with_help("write `SHELL [\"/bin/bash\", \"-c\"]`"),
                ),
            },
            "RUN" => self.run(st, ins),
            "COPY" | "ADD" => self.copy(st, ins),
            "EXPOSE" => {
                let mut r = res!(ins.args_span());
                let ports = words::words(ins.args(), esc, &mut r);
                let list = image_list(&mut st.image, "expose");
                for p in ports {
                    let n = match p.parse::<u64>() {
                        Ok(n) => Node::Int(n),
                        Err(_) => Node::Str(p),
                    };
                    list.push(Item::new(n));
                }
            }
            "VOLUME" => {
                let vols = match is_json_array(ins.args()) {
                    Some(v) => v.into_iter().map(|s| words::escape_dollars(&s)).collect(),
                    None => {
                        let mut r = res!(ins.args_span());
                        words::words(ins.args(), esc, &mut r)
                    }
                };
                let list = image_list(&mut st.image, "volumes");
                for v in vols {
                    list.push(Item::new(Node::Str(v)));
                }
            }
            "LABEL" => {
                let mut r = res!(ins.args_span());
                let pairs = words::pairs(ins.args(), esc, true, &mut r);
                if !st.image.iter().any(|e| e.key == "labels") {
                    st.image.push(Entry::new("labels", Node::Map(Vec::new())));
                }
                let Some(Entry {
                    value: Node::Map(m),
                    ..
                }) = st.image.iter_mut().find(|e| e.key == "labels")
                else {
                    unreachable!()
                };
                for (k, v) in pairs {
                    upsert(m, Entry::new(k, Node::Str(v.unwrap_or_default())));
                }
            }
            "ENTRYPOINT" | "CMD" => {
                let key = if kw == "CMD" { "cmd" } else { "entrypoint" };
                let v = match is_json_array(ins.args()) {
                    Some(v) => Node::strs(v),
                    None => Node::Str(ins.args().trim().to_string()),
                };
                upsert(&mut st.image, Entry::new(key, v));
            }
            "HEALTHCHECK" => self.healthcheck(st, ins),
            "STOPSIGNAL" => {
                let mut r = res!(ins.args_span());
                let s = words::word(ins.args(), esc, &mut r);
                upsert(&mut st.image, Entry::new("stop-signal", Node::Str(s)));
            }
            "ONBUILD" => self.not_supported(
                st,
                ins,
                "has no Slipway form (a spec has no triggers for images built from its result)",
                "run the instruction in the stages that build from this image instead",
            ),
            "MAINTAINER" => self.not_supported(
                st,
                ins,
                "(deprecated) has no Slipway form",
                "use a label: `image: {labels: {org.opencontainers.image.authors: …}}`",
            ),
            "FROM" => unreachable!("stages are split at FROM"),
            other => {
                let near = KEYWORDS.iter().find(|k| close(k, other));
                let help = match near {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => format!("Dockerfile instructions: {}", KEYWORDS.join(", ")),
                };
                self.diags.push(
                    Diagnostic::error(
                        "unknown-instruction",
                        ins.kw_span,
                        format!("unknown instruction `{other}`"),
                    )
                    .with_label("not a Dockerfile instruction")
                    .with_help(help),
                )
            }
        }
    }

    fn healthcheck(&mut self, st: &mut Stage, ins: &Instr) {
        let args = ins.args().trim();
        if args.eq_ignore_ascii_case("none") {
            upsert(&mut st.image, Entry::new("healthcheck", Node::str("none")));
            return;
        }
        let Some(rest) = args
            .get(..3)
            .filter(|c| c.eq_ignore_ascii_case("cmd"))
            .map(|_| args[3..].trim())
        else {
            self.diags.push(
                Diagnostic::error(
                    "dockerfile-syntax",
                    ins.args_span(),
                    "`HEALTHCHECK` takes `NONE` or `CMD command`",
                )
                .with_help("write `HEALTHCHECK --interval=30s CMD curl -f http://localhost/`"),
            );
            return;
        };
        let test = match is_json_array(rest) {
            Some(v) => Node::strs(std::iter::once("CMD".to_string()).chain(v)),
            None => Node::Str(rest.to_string()),
        };
        let mut h = vec![Entry::new("test", test)];
        for f in &ins.flags {
            let v = f.value.clone().unwrap_or_default();
            match f.name.as_str() {
                "interval" | "timeout" | "start-period" => {
                    h.push(Entry::new(f.name.clone(), Node::Str(v)))
                }
                "retries" => h.push(Entry::new(
                    "retries",
                    v.parse::<u64>().map(Node::Int).unwrap_or(Node::Str(v)),
                )),
                name => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`HEALTHCHECK --{name}` has no Slipway form; left out"),
                    )
                    .with_help(
                        "a healthcheck takes test, interval, timeout, start-period and retries",
                    ),
                ),
            }
        }
        upsert(&mut st.image, Entry::new("healthcheck", Node::Map(h)));
    }
}

const KEYWORDS: &[&str] = &[
    "FROM",
    "ARG",
    "ENV",
    "RUN",
    "COPY",
    "ADD",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "VOLUME",
    "LABEL",
    "ENTRYPOINT",
    "CMD",
    "HEALTHCHECK",
    "STOPSIGNAL",
    "SHELL",
    "ONBUILD",
    "MAINTAINER",
];

/// Within one edit (insertion, deletion, substitution) of each other.
fn close(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let s = a[p..]
        .iter()
        .rev()
        .zip(b[p..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    a.len().max(b.len()) - p - s <= 1
}

fn image_list<'a>(image: &'a mut Vec<Entry>, key: &str) -> &'a mut Vec<Item> {
    if !image.iter().any(|e| e.key == key) {
        image.push(Entry::new(key, Node::Seq(Vec::new())));
    }
    match image.iter_mut().find(|e| e.key == key) {
        Some(Entry {
            value: Node::Seq(v),
            ..
        }) => v,
        _ => unreachable!("image lists are sequences"),
    }
}
