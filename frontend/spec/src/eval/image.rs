//! `image:` of a stage: the image config (user, entrypoint, cmd, ports,
//! labels, volumes, healthcheck, stop signal, env, workdir).

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn image(&mut self, n: &Node, vars: &Vars, wd: Option<&str>) -> ImageSpec {
        let mut im = ImageSpec::default();
        let Some(es) = self.map(
            n,
            "`image`",
            "write `image:` as a mapping, e.g. `{user: app, entrypoint: [/app]}`",
        ) else {
            return im;
        };
        self.check_keys(es, IMAGE_KEYS, "`image`", &[("a stage", STAGE_KEYS)]);
        let mut vars = self.copy_vars(vars, n.span);
        if self.aborted {
            return im;
        }
        // image env first: it is visible to the other image fields
        if let Some(e) = get(es, "env") {
            im.env = self.env_map(e, &mut vars, "the `env` of `image`", true);
        }
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "user" => im.user = self.owner(v, &vars, "`user`"),
                "entrypoint" => im.entrypoint = self.command(v, "`entrypoint`"),
                "cmd" => im.cmd = self.command(v, "`cmd`"),
                "expose" => {
                    let items: Vec<&Node> = match &v.kind {
                        Kind::Seq(items) => items.iter().collect(),
                        _ => vec![v],
                    };
                    for it in items {
                        let Some(s) = self.nstr(it, &vars, "a port") else {
                            continue;
                        };
                        match parse_port(&s) {
                            Ok(p) => im.expose.push(p),
                            Err(e) => self.err(
                                Diagnostic::error("invalid-port", it.span, format!("invalid port: {e}"))
                                    .with_label("invalid port")
                                    .with_help("write a port number (1-65535), optionally with a protocol: `8080`, `\"9090/udp\"`, `\"8000-8010/tcp\"`"),
                            ),
                        }
                    }
                }
                "labels" => {
                    im.labels = self
                        .env_map_read(v, &vars, "`labels`")
                        .into_iter()
                        .collect::<BTreeMap<_, _>>();
                }
                "volumes" => {
                    for p in self.str_list(v, &vars, "a volume") {
                        if !p.value.starts_with('/') {
                            self.err(
                                Diagnostic::error(
                                    "invalid-path",
                                    p.span,
                                    format!("volume `{}` is not an absolute path", p.value),
                                )
                                .with_help(
                                    "volumes are absolute paths in the container, e.g. `/data`",
                                ),
                            );
                        } else {
                            im.volumes.push(p.value);
                        }
                    }
                }
                "healthcheck" => im.healthcheck = self.healthcheck(v, &vars),
                "stop-signal" => {
                    if let Some(s) = self.nstr(v, &vars, "`stop-signal`") {
                        let ok = match s.parse::<u32>() {
                            Ok(n) => (1..=64).contains(&n),
                            Err(_) => {
                                let name = s.strip_prefix("SIG").unwrap_or(&s);
                                !name.is_empty()
                                    && name.chars().all(|c| {
                                        c.is_ascii_uppercase()
                                            || c.is_ascii_digit()
                                            || c == '+'
                                            || c == '-'
                                    })
                            }
                        };
                        if ok {
                            im.stop_signal = Some(s);
                        } else {
                            self.err(
                                Diagnostic::error("invalid-signal", v.span, format!("invalid stop signal `{s}`"))
                                    .with_label("not a signal")
                                    .with_help("write a signal name like `SIGTERM`, `SIGQUIT`, `SIGRTMIN+3`, or a number 1-64"),
                            );
                        }
                    }
                }
                "workdir" => im.workdir = self.path(v, &vars, "image `workdir`", wd),
                _ => {}
            }
        }
        im
    }

    pub(super) fn healthcheck(&mut self, n: &Node, vars: &Vars) -> Option<Healthcheck> {
        if n.scalar().is_some_and(|s| s.eq_ignore_ascii_case("none")) {
            return Some(Healthcheck::None);
        }
        let es = self.map(n, "`healthcheck`", "write `{test: [CMD, curl, -f, http://localhost/], interval: 30s}` or `healthcheck: none`")?;
        self.check_keys(es, HEALTH_KEYS, "`healthcheck`", &[]);
        let before = self.errors.len();
        let test = match get(es, "test") {
            None => {
                self.missing(
                    n.span,
                    "test",
                    "`healthcheck`",
                    "add `test: [CMD, …]`, `test: \"shell command\"` or `test: none`",
                );
                None
            }
            Some(t) => match &t.kind {
                Kind::Scalar(s, _) if s.eq_ignore_ascii_case("none") => {
                    return Some(Healthcheck::None)
                }
                Kind::Scalar(..) => self.command(t, "`test`").map(|c| match c {
                    Command::Shell(s) => vec!["CMD-SHELL".to_string(), s],
                    Command::Exec(v) => v,
                }),
                Kind::Seq(_) => {
                    let v = self.exec_list(t, "`test`")?;
                    match v[0].as_str() {
                        "CMD" | "CMD-SHELL" if v.len() > 1 => Some(v),
                        "NONE" => return Some(Healthcheck::None),
                        _ => {
                            self.err(
                                Diagnostic::error("invalid-healthcheck", t.span, "a healthcheck `test` list starts with `CMD` or `CMD-SHELL` followed by the command")
                                    .with_label("expected [CMD, …] or [CMD-SHELL, \"…\"]")
                                    .with_help("write `[CMD, curl, -f, http://localhost/]`, or a string for shell form"),
                            );
                            None
                        }
                    }
                }
                Kind::Map(_) => {
                    self.wrong_type(
                        t,
                        "`test`",
                        "a list or a string",
                        "write `[CMD, …]` or `\"shell command\"`",
                    );
                    None
                }
            },
        };
        let dur = |this: &mut Self, key: &str| -> Option<u64> {
            let x = get(es, key)?;
            let s = this.nstr(x, vars, &format!("`{key}`"))?;
            match parse_duration(&s) {
                Ok(d) => Some(d),
                Err(e) => {
                    this.err(
                        Diagnostic::error(
                            "invalid-duration",
                            x.span,
                            format!("invalid `{key}`: {e}"),
                        )
                        .with_label("invalid duration")
                        .with_help("write a duration like `30s`, `1m30s`, `500ms` or `1h`"),
                    );
                    None
                }
            }
        };
        let interval_ns = dur(self, "interval");
        let timeout_ns = dur(self, "timeout");
        let start_period_ns = dur(self, "start-period");
        let retries = get(es, "retries").and_then(|r| self.uint(r, "`retries`"));
        if self.errors.len() > before {
            return None;
        }
        Some(Healthcheck::Check {
            test: test?,
            interval_ns,
            timeout_ns,
            start_period_ns,
            retries,
        })
    }
}
