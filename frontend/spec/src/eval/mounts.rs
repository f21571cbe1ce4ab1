//! `run` mounts: cache, secret, ssh, tmpfs, bind.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn cache(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<CacheMount> {
        let mut c = CacheMount {
            target: String::new(),
            id: None,
            sharing: Sharing::Shared,
            from: None,
            source: None,
            mode: None,
            uid: None,
            gid: None,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, CACHE_KEYS, "a cache mount", &[]);
                let before = self.errors.len();
                match get(es, "target") {
                    Some(t) => {
                        c.target = self.path(t, vars, "cache `target`", wd).unwrap_or_default()
                    }
                    None => self.missing(
                        n.span,
                        "target",
                        "a cache mount",
                        "add `target: /path/to/cache`",
                    ),
                }
                if let Some(x) = get(es, "id") {
                    c.id = self.nstr(x, vars, "cache `id`");
                }
                if let Some(x) = get(es, "sharing") {
                    c.sharing = match self.enum_value(
                        x,
                        vars,
                        "`sharing`",
                        &["shared", "private", "locked"],
                    ) {
                        Some("private") => Sharing::Private,
                        Some("locked") => Sharing::Locked,
                        _ => Sharing::Shared,
                    };
                }
                if let Some(x) = get(es, "from") {
                    if let Some(f) = self.eval_from(x, vars) {
                        self.add_from_edge(&f, edges);
                        c.from = Some(f.value);
                    }
                }
                if let Some(x) = get(es, "source") {
                    c.source = self.path(x, vars, "cache `source`", Some("/"));
                }
                c.mode = get(es, "mode").and_then(|m| self.mode(m, vars, "cache `mode`"));
                c.uid = get(es, "uid").and_then(|m| self.uint(m, "`uid`"));
                c.gid = get(es, "gid").and_then(|m| self.uint(m, "`gid`"));
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(..) => c.target = self.path(n, vars, "cache target", wd)?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a cache mount",
                    "a path or a mapping",
                    "write `cache: /path`, a list of paths, or `{target: /path, sharing: locked}`",
                );
                return None;
            }
        }
        Some(c)
    }

    pub(super) fn secret(&mut self, n: &Node, vars: &Vars) -> Option<SecretMount> {
        let mut s = SecretMount {
            id: String::new(),
            target: None,
            env: None,
            required: false,
            mode: None,
            uid: None,
            gid: None,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, SECRET_KEYS, "a secret mount", &[]);
                let before = self.errors.len();
                match get(es, "id") {
                    Some(x) => s.id = self.nstr(x, vars, "secret `id`").unwrap_or_default(),
                    None => self.missing(
                        n.span,
                        "id",
                        "a secret mount",
                        "add `id: NAME` (the id given to `--secret id=NAME,…`)",
                    ),
                }
                if let Some(x) = get(es, "target") {
                    s.target = self.path(x, vars, "secret `target`", Some("/"));
                }
                if let Some(x) = get(es, "env") {
                    s.env = self.nstr(x, vars, "secret `env`");
                    if let Some(e) = &s.env {
                        if !valid_var_name(e) {
                            self.err(
                                Diagnostic::error(
                                    "invalid-name",
                                    x.span,
                                    format!("`{e}` is not a valid environment variable name"),
                                )
                                .with_help("use letters, digits and `_`"),
                            );
                        }
                    }
                }
                if let Some(x) = get(es, "required") {
                    s.required = self.boolean(x, "`required`").unwrap_or(false);
                }
                s.mode = get(es, "mode").and_then(|m| self.mode(m, vars, "secret `mode`"));
                s.uid = get(es, "uid").and_then(|m| self.uint(m, "`uid`"));
                s.gid = get(es, "gid").and_then(|m| self.uint(m, "`gid`"));
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(..) => s.id = self.nstr(n, vars, "secret id")?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a secret",
                    "an id or a mapping",
                    "write `secret: npmrc` or `{id: npmrc, target: /root/.npmrc}`",
                );
                return None;
            }
        }
        Some(s)
    }

    pub(super) fn ssh(&mut self, n: &Node, vars: &Vars) -> Option<SshMount> {
        let mut s = SshMount {
            id: "default".into(),
            target: None,
            required: false,
            span: n.span,
        };
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, SSH_KEYS, "an ssh mount", &[]);
                let before = self.errors.len();
                if let Some(x) = get(es, "id") {
                    s.id = self.nstr(x, vars, "ssh `id`").unwrap_or_default();
                }
                if let Some(x) = get(es, "target") {
                    s.target = self.path(x, vars, "ssh `target`", Some("/"));
                }
                if let Some(x) = get(es, "required") {
                    s.required = self.boolean(x, "`required`").unwrap_or(false);
                }
                if self.errors.len() > before {
                    return None;
                }
            }
            Kind::Scalar(v, Style::Plain) if v == "true" => {}
            Kind::Scalar(..) => s.id = self.nstr(n, vars, "ssh id")?,
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "an ssh mount",
                    "`default`, an id or a mapping",
                    "write `ssh: default` or `{id: github, required: true}`",
                );
                return None;
            }
        }
        Some(s)
    }

    pub(super) fn tmpfs(&mut self, n: &Node, vars: &Vars, wd: Option<&str>) -> Option<TmpfsMount> {
        match &n.kind {
            Kind::Map(es) => {
                self.check_keys(es, TMPFS_KEYS, "a tmpfs mount", &[]);
                let target = match get(es, "target") {
                    Some(t) => self.path(t, vars, "tmpfs `target`", wd),
                    None => {
                        self.missing(n.span, "target", "a tmpfs mount", "add `target: /tmp`");
                        None
                    }
                };
                let mut size = None;
                if let Some(x) = get(es, "size") {
                    let s = self.nstr(x, vars, "tmpfs `size`")?;
                    match parse_size(&s) {
                        Ok(b) => size = Some(b),
                        Err(e) => {
                            self.err(
                                Diagnostic::error(
                                    "invalid-size",
                                    x.span,
                                    format!("invalid size: {e}"),
                                )
                                .with_label("invalid size")
                                .with_help(
                                    "write bytes or a number with a unit: `64m`, `1g`, `512k`",
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(TmpfsMount {
                    target: target?,
                    size,
                    span: n.span,
                })
            }
            Kind::Scalar(..) => Some(TmpfsMount {
                target: self.path(n, vars, "tmpfs target", wd)?,
                size: None,
                span: n.span,
            }),
            Kind::Seq(_) => {
                self.wrong_type(
                    n,
                    "a tmpfs mount",
                    "a path or a mapping",
                    "write `tmpfs: /tmp` or `{target: /tmp, size: 64m}`",
                );
                None
            }
        }
    }

    pub(super) fn bind(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<BindMount> {
        let es = self.map(
            n,
            "a bind mount",
            "write `bind: {from: builder, source: /out, target: /in}`",
        )?;
        self.check_keys(es, BIND_KEYS, "a bind mount", &[]);
        let before = self.errors.len();
        let mut b = BindMount {
            from: None,
            source: None,
            target: String::new(),
            rw: false,
            span: n.span,
        };
        if let Some(x) = get(es, "from") {
            if let Some(f) = self.eval_from(x, vars) {
                self.add_from_edge(&f, edges);
                b.from = Some(f.value);
            }
        }
        if let Some(x) = get(es, "source") {
            b.source = self.path(x, vars, "bind `source`", Some("/"));
        }
        match get(es, "target") {
            Some(t) => b.target = self.path(t, vars, "bind `target`", wd).unwrap_or_default(),
            None => self.missing(
                n.span,
                "target",
                "a bind mount",
                "add `target: /where/to/mount`",
            ),
        }
        if let Some(x) = get(es, "rw") {
            b.rw = self.boolean(x, "`rw`").unwrap_or(false);
        }
        if self.errors.len() > before {
            return None;
        }
        Some(b)
    }
}
