//! The end of a stage: the `WORKDIR` and `SHELL` fix-ups of its steps, its
//! YAML entry, and what stages built from it need to know.

use super::*;

impl Conv<'_> {
    /// The stage's YAML entry, with workdir and shell fix-ups, and what its
    /// children need.
    pub(super) fn finish(&mut self, mut st: Stage) -> (Entry, Info) {
        // The last WORKDIR becomes the stage's `workdir:` (created when the stage
        // starts) unless a `run` step comes before the first WORKDIR: that step
        // could create or populate the directory itself (`useradd -m`, `git
        // clone`), so then each WORKDIR stays a `mkdir:` where it was, and the
        // image gets `image.workdir`.
        let first_wd = st
            .drafts
            .iter()
            .position(|d| matches!(d.kind, DraftKind::Workdir(_)));
        let first_run = st
            .drafts
            .iter()
            .position(|d| matches!(d.kind, DraftKind::Run | DraftKind::ShellRun(..)));
        let hoist = !matches!((first_wd, first_run), (Some(w), Some(r)) if r < w);
        let final_wd = if hoist { st.wd.clone() } else { None };
        let inherited_wd = st.parent.workdir.clone().unwrap_or_else(|| "/".into());
        let stage_wd = final_wd.clone().unwrap_or_else(|| inherited_wd.clone());
        let inherited_shell: Vec<String> = st
            .parent
            .shell
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| s.to_string()).collect());
        let mut steps = Vec::new();
        for d in std::mem::take(&mut st.drafts) {
            let step_wd = d.wd.clone().unwrap_or_else(|| inherited_wd.clone());
            let differs = step_wd != stage_wd;
            let mut entries = d.entries;
            match &d.kind {
                DraftKind::Workdir(p) => {
                    if Some(p) != final_wd.as_ref() && p != "/" {
                        steps.push(Item {
                            comments: d.comments,
                            value: Node::Map(vec![Entry::new("mkdir", Node::Str(p.clone()))]),
                        });
                    } else {
                        st.pending.extend(d.comments);
                    }
                    continue;
                }
                DraftKind::ShellRun(cmd, shell) => {
                    let sh = shell.clone().unwrap_or_else(|| inherited_shell.clone());
                    let final_sh = st.shell.clone().unwrap_or_else(|| inherited_shell.clone());
                    if sh != final_sh {
                        let mut v = sh.clone();
                        v.push(cmd.clone());
                        entries[0].value = Node::strs(v);
                    }
                    if differs {
                        entries.push(Entry::new("workdir", Node::Str(step_wd.clone())));
                    }
                }
                DraftKind::Run => {
                    if differs {
                        entries.push(Entry::new("workdir", Node::Str(step_wd.clone())));
                    }
                }
                DraftKind::Copy { has_to } => {
                    if differs && !has_to {
                        let to = join_path(&step_wd, "./");
                        let at = if entries.get(1).is_some_and(|e| e.key == "from") {
                            2
                        } else {
                            1
                        };
                        entries.insert(at, Entry::new("to", Node::Str(to)));
                    }
                }
                DraftKind::Other => {}
            }
            if differs {
                for &i in &d.rel {
                    if let Node::Str(p) = &entries[i].value {
                        if !p.starts_with('/') && !p.starts_with('$') {
                            entries[i].value = Node::Str(join_path(&step_wd, p));
                        }
                    }
                }
            }
            let mut comments = std::mem::take(&mut st.pending);
            comments.extend(d.comments);
            steps.push(Item {
                comments,
                value: Node::Map(entries),
            });
        }
        let mut m = vec![Entry::new("from", Node::Str(st.from.clone()))];
        if let Some(p) = &st.platform {
            m.push(Entry::new("platform", Node::Str(p.clone())));
        }
        if !st.args.is_empty() {
            m.push(Entry::new("args", Node::Map(std::mem::take(&mut st.args))));
        }
        let mut env_names = st.parent.env.clone();
        if !st.env.is_empty() {
            env_names.extend(st.env.iter().map(|e| e.key.clone()));
            m.push(Entry::new("env", Node::Map(std::mem::take(&mut st.env))));
        }
        if let Some(w) = &final_wd {
            m.push(Entry::new("workdir", Node::Str(w.clone())));
        }
        if let Some(s) = &st.shell {
            m.push(Entry::new(
                "shell",
                Node::strs(s.iter().map(|x| words::escape_dollars(x))),
            ));
        }
        if !steps.is_empty() {
            m.push(Entry::new("steps", Node::Seq(steps)));
        }
        let mut image = std::mem::take(&mut st.image);
        if !hoist {
            if let Some(w) = &st.wd {
                image.push(Entry::new("workdir", Node::Str(w.clone())));
            }
        }
        if let Some(u) = &st.user {
            image.insert(0, Entry::new("user", Node::Str(u.clone())));
        }
        if !image.is_empty() {
            m.push(Entry::new("image", Node::Map(image)));
        }
        let mut comments = st.comments;
        comments.extend(st.notes);
        comments.extend(st.pending);
        let info = Info {
            workdir: st.wd.clone().or(st.parent.workdir.clone()),
            env: env_names,
            shell: st.shell.or(st.parent.shell.clone()),
            image_root: st.parent.image_root,
        };
        (
            Entry {
                comments,
                key: st.name,
                value: Node::Map(m),
            },
            info,
        )
    }
}
