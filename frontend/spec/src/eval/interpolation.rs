//! `${…}` in scalars: interpolation, and its errors located inside the scalar.

use super::*;

impl<'a> Ev<'a> {
    /// Span of the char at `at` of a scalar's value (best effort).
    pub(super) fn inner_span(&self, n: &Node, value: &str, at: usize) -> Span {
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

    pub(super) fn interp_err(&mut self, n: &Node, value: &str, e: InterpError) {
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
    pub(super) fn istr(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
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
    pub(super) fn nstr(&mut self, n: &Node, vars: &Vars, what: &str) -> Option<String> {
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
}

/// Help for `${PATH}` and other variables that base images set: they are
/// not arguments, and `--build-arg` is not the fix.
pub(super) fn base_env_help(name: &str) -> Option<String> {
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
