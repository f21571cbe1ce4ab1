//! Stage 2: spanned YAML tree -> validated, interpolated [`Plan`].
//!
//! Every problem is collected (not just the first); the plan is returned only
//! when there is no error.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diag::{Diagnostic, Severity, Span};
use crate::interp::{interpolate_max, InterpError, InterpErrorKind, Scope};
use crate::limits::*;
use crate::plan::*;
use crate::platform::parse_platform;
use crate::yaml::{is_bool_str, is_null_str, span_text, Kind, Node, Style};
use crate::EvalOptions;

pub const TOP_KEYS: &[&str] = &["version", "args", "default", "groups", "stages", "lint"];
pub const STAGE_KEYS: &[&str] = &[
    "from",
    "platform",
    "args",
    "env",
    "workdir",
    "shell",
    "steps",
    "image",
    "description",
    "output",
];
pub const VERBS: &[&str] = &["run", "copy", "add", "file", "mkdir", "link", "remove"];
pub const RUN_KEYS: &[&str] = &[
    "run", "cache", "secret", "ssh", "tmpfs", "bind", "env", "workdir", "user", "network",
    "security", "no-cache",
];
pub const COPY_KEYS: &[&str] = &[
    "copy",
    "from",
    "to",
    "chown",
    "chmod",
    "include",
    "exclude",
    "link",
    "parents",
    "follow-symlinks",
];
pub const ADD_KEYS: &[&str] = &[
    "add",
    "checksum",
    "ref",
    "keep-git-dir",
    "to",
    "chown",
    "chmod",
];
pub const FILE_KEYS: &[&str] = &["file", "content", "mode", "owner"];
pub const MKDIR_KEYS: &[&str] = &["mkdir", "mode", "owner"];
pub const LINK_KEYS: &[&str] = &["link", "target"];
pub const REMOVE_KEYS: &[&str] = &["remove"];
pub const IMAGE_KEYS: &[&str] = &[
    "user",
    "entrypoint",
    "cmd",
    "expose",
    "labels",
    "volumes",
    "healthcheck",
    "stop-signal",
    "env",
    "workdir",
];
pub const HEALTH_KEYS: &[&str] = &["test", "interval", "timeout", "start-period", "retries"];
pub const CACHE_KEYS: &[&str] = &[
    "target", "id", "sharing", "from", "source", "mode", "uid", "gid",
];
pub const SECRET_KEYS: &[&str] = &["id", "target", "env", "required", "mode", "uid", "gid"];
pub const SSH_KEYS: &[&str] = &["id", "target", "required"];
pub const TMPFS_KEYS: &[&str] = &["target", "size"];
pub const BIND_KEYS: &[&str] = &["from", "source", "target", "rw"];

/// Predefined platform arguments (from `EvalOptions`).
pub const PREDEFINED: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

// ---------------------------------------------------------------- scope

#[derive(Clone, Default)]
struct Vars {
    // Shared strings: scopes are cloned per stage and per step, cheaply
    // (each clone is charged to `Ev::copied`, bounded by
    // `MAX_INHERITED_ENTRIES`).
    vals: Vec<(std::rc::Rc<str>, Option<std::rc::Rc<str>>)>,
    /// A name defined nowhere reads as empty ([`crate::BaseEnv::Discover`]).
    lenient: bool,
    /// Name → its last entry in `vals` (a scan per reference was quadratic
    /// with thousands of args).
    index: HashMap<std::rc::Rc<str>, usize>,
}

impl Vars {
    fn set(&mut self, k: &str, v: Option<String>) {
        let k: std::rc::Rc<str> = k.into();
        self.index.insert(k.clone(), self.vals.len());
        self.vals.push((k, v.map(Into::into)));
    }
    fn extend(&mut self, other: &Vars) {
        for (k, v) in &other.vals {
            self.index.insert(k.clone(), self.vals.len());
            self.vals.push((k.clone(), v.clone()));
        }
    }
    fn len(&self) -> usize {
        self.vals.len()
    }
}

impl Scope for Vars {
    fn get(&self, name: &str) -> Option<Option<String>> {
        self.index
            .get(name)
            .map(|&i| self.vals[i].1.as_deref().map(String::from))
            .or_else(|| self.lenient.then(|| Some(String::new())))
    }
}

// ---------------------------------------------------------------- helpers

/// Edit distance counting an adjacent transposition as one edit (OSA).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(256).collect();
    let b: Vec<char> = b.chars().take(256).collect();
    let m = b.len();
    // Three rolling rows (i-2, i-1, i) instead of the whole matrix.
    let mut pp = vec![0usize; m + 1];
    let mut p: Vec<usize> = (0..=m).collect();
    let mut c = vec![0usize; m + 1];
    for i in 1..=a.len() {
        c[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (p[j] + 1).min(c[j - 1] + 1).min(p[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(pp[j - 2] + 1);
            }
            c[j] = v;
        }
        std::mem::swap(&mut pp, &mut p);
        std::mem::swap(&mut p, &mut c);
    }
    p[m]
}

/// The closest candidate within a small edit distance.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut unbounded = usize::MAX;
    did_you_mean_within(word, candidates, &mut unbounded)
}

/// [`did_you_mean`] spending at most `budget` units of work (one per
/// candidate looked at, one per edit-distance cell), taken off `budget`;
/// `None` once it runs out. Hints over a spec's own names (stages, args,
/// targets) go through one budget per spec (`MAX_HINT_WORK`), so that
/// thousands of `from: alpine` cannot make the hints quadratic.
fn did_you_mean_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut usize,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase().replace('_', "-");
    let limit = match w.chars().count() {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    let wlen = w.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let clen = c.chars().count();
        let cost = 1 + clen.min(256) * wlen.min(256);
        if *budget < cost {
            *budget = 0;
            return None;
        }
        *budget -= cost;
        // Names whose length differs by more than the limit cannot be close.
        if clen.abs_diff(wlen) > limit {
            continue;
        }
        let d = levenshtein(&w, &c.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first `MAX_LISTED_NAMES` names, and how many more there are (a
/// hint listing every target of a large spec made each error as large as
/// the spec).
fn list_some<'n>(names: impl ExactSizeIterator<Item = &'n str>) -> String {
    let total = names.len();
    let mut out = names
        .take(MAX_LISTED_NAMES)
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_LISTED_NAMES {
        out.push_str(&format!(" and {} more", total - MAX_LISTED_NAMES));
    }
    out
}

fn is_x_key(k: &str) -> bool {
    k.starts_with("x-")
}

pub fn valid_name_chars(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn valid_var_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Docker reference grammar: `[domain[:port]/]path[:tag][@algo:hex]`.
pub fn is_valid_image_ref(s: &str) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return false;
        };
        if algo.is_empty()
            || !algo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            || hex.len() < 32
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return false;
        }
    }
    // tag: after the last ':' that follows the last '/'
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let mut cs = t.chars();
        if !matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
            || t.len() > 128
            || !cs.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return false;
        }
    }
    let parts: Vec<&str> = name.split('/').collect();
    let (domain, path) = if parts.len() > 1
        && (parts[0].contains('.')
            || parts[0].contains(':')
            || parts[0] == "localhost"
            || parts[0].chars().any(|c| c.is_ascii_uppercase()))
    {
        (Some(parts[0]), &parts[1..])
    } else {
        (None, &parts[..])
    };
    if let Some(d) = domain {
        let (host, port) = match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        };
        if host.is_empty()
            || !host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
        {
            return false;
        }
        if let Some(p) = port {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
        }
    }
    if path.is_empty() {
        return false;
    }
    path.iter().all(|comp| {
        // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
        let b = comp.as_bytes();
        if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
            return false;
        }
        if !(b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit()) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                i += 1;
                continue;
            }
            let st = i;
            while i < b.len() && !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
                i += 1;
            }
            let sep = &comp[st..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-')) {
                return false;
            }
        }
        true
    })
}

/// Depth-checking normalization: returns false when `..` climbs above the
/// starting depth 0 (`base` components deep).
fn escapes(path: &str, base_depth: usize) -> bool {
    // Only `..` climbs: most paths have none.
    if !path.contains("..") {
        return false;
    }
    let mut depth = if path.starts_with('/') {
        0isize
    } else {
        base_depth as isize
    };
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn depth_of(abs: &str) -> usize {
    let mut d = 0usize;
    for comp in abs.split('/') {
        match comp {
            "" | "." => {}
            ".." => d = d.saturating_sub(1),
            _ => d += 1,
        }
    }
    d
}

/// `30s`, `1m30s`, `500ms`, `1h`, `2us`, `10ns`, or a bare integer of seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1_000_000_000))
            .ok_or_else(|| format!("duration `{s}` is too large"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    while i < b.len() {
        let st = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num = &s[st..i];
        if num.is_empty() {
            return Err(format!("invalid duration `{s}`"));
        }
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[us..i];
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("duration `{s}` is missing a unit after `{num}`")),
            u => return Err(format!("unknown unit `{u}` in duration `{s}`")),
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid number `{num}` in duration `{s}`"))?;
        let add = n * mult;
        if !add.is_finite() || add > 1e18 {
            return Err(format!("duration `{s}` is too large"));
        }
        total = total.saturating_add(add as u64);
    }
    Ok(total)
}

/// `64m`, `1g`, `512k`, `1gb`, `1GiB`, or bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid size `{s}`"));
    }
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        u => return Err(format!("unknown unit `{u}` in size `{s}`")),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("size `{s}` is too large"))
}

/// Octal permission bits: `"0755"`, `755`, `0o755`. Always read as octal.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(8)) {
        return Err(format!("`{s}` is not an octal mode"));
    }
    let v = u32::from_str_radix(digits, 8).map_err(|_| format!("mode `{s}` is too large"))?;
    if v > 0o7777 {
        return Err(format!("mode `{s}` is larger than 07777"));
    }
    Ok(v)
}

fn valid_symbolic_chmod(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|clause| {
            let who_end = clause
                .find(|c: char| !"ugoa".contains(c))
                .unwrap_or(clause.len());
            let rest = &clause[who_end..];
            !rest.is_empty()
                && rest.starts_with(['+', '-', '='])
                && rest[1..].chars().all(|c| "rwxXst+-=".contains(c))
        })
}

/// `8080`, `8080/tcp`, `9090/udp`, `8000-8010/tcp` → normalized with protocol.
pub fn parse_port(s: &str) -> Result<String, String> {
    let (ports, proto) = match s.split_once('/') {
        Some((p, pr)) => (p, pr.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "unknown protocol `{proto}` in port `{s}` (use tcp, udp or sctp)"
        ));
    }
    let num = |p: &str| -> Result<u32, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n),
            _ => Err(format!("`{p}` is not a port number between 1 and 65535")),
        }
    };
    match ports.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(format!("port range `{ports}` is reversed"));
            }
            Ok(format!("{a}-{b}/{proto}"))
        }
        None => Ok(format!("{}/{proto}", num(ports)?)),
    }
}

