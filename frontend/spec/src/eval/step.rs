//! A step: exactly one verb, its keys, dispatch to the verb's reader.

use super::*;

impl<'a> Ev<'a> {
    pub(super) fn step(
        &mut self,
        n: &Node,
        vars: &Vars,
        wd: Option<&str>,
        edges: &mut Vec<(usize, Span)>,
    ) -> Option<Step> {
        let es = match &n.kind {
            Kind::Map(es) => es,
            _ => {
                self.wrong_type(
                    n,
                    "a step",
                    "a mapping",
                    "write a step as a mapping with one verb, e.g. `- run: make` or `- copy: src`",
                );
                return None;
            }
        };
        let verbs: Vec<&(Node, Node)> = es
            .iter()
            .filter(|(k, _)| k.scalar().is_some_and(|s| VERBS.contains(&s)))
            .collect();
        // `link: true` is a copy modifier: a step with `copy` and `link` is a copy
        let verbs: Vec<&(Node, Node)> = if verbs.len() == 2
            && verbs.iter().any(|(k, _)| k.scalar() == Some("copy"))
            && verbs.iter().any(|(k, _)| k.scalar() == Some("link"))
        {
            verbs
                .into_iter()
                .filter(|(k, _)| k.scalar() == Some("copy"))
                .collect()
        } else {
            verbs
        };
        if verbs.is_empty() {
            let mut help = String::new();
            for (k, _) in es {
                if let Some(s) = k
                    .scalar()
                    .and_then(|s| did_you_mean(s, VERBS.iter().copied()))
                {
                    help = format!("did you mean `{s}`? ");
                    break;
                }
            }
            help.push_str(&format!("a step needs exactly one of {}", list(VERBS)));
            self.err(
                Diagnostic::error("missing-verb", n.span, "step has no verb")
                    .with_label("no verb in this step")
                    .with_help(help),
            );
            return None;
        }
        if verbs.len() > 1 {
            let names: Vec<&str> = verbs.iter().filter_map(|(k, _)| k.scalar()).collect();
            self.err(
                Diagnostic::error(
                    "multiple-verbs",
                    verbs[1].0.span,
                    format!("step has more than one verb: {}", list(&names)),
                )
                .with_label("second verb")
                .with_help(
                    "split it into separate list items, one verb each (`- run: …` and `- copy: …`)",
                ),
            );
            return None;
        }
        let (vk, vv) = verbs[0];
        let verb = vk.scalar().unwrap_or("");
        let verb_span = vk.span.join(vv.span);
        let (valid, ctx): (&[&str], &str) = match verb {
            "run" => (RUN_KEYS, "a `run` step"),
            "copy" => (COPY_KEYS, "a `copy` step"),
            "add" => (ADD_KEYS, "an `add` step"),
            "file" => (FILE_KEYS, "a `file` step"),
            "mkdir" => (MKDIR_KEYS, "a `mkdir` step"),
            "link" => (LINK_KEYS, "a `link` step"),
            _ => (REMOVE_KEYS, "a `remove` step"),
        };
        self.check_keys(
            es,
            valid,
            ctx,
            &[
                ("`run` steps", RUN_KEYS),
                ("`copy` steps", COPY_KEYS),
                ("`add` steps", ADD_KEYS),
                ("`file` steps", FILE_KEYS),
            ],
        );
        let before = self.errors.len();
        let kind = match verb {
            "run" => self.run(es, vv, vars, wd, edges).map(StepKind::Run),
            "copy" => self.copy(es, vv, vars, wd, edges).map(StepKind::Copy),
            "add" => self.add(es, vv, vars, wd).map(StepKind::Add),
            "file" => self.file_step(es, vk, vv, vars, wd),
            "mkdir" => self.mkdir_step(es, vv, vars, wd),
            "link" => self.link_step(es, vk, vv, vars, wd),
            _ => self.remove_step(vv, vars, wd),
        };
        if self.errors.len() > before {
            return None;
        }
        Some(Step {
            span: n.span,
            verb_span,
            kind: kind?,
        })
    }
}
