//! `copy` and `add` steps.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn copy(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Copy> {
        let from = get(es, "from").and_then(|f| self.eval_from(f, vars));
        if let Some(f) = &from {
            self.add_from_edge(f, edges);
        }
        let sources: Vec<Spanned<String>> = match &vv.kind {
            Kind::Seq(items) if items.is_empty() => {
                self.err(
                    Diagnostic::error("empty-value", vv.span, "`copy` needs at least one source")
                        .with_help("write `copy: src` or `copy: [a, b]`"),
                );
                vec![]
            }
            _ => self.str_list(vv, vars, "a `copy` source"),
        };
        let items: Vec<&Node> = match &vv.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![vv],
        };
        for (s, node) in sources.iter().zip(items) {
            if escapes(&s.value, 0) {
                self.err(
                    Diagnostic::error("path-escapes", node.span, format!("copy source `{}` leaves the source root", s.value))
                        .with_label("climbs out with `..`")
                        .with_help("sources are relative to the build context (or the `from` stage's root); remove the `..`"),
                );
            }
        }
        let to = get(es, "to").and_then(|t| self.path(t, vars, "`to`", wd));
        if sources.len() > 1 {
            if let (Some(t), Some(tn)) = (&to, get(es, "to")) {
                if !t.ends_with('/') {
                    self.err(
                        Diagnostic::error(
                            "copy-dest-not-dir",
                            tn.span,
                            format!(
                                "copying {} sources into `{t}`, which does not end with `/`",
                                sources.len()
                            ),
                        )
                        .with_label("must be a directory")
                        .with_help(format!("write `to: {t}/` to copy into that directory")),
                    );
                }
            }
        }
        let mut c = Copy {
            sources,
            from,
            to,
            chown: None,
            chmod: None,
            include: vec![],
            exclude: vec![],
            link: false,
            parents: false,
            follow_symlinks: false,
        };
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "chown" => c.chown = self.owner(v, vars, "`chown`"),
                "chmod" => c.chmod = self.chmod(v, vars),
                "include" => {
                    c.include = self
                        .str_list(v, vars, "an `include` pattern")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                }
                "exclude" => {
                    c.exclude = self
                        .str_list(v, vars, "an `exclude` pattern")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                }
                "link" => c.link = self.boolean(v, "`link`").unwrap_or(false),
                "parents" => c.parents = self.boolean(v, "`parents`").unwrap_or(false),
                "follow-symlinks" => {
                    c.follow_symlinks = self.boolean(v, "`follow-symlinks`").unwrap_or(false)
                }
                _ => {}
            }
        }
        Some(c)
    }

    pub(super) fn add(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<Add> {
        let src = self.nstr(vv, vars, "`add` source")?;
        let git_ref = get(es, "ref").and_then(|r| self.nstr(r, vars, "`ref`"));
        let lower = src.to_ascii_lowercase();
        let no_frag = lower.split('#').next().unwrap_or("");
        let is_git = lower.starts_with("git@")
            || lower.starts_with("git://")
            || lower.starts_with("ssh://")
            || no_frag.ends_with(".git")
            || get(es, "ref").is_some();
        let is_http = lower.starts_with("http://") || lower.starts_with("https://");
        let kind = if is_git {
            AddKind::Git
        } else if is_http {
            AddKind::Http
        } else {
            self.err(
                Diagnostic::error("invalid-add-source", vv.span, format!("`{src}` is neither an http(s) URL nor a git URL"))
                    .with_label("not a URL")
                    .with_help("`add` fetches `https://…` files or git repositories (`git@…`, `https://….git`, `ssh://…`, or any URL with `ref:`); to copy local files use `copy:`"),
            );
            return None;
        };
        let (source, git_ref) = match (kind, src.split_once('#')) {
            (AddKind::Git, Some((s, frag))) if git_ref.is_none() && !frag.is_empty() => {
                (s.to_string(), Some(frag.to_string()))
            }
            _ => (src.clone(), git_ref),
        };
        let mut checksum = None;
        if let Some(c) = get(es, "checksum") {
            if kind == AddKind::Git {
                self.err(
                    Diagnostic::error(
                        "invalid-checksum",
                        c.span,
                        "`checksum` applies to http sources, not git",
                    )
                    .with_label("git source")
                    .with_help("pin a git source with `ref:` set to a full commit hash"),
                );
            } else if let Some(s) = self.nstr(c, vars, "`checksum`") {
                let ok = s
                    .strip_prefix("sha256:")
                    .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
                if ok {
                    checksum = Some(s.to_ascii_lowercase());
                } else {
                    self.err(
                        Diagnostic::error("invalid-checksum", c.span, format!("invalid checksum `{s}`"))
                            .with_label("expected sha256:<64 hex digits>")
                            .with_help("write `sha256:` followed by the 64 hex digits of the file's SHA-256 (e.g. from `sha256sum`)"),
                    );
                }
            }
        }
        let mut keep_git_dir = false;
        if let Some(k) = get(es, "keep-git-dir") {
            keep_git_dir = self.boolean(k, "`keep-git-dir`").unwrap_or(false);
            if kind == AddKind::Http {
                self.err(
                    Diagnostic::error(
                        "invalid-value",
                        k.span,
                        "`keep-git-dir` applies to git sources only",
                    )
                    .with_help("remove it, or add a git URL"),
                );
            }
        }
        let to = get(es, "to").and_then(|t| self.path(t, vars, "`to`", wd));
        let chown = get(es, "chown").and_then(|t| self.owner(t, vars, "`chown`"));
        let chmod = get(es, "chmod").and_then(|t| self.chmod(t, vars));
        Some(Add {
            source: Spanned {
                value: source,
                span: vv.span,
            },
            kind,
            checksum,
            git_ref,
            keep_git_dir,
            to,
            chown,
            chmod,
        })
    }
}
