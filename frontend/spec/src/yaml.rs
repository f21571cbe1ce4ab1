//! Stage 1: YAML text -> a tree whose every node (mapping keys included)
//! carries its [`Span`].
//!
//! Built from the event stream of `granit-parser` (the parser under
//! serde-saphyr) with an explicit stack, so nesting never recurses; nesting
//! depth, alias expansion and input size are bounded.

use std::borrow::Cow;

use serde_saphyr::granit_parser::{self as gp, Event, ScalarStyle};

use crate::diag::{Diagnostic, Pos, Span};

/// Largest accepted input.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest accepted nesting of sequences/mappings.
pub const MAX_DEPTH: usize = 64;
/// Most nodes the tree may hold once aliases are expanded.
pub const MAX_NODES: usize = 2_000_000;
/// Nodes that alias expansion may add (an alias bomb stops here, long before
/// memory is at risk).
pub const MAX_ALIAS_NODES: usize = 200_000;

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

/// Maps parser markers (line, char column) to [`Pos`] with byte offsets.
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// Every char is one byte: a column is a byte count.
    ascii: bool,
    /// Only `\n` breaks lines (YAML also breaks at `\r`, which this index
    /// does not count) and there is no byte-order mark (the parser skips it
    /// in offsets, not in columns): debug builds check the parser's offsets
    /// against this index then.
    #[cfg(debug_assertions)]
    offsets_checkable: bool,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 24 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', src.as_bytes()).map(|i| i + 1));
        LineIndex {
            src,
            starts,
            ascii: src.is_ascii(),
            #[cfg(debug_assertions)]
            offsets_checkable: memchr::memchr(b'\r', src.as_bytes()).is_none()
                && !src.contains('\u{feff}'),
        }
    }
    /// `line` 1-based, `col` 0-based in chars.
    pub fn pos(&self, line: usize, col: usize) -> Pos {
        let line = line.max(1);
        let Some(&start) = self.starts.get(line - 1) else {
            return Pos {
                line: line as u32,
                col: col as u32 + 1,
                offset: self.src.len() as u32,
            };
        };
        // Fast path: the first `col` chars of the line are ASCII (one byte
        // each). The parser never puts a column past the line's end.
        let bytes = &self.src.as_bytes()[start..];
        let lim = col.min(bytes.len());
        if (self.ascii && !bytes[..lim].contains(&b'\n'))
            || bytes[..lim].iter().all(|&b| b < 0x80 && b != b'\n')
        {
            return Pos {
                line: line as u32,
                col: col as u32 + 1,
                offset: (start + lim) as u32,
            };
        }
        let rest = &self.src[start..];
        let mut off = start;
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n == col || c == '\n' {
                off = start + i;
                break;
            }
            off = start + i + c.len_utf8();
        }
        Pos {
            line: line as u32,
            col: col as u32 + 1,
            offset: off as u32,
        }
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

pub fn parse(source: &str) -> Parsed<'_> {
    parse_with(source, SPLIT_MIN_BYTES)
}

