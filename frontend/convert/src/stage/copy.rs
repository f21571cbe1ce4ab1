//! `COPY` and `ADD`: sources and destination, flags, heredoc files,
//! URLs and git sources (`add:`), local sources (`copy:`).

use slipway_spec::Diagnostic;

use super::*;

impl Conv<'_> {
    pub(super) fn copy(&mut self, st: &mut Stage, ins: &Instr) {
        let add = ins.keyword == "ADD";
        let scope = st.scope.clone();
        let esc = self.esc;
        let image_root = st.parent.image_root;
        let mut r = Self::res(
            &scope,
            &mut st.warned,
            self.diags,
            image_root,
            true,
            ins.args_span(),
        );
        let mut list = match is_json_array(ins.args()) {
            Some(v) => v
                .into_iter()
                .map(|s| words::word(&format!("'{}'", s.replace('\'', "'\"'\"'")), esc, &mut r))
                .collect(),
            None => words::words(ins.args(), esc, &mut r),
        };
        if list.len() < 2 {
            self.diags.push(
                Diagnostic::error(
                    "dockerfile-syntax",
                    ins.args_span(),
                    format!("`{}` needs a source and a destination", ins.keyword),
                )
                .with_help(format!("write `{} src dest`", ins.keyword)),
            );
            return;
        }
        let dest = list.pop().unwrap();
        // Flags.
        let mut from = None;
        let mut mods: Vec<Entry> = Vec::new();
        let mut excludes = Vec::new();
        let mut link = false;
        let si = self
            .names
            .iter()
            .position(|n| *n == st.name)
            .unwrap_or(usize::MAX);
        let from_stage = ins
            .flags
            .iter()
            .rfind(|f| f.name == "from")
            .and_then(|f| self.stage_ref(f.value.as_deref().unwrap_or(""), si));
        for f in &ins.flags {
            let mut r = Self::res(&scope, &mut st.warned, self.diags, image_root, true, f.span);
            let val = f.value.clone().unwrap_or_default();
            match f.name.as_str() {
                "from" if !add => {
                    from = Some(match &from_stage {
                        Some(s) => s.clone(),
                        None => words::word(&val, esc, &mut r),
                    });
                }
                "chown" => mods.push(Entry::new(
                    "chown",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "chmod" => mods.push(Entry::new(
                    "chmod",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "link" => link = f.value.as_deref().is_none_or(|v| v == "true"),
                "exclude" => excludes.push(words::word(&val, esc, &mut r)),
                "parents" if !add => {
                    if f.value.as_deref().is_none_or(|v| v == "true") {
                        mods.push(Entry::new("parents", Node::Bool(true)));
                    }
                }
                "checksum" if add => mods.push(Entry::new(
                    "checksum",
                    Node::Str(words::word(&val, esc, &mut r)),
                )),
                "keep-git-dir" if add => {
                    if f.value.as_deref().is_none_or(|v| v == "true") {
                        mods.push(Entry::new("keep-git-dir", Node::Bool(true)));
                    }
                }
                name => self.diags.push(
                    warning(
                        "no-slipway-form",
                        f.span,
                        format!("`{} --{name}` has no Slipway form; left out", ins.keyword),
                    )
                    .with_help("see `copy`/`add` modifiers in docs/spec.md"),
                ),
            }
        }
        // Heredoc sources become `file:` steps.
        let mut sources = Vec::new();
        let heredocs: Vec<_> = ins.heredocs.iter().collect();
        let mut files = Vec::new();
        for s in list {
            let bare = s.trim_start_matches("<<").trim_start_matches('-');
            if s.starts_with("<<") {
                if let Some(h) = heredocs.iter().find(|h| h.name == bare) {
                    files.push(*h);
                    continue;
                }
            }
            sources.push(s);
        }
        for h in &files {
            let path = if dest.ends_with('/') || files.len() + sources.len() > 1 {
                format!("{}/{}", dest.trim_end_matches('/'), h.name)
            } else {
                dest.clone()
            };
            let content = if h.quoted {
                words::escape_dollars(&h.body)
            } else {
                let mut r = Self::res(
                    &scope,
                    &mut st.warned,
                    self.diags,
                    image_root,
                    true,
                    ins.args_span(),
                );
                // Docker expands the body of an unquoted heredoc.
                let mut out = String::new();
                for line in h.body.split_inclusive('\n') {
                    let (body, nl) = match line.strip_suffix('\n') {
                        Some(b) => (b, "\n"),
                        None => (line, ""),
                    };
                    out.push_str(&expand_only(body, &mut r));
                    out.push_str(nl);
                }
                out
            };
            let mut e = vec![
                Entry::new("file", Node::Str(path)),
                Entry::new("content", Node::Str(content)),
            ];
            for m in &mods {
                match m.key.as_str() {
                    "chmod" => e.push(Entry::new("mode", m.value.clone())),
                    "chown" => e.push(Entry::new("owner", m.value.clone())),
                    _ => {}
                }
            }
            self.draft(st, ins, e, vec![0], DraftKind::Other);
        }
        if sources.is_empty() {
            return;
        }
        if add && link && sources.iter().any(|s| is_remote_src(s)) {
            self.diags.push(
                warning(
                    "no-slipway-form",
                    ins.kw_span,
                    "`ADD --link`: an `add` step has no `link`; it is added into the stage",
                )
                .with_help("the result is the same; only the layer is not independent"),
            );
        }
        let (remote, local): (Vec<String>, Vec<String>) =
            sources.into_iter().partition(|s| is_remote_src(s));
        for url in remote {
            let mut e = vec![Entry::new("add", Node::Str(url))];
            e.push(Entry::new("to", Node::Str(dest.clone())));
            for m in &mods {
                if matches!(
                    m.key.as_str(),
                    "chown" | "chmod" | "checksum" | "keep-git-dir"
                ) {
                    e.push(m.clone());
                }
            }
            if !excludes.is_empty() {
                self.diags.push(
                    warning(
                        "no-slipway-form",
                        ins.kw_span,
                        "`ADD --exclude` on a URL has no Slipway form; left out",
                    )
                    .with_help("filter in a later `run` step"),
                );
            }
            self.draft(st, ins, e, vec![1], DraftKind::Copy { has_to: true });
        }
        if local.is_empty() {
            return;
        }
        if add {
            let archive = local.iter().any(|s| {
                [
                    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
                ]
                .iter()
                .any(|x| s.to_ascii_lowercase().ends_with(x))
            });
            if archive {
                self.diags.push(
                    warning("no-slipway-form", ins.kw_span, "`ADD` of a local archive extracts it; Slipway's `copy` copies the file as is")
                        .with_help("add a `run: tar -xf …` step after the copy (with `bind:` to avoid the extra layer)"),
                );
            }
            if checksum_or_git(&mods) {
                self.diags.push(
                    warning(
                        "no-slipway-form",
                        ins.kw_span,
                        "`--checksum`/`--keep-git-dir` apply to URLs only; left out",
                    )
                    .with_help("remove the flag"),
                );
            }
        }
        let src = if local.len() == 1 {
            Node::Str(local[0].clone())
        } else {
            Node::strs(local)
        };
        let mut e = vec![Entry::new("copy", src)];
        if let Some(f) = from {
            e.push(Entry::new("from", Node::Str(f)));
        }
        let mut rel = Vec::new();
        let has_to = !(dest == "." || dest == "./");
        if has_to {
            rel.push(e.len());
            e.push(Entry::new("to", Node::Str(dest)));
        }
        for m in mods {
            if matches!(m.key.as_str(), "chown" | "chmod" | "parents") {
                e.push(m);
            }
        }
        if link {
            e.push(Entry::new("link", Node::Bool(true)));
        }
        if !excludes.is_empty() {
            let v = if excludes.len() == 1 {
                Node::Str(excludes.remove(0))
            } else {
                Node::strs(excludes)
            };
            e.push(Entry::new("exclude", v));
        }
        self.draft(st, ins, e, rel, DraftKind::Copy { has_to });
    }
}

fn is_remote_src(s: &str) -> bool {
    ["http://", "https://", "git@", "git://", "ssh://"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn checksum_or_git(mods: &[Entry]) -> bool {
    mods.iter()
        .any(|m| m.key == "checksum" || m.key == "keep-git-dir")
}

/// A heredoc body line as Docker expands it for `COPY <<EOF` (unquoted
/// delimiter): `$VAR` expanded, quotes kept as written, `\\` escapes the next
/// character (always the backslash, whatever `# escape=` says).
fn expand_only(s: &str, r: &mut dyn Resolve) -> String {
    // Quotes are literal: escape them so the word rules keep them.
    let mut protected = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\'' {
            protected.push('\\');
        }
        protected.push(c);
    }
    words::word_keep_ws(&protected, '\\', r)
}
