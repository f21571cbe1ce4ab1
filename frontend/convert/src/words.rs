//! Dockerfile words → Slipway strings.
//!
//! Docker's shell-like word rules (quotes removed, the escape character taking
//! the next character literally, whitespace splitting) and its `$VAR` /
//! `${VAR…}` expansion, rewritten as Slipway interpolation: literal `$` becomes
//! `$$`, a reference stays `${NAME}` when Slipway knows the name at that place,
//! and becomes what Docker would produce otherwise (see [`Resolve`]).

/// How a name referenced in a word is known where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// An arg with a default, an env entry, a predefined platform arg.
    Value,
    /// An arg declared without a default: Docker expands it to "" when unset.
    NoDefault,
    /// Not declared in this file: Docker takes the base image's env, or "".
    Unknown,
}

/// What the converter needs to know about names, and what it reports.
pub trait Resolve {
    fn known(&self, name: &str) -> Known;
    /// The replacement for a reference to an unknown name (e.g. Docker's default
    /// `PATH`), or None for `${NAME:-}`; called once per reference.
    fn unknown(&mut self, name: &str) -> Option<String>;
    /// A `${NAME<op>…}` form Slipway does not have (`#`, `%`, `/`…).
    fn unsupported(&mut self, form: &str);
}

/// Split into words (whitespace outside quotes separates them) and convert each.
pub fn words(s: &str, esc: char, r: &mut dyn Resolve) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut w = String::new();
        lex_word(&chars, &mut i, esc, true, true, r, &mut w);
        out.push(w);
    }
    out
}

/// The whole text as one word (quotes removed, no splitting).
pub fn word(s: &str, esc: char, r: &mut dyn Resolve) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    let mut i = 0;
    let mut w = String::new();
    lex_word(&chars, &mut i, esc, false, true, r, &mut w);
    w
}

/// The whole text as one word, quotes removed, no expansion (`$` kept literal).
pub fn literal_word(s: &str, esc: char) -> String {
    struct Lit;
    impl Resolve for Lit {
        fn known(&self, _: &str) -> Known {
            Known::Value
        }
        fn unknown(&mut self, _: &str) -> Option<String> {
            None
        }
        fn unsupported(&mut self, _: &str) {}
    }
    let chars: Vec<char> = s.trim().chars().collect();
    let mut i = 0;
    let mut w = String::new();
    lex_word(&chars, &mut i, esc, false, false, &mut Lit, &mut w);
    w
}

/// Escape a literal for Slipway: `$` → `$$`.
pub fn escape_dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// `NAME=value` pairs (ENV, LABEL, ARG): keys with quotes removed, values
/// converted; the legacy `NAME value` form when the first word has no `=`.
pub fn pairs(
    s: &str,
    esc: char,
    legacy: bool,
    r: &mut dyn Resolve,
) -> Vec<(String, Option<String>)> {
    let s = s.trim();
    let first_end = s.find(char::is_whitespace).unwrap_or(s.len());
    if legacy && !s[..first_end].contains('=') && first_end < s.len() {
        let key = literal_word(&s[..first_end], esc);
        return vec![(key, Some(word(&s[first_end..], esc, r)))];
    }
    // Split raw words first (keys are not expanded), then expand values.
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let start = i;
        raw_word_end(&chars, &mut i, esc);
        let raw: String = chars[start..i].iter().collect();
        match raw.split_once('=') {
            Some((k, v)) => out.push((literal_word(k, esc), Some(word(v, esc, r)))),
            None => out.push((literal_word(&raw, esc), None)),
        }
    }
    out
}

fn raw_word_end(c: &[char], i: &mut usize, esc: char) {
    let mut q: Option<char> = None;
    while *i < c.len() {
        let ch = c[*i];
        match q {
            Some(qc) => {
                if ch == esc && qc == '"' {
                    *i += 1;
                } else if ch == qc {
                    q = None;
                }
            }
            None => {
                if ch.is_whitespace() {
                    return;
                }
                if ch == esc {
                    *i += 1;
                } else if ch == '"' || ch == '\'' {
                    q = Some(ch);
                }
            }
        }
        *i += 1;
    }
}

fn lex_word(
    c: &[char],
    i: &mut usize,
    esc: char,
    split: bool,
    expand: bool,
    r: &mut dyn Resolve,
    out: &mut String,
) {
    while *i < c.len() {
        let ch = c[*i];
        if split && ch.is_whitespace() {
            return;
        }
        if ch == esc {
            if let Some(&n) = c.get(*i + 1) {
                push_lit(out, n);
                *i += 2;
            } else {
                push_lit(out, ch);
                *i += 1;
            }
            continue;
        }
        if ch == '\'' {
            *i += 1;
            while *i < c.len() && c[*i] != '\'' {
                push_lit(out, c[*i]);
                *i += 1;
            }
            *i += 1;
            continue;
        }
        if ch == '"' {
            *i += 1;
            while *i < c.len() && c[*i] != '"' {
                let d = c[*i];
                if d == esc {
                    match c.get(*i + 1) {
                        Some(&n) if n == '"' || n == '$' || n == esc => {
                            push_lit(out, n);
                            *i += 2;
                        }
                        _ => {
                            push_lit(out, d);
                            *i += 1;
                        }
                    }
                } else if d == '$' && expand {
                    dollar(c, i, esc, r, out);
                } else {
                    push_lit(out, d);
                    *i += 1;
                }
            }
            *i += 1;
            continue;
        }
        if ch == '$' && expand {
            dollar(c, i, esc, r, out);
            continue;
        }
        push_lit(out, ch);
        *i += 1;
    }
}

