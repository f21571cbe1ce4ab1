//! Stage 1: YAML text -> a tree whose every node (mapping keys included)
//! carries its [`Span`].
//!
//! Built from the event stream of `granit-parser` (the parser under
//! serde-saphyr) with an explicit stack, so nesting never recurses; nesting
//! depth, alias expansion and input size are bounded.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{self as gp, Event, ScalarStyle};

use crate::diag::{Diagnostic, Pos, Span};

pub use crate::limits::{MAX_ALIAS_NODES, MAX_DEPTH, MAX_INPUT_BYTES, MAX_NODES};
use crate::limits::{MAX_ENV_ENTRIES, MAX_MAPPING_KEYS, MAX_MERGED_KEYS, MAX_STAGES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'s> {
    /// Borrowed from the source where the text is written as is (most
    /// plain and quoted scalars): no allocation per scalar.
    Scalar(Cow<'s, str>, Style),
    Seq(Vec<Node<'s>>),
    Map(Vec<(Node<'s>, Node<'s>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node<'s> {
    pub kind: Kind<'s>,
    pub span: Span,
}

impl<'s> Node<'s> {
    /// An empty plain scalar (a placeholder for a subtree taken out).
    pub fn empty_at(span: Span) -> Node<'s> {
        Node {
            kind: Kind::Scalar(Cow::Borrowed(""), Style::Plain),
            span,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s, Style::Plain) if is_null_str(s))
    }
    /// The scalar text, whatever its style.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }
    /// Human name of the node's type, for "expected X, found Y".
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
            Kind::Scalar(s, Style::Plain) => {
                if is_null_str(s) {
                    "null"
                } else if is_bool_str(s) {
                    "a boolean"
                } else if is_number_str(s) {
                    "a number"
                } else {
                    "a string"
                }
            }
            Kind::Scalar(..) => "a string",
        }
    }
    fn count(&self) -> usize {
        match &self.kind {
            Kind::Scalar(..) => 1,
            Kind::Seq(v) => 1 + v.iter().map(|n| n.count()).sum::<usize>(),
            Kind::Map(v) => 1 + v.iter().map(|(k, n)| k.count() + n.count()).sum::<usize>(),
        }
    }
}

pub fn is_null_str(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}
pub fn is_bool_str(s: &str) -> bool {
    matches!(s, "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
}
pub fn is_number_str(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty()
        && (t.chars().all(|c| c.is_ascii_digit())
            || t.starts_with("0o") && t.len() > 2 && t[2..].chars().all(|c| c.is_digit(8))
            || t.starts_with("0x") && t.len() > 2 && t[2..].chars().all(|c| c.is_ascii_hexdigit())
            || (t.parse::<f64>().is_ok() && t.chars().any(|c| c.is_ascii_digit())))
}

/// Maps parser markers to [`Pos`] with byte offsets, lines broken as YAML
/// breaks them (`\n`, `\r\n` and a lone `\r`), so that a position's line and
/// column always agree with its byte offset and with the line
/// [`crate::diag`] prints.
pub struct LineIndex<'a> {
    src: &'a str,
    /// Byte offset of each line's first byte.
    starts: Vec<usize>,
    /// Every char is one byte: a column is a byte count.
    ascii: bool,
    /// No `\r` and no byte-order mark: the parser's own line and column
    /// are exact and are used as they are (the common, fast case). Else
    /// both are derived from the byte offset.
    exact: bool,
    /// Chars before each 4 KiB block (non-ASCII inputs), so a column is
    /// counted over at most one block.
    block_chars: Vec<u32>,
}

const BLOCK: usize = 4096;

