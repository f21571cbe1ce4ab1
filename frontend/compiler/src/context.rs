//! The build context: which paths the compiled stages read from it.
//!
//! BuildKit transfers only what a local source's include patterns name, so
//! Slipway sends exactly the paths its copy steps and context bind mounts
//! read (like the Dockerfile frontend's follow-paths), and nothing at all
//! when no selected stage touches the context.

use std::collections::BTreeSet;

use slipway_spec::{From, Plan, StepKind};

use crate::paths;

/// Include patterns for `local://context`, sorted and deduplicated; None
/// when some step reads the whole context (then no filter is sent).
pub fn include_patterns(plan: &Plan, stages: &BTreeSet<usize>) -> Option<Vec<String>> {
    let mut out = BTreeSet::new();
    let is_context = |f: Option<&From>| match f {
        None => true,
        Some(From::Other(x)) => x == "context",
        Some(From::Stage(_)) => false,
    };
    for &i in stages {
        for step in &plan.stages[i].steps {
            match &step.kind {
                StepKind::Copy(c) if is_context(c.from.as_ref().map(|f| &f.value)) => {
                    for s in &c.sources {
                        out.insert(paths::context_relative(&s.value));
                    }
                }
                StepKind::Run(r) => {
                    for b in r.binds.iter().filter(|b| is_context(b.from.as_ref())) {
                        out.insert(paths::context_relative(b.source.as_deref().unwrap_or(".")));
                    }
                    for c in r
                        .cache
                        .iter()
                        .filter(|c| c.from.is_some() && is_context(c.from.as_ref()))
                    {
                        out.insert(paths::context_relative(c.source.as_deref().unwrap_or(".")));
                    }
                }
                _ => {}
            }
        }
    }
    if out.contains(".") {
        None
    } else {
        Some(out.into_iter().collect())
    }
}
