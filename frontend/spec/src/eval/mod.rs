//! Stage 2: spanned YAML tree -> validated, interpolated [`Plan`].
//!
//! Every problem is collected (not just the first); the plan is returned only
//! when there is no error.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::diag::{Diagnostic, Severity, Span};
use crate::interp::{interpolate_max, InterpError, InterpErrorKind, Scope};
use crate::limits::*;
use crate::plan::*;
use crate::platform::parse_platform;
use crate::yaml::{is_bool_str, is_null_str, span_text, Kind, Node, Style};
use crate::EvalOptions;

mod args;
mod copy;
mod env;
mod file;
mod fileops;
mod from;
mod graph;
mod hints;
mod image;
mod interpolation;
mod keys;
mod mounts;
mod names;
mod report;
mod run;
mod scalars;
mod stage;
mod step;
mod values;
mod vars;

pub use hints::*;
pub use keys::*;
pub use names::*;
pub use scalars::*;
use vars::Vars;

/// Takes the value of the first `key:` entry out of a mapping (an empty
/// scalar is left in its place), so that it can be owned and freed piece by
/// piece.
fn take_value<'s>(n: &mut Node<'s>, key: &str) -> Option<Node<'s>> {
    let Kind::Map(es) = &mut n.kind else {
        return None;
    };
    let (_, v) = es.iter_mut().find(|(k, _)| k.scalar() == Some(key))?;
    let span = v.span;
    Some(std::mem::replace(v, Node::empty_at(span)))
}

fn get<'n, 's>(es: &'n [(Node<'s>, Node<'s>)], key: &str) -> Option<&'n Node<'s>> {
    es.iter()
        .find(|(k, _)| k.scalar() == Some(key))
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------- evaluator

pub struct Ev<'a> {
    src: &'a str,
    opts: &'a EvalOptions,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    stage_names: Vec<String>,
    /// `stage_names` by name (first occurrence), for O(1) lookups.
    stage_index: HashMap<String, usize>,
    known_names: Vec<String>,
    /// Work left for "did you mean" hints over the spec's own names.
    hint_budget: usize,
    /// Hints over the stage names by word, found once (thousands of
    /// `from: alpine` ask the same question).
    stage_hints: HashMap<String, Option<String>>,
    /// Bytes interpolation has produced so far (`MAX_EXPANDED_BYTES`).
    expanded: usize,
    /// Scope entries copied into stages and steps so far
    /// (`MAX_INHERITED_ENTRIES`).
    copied: usize,
    /// Errors past `MAX_ERRORS`: how many, and where the first was.
    pub dropped: Option<(usize, Span)>,
    /// A budget ran out: evaluation stops at the next stage.
    pub aborted: bool,
}

/// Per-stage results of the first pass.
struct Pre {
    args: Vec<(String, String)>,
    vars: Vars,
    from: Option<Spanned<Base>>,
    platform: Option<Spanned<Platform>>,
}

impl<'a> Ev<'a> {
    pub fn new(src: &'a str, opts: &'a EvalOptions) -> Self {
        Ev {
            src,
            opts,
            errors: vec![],
            warnings: vec![],
            stage_names: vec![],
            stage_index: HashMap::new(),
            known_names: vec![],
            hint_budget: MAX_HINT_WORK,
            stage_hints: HashMap::new(),
            expanded: 0,
            copied: 0,
            dropped: None,
            aborted: false,
        }
    }
}

pub(super) fn items_of<'n, 's>(n: &'n Node<'s>) -> Vec<&'n Node<'s>> {
    match &n.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![n],
    }
}
