//! `RUN`: exec form, shell form (folded when continued outside quotes),
//! heredocs, `--mount`, `--network`, `--security`, and the stage's `USER`.

use slipway_spec::Diagnostic;

use super::*;

impl Conv<'_> {
    pub(super) fn run(&mut self, st: &mut Stage, ins: &Instr) {
        let scope = st.scope.clone();
        let esc = self.esc;
        let image_root = st.parent.image_root;
        let mut entries = Vec::new();
        let args = ins.args();
        let (cmd_node, kind) = if let Some(v) = is_json_array(args) {
            (Node::strs(v), DraftKind::Run)
        } else if !ins.heredocs.is_empty() {
            let rest = args.trim();
            let only = ins.heredocs.len() == 1
                && rest == ins.line.text[ins.heredocs[0].start..ins.heredocs[0].end].trim();
            let h = &ins.heredocs[0];
            if only && !h.body.starts_with("#!") {
                (
                    Node::Str(h.body.clone()),
                    DraftKind::ShellRun(h.body.clone(), st.shell.clone()),
                )
            } else if only {
                // A script with its own interpreter: write it out and run it.
                let script = format!(
                    "f=$(mktemp) && cat > \"$f\" <<'SLIPWAY_EOF'\n{}SLIPWAY_EOF\nchmod +x \"$f\" && \"$f\"; s=$?; rm -f \"$f\"; exit $s\n",
                    h.body
                );
                (
                    Node::Str(script.clone()),
                    DraftKind::ShellRun(script, st.shell.clone()),
                )
            } else {
                let mut full = rest.to_string();
                full.push('\n');
                for h in &ins.heredocs {
                    full.push_str(&h.body);
                    full.push_str(&h.name);
                    full.push('\n');
                }
                (
                    Node::Str(full.clone()),
                    DraftKind::ShellRun(full, st.shell.clone()),
                )
            }
        } else {
            let (node, cmd) = shell_command(ins);
            if cmd.is_empty() {
                self.diags.push(
                    Diagnostic::error("dockerfile-syntax", ins.kw_span, "`RUN` needs a command")
                        .with_help("write `RUN command` or `RUN [\"executable\", \"arg\"]`"),
                );
                return;
            }
            (node, DraftKind::ShellRun(cmd, st.shell.clone()))
        };
        entries.push(Entry::new("run", cmd_node));
        let mut groups: Vec<(&'static str, Vec<Node>)> = Vec::new();
        for f in &ins.flags {
            let mut r = Self::res(&scope, &mut st.warned, self.diags, image_root, true, f.span);
            match (f.name.as_str(), &f.value) {
                ("mount", Some(v)) => {
                    let m = mounts::parse(v);
                    let mut dropped = Vec::new();
                    let mut conv = |s: &str| words::word(s, esc, &mut r);
                    match mounts::to_slipway(&m, &mut conv, &mut dropped) {
                        Ok((key, node)) => match groups.iter_mut().find(|g| g.0 == key) {
                            Some(g) => g.1.push(node),
                            None => groups.push((key, vec![node])),
                        },
                        Err(why) => self.diags.push(
                            warning("no-slipway-form", f.span, format!("{why}; this mount was left out"))
                                .with_help("Slipway mounts: cache, secret, ssh, bind, tmpfs (see docs/spec.md)"),
                        ),
                    }
                    if !dropped.is_empty() {
                        self.diags.push(
                            warning(
                                "no-slipway-form",
                                f.span,
                                format!(
                                    "mount option(s) {} have no Slipway form; left out",
                                    dropped
                                        .iter()
                                        .map(|d| format!("`{d}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            )
                            .with_help("see the mount keys in docs/spec.md (run modifiers)"),
                        );
                    }
                }
                ("network", Some(v)) => entries.push(Entry::new("network", Node::Str(v.clone()))),
                ("security", Some(v)) => entries.push(Entry::new("security", Node::Str(v.clone()))),
                (name, _) => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`RUN --{name}` has no Slipway form; left out"),
                    )
                    .with_help(
                        "a `run` step takes cache, secret, ssh, bind, tmpfs, network and security",
                    ),
                ),
            }
        }
        for (key, mut nodes) in groups {
            let v = if nodes.len() == 1 {
                nodes.remove(0)
            } else {
                Node::seq(nodes)
            };
            entries.push(Entry::new(key, v));
        }
        if let Some(u) = &st.user {
            entries.push(Entry::new("user", Node::Str(u.clone())));
        }
        self.draft(st, ins, entries, Vec::new(), kind);
    }
}

/// A shell-form command as Docker runs it, and its YAML form: folded lines
/// when every continuation break is outside quotes, else the exact string.
fn shell_command(ins: &Instr) -> (Node, String) {
    let a = ins.args_start;
    let text = &ins.line.text;
    let exact = text[a..].trim().to_string();
    let mut cuts: Vec<usize> = ins.line.breaks.iter().copied().filter(|&b| b > a).collect();
    cuts.dedup();
    if cuts.is_empty() {
        return (Node::Str(exact.clone()), exact);
    }
    // quote state at each break
    let mut q: Option<char> = None;
    let mut ok = true;
    let mut bi = 0;
    let mut prev_bs = false;
    for (i, c) in text.char_indices().skip_while(|(i, _)| *i < a) {
        while bi < cuts.len() && cuts[bi] <= i {
            if q.is_some() {
                ok = false;
            }
            bi += 1;
        }
        if prev_bs {
            prev_bs = false;
            continue;
        }
        match (q, c) {
            (None, '\\') => prev_bs = true,
            (Some('"'), '\\') => prev_bs = true,
            (None, '\'' | '"') => q = Some(c),
            (Some(x), y) if x == y => q = None,
            _ => {}
        }
    }
    let mut bounds = vec![a];
    bounds.extend(&cuts);
    bounds.push(text.len());
    let lines: Vec<String> = bounds
        .windows(2)
        .map(|w| text[w[0]..w[1]].trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if !ok || lines.len() < 2 || lines.iter().any(|l| l.starts_with('#')) {
        return (Node::Str(exact.clone()), exact);
    }
    let joined = lines.join(" ");
    (Node::Folded(lines), joined)
}
