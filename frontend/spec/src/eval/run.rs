//! `run` steps: command, env, workdir, user, network, security, no-cache;
//! mounts are in `mounts.rs`.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn run(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Run> {
        let command = self.command(vv, "`run`");
        let mut r = Run {
            command: Command::Exec(vec![]),
            cache: vec![],
            secrets: vec![],
            ssh: vec![],
            tmpfs: vec![],
            binds: vec![],
            env: vec![],
            workdir: None,
            user: None,
            network: None,
            security: None,
            no_cache: false,
        };
        for (k, v) in es {
            match k.scalar().unwrap_or("") {
                "cache" => {
                    for item in items_of(v) {
                        if let Some(c) = self.cache(item, vars, wd, edges) {
                            r.cache.push(c);
                        }
                    }
                }
                "secret" => {
                    for item in items_of(v) {
                        if let Some(c) = self.secret(item, vars) {
                            r.secrets.push(c);
                        }
                    }
                }
                "ssh" => {
                    if matches!(&v.kind, Kind::Scalar(s, Style::Plain) if s == "false") {
                        continue;
                    }
                    for item in items_of(v) {
                        if let Some(c) = self.ssh(item, vars) {
                            r.ssh.push(c);
                        }
                    }
                }
                "tmpfs" => {
                    for item in items_of(v) {
                        if let Some(c) = self.tmpfs(item, vars, wd) {
                            r.tmpfs.push(c);
                        }
                    }
                }
                "bind" => {
                    for item in items_of(v) {
                        if let Some(c) = self.bind(item, vars, wd, edges) {
                            r.binds.push(c);
                        }
                    }
                }
                "env" => r.env = self.env_map_read(v, vars, "the `env` of a `run` step"),
                "workdir" => r.workdir = self.path(v, vars, "`workdir`", wd),
                "user" => r.user = self.owner(v, vars, "`user`"),
                "network" => {
                    r.network = self
                        .enum_value(v, vars, "`network`", &["default", "none", "host"])
                        .map(|s| match s {
                            "none" => Network::None,
                            "host" => Network::Host,
                            _ => Network::Default,
                        })
                }
                "security" => {
                    r.security = self
                        .enum_value(v, vars, "`security`", &["sandbox", "insecure"])
                        .map(|s| match s {
                            "insecure" => Security::Insecure,
                            _ => Security::Sandbox,
                        })
                }
                "no-cache" => r.no_cache = self.boolean(v, "`no-cache`").unwrap_or(false),
                _ => {}
            }
        }
        r.command = command?;
        Some(r)
    }

    pub(super) fn enum_value(
        &mut self,
        n: &Node,
        vars: &Vars,
        what: &str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.nstr(n, vars, what)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(a),
            None => {
                let mut help = match did_you_mean(&s, allowed.iter().copied()) {
                    Some(d) => format!("did you mean `{d}`? "),
                    None => String::new(),
                };
                help.push_str(&format!("use one of {}", list(allowed)));
                let code = match what {
                    "`network`" => "invalid-network",
                    "`security`" => "invalid-security",
                    "`sharing`" => "invalid-sharing",
                    _ => "invalid-value",
                };
                self.err(
                    Diagnostic::error(code, n.span, format!("invalid {what} `{s}`"))
                        .with_label(format!("not one of {}", allowed.join(", ")))
                        .with_help(help),
                );
                None
            }
        }
    }
}