/// Chars in `b` (bytes that start a UTF-8 sequence).
fn char_count(b: &[u8]) -> usize {
    b.iter().filter(|&&x| x & 0xC0 != 0x80).count()
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let bytes = src.as_bytes();
        let has_cr = memchr::memchr(b'\r', bytes).is_some();
        let mut starts = Vec::with_capacity(src.len() / 24 + 1);
        starts.push(0);
        if has_cr {
            for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
                if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    continue;
                }
                starts.push(i + 1);
            }
        } else {
            starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        }
        let ascii = src.is_ascii();
        let exact = !has_cr && !src.contains('\u{feff}');
        let block_chars = if ascii {
            Vec::new()
        } else {
            let mut acc = 0u32;
            bytes
                .chunks(BLOCK)
                .map(|c| {
                    let before = acc;
                    acc += char_count(c) as u32;
                    before
                })
                .collect()
        };
        LineIndex {
            src,
            starts,
            ascii,
            exact,
            block_chars,
        }
    }

    /// Chars in `src[..off]`.
    fn chars_before(&self, off: usize) -> usize {
        if self.ascii {
            return off;
        }
        let k = off / BLOCK;
        match self.block_chars.get(k) {
            Some(&c) => c as usize + char_count(&self.src.as_bytes()[k * BLOCK..off]),
            None => char_count(&self.src.as_bytes()[..off]),
        }
    }

    /// The position of a byte offset: its line (1-based), its column
    /// (1-based, in chars) on that line.
    pub fn at_offset(&self, off: usize) -> Pos {
        let off = off.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= off).max(1);
        let start = self.starts[line - 1];
        Pos {
            line: line as u32,
            col: (self.chars_before(off) - self.chars_before(start)) as u32 + 1,
            offset: off as u32,
        }
    }

    /// `line` 1-based, `col` 0-based in chars (the parser's coordinates,
    /// for markers without a byte offset).
    pub fn pos(&self, line: usize, col: usize) -> Pos {
        let line = line.max(1);
        let Some(&start) = self.starts.get(line - 1) else {
            return self.at_offset(self.src.len());
        };
        let rest = &self.src[start..];
        let mut off = start;
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n == col || c == '\n' || c == '\r' {
                off = start + i;
                break;
            }
            off = start + i + c.len_utf8();
        }
        self.at_offset(off)
    }

    /// The raw source text covered by a span (empty when out of range).
    pub fn text(&self, span: Span) -> &'a str {
        span_text(self.src, span)
    }
}

/// Every key is a string other than a plain `<<`, and no key repeats.
fn plain_unique_keys(entries: &[(Node<'_>, Node<'_>)]) -> bool {
    let mut keys = Vec::with_capacity(entries.len());
    for (k, _) in entries {
        match &k.kind {
            Kind::Scalar(s, st) if !(*st == Style::Plain && s == "<<") => keys.push(s.as_ref()),
            _ => return false,
        }
    }
    if keys.len() <= 16 {
        // Small mappings (nearly all of them): pairwise is cheaper than hashing.
        return keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k));
    }
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.into_iter().all(|k| seen.insert(k))
}

/// The raw text of `src` covered by a span (empty when out of range).
pub fn span_text(src: &str, span: Span) -> &str {
    src.get(span.start.offset as usize..span.end.offset.max(span.start.offset) as usize)
        .unwrap_or("")
}

/// Whole-file failures stop here (syntax error, limits); duplicate keys are
/// collected in `errors` and the tree is still returned.
pub struct Parsed<'s> {
    pub root: Option<Node<'s>>,
    pub errors: Vec<Diagnostic>,
}

enum Frame<'s> {
    Seq {
        items: Vec<Node<'s>>,
        start: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node<'s>, Node<'s>)>,
        pending_key: Option<Node<'s>>,
        start: Pos,
        anchor: usize,
    },
}

/// Parses on one thread, front to back. (A two-thread split of large
/// `stages:` mappings used to live here; it disagreed with this parse on
/// lone `\r` line breaks and dropped stages, and bought ~1 ms per 1,000
/// stages, so it went: issue 11.)
pub fn parse(source: &str) -> Parsed<'_> {
    if source.len() > MAX_INPUT_BYTES {
        let errors = vec![Diagnostic::error(
            "too-large",
            Span::new(
                Pos {
                    line: 1,
                    col: 1,
                    offset: 0,
                },
                Pos {
                    line: 1,
                    col: 1,
                    offset: 0,
                },
            ),
            format!(
                "the spec is {} bytes, more than the limit of {} bytes (16 MiB)",
                source.len(),
                MAX_INPUT_BYTES
            ),
        )
        .with_label("the file starts here")
        .with_help("a build spec should be small; move data into files of the build context")];
        return Parsed { root: None, errors };
    }
    let idx = LineIndex::new(source);
    let mut b = Builder::new(&idx);
    for ev in parser(source, MAX_DEPTH) {
        if let Some(done) = b.feed(ev) {
            return done;
        }
    }
    b.finish()
}

