//! Target selection: which stages a build needs.
//!
//! `--target` names a stage or a group; no target means `default:`, else the
//! last stage. Only the selected stages and what they depend on (through
//! `from`, `copy.from`, `bind.from` and `cache.from`) are compiled, so
//! unrelated stages never reach BuildKit.

use std::collections::BTreeSet;

use slipway_spec::{Base, Diagnostic, From, Plan, Span, Stage, StepKind};

/// The stages a target resolves to: the members whose results are wanted
/// (one for a stage, several for a group; the last one is the image), in
/// order, without duplicates.
pub fn resolve_target(plan: &Plan, target: Option<&str>) -> Result<Vec<usize>, Diagnostic> {
    let name = match target {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => match &plan.default {
            Some(d) => d.value.clone(),
            None => match plan.stages.last() {
                Some(s) => s.name.value.clone(),
                None => {
                    // (The spec crate refuses a spec without stages, so
                    // only a plan built by hand gets here.)
                    return Err(Diagnostic::error(
                        "no-stages",
                        Span::new(
                            slipway_spec::Pos {
                                line: 1,
                                col: 1,
                                offset: 0,
                            },
                            slipway_spec::Pos {
                                line: 1,
                                col: 1,
                                offset: 0,
                            },
                        ),
                        "the spec has no stages, so there is nothing to build",
                    )
                    .with_help("add a `stages:` map with at least one stage"));
                }
            },
        },
    };
    // Stages and groups by name, looked up once per member (a scan per
    // member was quadratic in large groups).
    let stages = index(plan);
    let groups: std::collections::HashMap<&str, usize> = plan
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.value.as_str(), i))
        .collect();
    let mut out = Vec::new();
    let mut taken = vec![false; plan.stages.len()];
    let mut expanded = vec![false; plan.groups.len()];
    // Depth-first, members in order, without recursion: (group, next member).
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut visit = |n: &str, stack: &mut Vec<(usize, usize)>| -> Result<(), ()> {
        if let Some(&i) = stages.get(n) {
            if !std::mem::replace(&mut taken[i], true) {
                out.push(i);
            }
            return Ok(());
        }
        let g = *groups.get(n).ok_or(())?;
        // The spec crate rejects group cycles; a group is expanded once
        // anyway, so a bad plan cannot loop.
        if !std::mem::replace(&mut expanded[g], true) {
            stack.push((g, 0));
        }
        Ok(())
    };
    visit(&name, &mut stack).map_err(|_| unknown_target(plan, &name))?;
    while let Some((g, m)) = stack.pop() {
        let Some(member) = plan.groups[g].members.get(m) else {
            continue;
        };
        stack.push((g, m + 1));
        visit(&member.value, &mut stack).map_err(|_| unknown_target(plan, &member.value))?;
    }
    Ok(out)
}

fn unknown_target(plan: &Plan, name: &str) -> Diagnostic {
    let mut valid: Vec<String> = plan.stages.iter().map(|s| s.name.value.clone()).collect();
    let groups: Vec<String> = plan.groups.iter().map(|g| g.name.value.clone()).collect();
    let mut help = format!("valid stages: {}", some(&valid));
    if !groups.is_empty() {
        help.push_str(&format!("; groups: {}", some(&groups)));
    }
    valid.extend(groups);
    if let Some(close) = closest(name, &valid) {
        help = format!("did you mean `{close}`? {help}");
    }
    Diagnostic::error(
        "unknown-target",
        Span::default(),
        format!(
            "target `{name}` is not a stage or group of {}",
            plan.filename
        ),
    )
    .with_help(help)
}

/// The first `MAX_LISTED_NAMES` names, and how many more there are.
fn some(names: &[String]) -> String {
    let max = slipway_spec::limits::MAX_LISTED_NAMES;
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(&format!(" and {} more", names.len() - max));
    }
    s
}

fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let len = name.chars().count();
    candidates
        .iter()
        // A name whose length differs by more than 3 is never close.
        .filter(|c| c.chars().count().abs_diff(len) <= 3)
        .map(|c| (levenshtein(name, c), c))
        .filter(|(d, _)| {
            *d <= match name.chars().count() {
                0..=3 => 1,
                4..=7 => 2,
                _ => 3,
            }
        })
        .min()
        .map(|(_, c)| c.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

pub fn stage_index(plan: &Plan, name: &str) -> Option<usize> {
    plan.stages.iter().position(|s| s.name.value == name)
}

/// Stage name → index, built once per compile so lookups stay O(1) on specs
/// with thousands of stages. Lookup only (never iterated), so its order
/// cannot reach the output.
pub type StageIndex<'a> = std::collections::HashMap<&'a str, usize>;

pub fn index(plan: &Plan) -> StageIndex<'_> {
    plan.stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.value.as_str(), i))
        .collect()
}

/// Names of the stages `stage` reads from directly.
pub fn stage_deps(stage: &Stage) -> Vec<&str> {
    let mut deps = Vec::new();
    if let Base::Stage(s) = &stage.from.value {
        deps.push(s.as_str());
    }
    fn stage_of(f: Option<&From>) -> Option<&str> {
        match f {
            Some(From::Stage(s)) => Some(s.as_str()),
            _ => None,
        }
    }
    for step in &stage.steps {
        match &step.kind {
            StepKind::Copy(c) => deps.extend(stage_of(c.from.as_ref().map(|f| &f.value))),
            StepKind::Run(r) => {
                deps.extend(r.binds.iter().filter_map(|b| stage_of(b.from.as_ref())));
                deps.extend(r.cache.iter().filter_map(|c| stage_of(c.from.as_ref())));
            }
            _ => {}
        }
    }
    deps
}

/// The selected stages plus everything they depend on, as a set of indexes.
/// Cycles are rejected by the spec crate; the visited set keeps this
/// terminating regardless.
pub fn closure(plan: &Plan, idx: &StageIndex, roots: &[usize]) -> BTreeSet<usize> {
    closure_with_deps(plan, idx, roots).0
}

/// [`closure`], and per stage of the plan the indexes of the stages it reads
/// from directly (filled for the stages of the closure, for [`topo_order`]).
pub fn closure_with_deps(
    plan: &Plan,
    idx: &StageIndex,
    roots: &[usize],
) -> (BTreeSet<usize>, Vec<Vec<usize>>) {
    let mut seen = BTreeSet::new();
    let mut deps = vec![Vec::new(); plan.stages.len()];
    let mut stack: Vec<usize> = roots.to_vec();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        deps[i] = stage_deps(&plan.stages[i])
            .into_iter()
            .filter_map(|d| idx.get(d).copied())
            .collect();
        stack.extend_from_slice(&deps[i]);
    }
    (seen, deps)
}

/// The selected stages in an order where every stage comes after the stages
/// it reads from (iterative post-order DFS, so a 10,000-stage chain cannot
/// overflow the stack). Ties follow file order, which keeps output stable.
/// `deps`: per stage, the stages it reads from ([`closure_with_deps`]).
pub fn topo_order(deps: &[Vec<usize>], stages: &BTreeSet<usize>) -> Vec<usize> {
    // Per stage of the plan.
    let mut done = vec![false; deps.len()];
    let mut on_stack = vec![false; deps.len()];
    let mut order = Vec::with_capacity(stages.len());
    for &root in stages {
        if done[root] {
            continue;
        }
        // (stage, expanded?)
        let mut stack = vec![(root, false)];
        while let Some((i, expanded)) = stack.pop() {
            if expanded {
                on_stack[i] = false;
                if !std::mem::replace(&mut done[i], true) {
                    order.push(i);
                }
                continue;
            }
            if done[i] || std::mem::replace(&mut on_stack[i], true) {
                continue;
            }
            stack.push((i, true));
            for &j in deps[i].iter().rev() {
                if !done[j] && !on_stack[j] {
                    stack.push((j, false));
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("runtime", "runtim"), 1);
        assert_eq!(levenshtein("tset", "test"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    #[test]
    fn closest_picks_near_names_only() {
        let c = vec!["runtime".to_string(), "builder".to_string()];
        assert_eq!(closest("runtim", &c), Some("runtime"));
        assert_eq!(closest("zzzzzz", &c), None);
    }
}
