//! `${NAME}` interpolation.
//!
//! Forms: `${NAME}`, `$NAME`, `${NAME:-word}` (word if unset or empty),
//! `${NAME-word}` (word if unset), `${NAME:+word}` (word if set and non-empty),
//! `${NAME+word}` (word if set), `${NAME:?message}` / `${NAME?message}` (error
//! with message if unset [or empty]), `$$` (a literal `$`). `word` is itself
//! interpolated, so `${A:-${B}}` works. A `$` not followed by `{`, `$` or a
//! name start (`$1`, `$ `, `$-`, a trailing `$`) stays a literal `$`.

/// What went wrong, and where: `at` is the char index of the `$` in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpError {
    pub at: usize,
    pub kind: InterpErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpErrorKind {
    /// Name is neither an argument, an env value, nor predefined.
    Undefined(String),
    /// Name is declared without a value and none was given.
    Unset(String),
    /// `${NAME:?message}`
    Required(String, String),
    Unterminated,
    BadName(String),
    TooDeep,
    /// The value would grow past this many bytes.
    TooLong(usize),
}

/// The value of a name: `None` = not declared at all, `Some(None)` = declared
/// without a value (an `args:` entry with no default).
pub trait Scope {
    fn get(&self, name: &str) -> Option<Option<String>>;
}

impl<F: Fn(&str) -> Option<Option<String>>> Scope for F {
    fn get(&self, name: &str) -> Option<Option<String>> {
        self(name)
    }
}

const MAX_NESTING: usize = 16;

pub fn interpolate(input: &str, scope: &dyn Scope) -> Result<String, InterpError> {
    interpolate_max(input, scope, usize::MAX)
}

/// [`interpolate`], failing with [`InterpErrorKind::TooLong`] as soon as the
/// value (or a default word inside it) passes `max` bytes, so that values
/// that reference each other cannot grow exponentially.
pub fn interpolate_max(input: &str, scope: &dyn Scope, max: usize) -> Result<String, InterpError> {
    if !input.contains('$') {
        return Ok(input.to_string());
    }
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len().min(max));
    let mut i = 0;
    expand(&chars, &mut i, scope, &mut out, false, 0, max)?;
    Ok(out)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expand from `*i` until the end, or (when `in_word`) until the `}` that closes
/// the enclosing `${…}` (left unconsumed).
fn expand(
    c: &[char],
    i: &mut usize,
    scope: &dyn Scope,
    out: &mut String,
    in_word: bool,
    depth: usize,
    max: usize,
) -> Result<(), InterpError> {
    while *i < c.len() {
        if out.len() > max {
            return Err(InterpError {
                at: *i,
                kind: InterpErrorKind::TooLong(max),
            });
        }
        let ch = c[*i];
        if in_word && ch == '}' {
            return Ok(());
        }
        if ch != '$' {
            out.push(ch);
            *i += 1;
            continue;
        }
        let at = *i;
        match c.get(at + 1) {
            Some('$') => {
                out.push('$');
                *i += 2;
            }
            Some('{') => {
                if depth >= MAX_NESTING {
                    return Err(InterpError {
                        at,
                        kind: InterpErrorKind::TooDeep,
                    });
                }
                let mut j = at + 2;
                let ns = j;
                while j < c.len() && is_name_char(c[j]) {
                    j += 1;
                }
                let name: String = c[ns..j].iter().collect();
                if name.is_empty() || !is_name_start(c[ns]) {
                    // collect what was written for the message
                    let mut k = ns;
                    while k < c.len() && c[k] != '}' && k - ns < 40 {
                        k += 1;
                    }
                    if k >= c.len() {
                        return Err(InterpError {
                            at,
                            kind: InterpErrorKind::Unterminated,
                        });
                    }
                    let bad: String = c[ns..k].iter().collect();
                    return Err(InterpError {
                        at,
                        kind: InterpErrorKind::BadName(bad),
                    });
                }
                let Some(&next) = c.get(j) else {
                    return Err(InterpError {
                        at,
                        kind: InterpErrorKind::Unterminated,
                    });
                };
                let value = scope.get(&name);
                if next == '}' {
                    *i = j + 1;
                    out.push_str(&resolve(at, &name, value)?);
                    continue;
                }
                // operator
                let (colon, op, after) = if next == ':' {
                    match c.get(j + 1) {
                        Some(&o @ ('-' | '+' | '?')) => (true, o, j + 2),
                        _ => {
                            return Err(bad_after(c, at, ns));
                        }
                    }
                } else if matches!(next, '-' | '+' | '?') {
                    (false, next, j + 1)
                } else {
                    return Err(bad_after(c, at, ns));
                };
                *i = after;
                let mut word = String::new();
                expand(c, i, scope, &mut word, true, depth + 1, max)?;
                if *i >= c.len() {
                    return Err(InterpError {
                        at,
                        kind: InterpErrorKind::Unterminated,
                    });
                }
                *i += 1; // the closing brace
                let set = matches!(value, Some(Some(_)));
                let nonempty = matches!(&value, Some(Some(v)) if !v.is_empty());
                let present = if colon { nonempty } else { set };
                match op {
                    '-' => {
                        if present {
                            out.push_str(value.as_ref().and_then(|v| v.as_deref()).unwrap_or(""));
                        } else {
                            out.push_str(&word);
                        }
                    }
                    '+' => {
                        if present {
                            out.push_str(&word);
                        }
                    }
                    _ => {
                        if present {
                            out.push_str(value.as_ref().and_then(|v| v.as_deref()).unwrap_or(""));
                        } else {
                            return Err(InterpError {
                                at,
                                kind: InterpErrorKind::Required(name, word),
                            });
                        }
                    }
                }
            }
            Some(&n) if is_name_start(n) => {
                let mut j = at + 1;
                while j < c.len() && is_name_char(c[j]) {
                    j += 1;
                }
                let name: String = c[at + 1..j].iter().collect();
                *i = j;
                let value = scope.get(&name);
                out.push_str(&resolve(at, &name, value)?);
            }
            _ => {
                out.push('$');
                *i += 1;
            }
        }
    }
    if out.len() > max {
        return Err(InterpError {
            at: c.len().saturating_sub(1),
            kind: InterpErrorKind::TooLong(max),
        });
    }
    Ok(())
}

