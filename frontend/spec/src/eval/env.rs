//! Env-like maps (`NAME: value`), read or chained into a scope.

use super::*;

impl<'a> Ev<'a> {
    /// env-like map: NAME: value (values interpolated; each value is visible to
    /// the next ones when `chain` is set).
    pub(super) fn env_map(
        &mut self,
        n: &Node,
        vars: &mut Vars,
        what: &str,
        chain: bool,
    ) -> Vec<(String, String)> {
        if chain {
            self.env_map_in(n, None, Some(vars), what)
        } else {
            self.env_map_in(n, Some(vars), None, what)
        }
    }

    /// [`Self::env_map`] without `chain`: the scope is only read (no copy).
    pub(super) fn env_map_read(
        &mut self,
        n: &Node,
        vars: &Vars,
        what: &str,
    ) -> Vec<(String, String)> {
        self.env_map_in(n, Some(vars), None, what)
    }

    /// Reads in `read`, or reads and sets in `chained` (exactly one given).
    pub(super) fn env_map_in(
        &mut self,
        n: &Node,
        read: Option<&Vars>,
        mut chained: Option<&mut Vars>,
        what: &str,
    ) -> Vec<(String, String)> {
        let Some(es) = self.map(n, what, "write `NAME: value` pairs") else {
            return vec![];
        };
        if es.len() > MAX_ENV_ENTRIES {
            let at = es[MAX_ENV_ENTRIES].0.span;
            self.too_large(
                at,
                format!(
                    "{what} has {} entries, more than {MAX_ENV_ENTRIES}",
                    es.len()
                ),
                "a build spec should be small: pass large data as files of the build context",
            );
            return vec![];
        }
        let mut out = vec![];
        for (k, v) in es {
            let Some(name) = k.scalar() else { continue };
            if name.is_empty() || name.contains('=') || name.chars().any(char::is_whitespace) {
                self.err(
                    Diagnostic::error(
                        "invalid-name",
                        k.span,
                        format!("invalid variable name `{name}` in {what}"),
                    )
                    .with_label("invalid name")
                    .with_help("names must be non-empty, without `=` or spaces"),
                );
                continue;
            }
            let scope: &Vars = match (chained.as_deref(), read) {
                (Some(c), _) => c,
                (None, Some(r)) => r,
                (None, None) => return out,
            };
            let Some(val) = self.istr(v, scope, &format!("the value of `{name}`")) else {
                continue;
            };
            if let Some(c) = chained.as_deref_mut() {
                c.set(name, Some(val.clone()));
            }
            out.push((name.to_string(), val));
        }
        out
    }
}
