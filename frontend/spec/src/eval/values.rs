//! Typed values: strings as written, booleans, integers, lists, commands,
//! modes, owners and paths.

use super::*;

impl<'a> Ev<'a> {
    /// A scalar as written (numbers and booleans are taken as text).
    pub(super) fn raw_str(&mut self, n: &Node, what: &str) -> Option<String> {
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

    pub(super) fn boolean(&mut self, n: &Node, what: &str) -> Option<bool> {
        match &n.kind {
            Kind::Scalar(s, Style::Plain) if is_bool_str(s) => Some(s.eq_ignore_ascii_case("true")),
            _ => {
                self.wrong_type(n, what, "a boolean", "write `true` or `false`");
                None
            }
        }
    }

    pub(super) fn uint(&mut self, n: &Node, what: &str) -> Option<u32> {
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
    pub(super) fn str_list(&mut self, n: &Node, vars: &Vars, what: &str) -> Vec<Spanned<String>> {
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
    pub(super) fn exec_list(&mut self, n: &Node, what: &str) -> Option<Vec<String>> {
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
    pub(super) fn command(&mut self, n: &Node, what: &str) -> Option<Command> {
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

    pub(super) fn mode(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<u32> {
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

    pub(super) fn chmod(&mut self, n: &Node, vars: &Vars) -> Option<String> {
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

    pub(super) fn owner(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
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
    pub(super) fn path(
        &mut self,
        n: &Node,
        vars: &Vars,
        what: &str,
        base: Option<&str>,
    ) -> Option<String> {
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
}