fn parser(text: &str, depth_limit: usize) -> gp::Parser<'_, gp::StrInput<'_>> {
    let options = gp::options! {
        flow_nesting_limit: depth_limit,
        block_nesting_limit: depth_limit,
        emit_comments: false,
    };
    gp::Parser::new_from_str_with_options(text, options)
}

/// Where a collection ends: after its last item, or at its end event (`]`/`}` of a flow
/// collection on the same line). A block collection's end event sits at the next token, often on a
/// later line: that line is not part of the collection (as the end of a step's mapping, it put the
/// next step's line into the step's LLB source map, which buildx quotes).
fn collection_end(last_item_end: Option<Pos>, end_event: Span) -> Pos {
    match last_item_end {
        Some(e) if end_event.start.line > e.line => e,
        Some(e) => e.max(end_event.start),
        None => end_event.end.max(end_event.start),
    }
}

/// The tree under construction from an event stream, enforcing the node,
/// depth and alias limits.
struct Builder<'i, 's> {
    idx: &'i LineIndex<'s>,
    stack: Vec<Frame<'s>>,
    anchors: std::collections::HashMap<usize, (Node<'s>, usize)>,
    nodes: usize,
    alias_nodes: usize,
    root: Option<Node<'s>>,
    docs: usize,
    /// Keys of the top-level `stages:` mapping seen (`MAX_STAGES`).
    stage_keys: usize,
    errors: Vec<Diagnostic>,
}

impl<'i, 's> Builder<'i, 's> {
    fn new(idx: &'i LineIndex<'s>) -> Self {
        Builder {
            idx,
            stack: Vec::new(),
            anchors: Default::default(),
            nodes: 0,
            alias_nodes: 0,
            root: None,
            docs: 0,
            stage_keys: 0,
            errors: Vec::new(),
        }
    }

    fn span(&self, s: &gp::Span) -> Span {
        Span::new(self.pos(&s.start), self.pos(&s.end))
    }

    /// The parser's markers carry byte offsets when it reads a `&str`; its
    /// line and column are used as they are when they cannot disagree with
    /// the offset (no `\r`, no byte-order mark), else derived from it.
    fn pos(&self, m: &gp::Marker) -> Pos {
        let Some(b) = m.byte_offset() else {
            return self.idx.pos(m.line(), m.col());
        };
        if !self.idx.exact {
            return self.idx.at_offset(b);
        }
        let pos = Pos {
            line: m.line() as u32,
            col: m.col() as u32 + 1,
            offset: b as u32,
        };
        #[cfg(debug_assertions)]
        assert_eq!(pos, self.idx.at_offset(b), "marker {m:?}");
        pos
    }

    fn finish(self) -> Parsed<'s> {
        Parsed {
            root: self.root,
            errors: self.errors,
        }
    }