/// Takes the value of the first `key:` entry out of a mapping (an empty
/// scalar is left in its place), so that it can be owned and freed piece by
/// piece.
fn take_value<'s>(n: &mut Node<'s>, key: &str) -> Option<Node<'s>> {
    let Kind::Map(es) = &mut n.kind else {
        return None;
    };
    let (_, v) = es.iter_mut().find(|(k, _)| k.scalar() == Some(key))?;
    let span = v.span;
    Some(std::mem::replace(v, Node::empty_at(span)))
}

fn get<'n, 's>(es: &'n [(Node<'s>, Node<'s>)], key: &str) -> Option<&'n Node<'s>> {
    es.iter()
        .find(|(k, _)| k.scalar() == Some(key))
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------- evaluator

pub struct Ev<'a> {
    src: &'a str,
    opts: &'a EvalOptions,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    stage_names: Vec<String>,
    /// `stage_names` by name (first occurrence), for O(1) lookups.
    stage_index: HashMap<String, usize>,
    known_names: Vec<String>,
    /// Work left for "did you mean" hints over the spec's own names.
    hint_budget: usize,
    /// Hints over the stage names by word, found once (thousands of
    /// `from: alpine` ask the same question).
    stage_hints: HashMap<String, Option<String>>,
    /// Bytes interpolation has produced so far (`MAX_EXPANDED_BYTES`).
    expanded: usize,
    /// Scope entries copied into stages and steps so far
    /// (`MAX_INHERITED_ENTRIES`).
    copied: usize,
    /// Errors past `MAX_ERRORS`: how many, and where the first was.
    pub dropped: Option<(usize, Span)>,
    /// A budget ran out: evaluation stops at the next stage.
    pub aborted: bool,
}

/// Per-stage results of the first pass.
struct Pre {
    args: Vec<(String, String)>,
    vars: Vars,
    from: Option<Spanned<Base>>,
    platform: Option<Spanned<Platform>>,
}

impl<'a> Ev<'a> {
    pub fn new(src: &'a str, opts: &'a EvalOptions) -> Self {
        Ev {
            src,
            opts,
            errors: vec![],
            warnings: vec![],
            stage_names: vec![],
            stage_index: HashMap::new(),
            known_names: vec![],
            hint_budget: MAX_HINT_WORK,
            stage_hints: HashMap::new(),
            expanded: 0,
            copied: 0,
            dropped: None,
            aborted: false,
        }
    }

    /// The stage name closest to `word`, if close enough (cached per word,
    /// within the hint budget).
    fn stage_hint(&mut self, word: &str) -> Option<String> {
        if let Some(h) = self.stage_hints.get(word) {
            return h.clone();
        }
        let h = did_you_mean_within(
            word,
            self.stage_names.iter().map(|s| s.as_str()),
            &mut self.hint_budget,
        )
        .map(String::from);
        self.stage_hints.insert(word.to_string(), h.clone());
        h
    }

