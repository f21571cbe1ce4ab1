//! Diagnostics: every error is a typed value with a span, rendered as
//! `file:line:col`, the offending line, a caret under the spot, and a hint.
//!
//! The rendering is plain text (no colour, no terminal width detection) so that
//! it is stable for snapshots and survives being carried inside a gRPC status
//! message to `docker build`, which prints it verbatim.

use std::fmt;

/// Most chars of a source line a diagnostic shows.
const WINDOW: usize = 200;

/// A position in the source: 1-based line and column (in characters), plus
/// the byte offset into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
    /// u32: inputs are at most 16 MiB (`yaml::MAX_INPUT_BYTES`), and every
    /// node and plan value carries two of these.
    pub offset: u32,
}

/// A half-open range of source text. `end` may equal `start` for a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn new(start: Pos, end: Pos) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    /// True for spans that do not point into the file (e.g. errors about
    /// command-line options).
    pub fn is_unknown(&self) -> bool {
        self.start.line == 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in a spec (or in options applied to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unknown-key`, `cycle`.
    pub code: &'static str,
    /// One line: what is wrong.
    pub message: String,
    /// Where; `Span::default()` when the problem has no place in the file.
    pub span: Span,
    /// Short label printed after the caret.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Render as
    /// ```text
    /// error[unknown-key]: unknown key `stpes` in stage `builder`
    ///  --> slipway.yaml:12:5
    ///    |
    /// 12 |     stpes:
    ///    |     ^^^^^ not a stage key
    ///    = help: did you mean `steps`?
    /// ```
    pub fn render(&self, filename: &str, source: &str) -> String {
        let mut out = String::new();
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("{sev}[{}]: {}\n", self.code, self.message));
        if !self.span.is_unknown() {
            let line_no = self.span.start.line as usize;
            // The line is found by the byte offset, broken where YAML breaks
            // lines (`\n`, `\r\n`, lone `\r`), so it is the line the
            // position's line number counts. The column is counted on it.
            let (line, col) = line_at(source, self.span.start.offset as usize);
            let col = match line {
                Some(_) => col,
                None => self.span.start.col.max(1) as usize,
            };
            out.push_str(&format!(" --> {filename}:{line_no}:{col}\n"));
            if let Some(line) = line {
                // A window of at most WINDOW chars that holds the column
                // (long lines are cut with `…`), so rendering stays bounded.
                let skip = (col - 1).saturating_sub(WINDOW / 4);
                let shown: String = line.chars().skip(skip).take(WINDOW).collect();
                let cut_left = skip > 0;
                let line = if cut_left {
                    format!("…{shown}")
                } else {
                    shown
                };
                let col = col - skip + usize::from(cut_left);
                let gutter = line_no.to_string().len();
                let pad = " ".repeat(gutter);
                // caret length: to the end of the span on the same line, at least 1
                let line_chars = line.chars().count();
                let width = if self.span.end.line == self.span.start.line
                    && self.span.end.offset > self.span.start.offset
                {
                    source
                        .get(self.span.start.offset as usize..self.span.end.offset as usize)
                        .map_or(1, |t| t.chars().count())
                } else if self.span.end == self.span.start {
                    // a point (e.g. where the YAML parser stopped)
                    1
                } else {
                    line_chars.saturating_sub(col - 1).max(1)
                };
                let width = width.min(line_chars.saturating_sub(col - 1).max(1));
                out.push_str(&format!("{pad} |\n"));
                out.push_str(&format!("{line_no} | {line}\n"));
                out.push_str(&format!(
                    "{pad} | {}{}",
                    " ".repeat(col - 1),
                    "^".repeat(width)
                ));
                if let Some(label) = &self.label {
                    out.push(' ');
                    out.push_str(label);
                }
                out.push('\n');
                if let Some(help) = &self.help {
                    out.push_str(&format!("{pad} = help: {help}\n"));
                }
                return out;
            }
        } else if let Some(label) = &self.label {
            out.push_str(&format!("  {label}\n"));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

/// The line holding byte `offset` of `source` (without its break) and the
/// 1-based column of `offset` on it, in chars; `None` when `offset` is past
/// the end or not on a char boundary.
fn line_at(source: &str, offset: usize) -> (Option<&str>, usize) {
    if offset > source.len() || !source.is_char_boundary(offset) {
        return (None, 1);
    }
    let b = source.as_bytes();
    let start = b[..offset]
        .iter()
        .rposition(|&c| c == b'\n' || c == b'\r')
        .map_or(0, |i| i + 1);
    let end = b[offset..]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map_or(source.len(), |i| offset + i);
    (
        Some(&source[start..end]),
        source[start..offset].chars().count() + 1,
    )
}

/// All diagnostics of one file, errors first in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    pub filename: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }
    /// Every diagnostic rendered, separated by blank lines, with a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&d.render(&self.filename, &self.source));
        }
        let errors = self
            .items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 1 {
            out.push_str(&format!("\n{errors} errors in {}\n", self.filename));
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}
