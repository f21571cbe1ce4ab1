//! The file: top-level keys, global args, groups, default target, and the
//! stages in two passes (args/from/platform first, then the bodies).

use super::*;

impl<'a> Ev<'a> {
    /// Evaluates the tree, consuming it: each stage's subtree is freed as
    /// soon as the stage is evaluated, so the plan reuses that memory (at
    /// 10,000 stages the tree is ~70 MB).
    pub fn eval(&mut self, filename: &str, mut root: Node) -> Option<Plan> {
        let stages_node = take_value(&mut root, "stages");
        let root = &root;
        let top = self.map(root, "the file", "a spec is a mapping with `stages:` (and optionally `version`, `args`, `default`, `groups`)")?;
        self.check_keys(top, TOP_KEYS, "the top level", &[("a stage", STAGE_KEYS)]);

        if let Some(v) = get(top, "version") {
            if v.scalar() != Some("1") {
                self.err(
                    Diagnostic::error(
                        "unsupported-version",
                        v.span,
                        format!(
                            "unsupported version `{}`",
                            v.scalar().unwrap_or(v.type_name())
                        ),
                    )
                    .with_label("only version 1 exists")
                    .with_help("write `version: 1` or leave it out"),
                );
            }
        }

        // predefined
        let mut globals = Vars::default();
        let o = self.opts;
        let pre: [(&str, String); 8] = [
            ("BUILDPLATFORM", o.build_platform.to_string()),
            ("BUILDOS", o.build_platform.os.clone()),
            ("BUILDARCH", o.build_platform.architecture.clone()),
            (
                "BUILDVARIANT",
                o.build_platform.variant.clone().unwrap_or_default(),
            ),
            ("TARGETPLATFORM", o.target_platform.to_string()),
            ("TARGETOS", o.target_platform.os.clone()),
            ("TARGETARCH", o.target_platform.architecture.clone()),
            (
                "TARGETVARIANT",
                o.target_platform.variant.clone().unwrap_or_default(),
            ),
        ];
        for (k, v) in &pre {
            globals.set(k, Some(v.clone()));
        }
        let predefined = globals.clone();
        let mut declared: HashSet<String> = HashSet::new();
        let mut plan_args = vec![];
        if let Some(a) = get(top, "args") {
            plan_args = self.args_common(
                a,
                &mut globals,
                &predefined,
                &mut declared,
                "the global `args`",
            );
        }

        // stages
        // Indexes into the entries of `stages:`.
        let mut stage_nodes: Vec<usize> = vec![];
        match &stages_node {
            None => self.missing(
                root.span,
                "stages",
                "the file",
                "add a `stages:` mapping, e.g. `stages: {app: {from: alpine}}`",
            ),
            Some(s) => {
                if let Some(es) = self.map(
                    s,
                    "`stages`",
                    "write `stages:` as a mapping of stage names to stages",
                ) {
                    for (e, (k, _)) in es.iter().enumerate() {
                        let name = k.scalar().unwrap_or("");
                        if is_x_key(name) {
                            continue;
                        }
                        if name == "scratch" || name == "context" {
                            self.err(
                                Diagnostic::error(
                                    "reserved-name",
                                    k.span,
                                    format!("`{name}` cannot be a stage name"),
                                )
                                .with_label("reserved")
                                .with_help(format!(
                                    "`{name}` has a fixed meaning in `from:`; rename the stage"
                                )),
                            );
                            continue;
                        }
                        if !valid_name_chars(name) {
                            self.err(
                                Diagnostic::error("invalid-name", k.span, format!("invalid stage name `{name}`"))
                                    .with_label("invalid name")
                                    .with_help("stage names start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"),
                            );
                            continue;
                        }
                        stage_nodes.push(e);
                    }
                    if es.is_empty() {
                        self.err(
                            Diagnostic::error("empty-value", s.span, "`stages` is empty")
                                .with_help("define at least one stage, e.g. `app: {from: alpine}`"),
                        );
                    } else if es.iter().all(|(k, _)| is_x_key(k.scalar().unwrap_or(""))) {
                        self.err(
                            Diagnostic::error(
                                "empty-value",
                                s.span,
                                "`stages` holds no stage, only `x-` keys",
                            )
                            .with_label("keys starting with `x-` are ignored")
                            .with_help("define at least one stage, e.g. `app: {from: alpine}`"),
                        );
                    }
                }
            }
        }
        let mut stage_entries: Vec<(Node, Node)> = match stages_node {
            Some(Node {
                kind: Kind::Map(es),
                ..
            }) => es,
            _ => Vec::new(),
        };
        self.stage_names = stage_nodes
            .iter()
            .map(|&e| stage_entries[e].0.scalar().unwrap_or("").to_string())
            .collect();
        for (i, name) in self.stage_names.iter().enumerate() {
            self.stage_index.entry(name.clone()).or_insert(i);
        }
        self.known_names = globals.vals.iter().map(|(k, _)| k.to_string()).collect();

        // Budgets that can be checked before any work (issue 11: refuse
        // fast, at the first item over the limit).
        if stage_nodes.len() > MAX_STAGES {
            let at = stage_entries[stage_nodes[MAX_STAGES]].0.span;
            self.too_large(
                at,
                format!(
                    "the spec has {} stages, more than {MAX_STAGES}",
                    stage_nodes.len()
                ),
                "split the build into several specs",
            );
            return None;
        }
        let mut steps_seen = 0usize;
        for &e in &stage_nodes {
            let Kind::Map(es) = &stage_entries[e].1.kind else {
                continue;
            };
            if let Some(Node {
                kind: Kind::Seq(items),
                ..
            }) = get(es, "steps")
            {
                if steps_seen + items.len() > MAX_STEPS {
                    let at = items[MAX_STEPS - steps_seen].span;
                    self.too_large(
                        at,
                        format!("the spec has more than {MAX_STEPS} steps"),
                        "split the build into several specs",
                    );
                    return None;
                }
                steps_seen += items.len();
            }
        }

        // pass 1: stage args, from, platform
        let mut pres: Vec<Pre> = vec![];
        for &e in &stage_nodes {
            if self.aborted {
                return None;
            }
            let (k, v) = &stage_entries[e];
            let name = k.scalar().unwrap_or("").to_string();
            let es = match self.map(
                v,
                &format!("stage `{name}`"),
                "a stage is a mapping with `from:` and `steps:`",
            ) {
                Some(es) => es,
                None => &[],
            };
            let mut vars = self.copy_vars(&globals, k.span);
            if self.aborted {
                // Over budget: no stage is evaluated with a truncated scope.
                return None;
            }
            let mut args = vec![];
            if let Some(a) = get(es, "args") {
                args = self.args_common(
                    a,
                    &mut vars,
                    &globals,
                    &mut declared,
                    &format!("the `args` of stage `{name}`"),
                );
            }
            let from = match get(es, "from") {
                None => {
                    if matches!(v.kind, Kind::Map(_)) {
                        self.missing(
                            k.span,
                            "from",
                            &format!("stage `{name}`"),
                            "add `from: IMAGE`, `from: OTHER_STAGE` or `from: scratch`",
                        );
                    }
                    None
                }
                Some(f) => self.stage_from(f, &vars, &name),
            };
            let platform = get(es, "platform").and_then(|p| {
                let s = self.nstr(p, &vars, "`platform`")?;
                match parse_platform(&s) {
                    Ok(pl) => Some(Spanned { value: pl, span: p.span }),
                    Err(e) => {
                        self.err(
                            Diagnostic::error("invalid-platform", p.span, format!("invalid platform `{s}`: {e}"))
                                .with_label("invalid platform")
                                .with_help("write `os/arch[/variant]`, e.g. `linux/amd64`, `linux/arm64`, `linux/arm/v7`, or `${BUILDPLATFORM}`"),
                        );
                        None
                    }
                }
            });
            pres.push(Pre {
                args,
                vars,
                from,
                platform,
            });
        }

        // order by `from` edges so a child sees its parent's env
        let n = stage_nodes.len();
        let parent: Vec<Option<usize>> = pres
            .iter()
            .map(|p| match &p.from {
                Some(Spanned {
                    value: Base::Stage(s),
                    ..
                }) => self.stage_index.get(s).copied(),
                _ => None,
            })
            .collect();
        let mut order = vec![];
        let mut state = vec![0u8; n];
        for i in 0..n {
            let mut chain = vec![];
            let mut cur = Some(i);
            while let Some(c) = cur {
                if state[c] != 0 {
                    break;
                }
                state[c] = 1;
                chain.push(c);
                cur = parent[c];
            }
            for c in chain.into_iter().rev() {
                order.push(c);
                state[c] = 2;
            }
        }

        let mut final_env: Vec<Option<Vars>> = vec![None; n];
        let mut stages: Vec<Option<Stage>> = vec![None; n];
        let mut edges: Vec<Vec<(usize, Span)>> = vec![vec![]; n];
        for &i in &order {
            if self.aborted {
                return None;
            }
            let (k, v) = &stage_entries[stage_nodes[i]];
            // Each stage is evaluated once: its scope is moved, not copied.
            let mut vars = std::mem::take(&mut pres[i].vars);
            let mut env_vars = Vars::default();
            if let Some(p) = parent[i] {
                if let Some(env) = &final_env[p] {
                    // The parent's env is copied twice (scope and env):
                    // charged, so a long `from:` chain with env is bounded.
                    self.copied += 2 * env.len();
                    if self.copied > MAX_INHERITED_ENTRIES {
                        self.copy_vars(&Vars::default(), k.span);
                        return None;
                    }
                    vars.extend(env);
                    env_vars = env.clone();
                }
                if let Some(f) = &pres[i].from {
                    edges[i].push((p, f.span));
                }
            } else if let Some(f) = &pres[i].from {
                // The base image's env, as Docker's ENV substitution sees it.
                for (k2, v2) in self.opts.base_env.of(&f.value) {
                    vars.set(&k2, Some(v2.clone()));
                    env_vars.set(&k2, Some(v2));
                }
            }
            if matches!(self.opts.base_env, crate::BaseEnv::Discover) {
                vars.lenient = true;
                env_vars.lenient = true;
            }
            let st = self.stage(k, v, &mut vars, &mut env_vars, &pres[i], &mut edges[i]);
            final_env[i] = Some(env_vars);
            stages[i] = st;
            // Done with this stage's subtree.
            let v = &mut stage_entries[stage_nodes[i]].1;
            drop(std::mem::replace(v, Node::empty_at(v.span)));
        }
        drop(stage_entries);

        self.check_cycles(&edges);

        // groups
        let mut groups = vec![];
        let mut group_members = 0usize;
        if let Some(g) = get(top, "groups") {
            if let Some(es) = self.map(
                g,
                "`groups`",
                "write `groups:` as a mapping of group names to lists of stages",
            ) {
                for (k, v) in es {
                    let name = k.scalar().unwrap_or("").to_string();
                    if is_x_key(&name) {
                        continue;
                    }
                    if self.stage_index.contains_key(&name) {
                        self.err(
                            Diagnostic::error(
                                "name-conflict",
                                k.span,
                                format!("group `{name}` has the name of a stage"),
                            )
                            .with_label("also a stage")
                            .with_help("targets name a stage or a group; rename the group"),
                        );
                        continue;
                    }
                    if !valid_name_chars(&name) {
                        self.err(
                            Diagnostic::error("invalid-name", k.span, format!("invalid group name `{name}`"))
                                .with_help("group names start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"),
                        );
                        continue;
                    }
                    let members: Vec<Spanned<String>> = match &v.kind {
                        Kind::Seq(_) | Kind::Scalar(..) if !v.is_null() => {
                            self.str_list(v, &globals, "a group member")
                        }
                        _ => {
                            self.wrong_type(
                                v,
                                &format!("group `{name}`"),
                                "a list of stage or group names",
                                "write `[test, lint]`",
                            );
                            continue;
                        }
                    };
                    group_members += members.len();
                    if group_members > MAX_GROUP_MEMBERS {
                        let over = members.len() - (group_members - MAX_GROUP_MEMBERS);
                        self.too_large(
                            members[over.min(members.len() - 1)].span,
                            format!("groups have more than {MAX_GROUP_MEMBERS} members in all"),
                            "a group names stages or other groups; use fewer, larger groups",
                        );
                        return None;
                    }
                    if members.is_empty() && matches!(v.kind, Kind::Seq(_)) {
                        self.err(
                            Diagnostic::error(
                                "empty-value",
                                v.span,
                                format!("group `{name}` has no members"),
                            )
                            .with_help("list at least one stage"),
                        );
                    }
                    groups.push(Group {
                        name: Spanned {
                            value: name,
                            span: k.span,
                        },
                        members,
                    });
                }
            }
        }
        let group_names: Vec<String> = groups.iter().map(|g| g.name.value.clone()).collect();
        let targets: Vec<String> = self
            .stage_names
            .iter()
            .chain(group_names.iter())
            .cloned()
            .collect();
        // Membership by hash (a scan per member was quadratic).
        let target_set: HashSet<&str> = targets.iter().map(|s| s.as_str()).collect();
        let mut unknown = vec![];
        for g in &groups {
            for m in &g.members {
                if !target_set.contains(m.value.as_str()) {
                    unknown.push((m.clone(), format!("group `{}`", g.name.value)));
                }
            }
        }
        let default = get(top, "default").and_then(|d| {
            let v = self.nstr(d, &globals, "`default`")?;
            Some(Spanned {
                value: v,
                span: d.span,
            })
        });
        if let Some(d) = &default {
            if !target_set.contains(d.value.as_str()) {
                unknown.push((d.clone(), "`default`".into()));
            }
        }
        for (m, ctx) in unknown {
            if self.errors.len() >= MAX_ERRORS {
                // Not shown (only counted): no hint to look for.
                self.err(Diagnostic::error("unknown-target", m.span, String::new()));
                continue;
            }
            let close = did_you_mean_within(
                &m.value,
                targets.iter().map(|s| s.as_str()),
                &mut self.hint_budget,
            );
            let mut help = match close {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "valid targets: {}",
                list_some(targets.iter().map(|s| s.as_str()))
            ));
            self.err(
                Diagnostic::error(
                    "unknown-target",
                    m.span,
                    format!(
                        "{ctx} names `{}`, which is neither a stage nor a group",
                        m.value
                    ),
                )
                .with_label("unknown stage or group")
                .with_help(help),
            );
        }
        self.check_group_cycles(&groups);

        // build args nobody declared
        let unused_build_args: Vec<String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !declared.contains(*k))
            .cloned()
            .collect();

        let lint = crate::lint::config(get(top, "lint"), &mut self.errors);

        if !self.errors.is_empty() {
            return None;
        }
        Some(Plan {
            filename: filename.to_string(),
            source: self.src.to_string(),
            args: plan_args,
            unused_build_args,
            default,
            groups,
            stages: stages.into_iter().flatten().collect(),
            lint,
        })
    }
}