    fn err(&mut self, d: Diagnostic) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(d);
        } else {
            let e = self.dropped.get_or_insert((0, d.span));
            e.0 += 1;
        }
    }

    /// A located `too-large` error; evaluation stops at the next stage.
    fn too_large(&mut self, span: Span, message: String, help: &str) {
        self.aborted = true;
        self.err(
            Diagnostic::error("too-large", span, message)
                .with_label("over the limit here")
                .with_help(help.to_string()),
        );
    }

    /// A copy of `v`, charged to the `MAX_INHERITED_ENTRIES` budget
    /// (`span`: where the copy is made, for the error).
    fn copy_vars(&mut self, v: &Vars, span: Span) -> Vars {
        self.copied += v.len();
        if self.copied > MAX_INHERITED_ENTRIES && !self.aborted {
            self.too_large(
                span,
                format!("arguments and env values are copied into stages and steps more than {MAX_INHERITED_ENTRIES} times"),
                "a build spec should be small: use fewer global `args`, shorter `from:` chains with `env`, or fewer stages",
            );
        }
        if self.aborted {
            return Vars::default();
        }
        v.clone()
    }

    fn warn(&mut self, mut d: Diagnostic) {
        d.severity = Severity::Warning;
        self.warnings.push(d);
    }

    fn wrong_type(&mut self, n: &Node, what: &str, expected: &str, help: &str) {
        self.err(
            Diagnostic::error(
                "wrong-type",
                n.span,
                format!("{what} must be {expected}, found {}", n.type_name()),
            )
            .with_label(format!("expected {expected}"))
            .with_help(help.to_string()),
        );
    }

    fn missing(&mut self, span: Span, key: &str, ctx: &str, help: &str) {
        self.err(
            Diagnostic::error("missing-key", span, format!("{ctx} needs `{key}`"))
                .with_label(format!("`{key}` is missing here"))
                .with_help(help.to_string()),
        );
    }

    /// A mapping, or a wrong-type error.
    fn map<'n, 's>(
        &mut self,
        n: &'n Node<'s>,
        what: &str,
        help: &str,
    ) -> Option<&'n [(Node<'s>, Node<'s>)]> {
        match &n.kind {
            Kind::Map(e) => Some(e),
            _ => {
                self.wrong_type(n, what, "a mapping", help);
                None
            }
        }
    }

    fn check_keys(
        &mut self,
        es: &[(Node, Node)],
        valid: &[&str],
        ctx: &str,
        also: &[(&str, &[&str])],
    ) {
        for (k, _) in es {
            let Some(name) = k.scalar() else { continue };
            if valid.contains(&name) || is_x_key(name) {
                continue;
            }
            let mut help = match did_you_mean(name, valid.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            for (other, keys) in also {
                if keys.contains(&name) {
                    help.push_str(&format!("`{name}` belongs to {other}. "));
                }
            }
            help.push_str(&format!(
                "valid keys here: {} (keys starting with `x-` are ignored)",
                list(valid)
            ));
            self.err(
                Diagnostic::error(
                    "unknown-key",
                    k.span,
                    format!("unknown key `{name}` in {ctx}"),
                )
                .with_label(format!("not a key of {ctx}"))
                .with_help(help),
            );
        }
    }

    /// A scalar as written (numbers and booleans are taken as text).
    fn raw_str(&mut self, n: &Node, what: &str) -> Option<String> {
        match &n.kind {
            Kind::Scalar(s, st) if !(*st == Style::Plain && is_null_str(s)) => Some(s.to_string()),
            _ => {
                self.wrong_type(
                    n,
                    what,
                    "a string",
                    "write a single value (quote it if in doubt)",
                );
                None
            }
        }
    }

    /// Span of the char at `at` of a scalar's value (best effort).
    fn inner_span(&self, n: &Node, value: &str, at: usize) -> Span {
        // Offsets only: no line index is needed to slice the text.
        let text = span_text(self.src, n.span);
        let single = n.span.start.line == n.span.end.line;
        // The style does not tell the text's shape (`!!str` makes a plain
        // scalar Quoted): compare the text itself, and slice only between
        // one-byte quotes (no char boundary can be split).
        let quoted = text.len() >= 2
            && matches!(text.as_bytes()[0], b'"' | b'\'')
            && text.as_bytes()[text.len() - 1] == text.as_bytes()[0];
        let skip = match &n.kind {
            Kind::Scalar(..) if single && text == value => Some(0),
            Kind::Scalar(_, Style::Quoted)
                if single && quoted && text[1..text.len() - 1] == *value =>
            {
                Some(1)
            }
            _ => None,
        };
        let Some(skip) = skip else { return n.span };
        // length of the reference starting at `at`
        let chars: Vec<char> = value.chars().collect();
        let mut end = at + 1;
        if chars.get(at + 1) == Some(&'{') {
            while end < chars.len() && chars[end] != '}' {
                end += 1;
            }
            end = (end + 1).min(chars.len());
        } else {
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
        }
        let byte = |c: usize| {
            chars[..c.min(chars.len())]
                .iter()
                .map(|c| c.len_utf8())
                .sum::<usize>()
        };
        let mut s = n.span;
        s.start.col += (skip + at) as u32;
        s.start.offset += (skip + byte(at)) as u32;
        s.end = s.start;
        s.end.col += (end - at) as u32;
        s.end.offset += (byte(end) - byte(at)) as u32;
        s
    }

    fn interp_err(&mut self, n: &Node, value: &str, e: InterpError) {
        let span = self.inner_span(n, value, e.at);
        let d = match e.kind {
            InterpErrorKind::Undefined(name) => {
                let close = did_you_mean_within(
                    &name,
                    self.known_names.iter().map(|s| s.as_str()),
                    &mut self.hint_budget,
                )
                .map(str::to_owned);
                let mut help = match close {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                help.push_str(&match base_env_help(&name) {
                    Some(h) => h,
                    None => format!(
                        "declare it under `args:` (and pass `--build-arg {name}=…`), use a default `${{{name}:-value}}`, or write `$$` for a literal `$`"
                    ),
                });
                Diagnostic::error("undefined-arg", span, format!("undefined argument `{name}`"))
                    .with_label("not an argument, env value or predefined platform argument")
                    .with_help(help)
            }
            InterpErrorKind::Unset(name) => Diagnostic::error(
                "unset-arg",
                span,
                format!("argument `{name}` is declared without a value and none was given"),
            )
            .with_label("has no value")
            .with_help(format!(
                "give it a default under `args:`, pass `--build-arg {name}=…`, or write `${{{name}:-default}}`"
            )),
            InterpErrorKind::Required(name, msg) => Diagnostic::error(
                "required-arg",
                span,
                format!("argument `{name}` is required: {msg}"),
            )
            .with_label("required here")
            .with_help(format!("pass `--build-arg {name}=…`")),
            InterpErrorKind::Unterminated => Diagnostic::error("bad-interpolation", span, "`${` is never closed")
                .with_label("opened here")
                .with_help("close it with `}`, or write `$${` for a literal `${`"),
            InterpErrorKind::BadName(bad) => Diagnostic::error(
                "bad-interpolation",
                span,
                format!("`${{{bad}}}` is not a valid reference"),
            )
            .with_label("invalid reference")
            .with_help("use `${NAME}`, `${NAME:-default}` or `${NAME:+alt}` (names are letters, digits and `_`), or `$$` for a literal `$`"),
            InterpErrorKind::TooDeep => Diagnostic::error("bad-interpolation", span, "defaults are nested too deeply")
                .with_help("nest `${A:-${B}}` at most 16 levels"),
            InterpErrorKind::TooLong(max) => {
                self.aborted = true;
                let (message, help) = if max == MAX_VALUE_BYTES {
                    (
                        format!("this value expands to more than {MAX_VALUE_BYTES} bytes"),
                        "values that reference each other grow quickly (`A: ${B}${B}`); keep each value under 1 MiB",
                    )
                } else {
                    (
                        format!("interpolation in this spec produces more than {MAX_EXPANDED_BYTES} bytes in all"),
                        "a build spec should be small: reference large values fewer times",
                    )
                };
                Diagnostic::error("too-large", n.span, message)
                    .with_label("over the limit here")
                    .with_help(help)
            }
        };
        self.err(d);
    }

    /// A scalar string with `${…}` interpolated.
    fn istr(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
        let raw = self.raw_str(n, what)?;
        if !raw.contains('$') {
            // Nothing to interpolate: the value is the text as written.
            return Some(raw);
        }
        let max = MAX_VALUE_BYTES.min(MAX_EXPANDED_BYTES.saturating_sub(self.expanded));
        match interpolate_max(&raw, vars, max) {
            Ok(v) => {
                self.expanded += v.len();
                Some(v)
            }
            Err(e) => {
                self.interp_err(n, &raw, e);
                None
            }
        }
    }

    /// As `istr`, and non-empty after interpolation.
    fn nstr(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
        let v = self.istr(n, vars, what)?;
        if v.trim().is_empty() {
            self.err(
                Diagnostic::error("empty-value", n.span, format!("{what} must not be empty"))
                    .with_label("empty")
                    .with_help("give a value, or remove the key"),
            );
            return None;
        }
        Some(v)
    }

    fn boolean(&mut self, n: &Node, what: &str) -> Option<bool> {
        match &n.kind {
            Kind::Scalar(s, Style::Plain) if is_bool_str(s) => Some(s.eq_ignore_ascii_case("true")),
            _ => {
                self.wrong_type(n, what, "a boolean", "write `true` or `false`");
                None
            }
        }
    }

    fn uint(&mut self, n: &Node, what: &str) -> Option<u32> {
        match &n.kind {
            Kind::Scalar(s, Style::Plain) if s.parse::<u32>().is_ok() => s.parse().ok(),
            _ => {
                self.wrong_type(
                    n,
                    what,
                    "a non-negative integer",
                    "write a number like `1000`",
                );
                None
            }
        }
    }

    /// A string or a list of strings, interpolated, each non-empty.
    fn str_list(&mut self, n: &Node, vars: &Vars, what: &str) -> Vec<Spanned<String>> {
        match &n.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|i| {
                    self.nstr(i, vars, what).map(|v| Spanned {
                        value: v,
                        span: i.span,
                    })
                })
                .collect(),
            Kind::Scalar(..) => self
                .nstr(n, vars, what)
                .map(|v| {
                    vec![Spanned {
                        value: v,
                        span: n.span,
                    }]
                })
                .unwrap_or_default(),
            Kind::Map(_) => {
                self.wrong_type(
                    n,
                    what,
                    "a string or a list of strings",
                    "write `x` or `[x, y]`",
                );
                vec![]
            }
        }
    }

    /// Exec-form list (not interpolated).
    fn exec_list(&mut self, n: &Node, what: &str) -> Option<Vec<String>> {
        let Kind::Seq(items) = &n.kind else {
            return None;
        };
        let v: Vec<String> = items.iter().filter_map(|i| self.raw_str(i, what)).collect();
        if v.len() != items.len() {
            return None;
        }
        if v.is_empty() {
            self.err(
                Diagnostic::error(
                    "empty-value",
                    n.span,
                    format!("{what} must not be an empty list"),
                )
                .with_help("give the program and its arguments, e.g. `[make, all]`"),
            );
            return None;
        }
        Some(v)
    }

    /// A command: string (shell form) or list (exec form). Not interpolated.
    fn command(&mut self, n: &Node, what: &str) -> Option<Command> {
        match &n.kind {
            Kind::Seq(_) => self.exec_list(n, what).map(Command::Exec),
            Kind::Scalar(..) if !n.is_null() => {
                let s = self.raw_str(n, what)?;
                if s.trim().is_empty() {
                    self.err(
                        Diagnostic::error(
                            "empty-value",
                            n.span,
                            format!("{what} must not be empty"),
                        )
                        .with_help("write the command to run"),
                    );
                    return None;
                }
                Some(Command::Shell(s))
            }
            _ => {
                self.wrong_type(
                    n,
                    what,
                    "a string or a list of strings",
                    "write `make all` (shell form) or `[make, all]` (exec form)",
                );
                None
            }
        }
    }

    fn mode(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<u32> {
        let s = self.nstr(n, vars, what)?;
        match parse_mode(&s) {
            Ok(m) => Some(m),
            Err(e) => {
                self.err(
                    Diagnostic::error("invalid-mode", n.span, format!("invalid {what}: {e}"))
                        .with_label("not an octal mode")
                        .with_help(
                            "write octal permission bits as a string, e.g. \"0755\" or \"0644\"",
                        ),
                );
                None
            }
        }
    }

    fn chmod(&mut self, n: &Node, vars: &Vars) -> Option<String> {
        let s = self.nstr(n, vars, "`chmod`")?;
        let ok = if s.chars().all(|c| c.is_ascii_digit()) || s.starts_with("0o") {
            parse_mode(&s).is_ok()
        } else {
            valid_symbolic_chmod(&s)
        };
        if !ok {
            self.err(
                Diagnostic::error(
                    "invalid-mode",
                    n.span,
                    format!("invalid `chmod` value `{s}`"),
                )
                .with_label("not an octal or symbolic mode")
                .with_help("write octal bits like \"0755\" or a symbolic mode like `u+x,g-w`"),
            );
            return None;
        }
        Some(s)
    }

    fn owner(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
        let s = self.nstr(n, vars, what)?;
        let bad = s.chars().any(char::is_whitespace)
            || s.split(':').count() > 2
            || s.split(':').any(|p| p.is_empty());
        if bad {
            self.err(
                Diagnostic::error("invalid-owner", n.span, format!("invalid {what} `{s}`"))
                    .with_label("not `user`, `user:group` or `uid:gid`")
                    .with_help("write `user`, `user:group`, `1000` or `1000:1000`"),
            );
            return None;
        }
        Some(s)
    }

    /// A path that must not climb out of the root. `base` is the absolute
    /// directory relative paths start from, when known.
    fn path(&mut self, n: &Node, vars: &Vars, what: &str, base: Option<&str>) -> Option<String> {
        let p = self.nstr(n, vars, what)?;
        // Only `..` climbs: the base's depth is not needed without one.
        let climbs = p.contains("..")
            && escapes(
                &p,
                match base {
                    Some(b) if b.starts_with('/') => depth_of(b),
                    _ if p.starts_with('/') => 0,
                    _ => 1 << 40,
                },
            );
        if climbs {
            self.err(
                Diagnostic::error(
                    "path-escapes",
                    n.span,
                    format!("{what} `{p}` climbs above the root with `..`"),
                )
                .with_label("leaves the root directory")
                .with_help(
                    "remove the `..` components; paths are resolved inside the stage's filesystem",
                ),
            );
            return None;
        }
        Some(p)
    }

    /// env-like map: NAME: value (values interpolated; each value is visible to
    /// the next ones when `chain` is set).
    fn env_map(
        &mut self,
        n: &Node,
        vars: &mut Vars,
        what: &str,
        chain: bool,
    ) -> Vec<(String, String)> {
        if chain {
            self.env_map_in(n, None, Some(vars), what)
        } else {
            self.env_map_in(n, Some(vars), None, what)
        }
    }

    /// [`Self::env_map`] without `chain`: the scope is only read (no copy).
    fn env_map_read(&mut self, n: &Node, vars: &Vars, what: &str) -> Vec<(String, String)> {
        self.env_map_in(n, Some(vars), None, what)
    }

    /// Reads in `read`, or reads and sets in `chained` (exactly one given).
    fn env_map_in(
        &mut self,
        n: &Node,
        read: Option<&Vars>,
        mut chained: Option<&mut Vars>,
        what: &str,
    ) -> Vec<(String, String)> {
        let Some(es) = self.map(n, what, "write `NAME: value` pairs") else {
            return vec![];
        };
        if es.len() > MAX_ENV_ENTRIES {
            let at = es[MAX_ENV_ENTRIES].0.span;
            self.too_large(
                at,
                format!(
                    "{what} has {} entries, more than {MAX_ENV_ENTRIES}",
                    es.len()
                ),
                "a build spec should be small: pass large data as files of the build context",
            );
            return vec![];
        }
        let mut out = vec![];
        for (k, v) in es {
            let Some(name) = k.scalar() else { continue };
            if name.is_empty() || name.contains('=') || name.chars().any(char::is_whitespace) {
                self.err(
                    Diagnostic::error(
                        "invalid-name",
                        k.span,
                        format!("invalid variable name `{name}` in {what}"),
                    )
                    .with_label("invalid name")
                    .with_help("names must be non-empty, without `=` or spaces"),
                );
                continue;
            }
            let scope: &Vars = match (chained.as_deref(), read) {
                (Some(c), _) => c,
                (None, Some(r)) => r,
                (None, None) => return out,
            };
            let Some(val) = self.istr(v, scope, &format!("the value of `{name}`")) else {
                continue;
            };
            if let Some(c) = chained.as_deref_mut() {
                c.set(name, Some(val.clone()));
            }
            out.push((name.to_string(), val));
        }
        out
    }

    /// Classify a copy/bind/cache `from`.
    fn from_ref(&mut self, n: &Node, vars: &Vars) -> Option<Spanned<From>> {
        let v = self.nstr(n, vars, "`from`")?;
        if self.stage_index.contains_key(&v) {
            return Some(Spanned {
                value: From::Stage(v),
                span: n.span,
            });
        }
        let close = self.stage_hint(&v);
        if v == "scratch" {
            self.err(
                Diagnostic::error(
                    "invalid-from",
                    n.span,
                    "cannot copy or mount from `scratch`",
                )
                .with_label("scratch is empty")
                .with_help("name a stage, an image, a named context or `context`"),
            );
            return None;
        }
        if v != "context" && !is_valid_image_ref(&v) {
            let mut help = match &close {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "name a stage ({}), `context`, a named build context, or an image reference",
                list_some(self.stage_names.iter().map(|s| s.as_str()))
            ));
            self.err(
                Diagnostic::error(
                    "unknown-stage",
                    n.span,
                    format!("`{v}` is not a stage, a context or a valid image reference"),
                )
                .with_label("unknown stage")
                .with_help(help),
            );
            return None;
        }
        if let Some(c) = close {
            if !v.contains(['/', ':', '@']) && v != "context" {
                self.warn(
                    Diagnostic::error("maybe-typo", n.span, format!("`{v}` is not a stage of this file; it will be read as an image or named context"))
                        .with_label("not a stage")
                        .with_help(format!("did you mean the stage `{c}`?")),
                );
            }
        }
        Some(Spanned {
            value: From::Other(v),
            span: n.span,
        })
    }
}

/// Help for `${PATH}` and other variables that base images set: they are
/// not arguments, and `--build-arg` is not the fix.
fn base_env_help(name: &str) -> Option<String> {
    const IMAGE_ENV: &[&str] = &[
        "PATH",
        "HOME",
        "LANG",
        "LD_LIBRARY_PATH",
        "JAVA_HOME",
        "GOPATH",
        "GOROOT",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "PYTHONPATH",
        "NODE_PATH",
        "NODE_VERSION",
        "PYTHON_VERSION",
        "GOLANG_VERSION",
    ];
    if !IMAGE_ENV.contains(&name) {
        return None;
    }
    Some(format!(
        "`{name}` is usually set by base images, but not by this stage's base as known here (offline `slipway check`/`compile` know no image's config, only Docker's default `PATH`; a build sees the image's real env): give a default, `${{{name}:-value}}`, or set it under `env:`; inside a `run:` command, `${name}` is the shell's and works as usual"
    ))
}