fn push_lit(out: &mut String, ch: char) {
    if ch == '$' {
        out.push_str("$$");
    } else {
        out.push(ch);
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// At a `$`: a reference, or a literal `$`.
fn dollar(c: &[char], i: &mut usize, esc: char, r: &mut dyn Resolve, out: &mut String) {
    let at = *i;
    match c.get(at + 1) {
        Some('{') => {
            let mut j = at + 2;
            let ns = j;
            while j < c.len() && is_name_char(c[j]) {
                j += 1;
            }
            let name: String = c[ns..j].iter().collect();
            if name.is_empty() || c.get(j).is_none() {
                push_lit(out, '$');
                *i += 1;
                return;
            }
            if c[j] == '}' {
                *i = j + 1;
                reference(&name, None, r, out);
                return;
            }
            // operator and word up to the matching brace
            let (op, after) = if c[j] == ':' && matches!(c.get(j + 1), Some('-' | '+' | '?')) {
                (format!(":{}", c[j + 1]), j + 2)
            } else if matches!(c[j], '-' | '+' | '?') {
                (c[j].to_string(), j + 1)
            } else {
                // `#`, `%`, `/`, `:offset`…: no Slipway form.
                let mut k = j;
                let mut depth = 1;
                while k < c.len() {
                    match c[k] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
                let form: String = c[at..(k + 1).min(c.len())].iter().collect();
                r.unsupported(&form);
                *i = (k + 1).min(c.len());
                reference(&name, None, r, out);
                return;
            };
            let mut k = after;
            let mut w = String::new();
            while k < c.len() && c[k] != '}' {
                if c[k] == esc {
                    if let Some(&n) = c.get(k + 1) {
                        push_lit(&mut w, n);
                        k += 2;
                        continue;
                    }
                }
                if c[k] == '$' {
                    let mut kk = k;
                    dollar(c, &mut kk, esc, r, &mut w);
                    k = kk;
                    continue;
                }
                push_lit(&mut w, c[k]);
                k += 1;
            }
            *i = (k + 1).min(c.len());
            reference(&name, Some((&op, &w)), r, out);
        }
        Some(&n) if n.is_ascii_alphabetic() || n == '_' => {
            let mut j = at + 1;
            while j < c.len() && is_name_char(c[j]) {
                j += 1;
            }
            let name: String = c[at + 1..j].iter().collect();
            *i = j;
            reference(&name, None, r, out);
        }
        _ => {
            push_lit(out, '$');
            *i += 1;
        }
    }
}

fn reference(name: &str, op: Option<(&str, &str)>, r: &mut dyn Resolve, out: &mut String) {
    match (r.known(name), op) {
        (_, Some((op, w))) => out.push_str(&format!("${{{name}{op}{w}}}")),
        (Known::Value, None) => out.push_str(&format!("${{{name}}}")),
        (Known::NoDefault, None) => out.push_str(&format!("${{{name}:-}}")),
        (Known::Unknown, None) => match r.unknown(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&format!("${{{name}:-}}")),
        },
    }
}

/// Expansion of one line without splitting (whitespace kept); quotes must
/// already be escaped by the caller when they are literal.
pub fn word_keep_ws(s: &str, esc: char, r: &mut dyn Resolve) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut w = String::new();
    lex_word(&chars, &mut i, esc, false, true, r, &mut w);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    struct T(Vec<String>);
    impl Resolve for T {
        fn known(&self, n: &str) -> Known {
            match n {
                "A" => Known::Value,
                "N" => Known::NoDefault,
                _ => Known::Unknown,
            }
        }
        fn unknown(&mut self, n: &str) -> Option<String> {
            self.0.push(n.to_string());
            (n == "PATH").then(|| "/usr/bin".to_string())
        }
        fn unsupported(&mut self, f: &str) {
            self.0.push(f.to_string());
        }
    }

    #[test]
    fn quoting_and_expansion() {
        let mut t = T(vec![]);
        assert_eq!(
            words(
                r#"a "b c" 'd $A' \$A $A ${N} ${A:-x$N} $Z $PATH"#,
                '\\',
                &mut t
            ),
            vec![
                "a",
                "b c",
                "d $$A",
                "$$A",
                "${A}",
                "${N:-}",
                "${A:-x${N:-}}",
                "${Z:-}",
                "/usr/bin"
            ]
        );
        assert_eq!(t.0, vec!["Z", "PATH"]);
        assert_eq!(word(r#" "a b"c "#, '\\', &mut t), "a bc");
        assert_eq!(
            words("${A%.*} $1 50$", '\\', &mut t),
            vec!["${A}", "$$1", "50$$"]
        );
        assert_eq!(t.0.last().unwrap(), "${A%.*}");
    }

    #[test]
    fn pairs_forms() {
        let mut t = T(vec![]);
        assert_eq!(
            pairs(r#"A=1 B="x y" C"#, '\\', true, &mut t),
            vec![
                ("A".into(), Some("1".into())),
                ("B".into(), Some("x y".into())),
                ("C".into(), None)
            ]
        );
        assert_eq!(
            pairs("K some value", '\\', true, &mut t),
            vec![("K".into(), Some("some value".into()))]
        );
    }
}
