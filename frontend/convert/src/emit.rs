//! A small, deterministic YAML writer for the converted spec: block mappings
//! and sequences, flow style for short lists and mount objects, comments, and
//! scalars written plain when YAML reads them back as the same string.

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Str(String),
    /// A string from a continued `RUN`: its lines, written folded (`>-`).
    Folded(Vec<String>),
    Int(u64),
    Bool(bool),
    Null,
    Seq(Vec<Item>),
    Map(Vec<Entry>),
    /// A mapping written `{a: b}` when it fits on the line (mount objects).
    FlowMap(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub comments: Vec<String>,
    pub key: String,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub comments: Vec<String>,
    pub value: Node,
}

impl Node {
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }
    pub fn seq(v: impl IntoIterator<Item = Node>) -> Node {
        Node::Seq(v.into_iter().map(Item::new).collect())
    }
    pub fn strs<S: Into<String>>(v: impl IntoIterator<Item = S>) -> Node {
        Node::seq(v.into_iter().map(|s| Node::Str(s.into())))
    }
}

impl Entry {
    pub fn new(key: impl Into<String>, value: Node) -> Entry {
        Entry {
            comments: Vec::new(),
            key: key.into(),
            value,
        }
    }
}

impl Item {
    pub fn new(value: Node) -> Item {
        Item {
            comments: Vec::new(),
            value,
        }
    }
}

const FLOW_WIDTH: usize = 72;