// ---------------------------------------------------------------- the file

impl<'a> Ev<'a> {
    /// Evaluates the tree, consuming it: each stage's subtree is freed as
    /// soon as the stage is evaluated, so the plan reuses that memory (at
    /// 10,000 stages the tree is ~70 MB).
    pub fn eval(&mut self, filename: &str, mut root: Node) -> Option<Plan> {
        let stages_node = take_value(&mut root, "stages");
        let root = &root;
        let Some(top) = self.map(root, "the file", "a spec is a mapping with `stages:` (and optionally `version`, `args`, `default`, `groups`)") else {
            return None;
        };
        self.check_keys(top, TOP_KEYS, "the top level", &[("a stage", STAGE_KEYS)]);

        if let Some(v) = get(top, "version") {
            if v.scalar() != Some("1") {
                self.err(
                    Diagnostic::error(
                        "unsupported-version",
                        v.span,
                        format!(
                            "unsupported version `{}`",
                            v.scalar().unwrap_or(v.type_name())
                        ),
                    )
                    .with_label("only version 1 exists")
                    .with_help("write `version: 1` or leave it out"),
                );
            }
        }

        // predefined
        let mut globals = Vars::default();
        let o = self.opts;
        let pre: [(&str, String); 8] = [
            ("BUILDPLATFORM", o.build_platform.to_string()),
            ("BUILDOS", o.build_platform.os.clone()),
            ("BUILDARCH", o.build_platform.architecture.clone()),
            (
                "BUILDVARIANT",
                o.build_platform.variant.clone().unwrap_or_default(),
            ),
            ("TARGETPLATFORM", o.target_platform.to_string()),
            ("TARGETOS", o.target_platform.os.clone()),
            ("TARGETARCH", o.target_platform.architecture.clone()),
            (
                "TARGETVARIANT",
                o.target_platform.variant.clone().unwrap_or_default(),
            ),
        ];
        for (k, v) in &pre {
            globals.set(k, Some(v.clone()));
        }
        let predefined = globals.clone();
        let mut declared: HashSet<String> = HashSet::new();
        let mut plan_args = vec![];
        if let Some(a) = get(top, "args") {
            plan_args = self.args_common(
                a,
                &mut globals,
                &predefined,
                &mut declared,
                "the global `args`",
            );
        }

        // stages
        // Indexes into the entries of `stages:`.
        let mut stage_nodes: Vec<usize> = vec![];
        match &stages_node {
            None => self.missing(
                root.span,
                "stages",
                "the file",
                "add a `stages:` mapping, e.g. `stages: {app: {from: alpine}}`",
            ),
            Some(s) => {
                if let Some(es) = self.map(
                    s,
                    "`stages`",
                    "write `stages:` as a mapping of stage names to stages",
                ) {
                    for (e, (k, _)) in es.iter().enumerate() {
                        let name = k.scalar().unwrap_or("");
                        if is_x_key(name) {
                            continue;
                        }
                        if name == "scratch" || name == "context" {
                            self.err(
                                Diagnostic::error(
                                    "reserved-name",
                                    k.span,
                                    format!("`{name}` cannot be a stage name"),
                                )
                                .with_label("reserved")
                                .with_help(format!(
                                    "`{name}` has a fixed meaning in `from:`; rename the stage"
                                )),
                            );
                            continue;
                        }
                        if !valid_name_chars(name) {
                            self.err(
                                Diagnostic::error("invalid-name", k.span, format!("invalid stage name `{name}`"))
                                    .with_label("invalid name")
                                    .with_help("stage names start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"),
                            );
                            continue;
                        }
                        stage_nodes.push(e);
                    }
                    if es.is_empty() {
                        self.err(
                            Diagnostic::error("empty-value", s.span, "`stages` is empty")
                                .with_help("define at least one stage, e.g. `app: {from: alpine}`"),
                        );
                    } else if es.iter().all(|(k, _)| is_x_key(k.scalar().unwrap_or(""))) {
                        self.err(
                            Diagnostic::error(
                                "empty-value",
                                s.span,
                                "`stages` holds no stage, only `x-` keys",
                            )
                            .with_label("keys starting with `x-` are ignored")
                            .with_help("define at least one stage, e.g. `app: {from: alpine}`"),
                        );
                    }
                }
            }
        }
        let mut stage_entries: Vec<(Node, Node)> = match stages_node {
            Some(Node {
                kind: Kind::Map(es),
                ..
            }) => es,
            _ => Vec::new(),
        };
        self.stage_names = stage_nodes
            .iter()
            .map(|&e| stage_entries[e].0.scalar().unwrap_or("").to_string())
            .collect();
        for (i, name) in self.stage_names.iter().enumerate() {
            self.stage_index.entry(name.clone()).or_insert(i);
        }
        self.known_names = globals.vals.iter().map(|(k, _)| k.to_string()).collect();

        // Budgets that can be checked before any work (issue 11: refuse
        // fast, at the first item over the limit).
        if stage_nodes.len() > MAX_STAGES {
            let at = stage_entries[stage_nodes[MAX_STAGES]].0.span;
            self.too_large(
                at,
                format!(
                    "the spec has {} stages, more than {MAX_STAGES}",
                    stage_nodes.len()
                ),
                "split the build into several specs",
            );
            return None;
        }
        let mut steps_seen = 0usize;
        for &e in &stage_nodes {
            let Kind::Map(es) = &stage_entries[e].1.kind else {
                continue;
            };
            if let Some(Node {
                kind: Kind::Seq(items),
                ..
            }) = get(es, "steps")
            {
                if steps_seen + items.len() > MAX_STEPS {
                    let at = items[MAX_STEPS - steps_seen].span;
                    self.too_large(
                        at,
                        format!("the spec has more than {MAX_STEPS} steps"),
                        "split the build into several specs",
                    );
                    return None;
                }
                steps_seen += items.len();
            }
        }

        // pass 1: stage args, from, platform
        let mut pres: Vec<Pre> = vec![];
        for &e in &stage_nodes {
            if self.aborted {
                return None;
            }
            let (k, v) = &stage_entries[e];
            let name = k.scalar().unwrap_or("").to_string();
            let es = match self.map(
                v,
                &format!("stage `{name}`"),
                "a stage is a mapping with `from:` and `steps:`",
            ) {
                Some(es) => es,
                None => &[],
            };
            let mut vars = self.copy_vars(&globals, k.span);
            if self.aborted {
                // Over budget: no stage is evaluated with a truncated scope.
                return None;
            }
            let mut args = vec![];
            if let Some(a) = get(es, "args") {
                args = self.args_common(
                    a,
                    &mut vars,
                    &globals,
                    &mut declared,
                    &format!("the `args` of stage `{name}`"),
                );
            }
            let from = match get(es, "from") {
                None => {
                    if matches!(v.kind, Kind::Map(_)) {
                        self.missing(
                            k.span,
                            "from",
                            &format!("stage `{name}`"),
                            "add `from: IMAGE`, `from: OTHER_STAGE` or `from: scratch`",
                        );
                    }
                    None
                }
                Some(f) => self.stage_from(f, &vars, &name),
            };
            let platform = get(es, "platform").and_then(|p| {
                let s = self.nstr(p, &vars, "`platform`")?;
                match parse_platform(&s) {
                    Ok(pl) => Some(Spanned { value: pl, span: p.span }),
                    Err(e) => {
                        self.err(
                            Diagnostic::error("invalid-platform", p.span, format!("invalid platform `{s}`: {e}"))
                                .with_label("invalid platform")
                                .with_help("write `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm64`, `linux/arm/v7`, or `${BUILDPLATFORM}`"),
                        );
                        None
                    }
                }
            });
            pres.push(Pre {
                args,
                vars,
                from,
                platform,
            });
        }

        // order by `from` edges so a child sees its parent's env
        let n = stage_nodes.len();
        let parent: Vec<Option<usize>> = pres
            .iter()
            .map(|p| match &p.from {
                Some(Spanned {
                    value: Base::Stage(s),
                    ..
                }) => self.stage_index.get(s).copied(),
                _ => None,
            })
            .collect();
        let mut order = vec![];
        let mut state = vec![0u8; n];
        for i in 0..n {
            let mut chain = vec![];
            let mut cur = Some(i);
            while let Some(c) = cur {
                if state[c] != 0 {
                    break;
                }
                state[c] = 1;
                chain.push(c);
                cur = parent[c];
            }
            for c in chain.into_iter().rev() {
                order.push(c);
                state[c] = 2;
            }
        }

        let mut final_env: Vec<Option<Vars>> = vec![None; n];
        let mut stages: Vec<Option<Stage>> = vec![None; n];
        let mut edges: Vec<Vec<(usize, Span)>> = vec![vec![]; n];
        for &i in &order {
            if self.aborted {
                return None;
            }
            let (k, v) = &stage_entries[stage_nodes[i]];
            // Each stage is evaluated once: its scope is moved, not copied.
            let mut vars = std::mem::take(&mut pres[i].vars);
            let mut env_vars = Vars::default();
            if let Some(p) = parent[i] {
                if let Some(env) = &final_env[p] {
                    // The parent's env is copied twice (scope and env):
                    // charged, so a long `from:` chain with env is bounded.
                    self.copied += 2 * env.len();
                    if self.copied > MAX_INHERITED_ENTRIES {
                        self.copy_vars(&Vars::default(), k.span);
                        return None;
                    }
                    vars.extend(env);
                    env_vars = env.clone();
                }
                if let Some(f) = &pres[i].from {
                    edges[i].push((p, f.span));
                }
            } else if let Some(f) = &pres[i].from {
                // The base image's env, as Docker's ENV substitution sees it.
                for (k2, v2) in self.opts.base_env.of(&f.value) {
                    vars.set(&k2, Some(v2.clone()));
                    env_vars.set(&k2, Some(v2));
                }
            }
            if matches!(self.opts.base_env, crate::BaseEnv::Discover) {
                vars.lenient = true;
                env_vars.lenient = true;
            }
            let st = self.stage(k, v, &mut vars, &mut env_vars, &pres[i], &mut edges[i]);
            final_env[i] = Some(env_vars);
            stages[i] = st;
            // Done with this stage's subtree.
            let v = &mut stage_entries[stage_nodes[i]].1;
            drop(std::mem::replace(v, Node::empty_at(v.span)));
        }
        drop(stage_entries);

        self.check_cycles(&edges);

        // groups
        let mut groups = vec![];
        let mut group_members = 0usize;
        if let Some(g) = get(top, "groups") {
            if let Some(es) = self.map(
                g,
                "`groups`",
                "write `groups:` as a mapping of group names to lists of stages",
            ) {
                for (k, v) in es {
                    let name = k.scalar().unwrap_or("").to_string();
                    if is_x_key(&name) {
                        continue;
                    }
                    if self.stage_index.contains_key(&name) {
                        self.err(
                            Diagnostic::error(
                                "name-conflict",
                                k.span,
                                format!("group `{name}` has the name of a stage"),
                            )
                            .with_label("also a stage")
                            .with_help("targets name a stage or a group; rename the group"),
                        );
                        continue;
                    }
                    if !valid_name_chars(&name) {
                        self.err(
                            Diagnostic::error("invalid-name", k.span, format!("invalid group name `{name}`"))
                                .with_help("group names start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"),
                        );
                        continue;
                    }
                    let members: Vec<Spanned<String>> = match &v.kind {
                        Kind::Seq(_) | Kind::Scalar(..) if !v.is_null() => {
                            self.str_list(v, &globals, "a group member")
                        }
                        _ => {
                            self.wrong_type(
                                v,
                                &format!("group `{name}`"),
                                "a list of stage or group names",
                                "write `[test, lint]`",
                            );
                            continue;
                        }
                    };
                    group_members += members.len();
                    if group_members > MAX_GROUP_MEMBERS {
                        let over = members.len() - (group_members - MAX_GROUP_MEMBERS);
                        self.too_large(
                            members[over.min(members.len() - 1)].span,
                            format!("groups have more than {MAX_GROUP_MEMBERS} members in all"),
                            "a group names stages or other groups; use fewer, larger groups",
                        );
                        return None;
                    }
                    if members.is_empty() && matches!(v.kind, Kind::Seq(_)) {
                        self.err(
                            Diagnostic::error(
                                "empty-value",
                                v.span,
                                format!("group `{name}` has no members"),
                            )
                            .with_help("list at least one stage"),
                        );
                    }
                    groups.push(Group {
                        name: Spanned {
                            value: name,
                            span: k.span,
                        },
                        members,
                    });
                }
            }
        }
        let group_names: Vec<String> = groups.iter().map(|g| g.name.value.clone()).collect();
        let targets: Vec<String> = self
            .stage_names
            .iter()
            .chain(group_names.iter())
            .cloned()
            .collect();
        // Membership by hash (a scan per member was quadratic).
        let target_set: HashSet<&str> = targets.iter().map(|s| s.as_str()).collect();
        let mut unknown = vec![];
        for g in &groups {
            for m in &g.members {
                if !target_set.contains(m.value.as_str()) {
                    unknown.push((m.clone(), format!("group `{}`", g.name.value)));
                }
            }
        }
        let default = get(top, "default").and_then(|d| {
            let v = self.nstr(d, &globals, "`default`")?;
            Some(Spanned {
                value: v,
                span: d.span,
            })
        });
        if let Some(d) = &default {
            if !target_set.contains(d.value.as_str()) {
                unknown.push((d.clone(), "`default`".into()));
            }
        }
        for (m, ctx) in unknown {
            if self.errors.len() >= MAX_ERRORS {
                // Not shown (only counted): no hint to look for.
                self.err(Diagnostic::error("unknown-target", m.span, String::new()));
                continue;
            }
            let close = did_you_mean_within(
                &m.value,
                targets.iter().map(|s| s.as_str()),
                &mut self.hint_budget,
            );
            let mut help = match close {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "valid targets: {}",
                list_some(targets.iter().map(|s| s.as_str()))
            ));
            self.err(
                Diagnostic::error(
                    "unknown-target",
                    m.span,
                    format!(
                        "{ctx} names `{}`, which is neither a stage nor a group",
                        m.value
                    ),
                )
                .with_label("unknown stage or group")
                .with_help(help),
            );
        }
        self.check_group_cycles(&groups);

