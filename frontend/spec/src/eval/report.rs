//! Reporting: errors and warnings (capped), `too-large` budgets, wrong types,
//! missing and unknown keys, stage-name hints.

use super::*;

impl<'a> Ev<'a> {
    /// The stage name closest to `word`, if close enough (cached per word,
    /// within the hint budget).
    pub(super) fn stage_hint(&mut self, word: &str) -> Option<String> {
        if let Some(h) = self.stage_hints.get(word) {
            return h.clone();
        }
        let h = did_you_mean_within(
            word,
            self.stage_names.iter().map(|s| s.as_str()),
            &mut self.hint_budget,
        )
        .map(String::from);
        self.stage_hints.insert(word.to_string(), h.clone());
        h
    }

    pub(super) fn err(&mut self, d: Diagnostic) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(d);
        } else {
            let e = self.dropped.get_or_insert((0, d.span));
            e.0 += 1;
        }
    }

    /// A located `too-large` error; evaluation stops at the next stage.
    pub(super) fn too_large(&mut self, span: Span, message: String, help: &str) {
        self.aborted = true;
        self.err(
            Diagnostic::error("too-large", span, message)
                .with_label("over the limit here")
                .with_help(help.to_string()),
        );
    }

    /// A copy of `v`, charged to the `MAX_INHERITED_ENTRIES` budget
    /// (`span`: where the copy is made, for the error).
    pub(super) fn copy_vars(&mut self, v: &Vars, span: Span) -> Vars {
        self.copied += v.len();
        if self.copied > MAX_INHERITED_ENTRIES && !self.aborted {
            self.too_large(
                span,
                format!("arguments and env values are copied into stages and steps more than {MAX_INHERITED_ENTRIES} times"),
                "a build spec should be small: use fewer global `args`, shorter `from:` chains with `env`, or fewer stages",
            );
        }
        if self.aborted {
            return Vars::default();
        }
        v.clone()
    }

    pub(super) fn warn(&mut self, mut d: Diagnostic) {
        d.severity = Severity::Warning;
        self.warnings.push(d);
    }

    pub(super) fn wrong_type(&mut self, n: &Node, what: &str, expected: &str, help: &str) {
        self.err(
            Diagnostic::error(
                "wrong-type",
                n.span,
                format!("{what} must be {expected}, found {}", n.type_name()),
            )
            .with_label(format!("expected {expected}"))
            .with_help(help.to_string()),
        );
    }

    pub(super) fn missing(&mut self, span: Span, key: &str, ctx: &str, help: &str) {
        self.err(
            Diagnostic::error("missing-key", span, format!("{ctx} needs `{key}`"))
                .with_label(format!("`{key}` is missing here"))
                .with_help(help.to_string()),
        );
    }

    /// A mapping, or a wrong-type error.
    pub(super) fn map<'n, 's>(
        &mut self,
        n: &'n Node<'s>,
        what: &str,
        help: &str,
    ) -> Option<&'n [(Node<'s>, Node<'s>)]> {
        match &n.kind {
            Kind::Map(e) => Some(e),
            _ => {
                self.wrong_type(n, what, "a mapping", help);
                None
            }
        }
    }

    pub(super) fn check_keys(
        &mut self,
        es: &[(Node, Node)],
        valid: &[&str],
        ctx: &str,
        also: &[(&str, &[&str])],
    ) {
        for (k, _) in es {
            let Some(name) = k.scalar() else { continue };
            if valid.contains(&name) || is_x_key(name) {
                continue;
            }
            let mut help = match did_you_mean(name, valid.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            for (other, keys) in also {
                if keys.contains(&name) {
                    help.push_str(&format!("`{name}` belongs to {other}. "));
                }
            }
            help.push_str(&format!(
                "valid keys here: {} (keys starting with `x-` are ignored)",
                list(valid)
            ));
            self.err(
                Diagnostic::error(
                    "unknown-key",
                    k.span,
                    format!("unknown key `{name}` in {ctx}"),
                )
                .with_label(format!("not a key of {ctx}"))
                .with_help(help),
            );
        }
    }
}
