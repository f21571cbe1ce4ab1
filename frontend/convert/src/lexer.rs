//! Dockerfile lexing: parser directives, comments, line continuations (with the
//! `# escape=` character), heredocs, and each instruction's flags, with a source
//! position for every byte of the joined (logical) line.

use slipway_spec::{Diagnostic, Pos, Span};

/// One instruction, its continuation lines joined as Docker joins them.
#[derive(Debug, Clone)]
pub struct Instr {
    /// Upper-cased keyword (`RUN`, `COPY`, …).
    pub keyword: String,
    pub kw_span: Span,
    pub line: Logical,
    /// Logical offset where the arguments (after the flags) start.
    pub args_start: usize,
    pub flags: Vec<Flag>,
    pub heredocs: Vec<Heredoc>,
    /// Comment lines written just before the instruction (without `#`).
    pub comments: Vec<String>,
}

impl Instr {
    pub fn args(&self) -> &str {
        &self.line.text[self.args_start..]
    }
    /// The span of the arguments (to the end of the first physical line).
    pub fn args_span(&self) -> Span {
        self.line.span(self.args_start, self.line.text.len())
    }
    /// The span of the whole instruction's first line.
    pub fn span(&self) -> Span {
        self.line.span(0, self.line.text.len())
    }
}

#[derive(Debug, Clone)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Heredoc {
    pub name: String,
    /// `<<'EOF'` / `<<"EOF"`: no expansion of the body.
    pub quoted: bool,
    /// The body, each line ending in `\n` (tabs stripped for `<<-`).
    pub body: String,
    /// Logical offsets of the `<<…` word in the instruction line.
    pub start: usize,
    pub end: usize,
}

/// A logical line: physical lines joined without their continuation escapes.
#[derive(Debug, Clone, Default)]
pub struct Logical {
    pub text: String,
    /// (logical offset, source position) at the start of each physical piece.
    segs: Vec<(usize, Pos, usize)>,
    /// Logical offsets where a continuation joined two physical lines.
    pub breaks: Vec<usize>,
}

impl Logical {
    pub fn pos(&self, off: usize) -> Pos {
        let i = match self.segs.binary_search_by(|s| s.0.cmp(&off)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        let (start, p, end) = self.segs[i];
        let off = off.min(end).max(start);
        let chars = self.text[start..off].chars().count() as u32;
        Pos {
            line: p.line,
            col: p.col + chars,
            offset: p.offset + (off - start) as u32,
        }
    }
    pub fn span(&self, a: usize, b: usize) -> Span {
        let (pa, pb) = (self.pos(a), self.pos(b));
        if pb.line != pa.line {
            // to the end of the first physical line
            let i = self.segs.iter().rposition(|s| s.0 <= a).unwrap_or(0);
            return Span::new(pa, self.pos(self.segs[i].2));
        }
        Span::new(pa, pb)
    }
}

/// The result of lexing a Dockerfile.
#[derive(Debug, Default)]
pub struct Lexed {
    pub escape: char,
    /// `# syntax=` value, if any.
    pub syntax: Option<String>,
    /// Comments before the first instruction (the file's header).
    pub header: Vec<String>,
    pub instrs: Vec<Instr>,
    /// Comments after the last instruction.
    pub trailing: Vec<String>,
    pub errors: Vec<Diagnostic>,
}

struct Phys<'a> {
    text: &'a str,
    line: u32,
    offset: usize,
}

fn physical_lines(src: &str) -> Vec<Phys<'_>> {
    let mut out = Vec::new();
    let mut off = 0;
    for (i, l) in src.split('\n').enumerate() {
        let text = l.strip_suffix('\r').unwrap_or(l);
        out.push(Phys {
            text,
            line: i as u32 + 1,
            offset: off,
        });
        off += l.len() + 1;
    }
    if src.ends_with('\n') {
        out.pop();
    }
    out
}

fn pos_of(p: &Phys, byte: usize) -> Pos {
    Pos {
        line: p.line,
        col: p.text[..byte].chars().count() as u32 + 1,
        offset: (p.offset + byte) as u32,
    }
}

fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (k, v) = rest.split_once('=')?;
    let k = k.trim().to_ascii_lowercase();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some((k, v.trim().to_string()))
}

pub fn lex(src: &str) -> Lexed {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let lines = physical_lines(src);
    let mut lx = Lexed {
        escape: '\\',
        ..Default::default()
    };
    let mut i = 0;
    // Parser directives: only at the very top.
    while i < lines.len() {
        match directive(lines[i].text) {
            Some((k, v)) if matches!(k.as_str(), "syntax" | "escape" | "check") => {
                if k == "escape" {
                    match v.as_str() {
                        "\\" => lx.escape = '\\',
                        "`" => lx.escape = '`',
                        _ => lx.errors.push(
                            Diagnostic::error(
                                "dockerfile-syntax",
                                Span::new(
                                    pos_of(&lines[i], 0),
                                    pos_of(&lines[i], lines[i].text.len()),
                                ),
                                format!("invalid escape directive `{v}`"),
                            )
                            .with_help("the escape character is `\\` or a backtick"),
                        ),
                    }
                } else if k == "syntax" {
                    lx.syntax = Some(v);
                }
                i += 1;
            }
            _ => break,
        }
    }
    let esc = lx.escape;
    let mut pending: Vec<String> = Vec::new();
    while i < lines.len() {
        let p = &lines[i];
        let trimmed = p.text.trim_start();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if let Some(c) = trimmed.strip_prefix('#') {
            pending.push(c.strip_prefix(' ').unwrap_or(c).trim_end().to_string());
            i += 1;
            continue;
        }
        // One logical line.
        let mut lg = Logical::default();
        let lead = p.text.len() - trimmed.len();
        let mut cur = i;
        let mut piece_start = lead;
        loop {
            let ph = &lines[cur];
            let piece = &ph.text[piece_start..];
            let body = piece.trim_end_matches([' ', '\t']);
            let cont = body.ends_with(esc);
            let keep = if cont {
                &body[..body.len() - esc.len_utf8()]
            } else {
                piece
            };
            let lstart = lg.text.len();
            lg.segs
                .push((lstart, pos_of(ph, piece_start), lstart + keep.len()));
            lg.text.push_str(keep);
            cur += 1;
            if !cont {
                break;
            }
            // Skip blank and comment lines inside a continuation, as Docker does.
            while cur < lines.len() {
                let t = lines[cur].text.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    cur += 1;
                } else {
                    break;
                }
            }
            if cur >= lines.len() {
                break;
            }
            lg.breaks.push(lg.text.len());
            piece_start = 0;
        }
        i = cur;
        // Keyword and arguments.
        let kw_end = lg
            .text
            .find(|c: char| c.is_whitespace())
            .unwrap_or(lg.text.len());
        let keyword = lg.text[..kw_end].to_ascii_uppercase();
        let kw_span = lg.span(0, kw_end);
        let mut a = skip_ws(&lg.text, kw_end);
        let mut flags = Vec::new();
        if matches!(
            keyword.as_str(),
            "FROM" | "RUN" | "COPY" | "ADD" | "HEALTHCHECK"
        ) {
            while lg.text[a..].starts_with("--") {
                let end = word_end(&lg.text, a, esc);
                let raw = &lg.text[a + 2..end];
                let (name, value) = match raw.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(unquote_simple(v))),
                    None => (raw.to_string(), None),
                };
                flags.push(Flag {
                    name,
                    value,
                    span: lg.span(a, end),
                });
                a = skip_ws(&lg.text, end);
            }
        }
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (start, end, name, quoted, strip) in heredoc_markers(&lg.text[a..], esc) {
                let mut body = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let t = lines[i].text;
                    let t = if strip { t.trim_start_matches('\t') } else { t };
                    i += 1;
                    if t == name {
                        closed = true;
                        break;
                    }
                    body.push_str(t);
                    body.push('\n');
                }
                if !closed {
                    lx.errors.push(
                        Diagnostic::error(
                            "dockerfile-syntax",
                            lg.span(a + start, a + end),
                            format!("heredoc `{name}` is not terminated"),
                        )
                        .with_label("opened here")
                        .with_help(format!("end the heredoc with a line holding only `{name}`")),
                    );
                }
                heredocs.push(Heredoc {
                    name,
                    quoted,
                    body,
                    start: a + start,
                    end: a + end,
                });
            }
        }
        lx.instrs.push(Instr {
            keyword,
            kw_span,
            line: lg,
            args_start: a,
            flags,
            heredocs,
            comments: std::mem::take(&mut pending),
        });
    }
    if lx.instrs.is_empty() {
        lx.header = pending;
    } else {
        lx.trailing = pending;
    }
    lx
}