        // build args nobody declared
        let unused_build_args: Vec<String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !declared.contains(*k))
            .cloned()
            .collect();

        let lint = crate::lint::config(get(top, "lint"), &mut self.errors);

        if !self.errors.is_empty() {
            return None;
        }
        Some(Plan {
            filename: filename.to_string(),
            source: self.src.to_string(),
            args: plan_args,
            unused_build_args,
            default,
            groups,
            stages: stages.into_iter().flatten().collect(),
            lint,
        })
    }

    /// `NAME: default` pairs. A name without a value takes, in order: the
    /// `--build-arg`, the value of the same name in `inherit` (predefined
    /// platform args; for stage args also the global args), else is unset.
    fn args_common(
        &mut self,
        a: &Node,
        vars: &mut Vars,
        inherit: &Vars,
        declared: &mut HashSet<String>,
        what: &str,
    ) -> Vec<(String, String)> {
        let Some(es) = self.map(
            a,
            what,
            "write `NAME: default` pairs (a name with no value is declared without a default)",
        ) else {
            return vec![];
        };
        let mut out = vec![];
        for (k, v) in es {
            let name = k.scalar().unwrap_or("");
            if !valid_var_name(name) {
                self.err(
                    Diagnostic::error(
                        "invalid-name",
                        k.span,
                        format!("invalid argument name `{name}`"),
                    )
                    .with_label("invalid name")
                    .with_help(
                        "argument names are letters, digits and `_`, not starting with a digit",
                    ),
                );
                continue;
            }
            declared.insert(name.to_string());
            let over = self.opts.build_args.get(name).cloned();
            let value = if v.is_null() {
                over.or_else(|| inherit.get(name).flatten())
            } else if !matches!(v.kind, Kind::Scalar(..)) {
                self.wrong_type(
                    v,
                    &format!("the default of `{name}`"),
                    "a string",
                    "write `NAME: value`",
                );
                continue;
            } else {
                let d = self.istr(v, vars, &format!("the default of `{name}`"));
                match over {
                    Some(o) => Some(o),
                    None => match d {
                        Some(d) => Some(d),
                        None => continue,
                    },
                }
            };
            vars.set(name, value.clone());
            if let Some(val) = value {
                out.push((name.to_string(), val));
            }
            self.known_names.push(name.to_string());
        }
        out
    }

    fn stage_from(&mut self, f: &Node, vars: &Vars, stage: &str) -> Option<Spanned<Base>> {
        let v = self.nstr(f, vars, "`from`")?;
        let base = if self.stage_index.contains_key(&v) {
            if v == stage {
                self.err(
                    Diagnostic::error(
                        "cycle",
                        f.span,
                        format!("stage `{stage}` is built from itself"),
                    )
                    .with_label("self reference")
                    .with_help("name an image or another stage"),
                );
                return None;
            }
            Base::Stage(v)
        } else if v == "scratch" {
            Base::Scratch
        } else if is_valid_image_ref(&v) {
            let plain = !v.contains(['/', ':', '@']);
            if let Some(c) = plain.then(|| self.stage_hint(&v)).flatten() {
                {
                    let c = c.to_string();
                    self.warn(
                        Diagnostic::error(
                            "maybe-typo",
                            f.span,
                            format!(
                                "`{v}` is not a stage of this file; it will be pulled as an image"
                            ),
                        )
                        .with_label("read as an image")
                        .with_help(format!("did you mean the stage `{c}`?")),
                    );
                }
            }
            Base::Image(v)
        } else {
            let close = self.stage_hint(&v);
            let mut help = match close {
                Some(s) => format!("did you mean the stage `{s}`? "),
                None => String::new(),
            };
            help.push_str("write an image reference like `alpine:3.20` or `ghcr.io/org/img@sha256:…`, a stage name, or `scratch`");
            self.err(
                Diagnostic::error(
                    "invalid-image-ref",
                    f.span,
                    format!("`{v}` is neither a stage nor a valid image reference"),
                )
                .with_label("invalid base")
                .with_help(help),
            );
            return None;
        };
        Some(Spanned {
            value: base,
            span: f.span,
        })
    }

    fn check_cycles(&mut self, edges: &[Vec<(usize, Span)>]) {
        let n = edges.len();
        let mut color = vec![0u8; n];
        // Position of each stage on `path` while it is there.
        let mut depth = vec![0usize; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        for s in 0..n {
            if color[s] != 0 {
                continue;
            }
            // iterative DFS
            let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
            let mut path: Vec<usize> = vec![s];
            color[s] = 1;
            while let Some(&mut (u, ref mut ei)) = stack.last_mut() {
                if *ei < edges[u].len() {
                    let (w, _) = edges[u][*ei];
                    *ei += 1;
                    if color[w] == 1 {
                        let cyc: Vec<usize> = path[depth[w]..].to_vec();
                        let mut key = cyc.clone();
                        key.sort();
                        if reported.insert(key) {
                            self.report_cycle(&cyc, edges);
                            // Each report copies a path: a few are enough.
                            if reported.len() >= MAX_CYCLES_REPORTED {
                                return;
                            }
                        }
                    } else if color[w] == 0 {
                        color[w] = 1;
                        depth[w] = path.len();
                        stack.push((w, 0));
                        path.push(w);
                    }
                } else {
                    color[u] = 2;
                    stack.pop();
                    path.pop();
                }
            }
        }
    }

    fn report_cycle(&mut self, cyc: &[usize], edges: &[Vec<(usize, Span)>]) {
        // start at the stage that comes first in the file
        let first = (0..cyc.len()).min_by_key(|&i| cyc[i]).unwrap_or(0);
        let rot: Vec<usize> = cyc[first..]
            .iter()
            .chain(cyc[..first].iter())
            .copied()
            .collect();
        let names: Vec<&str> = rot
            .iter()
            .chain(rot.first())
            .map(|&i| self.stage_names[i].as_str())
            .collect();
        let next = rot.get(1).copied().unwrap_or(rot[0]);
        let span = edges[rot[0]]
            .iter()
            .find(|(w, _)| *w == next)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        let msg = format!("dependency cycle: {}", names.join(" -> "));
        self.err(
            Diagnostic::error("cycle", span, msg)
                .with_label(format!("`{}` depends on `{}` here", names[0], names[1]))
                .with_help("stages may not depend on each other in a loop (through `from`, `copy.from`, `bind.from` or `cache.from`); break one of the edges"),
        );
    }

    /// One depth-first pass over the group graph (each member edge looked
    /// at once); a cycle is reported at the group where it was entered.
    fn check_group_cycles(&mut self, groups: &[Group]) {
        let idx: HashMap<&str, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.value.as_str(), i))
            .collect();
        let n = groups.len();
        let mut color = vec![0u8; n];
        let mut depth = vec![0usize; n];
        let mut reported: HashSet<Vec<usize>> = HashSet::new();
        for start in 0..n {
            if color[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            let mut path: Vec<usize> = vec![start];
            color[start] = 1;
            while let Some(&mut (g, ref mut mi)) = stack.last_mut() {
                let Some(m) = groups[g].members.get(*mi) else {
                    color[g] = 2;
                    stack.pop();
                    path.pop();
                    continue;
                };
                *mi += 1;
                let Some(&w) = idx.get(m.value.as_str()) else {
                    continue;
                };
                if color[w] == 1 {
                    let cyc: Vec<usize> = path[depth[w]..].to_vec();
                    let mut key = cyc.clone();
                    key.sort();
                    if reported.insert(key) {
                        let names: Vec<&str> = cyc
                            .iter()
                            .chain(std::iter::once(&w))
                            .map(|&i| groups[i].name.value.as_str())
                            .collect();
                        self.err(
                            Diagnostic::error(
                                "group-cycle",
                                groups[w].name.span,
                                format!("group cycle: {}", names.join(" -> ")),
                            )
                            .with_label("this group contains itself")
                            .with_help("remove one of the group references"),
                        );
                        if reported.len() >= MAX_CYCLES_REPORTED {
                            return;
                        }
                    }
                } else if color[w] == 0 {
                    color[w] = 1;
                    depth[w] = path.len();
                    stack.push((w, 0));
                    path.push(w);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- a stage

impl<'a> Ev<'a> {
    fn stage(
        &mut self,
        k: &Node,
        v: &Node,
        vars: &mut Vars,
        env_vars: &mut Vars,
        pre: &Pre,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Stage> {
        let name = k.scalar().unwrap_or("").to_string();
        let Kind::Map(es) = &v.kind else { return None };
        let ctx = format!("stage `{name}`");
        self.check_keys(
            es,
            STAGE_KEYS,
            &ctx,
            &[
                ("a `run` step", RUN_KEYS),
                ("`image`", IMAGE_KEYS),
                ("the top level", TOP_KEYS),
            ],
        );

        let mut env = vec![];
        if let Some(e) = get(es, "env") {
            env = self.env_map(e, vars, &format!("the `env` of {ctx}"), true);
            for (k2, v2) in &env {
                env_vars.set(k2, Some(v2.clone()));
            }
        }
        let workdir = get(es, "workdir").and_then(|w| {
            let p = self.path(w, vars, "`workdir`", None)?;
            Some(Spanned {
                value: p,
                span: w.span,
            })
        });
        let wd = workdir.as_ref().map(|w| w.value.clone());
        let shell = get(es, "shell").and_then(|s| match &s.kind {
            Kind::Seq(_) => {
                let l = self.str_list(s, vars, "`shell`");
                if l.is_empty() {
                    self.err(
                        Diagnostic::error("empty-value", s.span, "`shell` must not be empty")
                            .with_help("write e.g. `[/bin/bash, -c]`"),
                    );
                    None
                } else {
                    Some(l.into_iter().map(|x| x.value).collect())
                }
            }
            _ => {
                self.wrong_type(
                    s,
                    "`shell`",
                    "a list of strings",
                    "write the shell and its flag as a list, e.g. `[/bin/bash, -eu, -c]`",
                );
                None
            }
        });
        let description = get(es, "description").and_then(|d| self.istr(d, vars, "`description`"));

        let mut steps = vec![];
        if let Some(s) = get(es, "steps") {
            match &s.kind {
                Kind::Seq(items) => {
                    // Steps are large (~300 bytes): no regrowth copies.
                    steps.reserve_exact(items.len());
                    for it in items {
                        if let Some(step) = self.step(it, vars, wd.as_deref(), edges) {
                            steps.push(step);
                        }
                    }
                }
                _ if s.is_null() => {}
                _ => self.wrong_type(
                    s,
                    "`steps`",
                    "a list of steps",
                    "write each step as a list item: `- run: make`",
                ),
            }
        }
        let image = match get(es, "image") {
            Some(i) => self.image(i, vars, wd.as_deref()),
            None => ImageSpec::default(),
        };
        let output = get(es, "output")
            .map(|o| self.output(o, vars, wd.as_deref()))
            .unwrap_or_default();
        let from = pre.from.clone()?;
        Some(Stage {
            name: Spanned {
                value: name,
                span: k.span,
            },
            span: v.span,
            from,
            platform: pre.platform.clone(),
            args: pre.args.clone(),
            env,
            workdir,
            shell,
            steps,
            image,
            description,
            output,
        })
    }

    /// `output: PATH` or `[PATH, …]`: the paths that are the stage's result.
    fn output(&mut self, n: &Node, vars: &Vars, wd: Option<&str>) -> Vec<Spanned<String>> {
        let items: Vec<&Node> = match &n.kind {
            Kind::Seq(items) if !items.is_empty() => items.iter().collect(),
            Kind::Scalar(..) if !n.is_null() => vec![n],
            Kind::Map(_) => {
                let help = "write `output: /reports` or `output: [/reports, /coverage]`";
                self.wrong_type(n, "`output`", "a path or a list of paths", help);
                return vec![];
            }
            _ => {
                let e = Diagnostic::error(
                    "empty-value",
                    n.span,
                    "`output` must name at least one path",
                );
                self.err(e.with_help(
                    "write e.g. `output: [/reports]`, or remove `output` to export the whole stage",
                ));
                return vec![];
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            let Some(p) = self.path(i, vars, "`output`", wd) else {
                continue;
            };
            if p.trim_end_matches('/').is_empty() {
                let e =
                    Diagnostic::error("output-root", i.span, "`output: /` is the whole filesystem");
                self.err(e.with_help("name the directories that hold the results, e.g. `/reports`, or remove `output`"));
                continue;
            }
            out.push(Spanned {
                value: p,
                span: i.span,
            });
        }
        out
    }

    fn step(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Step> {
        let es = match &n.kind {
            Kind::Map(es) => es,
            _ => {
                self.wrong_type(
                    n,
                    "a step",
                    "a mapping",
                    "write a step as a mapping with one verb, e.g. `- run: make` or `- copy: src`",
                );
                return None;
            }
        };
        let verbs: Vec<&(Node, Node)> = es
            .iter()
            .filter(|(k, _)| k.scalar().is_some_and(|s| VERBS.contains(&s)))
            .collect();
        // `link: true` is a copy modifier: a step with `copy` and `link` is a copy
        let verbs: Vec<&(Node, Node)> = if verbs.len() == 2
            && verbs.iter().any(|(k, _)| k.scalar() == Some("copy"))
            && verbs.iter().any(|(k, _)| k.scalar() == Some("link"))
        {
            verbs
                .into_iter()
                .filter(|(k, _)| k.scalar() == Some("copy"))
                .collect()
        } else {
            verbs
        };
        if verbs.is_empty() {
            let mut help = String::new();
            for (k, _) in es {
                if let Some(s) = k
                    .scalar()
                    .and_then(|s| did_you_mean(s, VERBS.iter().copied()))
                {
                    help = format!("did you mean `{s}`? ");
                    break;
                }
            }
            help.push_str(&format!("a step needs exactly one of {}", list(VERBS)));
            self.err(
                Diagnostic::error("missing-verb", n.span, "step has no verb")
                    .with_label("no verb in this step")
                    .with_help(help),
            );
            return None;
        }
        if verbs.len() > 1 {
            let names: Vec<&str> = verbs.iter().filter_map(|(k, _)| k.scalar()).collect();
            self.err(
                Diagnostic::error(
                    "multiple-verbs",
                    verbs[1].0.span,
                    format!("step has more than one verb: {}", list(&names)),
                )
                .with_label("second verb")
                .with_help(
                    "split it into separate list items, one verb each (`- run: …` and `- copy: …`)",
                ),
            );
            return None;
        }
        let (vk, vv) = verbs[0];
        let verb = vk.scalar().unwrap_or("");
        let verb_span = vk.span.join(vv.span);
        let (valid, ctx): (&[&str], &str) = match verb {
            "run" => (RUN_KEYS, "a `run` step"),
            "copy" => (COPY_KEYS, "a `copy` step"),
            "add" => (ADD_KEYS, "an `add` step"),
            "file" => (FILE_KEYS, "a `file` step"),
            "mkdir" => (MKDIR_KEYS, "a `mkdir` step"),
            "link" => (LINK_KEYS, "a `link` step"),
            _ => (REMOVE_KEYS, "a `remove` step"),
        };
        self.check_keys(
            es,
            valid,
            ctx,
            &[
                ("`run` steps", RUN_KEYS),
                ("`copy` steps", COPY_KEYS),
                ("`add` steps", ADD_KEYS),
                ("`file` steps", FILE_KEYS),
            ],
        );
        let before = self.errors.len();
        let kind = match verb {
            "run" => self.run(es, vv, vars, wd, edges).map(StepKind::Run),
            "copy" => self.copy(es, vv, vars, wd, edges).map(StepKind::Copy),
            "add" => self.add(es, vv, vars, wd).map(StepKind::Add),
            "file" => {
                let path = self.path(vv, vars, "`file` path", wd);
                let content = match get(es, "content") {
                    None => {
                        self.missing(
                            vk.span,
                            "content",
                            "a `file` step",
                            "add `content: |` with the file's text (empty: `content: \"\"`)",
                        );
                        None
                    }
                    Some(c) => self.istr(c, vars, "`content`"),
                };
                let mode = get(es, "mode").and_then(|m| self.mode(m, vars, "`mode`"));
                let owner = get(es, "owner").and_then(|o| self.owner(o, vars, "`owner`"));
                Some(StepKind::File(FileStep {
                    path: path?,
                    content: content?,
                    mode,
                    owner,
                }))
            }
            "mkdir" => {
                let path = self.path(vv, vars, "`mkdir` path", wd);
                let mode = get(es, "mode").and_then(|m| self.mode(m, vars, "`mode`"));
                let owner = get(es, "owner").and_then(|o| self.owner(o, vars, "`owner`"));
                Some(StepKind::Mkdir(Mkdir {
                    path: path?,
                    mode,
                    owner,
                }))
            }
            "link" => {
                let path = self.path(vv, vars, "`link` path", wd);
                let target = match get(es, "target") {
                    None => {
                        self.missing(
                            vk.span,
                            "target",
                            "a `link` step",
                            "add `target:` with the path the link points at",
                        );
                        None
                    }
                    Some(t) => self.nstr(t, vars, "`target`"),
                };
                Some(StepKind::Link(Link {
                    path: path?,
                    target: target?,
                }))
            }
            _ => {
                let items: Vec<&Node> = match &vv.kind {
                    Kind::Seq(items) => items.iter().collect(),
                    _ => vec![vv],
                };
                let paths: Vec<String> = items
                    .iter()
                    .filter_map(|i| self.path(i, vars, "`remove` path", wd))
                    .collect();
                if matches!(&vv.kind, Kind::Seq(items) if items.is_empty()) {
                    self.err(
                        Diagnostic::error(
                            "empty-value",
                            vv.span,
                            "`remove` needs at least one path",
                        )
                        .with_help("write `remove: /tmp/x` or a list"),
                    );
                }
                Some(StepKind::Remove(Remove { paths }))
            }
        };
        if self.errors.len() > before {
            return None;
        }
        Some(Step {
            span: n.span,
            verb_span,
            kind: kind?,
        })
    }

    fn from_edge(&mut self, f: &Spanned<From>, edges: &mut Vec<(usize, Span)>) {
        if let From::Stage(s) = &f.value {
            if let Some(&i) = self.stage_index.get(s) {
                edges.push((i, f.span));
            }
        }
    }

    fn run(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Run> {
        let command = self.command(vv, "`run`");
        let mut r = Run {
            command: Command::Exec(vec![]),
            cache: vec![],
            secrets: vec![],
            ssh: vec![],
            tmpfs: vec![],
            binds: vec![],
            env: vec![],
            workdir: None,
            user: None,
            network: None,
            security: None,
            no_cache: false,
        };
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "cache" => {
                    for item in items_of(v) {
                        if let Some(c) = self.cache(item, vars, wd, edges) {
                            r.cache.push(c);
                        }
                    }
                }
                "secret" => {
                    for item in items_of(v) {
                        if let Some(c) = self.secret(item, vars) {
                            r.secrets.push(c);
                        }
                    }
                }
                "ssh" => {
                    if matches!(&v.kind, Kind::Scalar(s, Style::Plain) if s == "false") {
                        continue;
                    }
                    for item in items_of(v) {
                        if let Some(c) = self.ssh(item, vars) {
                            r.ssh.push(c);
                        }
                    }
                }
                "tmpfs" => {
                    for item in items_of(v) {
                        if let Some(c) = self.tmpfs(item, vars, wd) {
                            r.tmpfs.push(c);
                        }
                    }
                }
                "bind" => {
                    for item in items_of(v) {
                        if let Some(c) = self.bind(item, vars, wd, edges) {
                            r.binds.push(c);
                        }
                    }
                }
                "env" => r.env = self.env_map_read(v, vars, "the `env` of a `run` step"),
                "workdir" => r.workdir = self.path(v, vars, "`workdir`", wd),
                "user" => r.user = self.owner(v, vars, "`user`"),
                "network" => {
                    r.network = self
                        .enum_value(v, vars, "`network`", &["default", "none", "host"])
                        .map(|s| match s {
                            "none" => Network::None,
                            "host" => Network::Host,
                            _ => Network::Default,
                        })
                }
                "security" => {
                    r.security = self
                        .enum_value(v, vars, "`security`", &["sandbox", "insecure"])
                        .map(|s| match s {
                            "insecure" => Security::Insecure,
                            _ => Security::Sandbox,
                        })
                }
                "no-cache" => r.no_cache = self.boolean(v, "`no-cache`").unwrap_or(false),
                _ => {}
            }
        }
        r.command = command?;
        Some(r)
    }

    fn enum_value(
        &mut self,
        n: &Node,
        vars: &Vars,
        what: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.nstr(n, vars, what)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                let mut help = match did_you_mean(&s, allowed.iter().copied()) {
                    Some(d) => format!("did you mean `{d}`? "),
                    None => String::new(),
                };
                help.push_str(&format!("use one of {}", list(allowed)));
                let code = match what {
                    "`network`" => "invalid-network",
                    "`security`" => "invalid-security",
                    "`sharing`" => "invalid-sharing",
                    _ => "invalid-value",
                };
                self.err(
                    Diagnostic::error(code, n.span, format!("invalid {what} `{s}`"))
                        .with_label(format!("not one of {}", allowed.join(", ")))
                        .with_help(help),
                );
                None
            }
        }
    }

    fn cache(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<CacheMount> {
        let mut c = CacheMount {
            target: String::new(),
            id: None,
            sharing: Sharing::Shared,
            from: None,
            source: None,
            mode: None,
            uid: None,
            gid: None,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, CACHE_KEYS, "a cache mount", &[]);
                let before = self.errors.len();
                match get(es, "target") {
                    Some(t) => {
                        c.target = self.path(t, vars, "cache `target`", wd).unwrap_or_default()
                    }
                    None => self.missing(
                        n.span,
                        "target",
                        "a cache mount",
                        "add `target: /path/to/cache`",
                    ),
                }
                if let Some(x) = get(es, "id") {
                    c.id = self.nstr(x, vars, "cache `id`");
                }
                if let Some(x) = get(es, "sharing") {
                    c.sharing = match self.enum_value(
                        x,
                        vars,
                        "`sharing`",
                        &["shared", "private", "locked"],
                    ) {
                        Some("private") => Sharing::Private,
                        Some("locked") => Sharing::Locked,
                        _ => Sharing::Shared,
                    };
                }
                if let Some(x) = get(es, "from") {
                    if let Some(f) = self.from_ref(x, vars) {
                        self.from_edge(&f, edges);
                        c.from = Some(f.value);
                    }
                }
                if let Some(x) = get(es, "source") {
                    c.source = self.path(x, vars, "cache `source`", Some("/"));
                }
                c.mode = get(es, "mode").and_then(|m| self.mode(m, vars, "cache `mode`"));
                c.uid = get(es, "uid").and_then(|m| self.uint(m, "`uid`"));
                c.gid = get(es, "gid").and_then(|m| self.uint(m, "`gid`"));
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(..) => c.target = self.path(n, vars, "cache target", wd)?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a cache mount",
                    "a path or a mapping",
                    "write `cache: /path`, a list of paths, or `{target: /path, sharing: locked}`",
                );
                return None;
            }
        }
        Some(c)
    }

    fn secret(&mut self, n: &Node, vars: &Vars) -> Option<SecretMount> {
        let mut s = SecretMount {
            id: String::new(),
            target: None,
            env: None,
            required: false,
            mode: None,
            uid: None,
            gid: None,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, SECRET_KEYS, "a secret mount", &[]);
                let before = self.errors.len();
                match get(es, "id") {
                    Some(x) => s.id = self.nstr(x, vars, "secret `id`").unwrap_or_default(),
                    None => self.missing(
                        n.span,
                        "id",
                        "a secret mount",
                        "add `id: NAME` (the id given to `--secret id=NAME,…`)",
                    ),
                }
                if let Some(x) = get(es, "target") {
                    s.target = self.path(x, vars, "secret `target`", Some("/"));
                }
                if let Some(x) = get(es, "env") {
                    s.env = self.nstr(x, vars, "secret `env`");
                    if let Some(e) = &s.env {
                        if !valid_var_name(e) {
                            self.err(
                                Diagnostic::error(
                                    "invalid-name",
                                    x.span,
                                    format!("`{e}` is not a valid environment variable name"),
                                )
                                .with_help("use letters, digits and `_`"),
                            );
                        }
                    }
                }
                if let Some(x) = get(es, "required") {
                    s.required = self.boolean(x, "`required`").unwrap_or(false);
                }
                s.mode = get(es, "mode").and_then(|m| self.mode(m, vars, "secret `mode`"));
                s.uid = get(es, "uid").and_then(|m| self.uint(m, "`uid`"));
                s.gid = get(es, "gid").and_then(|m| self.uint(m, "`gid`"));
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(..) => s.id = self.nstr(n, vars, "secret id")?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a secret",
                    "an id or a mapping",
                    "write `secret: npmrc` or `{id: npmrc, target: /root/.npmrc}`",
                );
                return None;
            }
        }
        Some(s)
    }

    fn ssh(&mut self, n: &Node, vars: &Vars) -> Option<SshMount> {
        let mut s = SshMount {
            id: "default".into(),
            target: None,
            required: false,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, SSH_KEYS, "an ssh mount", &[]);
                let before = self.errors.len();
                if let Some(x) = get(es, "id") {
                    s.id = self.nstr(x, vars, "ssh `id`").unwrap_or_default();
                }
                if let Some(x) = get(es, "target") {
                    s.target = self.path(x, vars, "ssh `target`", Some("/"));
                }
                if let Some(x) = get(es, "required") {
                    s.required = self.boolean(x, "`required`").unwrap_or(false);
                }
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(v, Style::Plain) if v == "true" => {}
            Kind::Scalar(..) => s.id = self.nstr(n, vars, "ssh id")?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "an ssh mount",
                    "`default`, an id or a mapping",
                    "write `ssh: default` or `{id: github, required: true}`",
                );
                return None;
            }
        }
        Some(s)
    }

    fn tmpfs(&mut self, n: &Node, vars: &Vars, wd: Option<&str>) -> Option<TmpfsMount> {
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, TMPFS_KEYS, "a tmpfs mount", &[]);
                let target = match get(es, "target") {
                    Some(t) => self.path(t, vars, "tmpfs `target`", wd),
                    None => {
                        self.missing(n.span, "target", "a tmpfs mount", "add `target: /tmp`");
                        None
                    }
                };
                let mut size = None;
                if let Some(x) = get(es, "size") {
                    let s = self.nstr(x, vars, "tmpfs `size`")?;
                    match parse_size(&s) {
                        Ok(b) => size = Some(b),
                        Err(e) => {
                            self.err(
                                Diagnostic::error(
                                    "invalid-size",
                                    x.span,
                                    format!("invalid size: {e}"),
                                )
                                .with_label("invalid size")
                                .with_help(
                                    "write bytes or a number with a unit: `64m`, `1g`, `512k`",
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(TmpfsMount {
                    target: target?,
                    size,
                    span: n.span,
                })
            }
            Kind::Scalar(..) => Some(TmpfsMount {
                target: self.path(n, vars, "tmpfs target", wd)?,
                size: None,
                span: n.span,
            }),
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a tmpfs mount",
                    "a path or a mapping",
                    "write `tmpfs: /tmp` or `{target: /tmp, size: 64m}`",
                );
                None
            }
        }
    }

    fn bind(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<BindMount> {
        let Some(es) = self.map(
            n,
            "a bind mount",
            "write `bind: {from: builder, source: /out, target: /in}`",
        ) else {
            return None;
        };
        self.check_keys(es, BIND_KEYS, "a bind mount", &[]);
        let before = self.errors.len();
        let mut b = BindMount {
            from: None,
            source: None,
            target: String::new(),
            rw: false,
            span: n.span,
        };
        if let Some(x) = get(es, "from") {
            if let Some(f) = self.from_ref(x, vars) {
                self.from_edge(&f, edges);
                b.from = Some(f.value);
            }
        }
        if let Some(x) = get(es, "source") {
            b.source = self.path(x, vars, "bind `source`", Some("/"));
        }
        match get(es, "target") {
            Some(t) => b.target = self.path(t, vars, "bind `target`", wd).unwrap_or_default(),
            None => self.missing(
                n.span,
                "target",
                "a bind mount",
                "add `target: /where/to/mount`",
            ),
        }
        if let Some(x) = get(es, "rw") {
            b.rw = self.boolean(x, "`rw`").unwrap_or(false);
        }
        if self.errors.len() > before {
            return None;
        }
        Some(b)
    }

    fn copy(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Copy> {
        let from = get(es, "from").and_then(|f| self.from_ref(f, vars));
        if let Some(f) = &from {
            self.from_edge(f, edges);
        }
        let sources: Vec<Spanned<String>> = match &vv.kind {
            Kind::Seq(items) if items.is_empty() => {
                self.err(
                    Diagnostic::error("empty-value", vv.span, "`copy` needs at least one source")
                        .with_help("write `copy: src` or `copy: [a, b]`"),
                );
                vec![]
            }
            _ => self.str_list(vv, vars, "a `copy` source"),
        };
        let items: Vec<&Node> = match &vv.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![vv],
        };
        for (s, node) in sources.iter().zip(items) {
            if escapes(&s.value, 0) {
                self.err(
                    Diagnostic::error("path-escapes", node.span, format!("copy source `{}` leaves the source root", s.value))
                        .with_label("climbs out with `..`")
                        .with_help("sources are relative to the build context (or the `from` stage's root); remove the `..`"),
                );
            }
        }
        let to = get(es, "to").and_then(|t| self.path(t, vars, "`to`", wd));
        if sources.len() > 1 {
            if let (Some(t), Some(tn)) = (&to, get(es, "to")) {
                if !t.ends_with('/') {
                    self.err(
                        Diagnostic::error(
                            "copy-dest-not-dir",
                            tn.span,
                            format!(
                                "copying {} sources into `{t}`, which does not end with `/`",
                                sources.len()
                            ),
                        )
                        .with_label("must be a directory")
                        .with_help(format!("write `to: {t}/` to copy into that directory")),
                    );
                }
            }
        }
        let mut c = Copy {
            sources,
            from,
            to,
            chown: None,
            chmod: None,
            include: vec![],
            exclude: vec![],
            link: false,
            parents: false,
            follow_symlinks: false,
        };
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "chown" => c.chown = self.owner(v, vars, "`chown`"),
                "chmod" => c.chmod = self.chmod(v, vars),
                "include" => {
                    c.include = self
                        .str_list(v, vars, "an `include` pattern")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                }
                "exclude" => {
                    c.exclude = self
                        .str_list(v, vars, "an `exclude` pattern")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                }
                "link" => c.link = self.boolean(v, "`link`").unwrap_or(false),
                "parents" => c.parents = self.boolean(v, "`parents`").unwrap_or(false),
                "follow-symlinks" => {
                    c.follow_symlinks = self.boolean(v, "`follow-symlinks`").unwrap_or(false)
                }
                _ => {}
            }
        }
        Some(c)
    }

    fn add(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<Add> {
        let src = self.nstr(vv, vars, "`add` source")?;
        let git_ref = get(es, "ref").and_then(|r| self.nstr(r, vars, "`ref`"));
        let lower = src.to_ascii_lowercase();
        let no_frag = lower.split('#').next().unwrap_or("");
        let is_git = lower.starts_with("git@")
            || lower.starts_with("git://")
            || lower.starts_with("ssh://")
            || no_frag.ends_with(".git")
            || get(es, "ref").is_some();
        let is_http = lower.starts_with("http://") || lower.starts_with("https://");
        let kind = if is_git {
            AddKind::Git
        } else if is_http {
            AddKind::Http
        } else {
            self.err(
                Diagnostic::error("invalid-add-source", vv.span, format!("`{src}` is neither an http(s) URL nor a git URL"))
                    .with_label("not a URL")
                    .with_help("`add` fetches `https://…` files or git repositories (`git@…`, `https://….git`, `ssh://…`, or any URL with `ref:`); to copy local files use `copy:`"),
            );
            return None;
        };
        let (source, git_ref) = match (kind, src.split_once('#')) {
            (AddKind::Git, Some((s, frag))) if git_ref.is_none() && !frag.is_empty() => {
                (s.to_string(), Some(frag.to_string()))
            }
            _ => (src.clone(), git_ref),
        };
        let mut checksum = None;
        if let Some(c) = get(es, "checksum") {
            if kind == AddKind::Git {
                self.err(
                    Diagnostic::error(
                        "invalid-checksum",
                        c.span,
                        "`checksum` applies to http sources, not git",
                    )
                    .with_label("git source")
                    .with_help("pin a git source with `ref:` set to a full commit hash"),
                );
            } else if let Some(s) = self.nstr(c, vars, "`checksum`") {
                let ok = s
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
                if ok {
                    checksum = Some(s.to_ascii_lowercase());
                } else {
                    self.err(
                        Diagnostic::error("invalid-checksum", c.span, format!("invalid checksum `{s}`"))
                            .with_label("expected sha256:<64 hex digits>")
                            .with_help("write `sha256:` followed by the 64 hex digits of the file's SHA-256 (e.g. from `sha256sum`)"),
                    );
                }
            }
        }
        let mut keep_git_dir = false;
        if let Some(k) = get(es, "keep-git-dir") {
            keep_git_dir = self.boolean(k, "`keep-git-dir`").unwrap_or(false);
            if kind == AddKind::Http {
                self.err(
                    Diagnostic::error(
                        "invalid-value",
                        k.span,
                        "`keep-git-dir` applies to git sources only",
                    )
                    .with_help("remove it, or add a git URL"),
                );
            }
        }
        let to = get(es, "to").and_then(|t| self.path(t, vars, "`to`", wd));
        let chown = get(es, "chown").and_then(|t| self.owner(t, vars, "`chown`"));
        let chmod = get(es, "chmod").and_then(|t| self.chmod(t, vars));
        Some(Add {
            source: Spanned {
                value: source,
                span: vv.span,
            },
            kind,
            checksum,
            git_ref,
            keep_git_dir,
            to,
            chown,
            chmod,
        })
    }

    fn image(&mut self, n: &Node, vars: &Vars, wd: Option<&str>) -> ImageSpec {
        let mut im = ImageSpec::default();
        let Some(es) = self.map(
            n,
            "`image`",
            "write `image:` as a mapping, e.g. `{user: app, entrypoint: [/app]}`",
        ) else {
            return im;
        };
        self.check_keys(es, IMAGE_KEYS, "`image`", &[("a stage", STAGE_KEYS)]);
        let mut vars = self.copy_vars(vars, n.span);
        if self.aborted {
            return im;
        }
        // image env first: it is visible to the other image fields
        if let Some(e) = get(es, "env") {
            im.env = self.env_map(e, &mut vars, "the `env` of `image`", true);
        }
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "user" => im.user = self.owner(v, &vars, "`user`"),
                "entrypoint" => im.entrypoint = self.command(v, "`entrypoint`"),
                "cmd" => im.cmd = self.command(v, "`cmd`"),
                "expose" => {
                    let items: Vec<&Node> = match &v.kind {
                        Kind::Seq(items) => items.iter().collect(),
                        _ => vec![v],
                    };
                    for it in items {
                        let Some(s) = self.nstr(it, &vars, "a port") else {
                            continue;
                        };
                        match parse_port(&s) {
                            Ok(p) => im.expose.push(p),
                            Err(e) => self.err(
                                Diagnostic::error("invalid-port", it.span, format!("invalid port: {e}"))
                                    .with_label("invalid port")
                                    .with_help("write a port number (1-65535), optionally with a protocol: `8080`, `\"9090/udp\"`, `\"8000-8010/tcp\"`"),
                            ),
                        }
                    }
                }
                "labels" => {
                    im.labels = self
                        .env_map_read(v, &vars, "`labels`")
                        .into_iter()
                        .collect::<BTreeMap<_, _>>();
                }
                "volumes" => {
                    for p in self.str_list(v, &vars, "a volume") {
                        if !p.value.starts_with('/') {
                            self.err(
                                Diagnostic::error(
                                    "invalid-path",
                                    p.span,
                                    format!("volume `{}` is not an absolute path", p.value),
                                )
                                .with_help(
                                    "volumes are absolute paths in the container, e.g. `/data`",
                                ),
                            );
                        } else {
                            im.volumes.push(p.value);
                        }
                    }
                }
                "healthcheck" => im.healthcheck = self.healthcheck(v, &vars),
                "stop-signal" => {
                    if let Some(s) = self.nstr(v, &vars, "`stop-signal`") {
                        let ok = match s.parse::<u32>() {
                            Ok(n) => (1..=64).contains(&n),
                            Err(_) => {
                                let name = s.strip_prefix("SIG").unwrap_or(&s);
                                !name.is_empty()
                                    && name.chars().all(|c| {
                                        c.is_ascii_uppercase()
                                            || c.is_ascii_digit()
                                            || c == '+'
                                            || c == '-'
                                    })
                            }
                        };
                        if ok {
                            im.stop_signal = Some(s);
                        } else {
                            self.err(
                                Diagnostic::error("invalid-signal", v.span, format!("invalid stop signal `{s}`"))
                                    .with_label("not a signal")
                                    .with_help("write a signal name like `SIGTERM`, `SIGQUIT`, `SIGRTMIN+3`, or a number 1-64"),
                            );
                        }
                    }
                }
                "workdir" => im.workdir = self.path(v, &vars, "image `workdir`", wd),
                _ => {}
            }
        }
        im
    }

    fn healthcheck(&mut self, n: &Node, vars: &Vars) -> Option<Healthcheck> {
        if n.scalar().is_some_and(|s| s.eq_ignore_ascii_case("none")) {
            return Some(Healthcheck::None);
        }
        let es = self.map(n, "`healthcheck`", "write `{test: [CMD, curl, -f, http://localhost/], interval: 30s}` or `healthcheck: none`")?;
        self.check_keys(es, HEALTH_KEYS, "`healthcheck`", &[]);
        let before = self.errors.len();
        let test = match get(es, "test") {
            None => {
                self.missing(
                    n.span,
                    "test",
                    "`healthcheck`",
                    "add `test: [CMD, …]`, `test: \"shell command\"` or `test: none`",
                );
                None
            }
            Some(t) => match &t.kind {
                Kind::Scalar(s, _) if s.eq_ignore_ascii_case("none") => {
                    return Some(Healthcheck::None)
                }
                Kind::Scalar(..) => self.command(t, "`test`").map(|c| match c {
                    Command::Shell(s) => vec!["CMD-SHELL".to_string(), s],
                    Command::Exec(v) => v,
                }),
                Kind::Seq(_) => {
                    let v = self.exec_list(t, "`test`")?;
                    match v[0].as_str() {
                        "CMD" | "CMD-SHELL" if v.len() > 1 => Some(v),
                        "NONE" => return Some(Healthcheck::None),
                        _ => {
                            self.err(
                                Diagnostic::error("invalid-healthcheck", t.span, "a healthcheck `test` list starts with `CMD` or `CMD-SHELL` followed by the command")
                                    .with_label("expected [CMD, …] or [CMD-SHELL, \"…\"]")
                                    .with_help("write `[CMD, curl, -f, http://localhost/]`, or a string for shell form"),
                            );
                            None
                        }
                    }
                }
                Kind::Map(_) => {
                    self.wrong_type(
                        t,
                        "`test`",
                        "a list or a string",
                        "write `[CMD, …]` or `\"shell command\"`",
                    );
                    None
                }
            },
        };
        let dur = |this: &mut Self, key: &str| -> Option<u64> {
            let x = get(es, key)?;
            let s = this.nstr(x, vars, &format!("`{key}`"))?;
            match parse_duration(&s) {
                Ok(d) => Some(d),
                Err(e) => {
                    this.err(
                        Diagnostic::error(
                            "invalid-duration",
                            x.span,
                            format!("invalid `{key}`: {e}"),
                        )
                        .with_label("invalid duration")
                        .with_help("write a duration like `30s`, `1m30s`, `500ms` or `1h`"),
                    );
                    None
                }
            }
        };
        let interval_ns = dur(self, "interval");
        let timeout_ns = dur(self, "timeout");
        let start_period_ns = dur(self, "start-period");
        let retries = get(es, "retries").and_then(|r| self.uint(r, "`retries`"));
        if self.errors.len() > before {
            return None;
        }
        Some(Healthcheck::Check {
            test: test?,
            interval_ns,
            timeout_ns,
            start_period_ns,
            retries,
        })
    }
}

fn items_of<'n, 's>(n: &'n Node<'s>) -> Vec<&'n Node<'s>> {
    match &n.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![n],
    }
}