    /// Takes one parser event; `Some` when the parse ends here (a fatal
    /// error).
    fn feed(&mut self, ev: gp::ParseResult<'s>) -> Option<Parsed<'s>> {
        let fatal = |errors: &mut Vec<Diagnostic>, d: Diagnostic| {
            errors.push(d);
            Some(Parsed {
                root: None,
                errors: std::mem::take(errors),
            })
        };
        let (ev, gspan) = match ev {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                let pos = self.pos(m);
                let mut info = e.info();
                if info.is_empty() {
                    info = format!("{:?}", e.kind());
                }
                let deep =
                    info.contains("nest") || info.contains("depth") || info.contains("recursion");
                let mut d = Diagnostic::error(
                    "yaml-syntax",
                    Span::new(pos, pos),
                    format!("invalid YAML: {info}"),
                )
                .with_label("here");
                d = d.with_help(if deep {
                    format!("nesting is limited to {MAX_DEPTH} levels")
                } else {
                    "fix the YAML syntax (check indentation, quotes and brackets)".to_string()
                });
                if deep {
                    d.code = "too-deep";
                }
                return fatal(&mut self.errors, d);
            }
        };
        let span = self.span(&gspan);
        let done: Option<(Node<'s>, usize)> = match ev {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(..) => {
                self.docs += 1;
                if self.docs > 1 {
                    return fatal(
                        &mut self.errors,
                        Diagnostic::error("multiple-documents", span, "a spec file holds exactly one YAML document")
                            .with_label("second document starts here")
                            .with_help("remove the `---` separator and everything after it, or merge the documents"),
                    );
                }
                None
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((n, size)) => {
                    self.nodes += size;
                    self.alias_nodes += size;
                    if self.alias_nodes > MAX_ALIAS_NODES {
                        return fatal(
                            &mut self.errors,
                            Diagnostic::error(
                                "alias-limit",
                                span,
                                format!("expanding aliases adds more than {MAX_ALIAS_NODES} nodes"),
                            )
                            .with_label("this alias pushes the expansion over the limit")
                            .with_help("aliases that reference aliases grow exponentially; write the values out or use fewer levels"),
                        );
                    }
                    Some((n.clone(), 0))
                }
                None => {
                    return fatal(
                        &mut self.errors,
                        Diagnostic::error("yaml-syntax", span, "alias to an unknown anchor")
                            .with_help("define the anchor (`&name`) before using `*name`"),
                    )
                }
            },
            Event::Scalar(v, style, anchor, tag) => {
                self.nodes += 1;
                let mut st = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema_tag("str") {
                        st = Style::Quoted;
                    } else if !tag.is_yaml_core_schema() {
                        self.errors.push(
                            Diagnostic::error(
                                "unsupported-tag",
                                span,
                                format!("YAML tag `{}` is not supported", tag.original()),
                            )
                            .with_help("remove the tag; Slipway reads plain YAML values"),
                        );
                    }
                }
                // A block scalar's end event sits after its trailing line
                // breaks, at the next token's line: that line is not part of
                // it (as a step's `run: |`, it put the next step's line in
                // the step's source range).
                let span = if st == Style::Block {
                    let text = &self.idx.src.as_bytes()
                        [span.start.offset as usize..span.end.offset as usize];
                    let kept = text
                        .iter()
                        .rposition(|b| !b.is_ascii_whitespace())
                        .map_or(0, |i| i + 1);
                    Span::new(
                        span.start,
                        self.idx.at_offset(span.start.offset as usize + kept),
                    )
                } else {
                    span
                };
                Some((
                    Node {
                        kind: Kind::Scalar(v, st),
                        span,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(_, anchor, _) => {
                self.nodes += 1;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span.start,
                    anchor,
                });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                self.nodes += 1;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    start: span.start,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                }) => {
                    let end = collection_end(items.last().map(|n| n.span.end), span);
                    Some((
                        Node {
                            kind: Kind::Seq(items),
                            span: Span::new(start, end),
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    entries,
                    start,
                    anchor,
                    ..
                }) => {
                    let end = collection_end(entries.last().map(|(_, v)| v.span.end), span);
                    let entries = finish_map(entries, &mut self.errors);
                    Some((
                        Node {
                            kind: Kind::Map(entries),
                            span: Span::new(start, end),
                        },
                        anchor,
                    ))
                }
                _ => None,
            },
            _ => None,
        };
        if self.nodes > MAX_NODES {
            return fatal(
                &mut self.errors,
                Diagnostic::error(
                    "too-large",
                    span,
                    format!("the document has more than {MAX_NODES} nodes"),
                )
                .with_help("a build spec should be small"),
            );
        }
        if self.stack.len() > MAX_DEPTH {
            return fatal(
                &mut self.errors,
                Diagnostic::error(
                    "too-deep",
                    span,
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                )
                .with_help(format!("nesting is limited to {MAX_DEPTH} levels")),
            );
        }
        if let Some((node, anchor)) = done {
            if anchor != 0 {
                let size = node.count();
                self.anchors.insert(anchor, (node.clone(), size));
            }
            match self.stack.last_mut() {
                None => self.root = Some(node),
                Some(Frame::Seq { items, .. }) => items.push(node),
                Some(Frame::Map {
                    entries,
                    pending_key,
                    ..
                }) => match pending_key.take() {
                    None => *pending_key = Some(node),
                    Some(k) => entries.push((k, node)),
                },
            }
            if let Some(d) = self
                .too_many_stages()
                .or_else(|| self.too_many_env_entries())
                .or_else(|| self.too_many_keys())
            {
                return fatal(&mut self.errors, d);
            }
        }
        None
    }