/// Write a top-level mapping.
pub fn write(doc: &[Entry], out: &mut String) {
    write_map_block(doc, 0, out);
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn write_comments(c: &[String], n: usize, out: &mut String) {
    for line in c {
        indent(out, n);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

fn write_key_value(key: &str, v: &Node, n: usize, out: &mut String) {
    out.push_str(&scalar(key, false));
    out.push(':');
    match v {
        Node::Null => out.push('\n'),
        Node::Map(m) | Node::FlowMap(m) if m.is_empty() => out.push_str(" {}\n"),
        Node::Seq(s) if s.is_empty() => out.push_str(" []\n"),
        Node::Map(m) => {
            out.push('\n');
            if key == "stages" && n == 0 {
                // one blank line between stages
                for (i, e) in m.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    write_map_block(std::slice::from_ref(e), n + 2, out);
                }
            } else {
                write_map_block(m, n + 2, out);
            }
        }
        Node::FlowMap(m) => {
            if let Some(f) = flow(v, n + key.len() + 2) {
                out.push(' ');
                out.push_str(&f);
                out.push('\n');
            } else {
                out.push('\n');
                write_map_block(m, n + 2, out);
            }
        }
        Node::Seq(s) => {
            if let Some(f) = flow(v, n + key.len() + 2) {
                out.push(' ');
                out.push_str(&f);
                out.push('\n');
            } else {
                out.push('\n');
                write_seq(s, n + 2, out);
            }
        }
        _ => {
            out.push(' ');
            write_scalar_node(v, n + 2, out);
        }
    }
}

fn write_map_block(m: &[Entry], n: usize, out: &mut String) {
    for e in m {
        write_comments(&e.comments, n, out);
        indent(out, n);
        write_key_value(&e.key, &e.value, n, out);
    }
}

fn write_seq(items: &[Item], n: usize, out: &mut String) {
    for it in items {
        write_comments(&it.comments, n, out);
        indent(out, n);
        out.push_str("- ");
        match &it.value {
            Node::FlowMap(m) if flow(&it.value, n + 2).is_some() => {
                out.push_str(&flow(&it.value, n + 2).unwrap());
                out.push('\n');
                let _ = m;
            }
            Node::Map(m) | Node::FlowMap(m) if !m.is_empty() => {
                // first entry on the dash line, the rest aligned under it
                for (k, e) in m.iter().enumerate() {
                    if k > 0 {
                        write_comments(&e.comments, n + 2, out);
                        indent(out, n + 2);
                    }
                    write_key_value(&e.key, &e.value, n + 2, out);
                }
            }
            Node::Seq(s) if !s.is_empty() => match flow(&it.value, n + 2) {
                Some(f) => {
                    out.push_str(&f);
                    out.push('\n');
                }
                None => {
                    out.push('\n');
                    write_seq(s, n + 2, out);
                }
            },
            Node::Seq(_) => out.push_str("[]\n"),
            Node::Map(_) | Node::FlowMap(_) => out.push_str("{}\n"),
            v => write_scalar_node(v, n + 2, out),
        }
    }
}

/// A scalar after `key: ` or `- `; block scalars are indented by `n`.
fn write_scalar_node(v: &Node, n: usize, out: &mut String) {
    match v {
        Node::Str(s) => match block_literal(s) {
            Some(header) if s.contains('\n') => {
                out.push_str(&header);
                out.push('\n');
                let body = s.strip_suffix('\n').unwrap_or(s);
                let body = body.trim_end_matches('\n');
                for line in body.split('\n') {
                    if !line.is_empty() {
                        indent(out, n);
                        out.push_str(line);
                    }
                    out.push('\n');
                }
                // kept trailing newlines (`|+`)
                let extra = s.len() - s.trim_end_matches('\n').len();
                for _ in 1..extra {
                    out.push('\n');
                }
            }
            _ => {
                out.push_str(&scalar(s, false));
                out.push('\n');
            }
        },
        Node::Folded(lines) => {
            out.push_str(">-\n");
            for l in lines {
                indent(out, n);
                out.push_str(l);
                out.push('\n');
            }
        }
        Node::Int(i) => {
            out.push_str(&i.to_string());
            out.push('\n');
        }
        Node::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            out.push('\n');
        }
        Node::Null => out.push('\n'),
        Node::Seq(_) | Node::Map(_) | Node::FlowMap(_) => {
            unreachable!("collections are written by the caller")
        }
    }
}

/// The block-literal header for `s` (`|`, `|-`, `|+`, with an indentation
/// indicator when the first line starts with a space), or None when a literal
/// block would not read back as `s`.
fn block_literal(s: &str) -> Option<String> {
    if s.contains('\r') || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    if body.is_empty() {
        return None;
    }
    // lines of only whitespace (not empty) would lose their spaces
    if body
        .split('\n')
        .any(|l| !l.is_empty() && l.trim_matches([' ', '\t']).is_empty())
    {
        return None;
    }
    if body.split('\n').any(|l| l.starts_with('\t')) {
        // a tab cannot be indentation; fine inside, but keep it simple
    }
    let mut h = String::from("|");
    if body.starts_with(' ') || body.starts_with('\n') {
        h.push('2');
    }
    let trailing = s.len() - body.len();
    match trailing {
        0 => h.push('-'),
        1 => {}
        _ => h.push('+'),
    }
    Some(h)
}

/// Flow form of a collection when short and all scalars.
fn flow(v: &Node, col: usize) -> Option<String> {
    let s = match v {
        Node::Seq(items) => {
            let mut parts = Vec::new();
            for it in items {
                if !it.comments.is_empty() {
                    return None;
                }
                parts.push(flow_scalar(&it.value)?);
            }
            format!("[{}]", parts.join(", "))
        }
        Node::FlowMap(entries) => {
            let mut parts = Vec::new();
            for e in entries {
                if !e.comments.is_empty() {
                    return None;
                }
                let v = match &e.value {
                    Node::Seq(_) => flow(&e.value, 0)?,
                    other => flow_scalar(other)?,
                };
                parts.push(format!("{}: {}", scalar(&e.key, true), v));
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => return None,
    };
    (col + s.len() <= FLOW_WIDTH + 8 || s.len() <= 40).then_some(s)
}

fn flow_scalar(v: &Node) -> Option<String> {
    Some(match v {
        Node::Str(s) if !s.contains('\n') => scalar(s, true),
        Node::Int(i) => i.to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Null => "null".into(),
        _ => return None,
    })
}

/// A single-line scalar: plain when safe, else double-quoted (JSON escapes are
/// valid YAML double-quoted escapes).
pub fn scalar(s: &str, in_flow: bool) -> String {
    if plain_ok(s, in_flow) {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("string")
    }
}

fn plain_ok(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    if s.chars().any(|c| c.is_control()) {
        return false;
    }
    if "?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if first == '-' && (s.len() == 1 || s[1..].starts_with(' ') || s.starts_with("---")) {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !looks_typed(s)
}

/// Strings a YAML reader (1.2 core, or 1.1 habits) could take for a non-string.
fn looks_typed(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    if matches!(
        l.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap();
    if first.is_ascii_digit() || ((first == '-' || first == '+' || first == '.') && s.len() > 1) {
        if s.chars().any(|c| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_hexdigit() || "xXoO._:+-".contains(c))
        {
            return true;
        }
        if s.parse::<f64>().is_ok() {
            return true;
        }
    }
    l == ".inf" || l == "-.inf" || l == "+.inf" || l == ".nan"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(scalar("python", false), "python");
        assert_eq!(scalar("3.12", false), "\"3.12\"");
        assert_eq!(scalar("0755", false), "\"0755\"");
        assert_eq!(scalar("-m", false), "-m");
        assert_eq!(scalar("a: b", false), "\"a: b\"");
        assert_eq!(scalar("*.txt", false), "\"*.txt\"");
        assert_eq!(scalar("a,b", true), "\"a,b\"");
        assert_eq!(scalar("", false), "\"\"");
        assert_eq!(scalar("yes", false), "\"yes\"");
        assert_eq!(scalar("${A}", false), "${A}");
        assert_eq!(scalar("1.2.3-alpine", false), "1.2.3-alpine");
    }

    #[test]
    fn document() {
        let doc = vec![
            Entry::new("args", Node::Map(vec![Entry::new("V", Node::str("1.0"))])),
            Entry::new(
                "m",
                Node::FlowMap(vec![Entry::new("target", Node::str("/c"))]),
            ),
            Entry::new(
                "steps",
                Node::seq([
                    Node::Map(vec![
                        Entry::new("run", Node::str("echo hi\necho there\n")),
                        Entry::new("cache", Node::strs(["/a", "/b"])),
                    ]),
                    Node::Map(vec![Entry::new(
                        "run",
                        Node::Folded(vec!["a".into(), "&& b".into()]),
                    )]),
                ]),
            ),
        ];
        let mut out = String::new();
        write(&doc, &mut out);
        assert_eq!(
            out,
            "args:\n  V: \"1.0\"\nm: {target: /c}\nsteps:\n  - run: |\n      echo hi\n      echo there\n    cache: [/a, /b]\n  - run: >-\n      a\n      && b\n"
        );
    }
}
