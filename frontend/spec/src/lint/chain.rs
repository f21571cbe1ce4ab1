//! What each stage inherits through `from: <stage>` chains, resolved once
//! for all stages (memoized, so a chain of n stages costs O(n), not O(n²)).

use std::collections::HashMap;

use crate::plan::{Base, Plan};

/// Per stage, by index into `plan.stages`.
pub struct Chains<'p> {
    /// The image (or scratch) at the root of the stage's `from` chain, and the
    /// span of the `from` that names it.
    pub root: Vec<Option<(&'p Base, crate::Span)>>,
    /// The nearest `image.user` along the chain (None: the base image's).
    pub user: Vec<Option<&'p str>>,
    /// Stages that are targets someone runs: the default target (or the last
    /// stage), and every stage with an `entrypoint` or `cmd` that no other
    /// stage builds on.
    pub is_final: Vec<bool>,
    /// The stage named by `from:`, if it is one.
    pub parent: Vec<Option<usize>>,
}

pub fn resolve(plan: &Plan) -> Chains<'_> {
    let n = plan.stages.len();
    let index: HashMap<&str, usize> = plan
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect();
    let parent: Vec<Option<usize>> = plan
        .stages
        .iter()
        .map(|s| match &s.from.value {
            Base::Stage(p) => index.get(p.as_str()).copied(),
            _ => None,
        })
        .collect();
    let mut has_child = vec![false; n];
    for p in parent.iter().flatten() {
        has_child[*p] = true;
    }
    let mut root: Vec<Option<(&Base, crate::Span)>> = vec![None; n];
    let mut user: Vec<Option<&str>> = vec![None; n];
    let mut done = vec![false; n];
    for i in 0..n {
        // Walk up to a resolved stage (or the chain's root), then fill the path.
        let mut path = vec![];
        let mut cur = Some(i);
        while let Some(c) = cur {
            if done[c] || path.len() > n {
                break;
            }
            path.push(c);
            cur = parent[c];
        }
        let (mut r, mut u) = match cur {
            Some(c) if done[c] => (root[c], user[c]),
            _ => (None, None),
        };
        for &c in path.iter().rev() {
            let s = &plan.stages[c];
            if parent[c].is_none() {
                r = Some((&s.from.value, s.from.span));
                u = None;
            }
            if let Some(x) = s.image.user.as_deref() {
                u = Some(x);
            }
            root[c] = r;
            user[c] = u;
            done[c] = true;
        }
    }
    let mut is_final: Vec<bool> = plan
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.image.entrypoint.is_some() || s.image.cmd.is_some()) && !has_child[i])
        .collect();
    match &plan.default {
        Some(d) => {
            if let Some(&i) = index.get(d.value.as_str()) {
                is_final[i] = true;
            }
        }
        None => {
            if let Some(last) = is_final.last_mut() {
                *last = true;
            }
        }
    }
    Chains {
        root,
        user,
        is_final,
        parent,
    }
}

/// Runs `f(stage, state of its parent)` for every stage, parents first, and
/// returns each stage's resulting state (each stage is visited once).
pub fn fold<T: Clone>(
    parent: &[Option<usize>],
    init: T,
    mut f: impl FnMut(usize, T) -> T,
) -> Vec<T> {
    let n = parent.len();
    let mut out: Vec<Option<T>> = vec![None; n];
    for i in 0..n {
        let mut path = vec![];
        let mut cur = Some(i);
        while let Some(c) = cur {
            if out[c].is_some() || path.len() > n {
                break;
            }
            path.push(c);
            cur = parent[c];
        }
        let mut state = match cur.and_then(|c| out[c].clone()) {
            Some(s) => s,
            None => init.clone(),
        };
        for &c in path.iter().rev() {
            state = f(c, state);
            out[c] = Some(state.clone());
        }
    }
    out.into_iter()
        .map(|s| s.unwrap_or_else(|| init.clone()))
        .collect()
}