fn skip_ws(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// End of a whitespace-delimited word starting at `i`, honouring quotes.
fn word_end(s: &str, i: usize, esc: char) -> usize {
    let mut q: Option<char> = None;
    let mut it = s[i..].char_indices().peekable();
    while let Some((k, c)) = it.next() {
        match q {
            Some(qc) => {
                if c == esc && qc == '"' {
                    it.next();
                } else if c == qc {
                    q = None;
                }
            }
            None => {
                if c.is_whitespace() {
                    return i + k;
                }
                if c == esc {
                    it.next();
                } else if c == '"' || c == '\'' {
                    q = Some(c);
                }
            }
        }
    }
    s.len()
}

/// A flag value: surrounding quotes removed (`--chown="1000:1000"`).
fn unquote_simple(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, `3<<EOF` outside quotes:
/// (start, end, name, quoted, strip tabs).
fn heredoc_markers(s: &str, esc: char) -> Vec<(usize, usize, String, bool, bool)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut q: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(qc) = q {
            if c == qc {
                q = None;
            } else if qc == b'"' && c as char == esc {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c as char == esc {
            i += 2;
            continue;
        }
        if c == b'"' || c == b'\'' {
            q = Some(c);
            i += 1;
            continue;
        }
        if c == b'<' && b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') {
            let start = i;
            let mut j = i + 2;
            let strip = b.get(j) == Some(&b'-');
            if strip {
                j += 1;
            }
            let quote = match b.get(j) {
                Some(&x @ (b'"' | b'\'')) => {
                    j += 1;
                    Some(x)
                }
                _ => None,
            };
            let ns = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j > ns && !(b[ns].is_ascii_digit()) {
                let name = s[ns..j].to_string();
                if let Some(x) = quote {
                    if b.get(j) == Some(&x) {
                        j += 1;
                    } else {
                        i = j;
                        continue;
                    }
                }
                out.push((start, j, name, quote.is_some(), strip));
                i = j;
                continue;
            }
            i = j.max(i + 2);
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_comments_and_positions() {
        let src = "# syntax=docker/dockerfile:1\nFROM alpine AS b\n# note\nRUN a \\\n  # inner\n    && b\n";
        let lx = lex(src);
        assert_eq!(lx.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(lx.instrs.len(), 2);
        let run = &lx.instrs[1];
        assert_eq!(run.comments, vec!["note"]);
        assert_eq!(run.args(), "a     && b");
        let p = run.line.pos(run.line.text.find("&&").unwrap());
        assert_eq!((p.line, p.col), (6, 5));
    }

    #[test]
    fn escape_directive_and_heredoc() {
        let src =
            "# escape=`\nFROM x\nRUN a `\n b\nCOPY <<EOF <<-'E2' /d/\nhi $X\nEOF\n\tyo\n\tE2\n";
        let lx = lex(src);
        assert_eq!(lx.escape, '`');
        assert_eq!(lx.instrs[1].args(), "a  b");
        let c = &lx.instrs[2];
        assert_eq!(c.heredocs.len(), 2);
        assert_eq!(c.heredocs[0].body, "hi $X\n");
        assert!(!c.heredocs[0].quoted);
        assert_eq!(c.heredocs[1].body, "yo\n");
        assert!(c.heredocs[1].quoted);
    }

    #[test]
    fn flags() {
        let lx = lex("FROM x\nRUN --mount=type=cache,target=/c --network=none make\n");
        let r = &lx.instrs[1];
        assert_eq!(r.flags.len(), 2);
        assert_eq!(r.flags[0].name, "mount");
        assert_eq!(r.flags[1].value.as_deref(), Some("none"));
        assert_eq!(r.args(), "make");
    }
}
