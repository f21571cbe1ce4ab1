//! What a target takes from the person building it: the build args it uses
//! (with their values and the comment that documents them), the secrets and
//! SSH agents its `run` steps mount.
//!
//! Which args a target uses: every arg of its stages, and every global arg
//! that a stage of the target (or the default of an arg it uses) names as
//! `$NAME` / `${NAME…}` anywhere — interpolated fields and `run` commands
//! alike, aliases expanded.

use std::collections::{BTreeMap, BTreeSet};

use slipway_spec::yaml::{self, Kind, Node};
use slipway_spec::{Diagnostics, Plan, Span, StepKind};

use super::doc_comment;
use crate::targets as sel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The target (as given, or the default one).
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<ArgEntry>,
    pub secrets: Vec<MountEntry>,
    pub ssh: Vec<MountEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgEntry {
    pub name: String,
    /// After `--build-arg`s; None: declared without a value and unset.
    pub value: Option<String>,
    /// The comment above the arg (or after its value).
    pub description: Option<String>,
    /// The stage that declares it; None for a global arg.
    pub stage: Option<String>,
    /// The arg's key in the spec (unknown if it could not be found).
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    pub id: String,
    /// Any step mounting it requires it.
    pub required: bool,
    /// The first mount of this id.
    pub span: Span,
}

/// The outline of `target` (None: the default target).
pub fn outline(plan: &Plan, target: Option<&str>) -> Result<Outline, Diagnostics> {
    let diags = |d| Diagnostics {
        filename: plan.filename.clone(),
        source: plan.source.clone(),
        items: vec![d],
    };
    let roots = sel::resolve_target(plan, target).map_err(diags)?;
    let name = match target {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => super::default_target(plan).unwrap_or_default().to_string(),
    };
    let description = match sel::stage_index(plan, &name) {
        Some(i) => plan.stages[i].description.clone(),
        None => plan.groups.iter().find(|g| g.name.value == name).map(|g| {
            let m: Vec<&str> = g.members.iter().map(|m| m.value.as_str()).collect();
            format!("group: {}", m.join(", "))
        }),
    };
    let idx = sel::index(plan);
    let stages = sel::closure(plan, &idx, &roots);

    let parsed = yaml::parse(&plan.source);
    let lines: Vec<&str> = plan.source.lines().collect();
    let root = parsed.root.as_ref();
    // Stage name → its YAML node (sorted once, binary search: specs may have
    // thousands of stages).
    let mut stage_nodes: Vec<(&str, &Node)> = root
        .and_then(|r| get(r, "stages"))
        .map(entries)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| Some((k.scalar()?, v)))
        .collect();
    stage_nodes.sort_unstable_by_key(|(k, _)| *k);
    let stage_node = |name: &str| {
        stage_nodes
            .binary_search_by_key(&name, |(k, _)| *k)
            .ok()
            .map(|i| stage_nodes[i].1)
    };

    // Names the target's stages mention.
    let mut mentioned = BTreeSet::new();
    for &i in &stages {
        if let Some(n) = stage_node(&plan.stages[i].name.value) {
            mentions_in(n, &mut mentioned);
        }
    }

    let mut args = Vec::new();
    let mut seen = BTreeSet::new();
    // Global args: an arg's default may name earlier args, so walk them
    // last to first, adding what a used arg's default names.
    let globals = root
        .and_then(|r| get(r, "args"))
        .map(entries)
        .unwrap_or_default();
    let values: BTreeMap<&str, &str> = plan
        .args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut used_globals = Vec::new();
    for (k, v) in globals.iter().rev() {
        let Some(name) = k.scalar() else { continue };
        if mentioned.contains(name) {
            mentions_in(v, &mut mentioned);
            used_globals.push((*k, *v));
        }
    }
    used_globals.reverse();
    for (k, v) in used_globals {
        let name = k.scalar().unwrap_or_default();
        if seen.insert(name.to_string()) {
            args.push(arg_entry(
                &lines,
                k,
                v,
                values.get(name).map(|s| s.to_string()),
                None,
            ));
        }
    }
    for &i in &stages {
        let st = &plan.stages[i];
        let node = stage_node(&st.name.value);
        let decl = node
            .and_then(|n| get(n, "args"))
            .map(entries)
            .unwrap_or_default();
        for (k, v) in decl {
            let name = k.scalar().unwrap_or_default();
            if seen.insert(name.to_string()) {
                let value = st
                    .args
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone());
                args.push(arg_entry(&lines, k, v, value, Some(st.name.value.clone())));
            }
        }
    }
    args.sort_by_key(|a| a.span.start);

    // By id: the first mount's place; required if any mount requires it.
    let mut secrets: BTreeMap<&str, MountEntry> = BTreeMap::new();
    let mut ssh: BTreeMap<&str, MountEntry> = BTreeMap::new();
    fn add<'p>(list: &mut BTreeMap<&'p str, MountEntry>, id: &'p str, required: bool, span: Span) {
        list.entry(id)
            .and_modify(|m| m.required |= required)
            .or_insert_with(|| MountEntry {
                id: id.to_string(),
                required,
                span,
            });
    }
    for &i in &stages {
        for step in &plan.stages[i].steps {
            if let StepKind::Run(r) = &step.kind {
                for s in &r.secrets {
                    add(&mut secrets, &s.id, s.required, s.span);
                }
                for s in &r.ssh {
                    add(&mut ssh, &s.id, s.required, s.span);
                }
            }
        }
    }
    let mut secrets: Vec<MountEntry> = secrets.into_values().collect();
    let mut ssh: Vec<MountEntry> = ssh.into_values().collect();
    secrets.sort_by_key(|m| m.span.start);
    ssh.sort_by_key(|m| m.span.start);
    Ok(Outline {
        name,
        description,
        args,
        secrets,
        ssh,
    })
}

