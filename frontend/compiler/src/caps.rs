//! What the server can do, from its LLB caps (Ping). Features that a daemon
//! lacks either degrade (with a warning) or fail with a message that names
//! the feature, the cap and the BuildKit version that has it.

use std::collections::BTreeSet;

use slipway_spec::{Diagnostic, Span};

#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerCaps<'a> {
    /// None: assume a current BuildKit (offline compile).
    set: Option<&'a BTreeSet<String>>,
}

impl<'a> ServerCaps<'a> {
    pub fn new(set: Option<&'a BTreeSet<String>>) -> Self {
        ServerCaps { set }
    }

    pub fn has(&self, cap: &str) -> bool {
        self.set.is_none_or(|s| s.contains(cap))
    }

    pub fn missing(&self, span: Span, feature: &str, cap: &str, since: &str) -> Diagnostic {
        Diagnostic::error(
            "unsupported-by-daemon",
            span,
            format!(
                "{feature} need the BuildKit capability `{cap}`, which this daemon does not have"
            ),
        )
        .with_help(format!(
            "use a daemon with {since} or later, or rewrite this step without the feature"
        ))
    }
}