    /// More stages than `MAX_STAGES` under the top-level `stages:` (checked
    /// as each is added): the parse stops there instead of building a tree
    /// that evaluation would refuse anyway.
    fn too_many_stages(&mut self) -> Option<Diagnostic> {
        let [Frame::Map {
            pending_key: Some(top),
            ..
        }, Frame::Map {
            entries,
            pending_key: None,
            ..
        }] = self.stack.as_slice()
        else {
            return None;
        };
        let (k, _) = entries.last()?;
        if top.scalar() != Some("stages") || k.scalar().is_some_and(|s| s.starts_with("x-")) {
            return None;
        }
        self.stage_keys += 1;
        (self.stage_keys > MAX_STAGES).then(|| {
            Diagnostic::error(
                "too-large",
                k.span,
                format!("the spec has more than {MAX_STAGES} stages"),
            )
            .with_label("over the limit here")
            .with_help("split the build into several specs")
        })
    }
}

impl<'s> Builder<'_, 's> {
    /// A mapping that has just received key `MAX_MAPPING_KEYS + 1` (any
    /// mapping: `x-` anchors, `args`, …): the parse stops there (issue 11: a
    /// 100,000-key anchor was read whole, 0.16 s, before its alias was refused).
    fn too_many_keys(&self) -> Option<Diagnostic> {
        let (k, _) = self.just_over(MAX_MAPPING_KEYS)?.last()?;
        Some(too_large_at(
            k,
            format!("this mapping has more than {MAX_MAPPING_KEYS} keys"),
        ))
    }

    /// The entries of the innermost mapping when it has just received entry
    /// `limit + 1` (and no key is waiting for its value): each check fires
    /// once, at the first entry over its limit.
    fn just_over(&self, limit: usize) -> Option<&[(Node<'s>, Node<'s>)]> {
        match self.stack.last()? {
            Frame::Map {
                entries,
                pending_key: None,
                ..
            } if entries.len() == limit + 1 => Some(entries),
            _ => None,
        }
    }

    /// An `env` mapping inside a stage (the stage's, a step's, the image's)
    /// that has just received entry `MAX_ENV_ENTRIES + 1`: the parse stops
    /// there instead of reading the rest of a mapping that evaluation would
    /// refuse (issue 11: 100,000 entries took 0.2 s to parse first). With
    /// `<<` keys the count is left to evaluation (merged entries count there).
    fn too_many_env_entries(&self) -> Option<Diagnostic> {
        let n = self.stack.len();
        if n < 4 {
            return None;
        }
        let entries = self.just_over(MAX_ENV_ENTRIES)?;
        let pending = |f: &Frame<'_>| match f {
            Frame::Map {
                pending_key: Some(k),
                ..
            } => k.scalar().map(str::to_owned),
            _ => None,
        };
        let stage = pending(&self.stack[1])?;
        if pending(&self.stack[0]).as_deref() != Some("stages")
            || stage.starts_with("x-")
            || pending(&self.stack[n - 2]).as_deref() != Some("env")
            || entries
                .iter()
                .any(|(k, _)| matches!(&k.kind, Kind::Scalar(s, Style::Plain) if s == "<<"))
        {
            return None;
        }
        let (k, _) = entries.last()?;
        Some(too_large_at(
            k,
            format!("an `env` of stage `{stage}` has more than {MAX_ENV_ENTRIES} entries"),
        ))
    }
}

/// The `too-large` error at the first key over a per-mapping limit.
fn too_large_at(key: &Node<'_>, message: String) -> Diagnostic {
    Diagnostic::error("too-large", key.span, message)
        .with_label("over the limit here")
        .with_help("a build spec should be small: pass large data as files of the build context")
}

