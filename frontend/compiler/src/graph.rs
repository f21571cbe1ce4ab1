//! `slipway graph`: the stage graph of a plan as Graphviz dot or Mermaid.
//!
//! Nodes are the stages, the base images and external sources they read
//! (images, named contexts, the build context) and the groups; edges are the
//! `from`, `copy.from`, `bind.from` and `cache.from` reads (plus copies from the
//! build context). The chosen target (default: `default:`, else the last
//! stage) is drawn bold; the stages it does not need — what it prunes — are
//! grey and dashed, with the edges into them. Pure and linear in the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use slipway_spec::{Base, Diagnostic, From, Plan, StepKind};

use crate::targets;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeKind {
    From,
    Copy,
    Bind,
    Cache,
}

impl EdgeKind {
    fn label(self) -> &'static str {
        match self {
            EdgeKind::From => "from",
            EdgeKind::Copy => "copy",
            EdgeKind::Bind => "bind",
            EdgeKind::Cache => "cache",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum NodeId {
    Stage(usize),
    /// An image, named context or `context`, by its first appearance.
    External(usize),
}

struct Model {
    externals: Vec<String>,
    /// (source, stage, kind) → count, in first-seen order.
    edges: Vec<(NodeId, usize, EdgeKind, usize)>,
}

fn model(plan: &Plan) -> Model {
    let idx = targets::index(plan);
    let mut externals: Vec<String> = Vec::new();
    let mut ext_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut edges: Vec<(NodeId, usize, EdgeKind, usize)> = Vec::new();
    let mut seen: BTreeMap<(NodeId, usize, EdgeKind), usize> = BTreeMap::new();
    let mut ext = |name: &str, externals: &mut Vec<String>| -> NodeId {
        let n = *ext_index.entry(name.to_string()).or_insert_with(|| {
            externals.push(name.to_string());
            externals.len() - 1
        });
        NodeId::External(n)
    };
    let mut add = |src: NodeId,
                   dst: usize,
                   kind: EdgeKind,
                   edges: &mut Vec<(NodeId, usize, EdgeKind, usize)>| {
        match seen.get(&(src.clone(), dst, kind)) {
            Some(&i) => edges[i].3 += 1,
            None => {
                seen.insert((src.clone(), dst, kind), edges.len());
                edges.push((src, dst, kind, 1));
            }
        }
    };
    for (i, st) in plan.stages.iter().enumerate() {
        match &st.from.value {
            Base::Scratch => {}
            Base::Stage(s) => {
                if let Some(&j) = idx.get(s.as_str()) {
                    add(NodeId::Stage(j), i, EdgeKind::From, &mut edges);
                }
            }
            Base::Image(im) => {
                let n = ext(im, &mut externals);
                add(n, i, EdgeKind::From, &mut edges);
            }
        }
        let mut source =
            |f: Option<&From>, kind: EdgeKind, externals: &mut Vec<String>, edges: &mut Vec<_>| {
                let node = match f {
                    Some(From::Stage(s)) => match idx.get(s.as_str()) {
                        Some(&j) => NodeId::Stage(j),
                        None => return,
                    },
                    Some(From::Other(o)) => ext(o, externals),
                    None => ext("context", externals),
                };
                add(node, i, kind, edges);
            };
        for step in &st.steps {
            match &step.kind {
                StepKind::Copy(c) => source(
                    c.from.as_ref().map(|f| &f.value),
                    EdgeKind::Copy,
                    &mut externals,
                    &mut edges,
                ),
                StepKind::Run(r) => {
                    for b in &r.binds {
                        source(b.from.as_ref(), EdgeKind::Bind, &mut externals, &mut edges);
                    }
                    for c in &r.cache {
                        if c.from.is_some() {
                            source(c.from.as_ref(), EdgeKind::Cache, &mut externals, &mut edges);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Model { externals, edges }
}

/// The graph text. `target`: a stage or group (None: the default target).
pub fn graph(plan: &Plan, target: Option<&str>, format: GraphFormat) -> Result<String, Diagnostic> {
    let roots = targets::resolve_target(plan, target)?;
    let idx = targets::index(plan);
    let kept = targets::closure(plan, &idx, &roots);
    let m = model(plan);
    let target_name = match target {
        Some(t) if !t.is_empty() => t.to_string(),
        _ => plan
            .default
            .as_ref()
            .map(|d| d.value.clone())
            .unwrap_or_else(|| {
                plan.stages
                    .last()
                    .map(|s| s.name.value.clone())
                    .unwrap_or_default()
            }),
    };
    // An external node is pruned when every stage reading it is.
    let mut ext_used: BTreeSet<usize> = BTreeSet::new();
    for (src, dst, _, _) in &m.edges {
        if let NodeId::External(e) = src {
            if kept.contains(dst) {
                ext_used.insert(*e);
            }
        }
    }
    let roots: BTreeSet<usize> = roots.into_iter().collect();
    let title = format!(
        "{}: target `{}` builds {} of {} stages",
        plan.filename,
        target_name,
        kept.len(),
        plan.stages.len()
    );
    Ok(match format {
        GraphFormat::Dot => dot(plan, &m, &kept, &ext_used, &roots, &target_name, &title),
        GraphFormat::Mermaid => mermaid(plan, &m, &kept, &ext_used, &roots, &target_name, &title),
    })
}

fn dot_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                o.push('\\');
                o.push(c);
            }
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn node_name(n: &NodeId) -> String {
    match n {
        NodeId::Stage(i) => format!("s{i}"),
        NodeId::External(e) => format!("x{e}"),
    }
}

fn dot(
    plan: &Plan,
    m: &Model,
    kept: &BTreeSet<usize>,
    ext_used: &BTreeSet<usize>,
    roots: &BTreeSet<usize>,
    target: &str,
    title: &str,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph slipway {{");
    let _ = writeln!(o, "  rankdir=LR;");
    let _ = writeln!(
        o,
        "  label={}; labelloc=t; fontname=\"Helvetica\";",
        dot_str(title)
    );
    let _ = writeln!(o, "  node [fontname=\"Helvetica\", fontsize=11];");
    let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=9];");
    for (e, name) in m.externals.iter().enumerate() {
        let shape = if name == "context" { "folder" } else { "note" };
        let style = if ext_used.contains(&e) {
            "color=\"#555555\", fontcolor=\"#333333\"".to_string()
        } else {
            "color=\"#bbbbbb\", fontcolor=\"#bbbbbb\", style=dashed".to_string()
        };
        let _ = writeln!(
            o,
            "  x{e} [label={}, shape={shape}, {style}];",
            dot_str(name)
        );
    }
    for (i, st) in plan.stages.iter().enumerate() {
        let mut label = st.name.value.clone();
        if let Some(d) = &st.description {
            let mut d: String = d.chars().take(40).collect();
            if d.len() < st.description.as_deref().map_or(0, str::len) {
                d.push('…');
            }
            label.push('\n');
            label.push_str(&d);
        }
        let style = if roots.contains(&i) {
            "style=\"rounded,bold,filled\", fillcolor=\"#d8ecff\", penwidth=2"
        } else if kept.contains(&i) {
            "style=\"rounded,filled\", fillcolor=\"#eef6ff\""
        } else {
            "style=\"rounded,dashed\", color=\"#bbbbbb\", fontcolor=\"#999999\""
        };
        let _ = writeln!(o, "  s{i} [label={}, shape=box, {style}];", dot_str(&label));
    }
    for (src, dst, kind, n) in &m.edges {
        let pruned = !kept.contains(dst);
        let mut attrs = vec![format!(
            "label={}",
            dot_str(&if *n > 1 {
                format!("{} ×{n}", kind.label())
            } else {
                kind.label().to_string()
            })
        )];
        match kind {
            EdgeKind::From => attrs.push("penwidth=2".into()),
            EdgeKind::Copy => {}
            EdgeKind::Bind => attrs.push("style=dashed".into()),
            EdgeKind::Cache => attrs.push("style=dotted".into()),
        }
        if pruned {
            attrs.push("color=\"#bbbbbb\", fontcolor=\"#bbbbbb\"".into());
            if *kind != EdgeKind::Cache {
                attrs.retain(|a| !a.starts_with("style"));
                attrs.push("style=dashed".into());
            }
        }
        let _ = writeln!(o, "  {} -> s{dst} [{}];", node_name(src), attrs.join(", "));
    }
    for (g, grp) in plan.groups.iter().enumerate() {
        let bold = if grp.name.value == target {
            ", penwidth=2"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "  g{g} [label={}, shape=component, style=filled, fillcolor=\"#fff4d6\"{bold}];",
            dot_str(&format!("group {}", grp.name.value))
        );
        for mem in &grp.members {
            if let Some(i) = targets::stage_index(plan, &mem.value) {
                let _ = writeln!(
                    o,
                    "  g{g} -> s{i} [style=dotted, arrowhead=odot, color=\"#c9a227\"];"
                );
            } else if let Some(h) = plan.groups.iter().position(|x| x.name.value == mem.value) {
                let _ = writeln!(
                    o,
                    "  g{g} -> g{h} [style=dotted, arrowhead=odot, color=\"#c9a227\"];"
                );
            }
        }
    }
    o.push_str("}\n");
    o
}

fn mm_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("#quot;"),
            '\n' => o.push_str("<br/>"),
            '<' => o.push_str("#lt;"),
            '>' => o.push_str("#gt;"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn mermaid(
    plan: &Plan,
    m: &Model,
    kept: &BTreeSet<usize>,
    ext_used: &BTreeSet<usize>,
    roots: &BTreeSet<usize>,
    target: &str,
    title: &str,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "---\ntitle: {}\n---", mm_str(title));
    let _ = writeln!(o, "flowchart LR");
    for (e, name) in m.externals.iter().enumerate() {
        let _ = writeln!(o, "  x{e}[/{}/]", mm_str(name));
    }
    for (i, st) in plan.stages.iter().enumerate() {
        let _ = writeln!(o, "  s{i}({})", mm_str(&st.name.value));
    }
    for (g, grp) in plan.groups.iter().enumerate() {
        let _ = writeln!(
            o,
            "  g{g}{{{{{}}}}}",
            mm_str(&format!("group {}", grp.name.value))
        );
    }
    let mut pruned_links = Vec::new();
    for (link, (src, dst, kind, n)) in m.edges.iter().enumerate() {
        let label = if *n > 1 {
            format!("{} ×{n}", kind.label())
        } else {
            kind.label().to_string()
        };
        let arrow = match kind {
            EdgeKind::From => "==>",
            EdgeKind::Copy => "-->",
            EdgeKind::Bind | EdgeKind::Cache => "-.->",
        };
        let _ = writeln!(o, "  {} {arrow}|{}| s{dst}", node_name(src), mm_str(&label));
        if !kept.contains(dst) {
            pruned_links.push(link);
        }
    }
    for (g, grp) in plan.groups.iter().enumerate() {
        for mem in &grp.members {
            let to = if let Some(i) = targets::stage_index(plan, &mem.value) {
                format!("s{i}")
            } else if let Some(h) = plan.groups.iter().position(|x| x.name.value == mem.value) {
                format!("g{h}")
            } else {
                continue;
            };
            let _ = writeln!(o, "  g{g} -.-o {to}");
        }
    }
    let _ = writeln!(
        o,
        "  classDef target fill:#d8ecff,stroke:#1f5f99,stroke-width:3px;"
    );
    let _ = writeln!(o, "  classDef kept fill:#eef6ff,stroke:#1f5f99;");
    let _ = writeln!(
        o,
        "  classDef pruned fill:#ffffff,stroke:#bbbbbb,color:#999999,stroke-dasharray:5 5;"
    );
    let _ = writeln!(o, "  classDef external fill:#f6f6f6,stroke:#555555;");
    let _ = writeln!(o, "  classDef group fill:#fff4d6,stroke:#c9a227;");
    let class = |o: &mut String, name: &str, ids: Vec<String>| {
        if !ids.is_empty() {
            let _ = writeln!(o, "  class {} {name};", ids.join(","));
        }
    };
    class(
        &mut o,
        "target",
        roots.iter().map(|i| format!("s{i}")).collect(),
    );
    class(
        &mut o,
        "kept",
        kept.iter()
            .filter(|i| !roots.contains(i))
            .map(|i| format!("s{i}"))
            .collect(),
    );
    class(
        &mut o,
        "pruned",
        (0..plan.stages.len())
            .filter(|i| !kept.contains(i))
            .map(|i| format!("s{i}"))
            .collect(),
    );
    class(
        &mut o,
        "external",
        ext_used.iter().map(|e| format!("x{e}")).collect(),
    );
    class(
        &mut o,
        "pruned",
        (0..m.externals.len())
            .filter(|e| !ext_used.contains(e))
            .map(|e| format!("x{e}"))
            .collect(),
    );
    class(
        &mut o,
        "group",
        (0..plan.groups.len()).map(|g| format!("g{g}")).collect(),
    );
    if let Some(g) = plan.groups.iter().position(|x| x.name.value == target) {
        let _ = writeln!(o, "  style g{g} stroke-width:3px");
    }
    for l in pruned_links {
        let _ = writeln!(o, "  linkStyle {l} stroke:#bbbbbb,stroke-dasharray:5 5;");
    }
    o
}