thread_local! {
    /// Parses on this thread whose halves were joined (for tests).
    static SPLITS_JOINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many parses on this thread used the two-thread split (tests check
/// that it engages, not only that results agree).
#[doc(hidden)]
pub fn splits_joined() -> usize {
    SPLITS_JOINED.with(|n| n.get())
}

/// Below this size a spec is parsed on one thread (it takes a few ms).
const SPLIT_MIN_BYTES: usize = 256 * 1024;

/// [`parse`], using two threads when the input has at least
/// `split_min_bytes` (tests force it on small inputs).
///
/// A large spec is mostly one long `stages:` mapping. Its second half, from
/// a line that looks like a stage key, is parsed on another thread as a
/// document of its own while this thread parses from the start. The halves
/// are joined only if the full parse, arriving at that line, is exactly at a
/// key of the top-level `stages:` mapping (block context, nothing open) and
/// the half parsed alone had no error, no alias and no near-limit nesting;
/// otherwise this thread parses on as if there were no split. Either way the
/// tree, its spans and the diagnostics are those of one sequential parse
/// (`tests/split.rs` compares the two on every spec in the repository).
pub fn parse_with(source: &str, split_min_bytes: usize) -> Parsed<'_> {
    if source.len() > MAX_INPUT_BYTES {
        let errors = vec![Diagnostic::error(
            "too-large",
            Span::default(),
            format!(
                "the spec is {} bytes, more than the limit of {} bytes (16 MiB)",
                source.len(),
                MAX_INPUT_BYTES
            ),
        )
        .with_help("a build spec should be small; move data into files of the build context")];
        return Parsed { root: None, errors };
    }
    let idx = LineIndex::new(source);
    let split = (source.len() >= split_min_bytes)
        .then(|| split_point(source))
        .flatten();
    let Some(split) = split else {
        let mut b = Builder::new(&idx, 0, 0);
        for ev in parser(source, MAX_DEPTH) {
            if let Some(done) = b.feed(ev) {
                return done;
            }
        }
        return b.finish();
    };
    std::thread::scope(|scope| {
        let idx = &idx;
        // No thread (e.g. a pids limit): one parse, as for small inputs.
        let mut half = std::thread::Builder::new()
            .name("yaml-half".into())
            .spawn_scoped(scope, move || parse_half(source, idx, split))
            .ok();
        let mut b = Builder::new(idx, 0, 0);
        for ev in parser(source, MAX_DEPTH) {
            // The collections of the previous stage close at the split
            // line first; the decision is taken at the next event.
            let reached = matches!(&ev, Ok((e, s)) if s.start.line() >= split.line
                && !matches!(e, Event::MappingEnd | Event::SequenceEnd));
            if reached {
                if let Some(h) = half.take() {
                    if b.at_stage_key(&ev, split) {
                        // A panic in the helper thread (a bug) is contained
                        // by the join: the full parse simply goes on.
                        if let Ok(Some(h)) = h.join() {
                            if let Some(done) = b.join_half(h) {
                                return done;
                            }
                        }
                    }
                }
            }
            if let Some(done) = b.feed(ev) {
                return done;
            }
        }
        b.finish()
    })
}

fn parser(text: &str, depth_limit: usize) -> gp::Parser<'_, gp::StrInput<'_>> {
    let options = gp::options! {
        flow_nesting_limit: depth_limit,
        block_nesting_limit: depth_limit,
        emit_comments: false,
    };
    gp::Parser::new_from_str_with_options(text, options)
}

/// Where the second half starts: a line `<indent>name:` inside the
/// top-level `stages:` block, near the middle of the input.
#[derive(Clone, Copy, Debug)]
struct Split {
    /// Byte offset of the line's first byte.
    offset: usize,
    /// 1-based line number.
    line: usize,
    /// Indentation of the stage keys (columns).
    indent: usize,
}

fn split_point(source: &str) -> Option<Split> {
    let bytes = source.as_bytes();
    // `stages:` at column 0, alone on its line (a block mapping follows).
    let mut at = 0;
    let body = loop {
        let rest = &source[at..];
        let line_end = rest.find('\n').map_or(source.len(), |i| at + i + 1);
        let line = source[at..line_end].trim_end();
        if let Some(tail) = line.strip_prefix("stages:") {
            let tail = tail.trim_start();
            if tail.is_empty() || tail.starts_with('#') {
                break line_end;
            }
        }
        if line_end >= source.len() {
            return None;
        }
        at = line_end;
    };
    // The indentation of the first stage key.
    let mut at = body;
    let indent = loop {
        if at >= source.len() {
            return None;
        }
        let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i + 1);
        let line = &source[at..line_end];
        let t = line.trim_start_matches(' ');
        if !(t.trim().is_empty() || t.starts_with('#')) {
            let n = line.len() - t.len();
            if n == 0 || t.starts_with('\t') {
                return None;
            }
            break n;
        }
        at = line_end;
    };
    // The first stage-key line at or after the middle of the input.
    // (The middle may fall inside a multi-byte character: search bytes.)
    let mid = (source.len() / 2).max(body);
    let mut at = bytes[mid..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| mid + i + 1)?;
    let mut line_no = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
    while at < source.len() {
        let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i + 1);
        let line = &bytes[at..line_end];
        if is_key_line(line, indent) {
            return Some(Split {
                offset: at,
                line: line_no,
                indent,
            });
        }
        // Give up at anything that may end the block (a less indented line).
        let n = line.iter().take_while(|&&b| b == b' ').count();
        let blank = line[n..].iter().all(|b| b.is_ascii_whitespace()) || line.get(n) == Some(&b'#');
        if n < indent && !blank {
            return None;
        }
        at = line_end;
        line_no += 1;
    }
    None
}

/// `<indent spaces>name:` followed by a space, a comment or the line end.
fn is_key_line(line: &[u8], indent: usize) -> bool {
    if line.len() <= indent || line[..indent].iter().any(|&b| b != b' ') {
        return false;
    }
    let rest = &line[indent..];
    let name_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        .count();
    name_len > 0
        && rest[0].is_ascii_alphanumeric()
        && rest.get(name_len) == Some(&b':')
        && matches!(
            rest.get(name_len + 1),
            None | Some(b' ' | b'\n' | b'\r' | b'#')
        )
}

/// The second half parsed alone: the stage entries (spans in the whole
/// file's coordinates) and the node count, or `None` if it cannot stand in
/// for the sequential parse.
struct Half<'s> {
    entries: Vec<(Node<'s>, Node<'s>)>,
    /// Where the half's mapping ends (its last value, or the event that
    /// closed it, whichever is later), as the enclosing mappings do.
    end: Pos,
    nodes: usize,
}