/// Apply `<<` merge keys and report duplicate keys.
fn finish_map<'s>(
    entries: Vec<(Node<'s>, Node<'s>)>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(Node<'s>, Node<'s>)> {
    // The common case, string keys without `<<` or duplicates, is returned
    // as it is (the general path below moves every entry into a new Vec).
    if plain_unique_keys(&entries) {
        return entries;
    }
    let mut out: Vec<(Node<'s>, Node<'s>)> = Vec::with_capacity(entries.len());
    let mut merged: Vec<(Node<'s>, Node<'s>)> = Vec::new();
    // Keys in `merged` (hashed: a scan per key was quadratic, 51 s for a
    // merge of 100,000 keys).
    let mut merged_keys: std::collections::HashSet<Option<String>> = Default::default();
    // Large mappings: find each key's first occurrence through a hash map
    // (the linear scan below is quadratic in the number of keys).
    let first_of: Option<Vec<Option<Span>>> = (entries.len() > 16).then(|| {
        let mut seen: std::collections::HashMap<&str, Span> =
            std::collections::HashMap::with_capacity(entries.len());
        entries
            .iter()
            .map(|(k, _)| match &k.kind {
                Kind::Scalar(s, st) if !(*st == Style::Plain && s == "<<") => {
                    match seen.entry(s.as_ref()) {
                        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(k.span);
                            None
                        }
                    }
                }
                _ => None,
            })
            .collect()
    });
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if !matches!(k.kind, Kind::Scalar(..)) {
            errors.push(
                Diagnostic::error("complex-key", k.span, "mapping keys must be plain strings")
                    .with_help("use a string as the key"),
            );
            continue;
        }
        if matches!(&k.kind, Kind::Scalar(s, Style::Plain) if s == "<<") {
            let sources: Vec<Node<'s>> = match v.kind {
                Kind::Map(_) => vec![v],
                Kind::Seq(items) => items,
                _ => {
                    errors.push(
                        Diagnostic::error(
                            "invalid-merge",
                            v.span,
                            "`<<` merges a mapping or a list of mappings",
                        )
                        .with_help("write `<<: *anchor` where the anchor names a mapping"),
                    );
                    continue;
                }
            };
            for src in sources {
                match src.kind {
                    Kind::Map(es) => {
                        for (mk, mv) in es {
                            if merged.len() >= MAX_MERGED_KEYS {
                                errors.push(
                                    Diagnostic::error(
                                        "too-large",
                                        k.span,
                                        format!("`<<` merges more than {MAX_MERGED_KEYS} keys into one mapping"),
                                    )
                                    .with_label("this merge is over the limit")
                                    .with_help("a build spec should be small; merge fewer keys"),
                                );
                                break;
                            }
                            // First source wins (YAML merge order).
                            if merged_keys.insert(mk.scalar().map(str::to_owned)) {
                                merged.push((mk, mv));
                            }
                        }
                    }
                    _ => errors.push(
                        Diagnostic::error(
                            "invalid-merge",
                            src.span,
                            "`<<` merges a mapping or a list of mappings",
                        )
                        .with_help("write `<<: *anchor` where the anchor names a mapping"),
                    ),
                }
            }
            continue;
        }
        let first_span = match &first_of {
            Some(f) => f[i],
            None => out
                .iter()
                .find(|(k2, _)| k2.scalar() == k.scalar())
                .map(|(first, _)| first.span),
        };
        if let Some(first_span) = first_span {
            errors.push(
                Diagnostic::error(
                    "duplicate-key",
                    k.span,
                    format!("duplicate key `{}`", k.scalar().unwrap_or("")),
                )
                .with_label(format!(
                    "first defined at line {}, column {}",
                    first_span.start.line, first_span.start.col
                ))
                .with_help(format!(
                    "remove or rename one of them (the first is at line {}:{})",
                    first_span.start.line, first_span.start.col
                )),
            );
            continue;
        }
        out.push((k, v));
    }
    if !merged.is_empty() {
        let own: std::collections::HashSet<String> = out
            .iter()
            .filter_map(|(k, _)| k.scalar().map(str::to_owned))
            .collect();
        out.extend(
            merged
                .into_iter()
                .filter(|(k, _)| !k.scalar().is_some_and(|s| own.contains(s))),
        );
    }
    out
}
