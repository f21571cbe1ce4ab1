//! Stage 1: YAML text -> a tree whose every node (mapping keys included)
//! carries its [`Span`].
//!
//! Built from the event stream of `granit-parser` (the parser under
//! serde-saphyr) with an explicit stack, so nesting never recurses; nesting
//! depth, alias expansion and input size are bounded.

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
pub enum Kind {
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub span: Span,
}

impl Node {
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
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { src, starts }
    }
    /// `line` 1-based, `col` 0-based in chars.
    pub fn pos(&self, line: usize, col: usize) -> Pos {
        let line = line.max(1);
        let Some(&start) = self.starts.get(line - 1) else {
            return Pos {
                line: line as u32,
                col: col as u32 + 1,
                offset: self.src.len(),
            };
        };
        // Fast path: the first `col` chars of the line are ASCII (one byte each).
        let bytes = &self.src.as_bytes()[start..];
        let lim = col.min(bytes.len());
        if bytes[..lim].iter().all(|&b| b < 0x80 && b != b'\n') {
            return Pos {
                line: line as u32,
                col: col as u32 + 1,
                offset: start + lim,
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
            offset: off,
        }
    }
    fn span(&self, s: &gp::Span) -> Span {
        Span::new(
            self.pos(s.start.line(), s.start.col()),
            self.pos(s.end.line(), s.end.col()),
        )
    }
    /// The raw source text covered by a span (empty when out of range).
    pub fn text(&self, span: Span) -> &'a str {
        self.src
            .get(span.start.offset..span.end.offset.max(span.start.offset))
            .unwrap_or("")
    }
}

/// Whole-file failures stop here (syntax error, limits); duplicate keys are
/// collected in `errors` and the tree is still returned.
pub struct Parsed {
    pub root: Option<Node>,
    pub errors: Vec<Diagnostic>,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        start: Pos,
        anchor: usize,
    },
}

pub fn parse(source: &str) -> Parsed {
    let idx = LineIndex::new(source);
    let mut errors = Vec::new();
    if source.len() > MAX_INPUT_BYTES {
        errors.push(
            Diagnostic::error(
                "too-large",
                Span::default(),
                format!(
                    "the spec is {} bytes, more than the limit of {} bytes (16 MiB)",
                    source.len(),
                    MAX_INPUT_BYTES
                ),
            )
            .with_help("a build spec should be small; move data into files of the build context"),
        );
        return Parsed { root: None, errors };
    }
    let options = gp::options! {
        flow_nesting_limit: MAX_DEPTH,
        block_nesting_limit: MAX_DEPTH,
        emit_comments: false,
    };
    let parser = gp::Parser::new_from_str_with_options(source, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, (Node, usize)> = Default::default();
    let mut nodes = 0usize;
    let mut alias_nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut docs = 0;

    let fatal = |errors: &mut Vec<Diagnostic>, d: Diagnostic| {
        errors.push(d);
        Parsed {
            root: None,
            errors: std::mem::take(errors),
        }
    };

    for ev in parser {
        let (ev, gspan) = match ev {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                let pos = idx.pos(m.line(), m.col());
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
                return fatal(&mut errors, d);
            }
        };
        let span = idx.span(&gspan);
        let done: Option<(Node, usize)> = match ev {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(..) => {
                docs += 1;
                if docs > 1 {
                    return fatal(
                        &mut errors,
                        Diagnostic::error("multiple-documents", span, "a spec file holds exactly one YAML document")
                            .with_label("second document starts here")
                            .with_help("remove the `---` separator and everything after it, or merge the documents"),
                    );
                }
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((n, size)) => {
                    nodes += size;
                    alias_nodes += size;
                    if alias_nodes > MAX_ALIAS_NODES {
                        return fatal(
                            &mut errors,
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
                        &mut errors,
                        Diagnostic::error("yaml-syntax", span, "alias to an unknown anchor")
                            .with_help("define the anchor (`&name`) before using `*name`"),
                    )
                }
            },
            Event::Scalar(v, style, anchor, tag) => {
                nodes += 1;
                let mut st = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Style::Quoted,
                    _ => Style::Block,
                };
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema_tag("str") {
                        st = Style::Quoted;
                    } else if !tag.is_yaml_core_schema() {
                        errors.push(
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
                        kind: Kind::Scalar(v.into_owned(), st),
                        span,
                    },
                    anchor,
                ))
            }
            Event::SequenceStart(_, anchor, _) => {
                nodes += 1;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: span.start,
                    anchor,
                });
                None
            }
            Event::MappingStart(_, anchor, _) => {
                nodes += 1;
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    start: span.start,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    start,
                    anchor,
                }) => {
                    let end = items
                        .last()
                        .map(|n| n.span.end)
                        .unwrap_or(span.end)
                        .max(span.start);
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
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    start,
                    anchor,
                    ..
                }) => {
                    let end = entries
                        .last()
                        .map(|(_, v)| v.span.end)
                        .unwrap_or(span.end)
                        .max(span.start);
                    let entries = finish_map(entries, &mut errors);
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
        if nodes > MAX_NODES {
            return fatal(
                &mut errors,
                Diagnostic::error(
                    "too-large",
                    span,
                    format!("the document has more than {MAX_NODES} nodes"),
                )
                .with_help("a build spec should be small"),
            );
        }
        if stack.len() > MAX_DEPTH {
            return fatal(
                &mut errors,
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
                anchors.insert(anchor, (node.clone(), size));
            }
            match stack.last_mut() {
                None => root = Some(node),
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
    }
    Parsed { root, errors }
}

/// Apply `<<` merge keys and report duplicate keys.
fn finish_map(entries: Vec<(Node, Node)>, errors: &mut Vec<Diagnostic>) -> Vec<(Node, Node)> {
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(entries.len());
    let mut merged: Vec<(Node, Node)> = Vec::new();
    // Large mappings: find each key's first occurrence through a hash map
    // (the linear scan below is quadratic in the number of keys).
    let first_of: Option<Vec<Option<Span>>> = (entries.len() > 16).then(|| {
        let mut seen: std::collections::HashMap<&str, Span> =
            std::collections::HashMap::with_capacity(entries.len());
        entries
            .iter()
            .map(|(k, _)| match &k.kind {
                Kind::Scalar(s, st) if !(*st == Style::Plain && s == "<<") => {
                    match seen.entry(s.as_str()) {
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
            let sources: Vec<Node> = match v.kind {
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