fn bad_after(c: &[char], at: usize, ns: usize) -> InterpError {
    let mut k = ns;
    while k < c.len() && c[k] != '}' && k - ns < 40 {
        k += 1;
    }
    if k >= c.len() {
        return InterpError {
            at,
            kind: InterpErrorKind::Unterminated,
        };
    }
    InterpError {
        at,
        kind: InterpErrorKind::BadName(c[ns..k].iter().collect()),
    }
}

fn resolve(at: usize, name: &str, value: Option<Option<String>>) -> Result<String, InterpError> {
    match value {
        Some(Some(v)) => Ok(v),
        Some(None) => Err(InterpError {
            at,
            kind: InterpErrorKind::Unset(name.to_string()),
        }),
        None => Err(InterpError {
            at,
            kind: InterpErrorKind::Undefined(name.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str) -> Option<Option<String>> {
        match name {
            "A" => Some(Some("a".into())),
            "E" => Some(Some("".into())),
            "U" => Some(None),
            "B" => Some(Some("b".into())),
            _ => None,
        }
    }
    fn ok(s: &str) -> String {
        interpolate(s, &scope).unwrap()
    }
    fn err(s: &str) -> InterpError {
        interpolate(s, &scope).unwrap_err()
    }

    #[test]
    fn basics() {
        assert_eq!(ok("x${A}y"), "xay");
        assert_eq!(ok("$A/$B"), "a/b");
        assert_eq!(ok("$$A"), "$A");
        assert_eq!(ok("$${A}"), "${A}");
        assert_eq!(ok("cost: 5$"), "cost: 5$");
        assert_eq!(ok("$1 $ $-"), "$1 $ $-");
        assert_eq!(ok("plain"), "plain");
        assert_eq!(ok("ünï${A}cødé"), "ünïacødé");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(ok("${X:-d}"), "d");
        assert_eq!(ok("${A:-d}"), "a");
        assert_eq!(ok("${E:-d}"), "d");
        assert_eq!(ok("${E-d}"), "");
        assert_eq!(ok("${U-d}"), "d");
        assert_eq!(ok("${A:+alt}"), "alt");
        assert_eq!(ok("${E:+alt}"), "");
        assert_eq!(ok("${E+alt}"), "alt");
        assert_eq!(ok("${X:+alt}"), "");
        assert_eq!(ok("${X:-}"), "");
    }

    #[test]
    fn nested() {
        assert_eq!(ok("${X:-${A}}"), "a");
        assert_eq!(ok("${X:-${Y:-${B}-z}}"), "b-z");
        assert_eq!(ok("${A:+[${B}]}"), "[b]");
        assert_eq!(ok("${X:-$$}"), "$");
    }

    #[test]
    fn errors() {
        assert_eq!(err("ab ${X}").at, 3);
        assert_eq!(err("ab ${X}").kind, InterpErrorKind::Undefined("X".into()));
        assert_eq!(err("$NOPE").kind, InterpErrorKind::Undefined("NOPE".into()));
        assert_eq!(err("${U}").kind, InterpErrorKind::Unset("U".into()));
        assert_eq!(err("x ${A").kind, InterpErrorKind::Unterminated);
        assert_eq!(err("${A:-x").kind, InterpErrorKind::Unterminated);
        assert_eq!(err("${}").kind, InterpErrorKind::BadName("".into()));
        assert_eq!(err("${1A}").kind, InterpErrorKind::BadName("1A".into()));
        assert_eq!(err("${A%%x}").kind, InterpErrorKind::BadName("A%%x".into()));
        assert_eq!(
            err("${X:?set X}").kind,
            InterpErrorKind::Required("X".into(), "set X".into())
        );
        assert_eq!(err("${X:-${Y}}").at, 5);
        let deep = "${X:-".repeat(100) + &"}".repeat(100);
        assert_eq!(err(&deep).kind, InterpErrorKind::TooDeep);
    }
}
