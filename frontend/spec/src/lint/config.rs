//! The `lint:` top-level key: `lint: {disable: [rule-id, …]}`.

use super::RULES;
use crate::diag::Diagnostic;
use crate::eval::did_you_mean;
use crate::plan::{LintConfig, Spanned};
use crate::yaml::{Kind, Node};

/// Keys of the `lint:` mapping (the schema and the evaluator share this).
pub const LINT_KEYS: &[&str] = &["disable"];

/// Reads `lint:` (absent: every rule on); problems go to `errors`.
pub fn config(node: Option<&Node>, errors: &mut Vec<Diagnostic>) -> LintConfig {
    let mut cfg = LintConfig::default();
    let Some(node) = node else { return cfg };
    let Kind::Map(entries) = &node.kind else {
        errors.push(wrong_type(
            node,
            "`lint`",
            "a mapping",
            "write `lint: {disable: [unpinned-base]}`",
        ));
        return cfg;
    };
    for (k, v) in entries {
        let key = k.scalar().unwrap_or("");
        if key.starts_with("x-") {
            continue;
        }
        if !LINT_KEYS.contains(&key) {
            errors.push(
                Diagnostic::error(
                    "unknown-key",
                    k.span,
                    format!("unknown key `{key}` in `lint`"),
                )
                .with_label("not a `lint` key")
                .with_help("`lint` has one key, `disable: [rule-id, …]`"),
            );
            continue;
        }
        let items: Vec<&Node> = match &v.kind {
            Kind::Seq(items) => items.iter().collect(),
            Kind::Scalar(..) if !v.is_null() => vec![v],
            _ => {
                errors.push(wrong_type(
                    v,
                    "`lint.disable`",
                    "a list of rule ids",
                    "write `disable: [unpinned-base, root-final]`",
                ));
                continue;
            }
        };
        for item in items {
            let Some(id) = item.scalar() else {
                errors.push(wrong_type(
                    item,
                    "a rule id",
                    "a string",
                    "write rule ids such as `unpinned-base`",
                ));
                continue;
            };
            if !RULES.iter().any(|r| r.id == id) {
                let mut help = match did_you_mean(id, RULES.iter().map(|r| r.id)) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                help.push_str("the rules are listed in docs/lint.md: ");
                help.push_str(&RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", "));
                errors.push(
                    Diagnostic::error(
                        "unknown-lint-rule",
                        item.span,
                        format!("`{id}` is not a lint rule"),
                    )
                    .with_label("unknown rule id")
                    .with_help(help),
                );
                continue;
            }
            cfg.disable.push(Spanned {
                value: id.to_string(),
                span: item.span,
            });
        }
    }
    cfg
}

fn wrong_type(n: &Node, what: &str, expected: &str, help: &str) -> Diagnostic {
    Diagnostic::error(
        "wrong-type",
        n.span,
        format!("{what} must be {expected}, found {}", n.type_name()),
    )
    .with_label(format!("expected {expected}"))
    .with_help(help.to_string())
}
