//! The file verbs: `file`, `mkdir`, `link`, `remove`.

use super::*;

impl<'a> Ev<'a> {
    /// `file: PATH` with `content`, `mode`, `owner`.
    pub(super) fn file_step(
        &mut self,
        es: &[(Node, Node)],
        vk: &Node,
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<StepKind> {
        let path = self.path(vv, vars, "`file` path", wd);
        let content = match get(es, "content") {
            None => {
                self.missing(
                    vk.span,
                    "content",
                    "a `file` step",
                    "add `content: |` with the file's text (empty: `content: \"\"`)",
                );
                None
            }
            Some(c) => self.istr(c, vars, "`content`"),
        };
        let mode = get(es, "mode").and_then(|m| self.mode(m, vars, "`mode`"));
        let owner = get(es, "owner").and_then(|o| self.owner(o, vars, "`owner`"));
        Some(StepKind::File(FileStep {
            path: path?,
            content: content?,
            mode,
            owner,
        }))
    }

    /// `mkdir: PATH` with `mode`, `owner`.
    pub(super) fn mkdir_step(
        &mut self,
        es: &[(Node, Node)],
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<StepKind> {
        let path = self.path(vv, vars, "`mkdir` path", wd);
        let mode = get(es, "mode").and_then(|m| self.mode(m, vars, "`mode`"));
        let owner = get(es, "owner").and_then(|o| self.owner(o, vars, "`owner`"));
        Some(StepKind::Mkdir(Mkdir {
            path: path?,
            mode,
            owner,
        }))
    }

    /// `link: PATH` with `target`.
    pub(super) fn link_step(
        &mut self,
        es: &[(Node, Node)],
        vk: &Node,
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<StepKind> {
        let path = self.path(vv, vars, "`link` path", wd);
        let target = match get(es, "target") {
            None => {
                self.missing(
                    vk.span,
                    "target",
                    "a `link` step",
                    "add `target:` with the path the link points at",
                );
                None
            }
            Some(t) => self.nstr(t, vars, "`target`"),
        };
        Some(StepKind::Link(Link {
            path: path?,
            target: target?,
        }))
    }

    /// `remove: PATH` or a list of paths.
    pub(super) fn remove_step(
        &mut self,
        vv: &Node,
        vars: &Vars,
        wd: Option<&str>,
    ) -> Option<StepKind> {
        let items: Vec<&Node> = match &vv.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![vv],
        };
        let paths: Vec<String> = items
            .iter()
            .filter_map(|i| self.path(i, vars, "`remove` path", wd))
            .collect();
        if matches!(&vv.kind, Kind::Seq(items) if items.is_empty()) {
            self.err(
                Diagnostic::error("empty-value", vv.span, "`remove` needs at least one path")
                    .with_help("write `remove: /tmp/x` or a list"),
            );
        }
        Some(StepKind::Remove(Remove { paths }))
    }
}
