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

/// Docker's default `PATH` (also Slipway's for `scratch` and offline bases).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

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
        if self.image_root && self.warned.insert(name.to_string()) {
            let (what, help) = if path {
                (
                    format!("`$PATH` comes from the base image, whose env Slipway does not know when converting; Docker's default PATH was written instead"),
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
    if out.is_empty() {
        out.push('/');
    } else if keep_slash && !out.ends_with('/') {
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

    fn run(&mut self, st: &mut Stage, ins: &Instr) {
        let scope = st.scope.clone();
        let esc = self.esc;
        let image_root = st.parent.image_root;
        let mut entries = Vec::new();
        let args = ins.args();
        let (cmd_node, kind) = if let Some(v) = is_json_array(args) {
            (Node::strs(v), DraftKind::Run)
        } else if !ins.heredocs.is_empty() {
            let rest = args.trim();
            let only = ins.heredocs.len() == 1
                && rest == ins.line.text[ins.heredocs[0].start..ins.heredocs[0].end].trim();
            let h = &ins.heredocs[0];
            if only && !h.body.starts_with("#!") {
                (
                    Node::Str(h.body.clone()),
                    DraftKind::ShellRun(h.body.clone(), st.shell.clone()),
                )
            } else if only {
                // A script with its own interpreter: write it out and run it.
                let script = format!(
                    "f=$(mktemp) && cat > \"$f\" <<'SLIPWAY_EOF'\n{}SLIPWAY_EOF\nchmod +x \"$f\" && \"$f\"; s=$?; rm -f \"$f\"; exit $s\n",
                    h.body
                );
                (
                    Node::Str(script.clone()),
                    DraftKind::ShellRun(script, st.shell.clone()),
                )
            } else {
                let mut full = rest.to_string();
                full.push('\n');
                for h in &ins.heredocs {
                    full.push_str(&h.body);
                    full.push_str(&h.name);
                    full.push('\n');
                }
                (
                    Node::Str(full.clone()),
                    DraftKind::ShellRun(full, st.shell.clone()),
                )
            }
        } else {
            let (node, cmd) = shell_command(ins);
            if cmd.is_empty() {
                self.diags.push(
                    Diagnostic::error("dockerfile-syntax", ins.kw_span, "`RUN` needs a command")
                        .with_help("write `RUN command` or `RUN [\"executable\", \"arg\"]`"),
                );
                return;
            }
            (node, DraftKind::ShellRun(cmd, st.shell.clone()))
        };
        entries.push(Entry::new("run", cmd_node));
        let mut groups: Vec<(&'static str, Vec<Node>)> = Vec::new();
        for f in &ins.flags {
            let mut r = Self::res(&scope, &mut st.warned, self.diags, image_root, true, f.span);
            match (f.name.as_str(), &f.value) {
                ("mount", Some(v)) => {
                    let m = mounts::parse(v);
                    let mut dropped = Vec::new();
                    let mut conv = |s: &str| words::word(s, esc, &mut r);
                    match mounts::to_slipway(&m, &mut conv, &mut dropped) {
                        Ok((key, node)) => match groups.iter_mut().find(|g| g.0 == key) {
                            Some(g) => g.1.push(node),
                            None => groups.push((key, vec![node])),
                        },
                        Err(why) => self.diags.push(
                            warning("no-slipway-form", f.span, format!("{why}; this mount was left out"))
                                .with_help("Slipway mounts: cache, secret, ssh, bind, tmpfs (see docs/spec.md)"),
                        ),
                    }
                    if !dropped.is_empty() {
                        self.diags.push(
                            warning(
                                "no-slipway-form",
                                f.span,
                                format!(
                                    "mount option(s) {} have no Slipway form; left out",
                                    dropped
                                        .iter()
                                        .map(|d| format!("`{d}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                            .with_help("see the mount keys in docs/spec.md (run modifiers)"),
                        );
                    }
                }
                ("network", Some(v)) => entries.push(Entry::new("network", Node::Str(v.clone()))),
                ("security", Some(v)) => entries.push(Entry::new("security", Node::Str(v.clone()))),
                (name, _) => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`RUN --{name}` has no Slipway form; left out"),
                    )
                    .with_help(
                        "a `run` step takes cache, secret, ssh, bind, tmpfs, network and security",
                    ),
                ),
            }
        }
        for (key, mut nodes) in groups {
            let v = if nodes.len() == 1 {
                nodes.remove(0)
            } else {
                Node::seq(nodes)
            };
            entries.push(Entry::new(key, v));
        }
        if let Some(u) = &st.user {
            entries.push(Entry::new("user", Node::Str(u.clone())));
        }
        self.draft(st, ins, entries, Vec::new(), kind);
    }

    fn copy(&mut self, st: &mut Stage, ins: &Instr) {
        let add = ins.keyword == "ADD";
        let scope = st.scope.clone();
        let esc = self.esc;
        let image_root = st.parent.image_root;
        let mut r = Self::res(
            &scope,
            &mut st.warned,
            self.diags,
            image_root,
            true,
            ins.args_span(),
        );
        let mut list = match is_json_array(ins.args()) {
            Some(v) => v
                .into_iter()
                .map(|s| words::word(&format!("'{}'", s.replace('\'', "'\"'\"'")), esc, &mut r))
                .collect(),
            None => words::words(ins.args(), esc, &mut r),
        };
        if list.len() < 2 {
            self.diags.push(
                Diagnostic::error(
                    "dockerfile-syntax",
                    ins.args_span(),
                    format!("`{}` needs a source and a destination", ins.keyword),
                )
                .with_help(format!("write `{} src dest`", ins.keyword)),
            );
            return;
        }
        let dest = list.pop().unwrap();
        // Flags.
        let mut from = None;
        let mut mods: Vec<Entry> = Vec::new();
        let mut excludes = Vec::new();
        let mut link = false;
        let si = self
            .names
            .iter()
            .position(|n| *n == st.name)
            .unwrap_or(usize::MAX);
        let from_stage = ins
            .flags
            .iter()
            .rfind(|f| f.name == "from")
            .and_then(|f| self.stage_ref(f.value.as_deref().unwrap_or(""), si));
        for f in &ins.flags {
            let mut r = Self::res(&scope, &mut st.warned, self.diags, image_root, true, f.span);
            let val = f.value.clone().unwrap_or_default();
            match f.name.as_str() {
                "from" if !add => {
                    from = Some(match &from_stage {
                        Some(s) => s.clone(),
                        None => words::word(&val, esc, &mut r),
                    });
                }
                "chown" => mods.push(Entry::new(
                    "chown",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "chmod" => mods.push(Entry::new(
                    "chmod",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "link" => link = f.value.as_deref().is_none_or(|v| v == "true"),
                "exclude" => excludes.push(words::word(&val, esc, &mut r)),
                "parents" if !add => {
                    if f.value.as_deref().is_none_or(|v| v == "true") {
                        mods.push(Entry::new("parents", Node::Bool(true)));
                    }
                }
                "checksum" if add => mods.push(Entry::new(
                    "checksum",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "keep-git-dir" if add => {
                    if f.value.as_deref().is_none_or(|v| v == "true") {
                        mods.push(Entry::new("keep-git-dir", Node::Bool(true)));
                    }
                }
                name => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`{} --{name}` has no Slipway form; left out", ins.keyword),
                    )
                    .with_help("see `copy`/`add` modifiers in docs/spec.md"),
                ),
            }
        }
        // Heredoc sources become `file:` steps.
        let mut sources = Vec::new();
        let heredocs: Vec<_> = ins.heredocs.iter().collect();
        let mut files = Vec::new();
        for s in list {
            let bare = s.trim_start_matches("<<").trim_start_matches('-');
            if s.starts_with("<<") {
                if let Some(h) = heredocs.iter().find(|h| h.name == bare) {
                    files.push(*h);
                    continue;
                }
            }
            sources.push(s);
        }
        for h in &files {
            let path = if dest.ends_with('/') || files.len() + sources.len() > 1 {
                format!("{}/{}", dest.trim_end_matches('/'), h.name)
            } else {
                dest.clone()
            };
            let content = if h.quoted {
                words::escape_dollars(&h.body)
            } else {
                let mut r = Self::res(
                    &scope,
                    &mut st.warned,
                    self.diags,
                    image_root,
                    true,
                    ins.args_span(),
                );
                // Docker expands the body of an unquoted heredoc.
                let mut out = String::new();
                for line in h.body.split_inclusive('\n') {
                    let (body, nl) = match line.strip_suffix('\n') {
                        Some(b) => (b, "\n"),
                        None => (line, ""),
                    };
                    out.push_str(&expand_only(body, &mut r));
                    out.push_str(nl);
                }
                out
            };
            let mut e = vec![
                Entry::new("file", Node::Str(path)),
                Entry::new("content", Node::Str(content)),
            ];
            for m in &mods {
                match m.key.as_str() {
                    "chmod" => e.push(Entry::new("mode", m.value.clone())),
                    "chown" => e.push(Entry::new("owner", m.value.clone())),
                    _ => {}
                }
            }
            self.draft(st, ins, e, vec![0], DraftKind::Other);
        }
        if sources.is_empty() {
            return;
        }
        if add && link && sources.iter().any(|s| is_remote_src(s)) {
            self.diags.push(
                warning(
                    "no-slipway-form",
                    ins.kw_span,
                    "`ADD --link`: an `add` step has no `link`; it is added into the stage",
                )
                .with_help("the result is the same; only the layer is not independent"),
            );
        }
        let (remote, local): (Vec<String>, Vec<String>) =
            sources.into_iter().partition(|s| is_remote_src(s));
        for url in remote {
            let mut e = vec![Entry::new("add", Node::Str(url))];
            e.push(Entry::new("to", Node::Str(dest.clone())));
            for m in &mods {
                if matches!(
                    m.key.as_str(),
                    "chown" | "chmod" | "checksum" | "keep-git-dir"
                ) {
                    e.push(m.clone());
                }
            }
            if !excludes.is_empty() {
                self.diags.push(
                    warning(
                        "no-slipway-form",
                        ins.kw_span,
                        "`ADD --exclude` on a URL has no Slipway form; left out",
                    )
                    .with_help("filter in a later `run` step"),
                );
            }
            self.draft(st, ins, e, vec![1], DraftKind::Copy { has_to: true });
        }
        if local.is_empty() {
            return;
        }
        if add {
            let archive = local.iter().any(|s| {
                [
                    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
                ]
                .iter()
                .any(|x| s.to_ascii_lowercase().ends_with(x))
            });
            if archive {
                self.diags.push(
                    warning("no-slipway-form", ins.kw_span, "`ADD` of a local archive extracts it; Slipway's `copy` copies the file as is")
                        .with_help("add a `run: tar -xf …` step after the copy (with `bind:` to avoid the extra layer)"),
                );
            }
            if checksum_or_git(&mods) {
                self.diags.push(
                    warning(
                        "no-slipway-form",
                        ins.kw_span,
                        "`--checksum`/`--keep-git-dir` apply to URLs only; left out",
                    )
                    .with_help("remove the flag"),
                );
            }
        }
        let src = if local.len() == 1 {
            Node::Str(local[0].clone())
        } else {
            Node::strs(local)
        };
        let mut e = vec![Entry::new("copy", src)];
        if let Some(f) = from {
            e.push(Entry::new("from", Node::Str(f)));
        }
        let mut rel = Vec::new();
        let has_to = !(dest == "." || dest == "./");
        if has_to {
            rel.push(e.len());
            e.push(Entry::new("to", Node::Str(dest)));
        }
        for m in mods {
            if matches!(m.key.as_str(), "chown" | "chmod" | "parents") {
                e.push(m);
            }
        }
        if link {
            e.push(Entry::new("link", Node::Bool(true)));
        }
        if !excludes.is_empty() {
            let v = if excludes.len() == 1 {
                Node::Str(excludes.remove(0))
            } else {
                Node::strs(excludes)
            };
            e.push(Entry::new("exclude", v));
        }
        self.draft(st, ins, e, rel, DraftKind::Copy { has_to });
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

    /// The stage's YAML entry, with workdir and shell fix-ups, and what its
    /// children need.
    fn finish(&mut self, mut st: Stage) -> (Entry, Info) {
        // The last WORKDIR becomes the stage's `workdir:` (created when the stage
        // starts) unless a `run` step comes before the first WORKDIR: that step
        // could create or populate the directory itself (`useradd -m`, `git
        // clone`), so then each WORKDIR stays a `mkdir:` where it was, and the
        // image gets `image.workdir`.
        let first_wd = st
            .drafts
            .iter()
            .position(|d| matches!(d.kind, DraftKind::Workdir(_)));
        let first_run = st
            .drafts
            .iter()
            .position(|d| matches!(d.kind, DraftKind::Run | DraftKind::ShellRun(..)));
        let hoist = !matches!((first_wd, first_run), (Some(w), Some(r)) if r < w);
        let final_wd = if hoist { st.wd.clone() } else { None };
        let inherited_wd = st.parent.workdir.clone().unwrap_or_else(|| "/".into());
        let stage_wd = final_wd.clone().unwrap_or_else(|| inherited_wd.clone());
        let inherited_shell: Vec<String> = st
            .parent
            .shell
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect());
        let mut steps = Vec::new();
        for d in std::mem::take(&mut st.drafts) {
            let step_wd = d.wd.clone().unwrap_or_else(|| inherited_wd.clone());
            let differs = step_wd != stage_wd;
            let mut entries = d.entries;
            match &d.kind {
                DraftKind::Workdir(p) => {
                    if Some(p) != final_wd.as_ref() && p != "/" {
                        steps.push(Item {
                            comments: d.comments,
                            value: Node::Map(vec![Entry::new("mkdir", Node::Str(p.clone()))]),
                        });
                    } else {
                        st.pending.extend(d.comments);
                    }
                    continue;
                }
                DraftKind::ShellRun(cmd, shell) => {
                    let sh = shell.clone().unwrap_or_else(|| inherited_shell.clone());
                    let final_sh = st.shell.clone().unwrap_or_else(|| inherited_shell.clone());
                    if sh != final_sh {
                        let mut v = sh.clone();
                        v.push(cmd.clone());
                        entries[0].value = Node::strs(v);
                    }
                    if differs {
                        entries.push(Entry::new("workdir", Node::Str(step_wd.clone())));
                    }
                }
                DraftKind::Run => {
                    if differs {
                        entries.push(Entry::new("workdir", Node::Str(step_wd.clone())));
                    }
                }
                DraftKind::Copy { has_to } => {
                    if differs && !has_to {
                        let to = join_path(&step_wd, "./");
                        let at = if entries.get(1).is_some_and(|e| e.key == "from") {
                            2
                        } else {
                            1
                        };
                        entries.insert(at, Entry::new("to", Node::Str(to)));
                    }
                }
                DraftKind::Other => {}
            }
            if differs {
                for &i in &d.rel {
                    if let Node::Str(p) = &entries[i].value {
                        if !p.starts_with('/') && !p.starts_with('$') {
                            entries[i].value = Node::Str(join_path(&step_wd, p));
                        }
                    }
                }
            }
            let mut comments = std::mem::take(&mut st.pending);
            comments.extend(d.comments);
            steps.push(Item {
                comments,
                value: Node::Map(entries),
            });
        }
        let mut m = vec![Entry::new("from", Node::Str(st.from.clone()))];
        if let Some(p) = &st.platform {
            m.push(Entry::new("platform", Node::Str(p.clone())));
        }
        if !st.args.is_empty() {
            m.push(Entry::new("args", Node::Map(std::mem::take(&mut st.args))));
        }
        let mut env_names = st.parent.env.clone();
        if !st.env.is_empty() {
            env_names.extend(st.env.iter().map(|e| e.key.clone()));
            m.push(Entry::new("env", Node::Map(std::mem::take(&mut st.env))));
        }
        if let Some(w) = &final_wd {
            m.push(Entry::new("workdir", Node::Str(w.clone())));
        }
        if let Some(s) = &st.shell {
            m.push(Entry::new(
                "shell",
                Node::strs(s.iter().map(|x| words::escape_dollars(x))),
            ));
        }
        if !steps.is_empty() {
            m.push(Entry::new("steps", Node::Seq(steps)));
        }
        let mut image = std::mem::take(&mut st.image);
        if !hoist {
            if let Some(w) = &st.wd {
                image.push(Entry::new("workdir", Node::Str(w.clone())));
            }
        }
        if let Some(u) = &st.user {
            image.insert(0, Entry::new("user", Node::Str(u.clone())));
        }
        if !image.is_empty() {
            m.push(Entry::new("image", Node::Map(image)));
        }
        let mut comments = st.comments;
        comments.extend(st.notes);
        comments.extend(st.pending);
        let info = Info {
            workdir: st.wd.clone().or(st.parent.workdir.clone()),
            env: env_names,
            shell: st.shell.or(st.parent.shell.clone()),
            image_root: st.parent.image_root,
        };
        (
            Entry {
                comments,
                key: st.name,
                value: Node::Map(m),
            },
            info,
        )
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

fn is_remote_src(s: &str) -> bool {
    ["http://", "https://", "git@", "git://", "ssh://"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn checksum_or_git(mods: &[Entry]) -> bool {
    mods.iter()
        .any(|m| m.key == "checksum" || m.key == "keep-git-dir")
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

/// A heredoc body line as Docker expands it for `COPY <<EOF` (unquoted
/// delimiter): `$VAR` expanded, quotes kept as written, `\\` escapes the next
/// character (always the backslash, whatever `# escape=` says).
fn expand_only(s: &str, r: &mut dyn Resolve) -> String {
    // Quotes are literal: escape them so the word rules keep them.
    let mut protected = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\'' {
            protected.push('\\');
        }
        protected.push(c);
    }
    words::word_keep_ws(&protected, '\\', r)
}

/// A shell-form command as Docker runs it, and its YAML form: folded lines
/// when every continuation break is outside quotes, else the exact string.
fn shell_command(ins: &Instr) -> (Node, String) {
    let a = ins.args_start;
    let text = &ins.line.text;
    let exact = text[a..].trim().to_string();
    let mut cuts: Vec<usize> = ins.line.breaks.iter().copied().filter(|&b| b > a).collect();
    cuts.dedup();
    if cuts.is_empty() {
        return (Node::Str(exact.clone()), exact);
    }
    // quote state at each break
    let mut q: Option<char> = None;
    let mut ok = true;
    let mut bi = 0;
    let mut prev_bs = false;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < a) {
        while bi < cuts.len() && cuts[bi] <= i {
            if q.is_some() {
                ok = false;
            }
            bi += 1;
        }
        if prev_bs {
            prev_bs = false;
            continue;
        }
        match (q, c) {
            (None, '\\') => prev_bs = true,
            (Some('"'), '\\') => prev_bs = true,
            (None, '\'' | '"') => q = Some(c),
            (Some(x), y) if x == y => q = None,
            _ => {}
        }
    }
    let mut bounds = vec![a];
    bounds.extend(&cuts);
    bounds.push(text.len());
    let lines: Vec<String> = bounds
        .windows(2)
        .map(|w| text[w[0]..w[1]].trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if !ok || lines.len() < 2 || lines.iter().any(|l| l.starts_with('#')) {
        return (Node::Str(exact.clone()), exact);
    }
    let joined = lines.join(" ");
    (Node::Folded(lines), joined)
}
