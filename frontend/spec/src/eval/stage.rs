//! A stage: its keys, env/workdir/shell, steps, `output`.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn stage(
        &mut self,
        k: &Node,
        v: &Node,
        vars: &mut Vars,
        env_vars: &mut Vars,
        pre: &Pre,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Stage> {
        let name = k.scalar().unwrap_or("").to_string();
        let Kind::Map(es) = &v.kind else { return None };
        let ctx = format!("stage `{name}`");
        self.check_keys(
            es,
            STAGE_KEYS,
            &ctx,
            &[
                ("a `run` step", RUN_KEYS),
                ("`image`", IMAGE_KEYS),
                ("the top level", TOP_KEYS),
            ],
        );

        let mut env = vec![];
        if let Some(e) = get(es, "env") {
            env = self.env_map(e, vars, &format!("the `env` of {ctx}"), true);
            for (k2, v2) in &env {
                env_vars.set(k2, Some(v2.clone()));
            }
        }
        let workdir = get(es, "workdir").and_then(|w| {
            let p = self.path(w, vars, "`workdir`", None)?;
            Some(Spanned {
                value: p,
                span: w.span,
            })
        });
        let wd = workdir.as_ref().map(|w| w.value.clone());
        let shell = get(es, "shell").and_then(|s| match &s.kind {
            Kind::Seq(_) => {
                let l = self.str_list(s, vars, "`shell`");
                if l.is_empty() {
                    self.err(
                        Diagnostic::error("empty-value", s.span, "`shell` must not be empty")
                            .with_help("write e.g. `[/bin/bash, -c]`"),
                    );
                    None
                } else {
                    Some(l.into_iter().map(|x| x.value).collect())
                }
            }
            _ => {
                self.wrong_type(
                    s,
                    "`shell`",
                    "a list of strings",
                    "write the shell and its flag as a list, e.g. `[/bin/bash, -eu, -c]`",
                );
                None
            }
        });
        let description = get(es, "description").and_then(|d| self.istr(d, vars, "`description`"));

        let mut steps = vec![];
        if let Some(s) = get(es, "steps") {
            match &s.kind {
                Kind::Seq(items) => {
                    // Steps are large (~300 bytes): no regrowth copies.
                    steps.reserve_exact(items.len());
                    for it in items {
                        if let Some(step) = self.step(it, vars, wd.as_deref(), edges) {
                            steps.push(step);
                        }
                    }
                }
                _ if s.is_null() => {}
                _ => self.wrong_type(
                    s,
                    "`steps`",
                    "a list of steps",
                    "write each step as a list item: `- run: make`",
                ),
            }
        }
        let image = match get(es, "image") {
            Some(i) => self.image(i, vars, wd.as_deref()),
            None => ImageSpec::default(),
        };
        let output = get(es, "output")
            .map(|o| self.output(o, vars, wd.as_deref()))
            .unwrap_or_default();
        let from = pre.from.clone()?;
        Some(Stage {
            name: Spanned {
                value: name,
                span: k.span,
            },
            span: v.span,
            from,
            platform: pre.platform.clone(),
            args: pre.args.clone(),
            env,
            workdir,
            shell,
            steps,
            image,
            description,
            output,
        })
    }

    /// `output: PATH` or `[PATH, …]`: the paths that are the stage's result.
    pub(super) fn output(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Vec<Spanned<String>> {
        let items: Vec<&Node> = match &n.kind {
            Kind::Seq(items) if !items.is_empty() => items.iter().collect(),
            Kind::Scalar(..) if !n.is_null() => vec![n],
            Kind::Map(_) => {
                let help = "write `output: /reports` or `output: [/reports, /coverage]`";
                self.wrong_type(n, "`output`", "a path or a list of paths", help);
                return vec![];
            }
            _ => {
                let e = Diagnostic::error(
                    "empty-value",
                    n.span,
                    "`output` must name at least one path",
                );
                self.err(e.with_help(
                    "write e.g. `output: [/reports]`, or remove `output` to export the whole stage",
                ));
                return vec![];
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            let Some(p) = self.path(i, vars, "`output`", wd) else {
                continue;
            };
            if p.trim_end_matches('/').is_empty() {
                let e =
                    Diagnostic::error("output-root", i.span, "`output: /` is the whole filesystem");
                self.err(e.with_help("name the directories that hold the results, e.g. `/reports`, or remove `output`"));
                continue;
            }
            out.push(Spanned {
                value: p,
                span: i.span,
            });
        }
        out
    }
}
