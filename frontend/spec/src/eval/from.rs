//! `from:` of a stage (an image, a stage, `scratch`) and of copy/bind/cache
//! (a stage, an image, a context), and the stage-graph edges they make.

use super::*;

impl<'a> Ev<'a> {
    /// Classify a copy/bind/cache `from`.
    pub(super) fn eval_from(&mut self, n: &Node, vars: &Vars) -> Option<Spanned<From>> {
        let v = self.nstr(n, vars, "`from`")?;
        if self.stage_index.contains_key(&v) {
            return Some(Spanned {
                value: From::Stage(v),
                span: n.span,
            });
        }
        let close = self.stage_hint(&v);
        if v == "scratch" {
            self.err(
                Diagnostic::error(
                    "invalid-from",
                    n.span,
                    "cannot copy or mount from `scratch`",
                )
                .with_label("scratch is empty")
                .with_help("name a stage, an image, a named context or `context`"),
            );
            return None;
        }
        if v != "context" && !is_valid_image_ref(&v) {
            let mut help = match &close {
                Some(c) => format!("did you mean `{c}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "name a stage ({}), `context`, a named build context, or an image reference",
                list_some(self.stage_names.iter().map(|s| s.as_str()))
            ));
            self.err(
                Diagnostic::error(
                    "unknown-stage",
                    n.span,
                    format!("`{v}` is not a stage, a context or a valid image reference"),
                )
                .with_label("unknown stage")
                .with_help(help),
            );
            return None;
        }
        if let Some(c) = close {
            if !v.contains(['/', ':', '@']) && v != "context" {
                self.warn(
                    Diagnostic::error("maybe-typo", n.span, format!("`{v}` is not a stage of this file; it will be read as an image or named context"))
                        .with_label("not a stage")
                        .with_help(format!("did you mean the stage `{c}`?")),
                );
            }
        }
        Some(Spanned {
            value: From::Other(v),
            span: n.span,
        })
    }

    pub(super) fn stage_from(
        &mut self,
        f: &Node,
        vars: &Vars,
        stage: &str,
    ) -> Option<Spanned<Base>> {
        let v = self.nstr(f, vars, "`from`")?;
        let base = if self.stage_index.contains_key(&v) {
            if v == stage {
                self.err(
                    Diagnostic::error(
                        "cycle",
                        f.span,
                        format!("stage `{stage}` is built from itself"),
                    )
                    .with_label("self reference")
                    .with_help("name an image or another stage"),
                );
                return None;
            }
            Base::Stage(v)
        } else if v == "scratch" {
            Base::Scratch
        } else if is_valid_image_ref(&v) {
            let plain = !v.contains(['/', ':', '@']);
            if let Some(c) = plain.then(|| self.stage_hint(&v)).flatten() {
                {
                    let c = c.to_string();
                    self.warn(
                        Diagnostic::error(
                            "maybe-typo",
                            f.span,
                            format!(
                                "`{v}` is not a stage of this file; it will be pulled as an image"
                            ),
                        )
                        .with_label("read as an image")
                        .with_help(format!("did you mean the stage `{c}`?")),
                    );
                }
            }
            Base::Image(v)
        } else {
            let close = self.stage_hint(&v);
            let mut help = match close {
                Some(s) => format!("did you mean the stage `{s}`? "),
                None => String::new(),
            };
            help.push_str("write an image reference like `alpine:3.20` or `ghcr.io/org/img@sha256:…`, a stage name, or `scratch`");
            self.err(
                Diagnostic::error(
                    "invalid-image-ref",
                    f.span,
                    format!("`{v}` is neither a stage nor a valid image reference"),
                )
                .with_label("invalid base")
                .with_help(help),
            );
            return None;
        };
        Some(Spanned {
            value: base,
            span: f.span,
        })
    }

    pub(super) fn add_from_edge(&mut self, f: &Spanned<From>, edges: &mut Vec<(usize, Span)>) {
        if let From::Stage(s) = &f.value {
            if let Some(&i) = self.stage_index.get(s) {
                edges.push((i, f.span));
            }
        }
    }
}