fn arg_entry(
    lines: &[&str],
    k: &Node,
    v: &Node,
    value: Option<String>,
    stage: Option<String>,
) -> ArgEntry {
    let value_end = (!v.is_null() || v.span.end.line == k.span.start.line)
        .then_some((v.span.end.line, v.span.end.col))
        .filter(|(l, _)| *l != 0);
    ArgEntry {
        name: k.scalar().unwrap_or_default().to_string(),
        value,
        description: doc_comment(lines, k.span.start.line, value_end),
        stage,
        span: k.span,
    }
}

/// The value of `key` in a mapping node.
fn get<'a, 's>(map: &'a Node<'s>, key: &str) -> Option<&'a Node<'s>> {
    match &map.kind {
        Kind::Map(es) => es
            .iter()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn entries<'a, 's>(map: &'a Node<'s>) -> Vec<(&'a Node<'s>, &'a Node<'s>)> {
    match &map.kind {
        Kind::Map(es) => es.iter().map(|(k, v)| (k, v)).collect(),
        _ => Vec::new(),
    }
}

/// Every `$NAME` / `${NAME` in the scalars under `node` (no recursion: an
/// explicit stack, as the parser's nesting is bounded but deep).
fn mentions_in(node: &Node, out: &mut BTreeSet<String>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match &n.kind {
            Kind::Scalar(s, _) => names_in(s, out),
            Kind::Seq(items) => stack.extend(items.iter()),
            Kind::Map(es) => {
                for (k, v) in es {
                    stack.push(k);
                    stack.push(v);
                }
            }
        }
    }
}

fn names_in(s: &str, out: &mut BTreeSet<String>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        if b.get(i) == Some(&b'$') {
            i += 1;
            continue;
        }
        if b.get(i) == Some(&b'{') {
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        if i > start && !b[start].is_ascii_digit() {
            out.insert(s[start..i].to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_names() {
        let mut s = BTreeSet::new();
        names_in("a $A ${B:-$C} $$D $1 ${E} $", &mut s);
        let v: Vec<&str> = s.iter().map(|s| s.as_str()).collect();
        assert_eq!(v, ["A", "B", "C", "E"]);
    }
}
