//! `args:` of the file and of a stage: names, defaults, `--build-arg`s.

use super::*;

impl<'a> Ev<'a> {
    /// `NAME: default` pairs. A name without a value takes, in order: the
    /// `--build-arg`, the value of the same name in `inherit` (predefined
    /// platform args; for stage args also the global args), else is unset.
    pub(super) fn args_common(
        &mut self,
        a: &Node,
        vars: &mut Vars,
        inherit: &Vars,
        declared: &mut HashSet<String>,
        what: &str,
    ) -> Vec<(String, String)> {
        let Some(es) = self.map(
            a,
            what,
            "write `NAME: default` pairs (a name with no value is declared without a default)",
        ) else {
            return vec![];
        };
        let mut out = vec![];
        for (k, v) in es {
            let name = k.scalar().unwrap_or("");
            if !valid_var_name(name) {
                self.err(
                    Diagnostic::error(
                        "invalid-name",
                        k.span,
                        format!("invalid argument name `{name}`"),
                    )
                    .with_label("invalid name")
                    .with_help(
                        "argument names are letters, digits and `_`, not starting with a digit",
                    ),
                );
                continue;
            }
            declared.insert(name.to_string());
            let over = self.opts.build_args.get(name).cloned();
            let value = if v.is_null() {
                over.or_else(|| inherit.get(name).flatten())
            } else if !matches!(v.kind, Kind::Scalar(..)) {
                self.wrong_type(
                    v,
                    &format!("the default of `{name}`"),
                    "a string",
                    "write `NAME: value`",
                );
                continue;
            } else {
                let d = self.istr(v, vars, &format!("the default of `{name}`"));
                match over {
                    Some(o) => Some(o),
                    None => match d {
                        Some(d) => Some(d),
                        None => continue,
                    },
                }
            };
            vars.set(name, value.clone());
            if let Some(val) = value {
                out.push((name.to_string(), val));
            }
            self.known_names.push(name.to_string());
        }
        out
    }
}