fn parse_half<'s>(source: &'s str, idx: &LineIndex<'s>, split: Split) -> Option<Half<'s>> {
    // The half's keys sit two collections deep in the whole document.
    const BASE: usize = 2;
    let mut b = Builder::new(idx, split.line - 1, BASE);
    b.byte_offset = split.offset;
    for ev in parser(&source[split.offset..], MAX_DEPTH - BASE) {
        if b.feed(ev).is_some() {
            return None;
        }
    }
    // Near the limits, leave the exact errors to the sequential parse.
    if b.alias_nodes > 0 || b.docs != 1 || b.max_depth + BASE + 2 > MAX_DEPTH {
        return None;
    }
    let nodes = b.nodes;
    let p = b.finish();
    if !p.errors.is_empty() {
        return None;
    }
    match p.root {
        Some(Node {
            kind: Kind::Map(entries),
            span,
        }) if !entries.is_empty() => Some(Half {
            entries,
            end: span.end,
            nodes,
        }),
        _ => None,
    }
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
    /// Added to the parser's line numbers (a half starts mid-file).
    line_offset: usize,
    /// Added to the parser's byte offsets (likewise).
    byte_offset: usize,
    /// Collections open around the parsed text in the whole document.
    base_depth: usize,
    stack: Vec<Frame<'s>>,
    anchors: std::collections::HashMap<usize, (Node<'s>, usize)>,
    nodes: usize,
    alias_nodes: usize,
    max_depth: usize,
    root: Option<Node<'s>>,
    docs: usize,
    errors: Vec<Diagnostic>,
}

impl<'i, 's> Builder<'i, 's> {
    fn new(idx: &'i LineIndex<'s>, line_offset: usize, base_depth: usize) -> Self {
        Builder {
            idx,
            line_offset,
            byte_offset: 0,
            base_depth,
            stack: Vec::new(),
            anchors: Default::default(),
            nodes: 0,
            alias_nodes: 0,
            max_depth: 0,
            root: None,
            docs: 0,
            errors: Vec::new(),
        }
    }

    fn span(&self, s: &gp::Span) -> Span {
        Span::new(self.pos(&s.start), self.pos(&s.end))
    }

    /// The parser's markers carry byte offsets when it reads a `&str`:
    /// then no line has to be scanned (the index is the fallback).
    fn pos(&self, m: &gp::Marker) -> Pos {
        let line = m.line() + self.line_offset;
        let Some(b) = m.byte_offset() else {
            return self.idx.pos(line, m.col());
        };
        let pos = Pos {
            line: line as u32,
            col: m.col() as u32 + 1,
            offset: (b + self.byte_offset) as u32,
        };
        #[cfg(debug_assertions)]
        if self.idx.offsets_checkable {
            assert_eq!(pos, self.idx.pos(line, m.col()), "marker {m:?}");
        }
        pos
    }

    fn finish(self) -> Parsed<'s> {
        Parsed {
            root: self.root,
            errors: self.errors,
        }
    }

    /// Is `ev` a plain key of the top-level `stages:` mapping, starting at
    /// the split line's indentation, with nothing else open?
    fn at_stage_key(&self, ev: &gp::ParseResult<'_>, split: Split) -> bool {
        let Ok((Event::Scalar(_, ScalarStyle::Plain, 0, None), s)) = ev else {
            return false;
        };
        if s.start.line() != split.line || s.start.col() != split.indent {
            return false;
        }
        match self.stack.as_slice() {
            [Frame::Map {
                pending_key: Some(k),
                ..
            }, Frame::Map {
                pending_key: None,
                entries,
                ..
            }] => {
                !entries.is_empty()
                    && matches!(&k.kind, Kind::Scalar(name, Style::Plain) if name == "stages")
                    && k.span.start.col == 1
            }
            _ => false,
        }
    }

    /// Appends the half's entries to the open `stages:` mapping and closes
    /// it and the root mapping, as the rest of a sequential parse would.
    /// `None` (nothing changed) if the total would pass the node limit.
    fn join_half(&mut self, h: Half<'s>) -> Option<Parsed<'s>> {
        // The half's root mapping stands for no node of the whole document.
        let nodes = self.nodes + h.nodes - 1;
        if nodes > MAX_NODES || self.docs != 1 {
            return None;
        }
        self.nodes = nodes;
        let Some(Frame::Map {
            mut entries, start, ..
        }) = self.stack.pop()
        else {
            unreachable!("checked by at_stage_key")
        };
        entries.extend(h.entries);
        let stages = Node {
            kind: Kind::Map(finish_map(entries, &mut self.errors)),
            span: Span::new(start, h.end),
        };
        let Some(Frame::Map {
            mut entries,
            pending_key,
            start,
            ..
        }) = self.stack.pop()
        else {
            unreachable!("checked by at_stage_key")
        };
        entries.push((pending_key.expect("checked by at_stage_key"), stages));
        let root = Node {
            kind: Kind::Map(finish_map(entries, &mut self.errors)),
            span: Span::new(start, h.end),
        };
        SPLITS_JOINED.with(|n| n.set(n.get() + 1));
        Some(Parsed {
            root: Some(root),
            errors: std::mem::take(&mut self.errors),
        })
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
                let pos = self.pos(&m);
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
        if self.stack.len() + self.base_depth > MAX_DEPTH {
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
        }
        self.max_depth = self.max_depth.max(self.stack.len());
        None
    }
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
                            if !merged.iter().any(|(k2, _)| k2.scalar() == mk.scalar()) {
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
    for (k, v) in merged {
        if !out.iter().any(|(k2, _)| k2.scalar() == k.scalar()) {
            out.push((k, v));
        }
    }
    out
}
