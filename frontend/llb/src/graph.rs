//! The graph: nodes added to [`Graph`], addressed by [`NodeId`]. Nodes name
//! their inputs as [`Output`]s; since a node only refers to earlier nodes,
//! its op (bytes, digest, caps, metadata) is encoded as soon as it is added
//! (see `optable.rs`), and identical `(digest, index)` inputs are
//! de-duplicated per op then.

use std::collections::{BTreeMap, BTreeSet};

use crate::exec::ExecNode;
use crate::file::FileNode;
use crate::optable::OpTable;
use crate::pb;

/// Index of a node in its [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One output of a node: what another op's `Input{digest, index}` refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Output {
    pub node: NodeId,
    pub index: u32,
}

/// A filesystem state: `None` is scratch (the empty filesystem), which LLB
/// never writes as an input but as `-1` in the consuming field.
pub type State = Option<Output>;

/// A 1-based range into source info 0 (the spec file), for source maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceRange {
    pub start_line: i32,
    pub start_character: i32,
    pub end_line: i32,
    pub end_character: i32,
}

impl SourceRange {
    /// A range covering whole lines `start..=end`.
    pub fn lines(start: i32, end: i32) -> Self {
        SourceRange {
            start_line: start,
            start_character: 0,
            end_line: end,
            end_character: 0,
        }
    }
}

/// Per-op metadata the caller chooses. None of it changes the op's digest:
/// it goes to `Definition.metadata` and `Definition.source`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpMeta {
    /// `llb.customname`: the vertex name progress UIs show.
    pub custom_name: Option<String>,
    /// Extra description entries (e.g. `com.docker.dockerfile.v1.command`).
    pub description: BTreeMap<String, String>,
    /// Force this vertex to run again (`--no-cache`).
    pub ignore_cache: bool,
    /// `Some(false)`: never export to cache; `Some(true)`: always.
    pub export_cache: Option<bool>,
    pub progress_group: Option<pb::ProgressGroup>,
    /// Source-map ranges into the spec file (source info index 0).
    pub source_ranges: Vec<SourceRange>,
    /// `OpMetadata.linux_resources` (kept from a foreign Definition).
    pub linux_resources: Option<pb::LinuxResources>,
    /// Locations in the graph's other source infos (index 1 and up: those
    /// of foreign Definitions, see `foreign.rs`), after the spec's.
    pub other_locations: Vec<pb::Location>,
}

impl OpMeta {
    pub fn named(name: impl Into<String>) -> Self {
        OpMeta {
            custom_name: Some(name.into()),
            ..Default::default()
        }
    }
    pub fn with_range(mut self, r: SourceRange) -> Self {
        self.source_ranges.push(r);
        self
    }
    pub fn with_description(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.description.insert(k.into(), v.into());
        self
    }
    pub fn with_ignore_cache(mut self, on: bool) -> Self {
        self.ignore_cache = on;
        self
    }
    pub fn with_progress_group(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.progress_group = Some(pb::ProgressGroup {
            id: id.into(),
            name: name.into(),
            weak: false,
        });
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    Source(pb::SourceOp, Option<pb::Platform>),
    Exec(Box<ExecNode>),
    File(FileNode),
    Merge(Vec<Output>),
    Diff(State, State),
    /// An op of another Definition, kept byte for byte (`foreign.rs`).
    Foreign(Box<crate::foreign::ForeignOp>),
}

/// A node as it is added: encoded into the graph's [`OpTable`] at once and
/// then dropped (debug builds keep it, to check the encoding against the
/// reference encoder).
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub meta: OpMeta,
    /// Caps that cannot be read off the encoded op (e.g. a required differ).
    pub extra_caps: BTreeSet<&'static str>,
}

/// Owns all nodes. Building is append-only (nodes never change once added);
/// only nodes reachable from the result passed to [`Graph::marshal`] are
/// emitted.
#[derive(Debug)]
pub struct Graph {
    /// Nodes added so far.
    len: u32,
    /// Every node's op, encoded as it is added (the nodes themselves are not
    /// kept: their strings would double the peak memory of large builds).
    pub(crate) ops: OpTable,
    /// Source infos after the spec's (index 0): those of foreign
    /// Definitions, de-duplicated, in the order they were added.
    pub(crate) extra_sources: Vec<pb::SourceInfo>,
}

impl Default for Graph {
    fn default() -> Self {
        Graph::with_capacity(0)
    }
}

impl Clone for Graph {
    fn clone(&self) -> Self {
        Graph {
            len: self.len,
            ops: self.ops.clone(),
            extra_sources: self.extra_sources.clone(),
        }
    }
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// A graph sized for about `expected_ops` nodes (the op table's arenas
    /// are reserved once instead of doubling).
    pub fn with_capacity(expected_ops: usize) -> Self {
        Graph {
            len: 0,
            ops: OpTable::with_capacity(expected_ops),
            extra_sources: Vec::new(),
        }
    }

    /// Every node's op.
    pub(crate) fn table(&self) -> &OpTable {
        &self.ops
    }

    /// The op table, owned here.
    pub(crate) fn table_mut(&mut self) -> &mut OpTable {
        &mut self.ops
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn push(&mut self, kind: NodeKind, meta: OpMeta) -> NodeId {
        self.push_with_caps(kind, meta, BTreeSet::new())
    }

    pub(crate) fn push_with_caps(
        &mut self,
        kind: NodeKind,
        meta: OpMeta,
        extra_caps: BTreeSet<&'static str>,
    ) -> NodeId {
        let id = NodeId(self.len);
        self.len = self.len.checked_add(1).expect("too many LLB nodes");
        let node = Node {
            kind,
            meta,
            extra_caps,
        };
        self.ops.add(node);
        id
    }

    /// Layers `inputs` in order (later on top). Scratch inputs are dropped; no
    /// input gives scratch and a single input is returned as is, as the Go
    /// client does. Inputs are not de-duplicated (the server merges in
    /// `Op.inputs` order).
    pub fn merge(&mut self, inputs: &[State], meta: OpMeta) -> State {
        let real: Vec<Output> = inputs.iter().flatten().copied().collect();
        match real.len() {
            0 => None,
            1 => Some(real[0]),
            _ => Some(Output {
                node: self.push(NodeKind::Merge(real), meta),
                index: 0,
            }),
        }
    }

    /// The changes from `lower` to `upper` as a layer. Scratch sides are -1.
    pub fn diff(&mut self, lower: State, upper: State, meta: OpMeta) -> State {
        if lower.is_none() && upper.is_none() {
            return None;
        }
        Some(Output {
            node: self.push(NodeKind::Diff(lower, upper), meta),
            index: 0,
        })
    }
}

/// Collects an op's `inputs`, optionally de-duplicating identical
/// `(digest, index)` pairs (exec and file ops do; merge and diff do not).
#[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
pub(crate) struct InputTable<'a> {
    pub inputs: Vec<pb::Input>,
    dedup: bool,
    resolve: &'a dyn Fn(Output) -> pb::Input,
}

#[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
impl<'a> InputTable<'a> {
    pub fn new(dedup: bool, resolve: &'a dyn Fn(Output) -> pb::Input) -> Self {
        InputTable {
            inputs: Vec::new(),
            dedup,
            resolve,
        }
    }

    /// Index of `state` in `inputs`, or -1 for scratch.
    pub fn add(&mut self, state: State) -> i64 {
        let Some(out) = state else { return pb::EMPTY };
        let input = (self.resolve)(out);
        if self.dedup {
            if let Some(i) = self.inputs.iter().position(|x| *x == input) {
                return i as i64;
            }
        }
        self.inputs.push(input);
        (self.inputs.len() - 1) as i64
    }
}

impl NodeKind {
    /// What BuildKit would show for the op without a custom name.
    pub(crate) fn fallback_name(&self) -> String {
        match self {
            NodeKind::Source(s, _) => s.identifier.clone(),
            NodeKind::Exec(e) => e.exec.args.join(" "),
            NodeKind::File(_) => "file op".into(),
            NodeKind::Merge(_) => "merge".into(),
            NodeKind::Diff(..) => "diff".into(),
            NodeKind::Foreign(f) => f.fallback_name(),
        }
    }

    /// Inputs in the order they are visited (and indexed) when marshaling.
    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn deps(&self) -> Vec<Output> {
        match self {
            NodeKind::Source(..) => vec![],
            NodeKind::Exec(e) => e.deps(),
            NodeKind::File(f) => f.deps(),
            NodeKind::Merge(ins) => ins.clone(),
            NodeKind::Diff(l, u) => l.iter().chain(u.iter()).copied().collect(),
            NodeKind::Foreign(f) => f.deps.clone(),
        }
    }

    /// As [`NodeKind::deps`], appended to `out` (no allocation per node).
    pub(crate) fn push_deps(&self, out: &mut Vec<(NodeId, bool)>) {
        let mut push = |s: State| {
            if let Some(o) = s {
                out.push((o.node, false));
            }
        };
        match self {
            NodeKind::Source(..) => {}
            NodeKind::Exec(e) => {
                for (m, _) in &e.ordered {
                    match m {
                        crate::exec::Mount::Bind(b) => push(b.source),
                        crate::exec::Mount::Cache(c) => push(c.seed),
                        _ => {}
                    }
                }
            }
            NodeKind::File(f) => {
                push(f.base);
                for a in &f.actions {
                    if let crate::file::Action::Copy(from, _) = a {
                        push(*from);
                    }
                }
            }
            NodeKind::Merge(ins) => ins.iter().for_each(|o| push(Some(*o))),
            NodeKind::Diff(l, u) => {
                push(*l);
                push(*u);
            }
            NodeKind::Foreign(f) => f.deps.iter().for_each(|o| push(Some(*o))),
        }
    }

    /// The pb op, with input digests looked up through `resolve`.
    #[cfg_attr(not(debug_assertions), allow(dead_code))] // reference encoder: debug cross-check
    pub(crate) fn to_pb(&self, resolve: &dyn Fn(Output) -> pb::Input) -> Result<pb::Op, String> {
        let empty = Some(pb::WorkerConstraints::default());
        Ok(match self {
            NodeKind::Source(src, platform) => pb::Op {
                inputs: vec![],
                op: Some(pb::op::Op::Source(src.clone())),
                platform: platform.clone(),
                constraints: empty,
            },
            NodeKind::Exec(e) => e.to_pb(resolve)?,
            NodeKind::File(f) => f.to_pb(resolve)?,
            NodeKind::Merge(ins) => {
                let mut t = InputTable::new(false, resolve);
                let inputs = ins
                    .iter()
                    .map(|o| pb::MergeInput {
                        input: t.add(Some(*o)),
                    })
                    .collect();
                pb::Op {
                    inputs: t.inputs,
                    op: Some(pb::op::Op::Merge(pb::MergeOp { inputs })),
                    platform: None,
                    constraints: empty,
                }
            }
            NodeKind::Diff(l, u) => {
                let mut t = InputTable::new(false, resolve);
                let lower = pb::LowerDiffInput { input: t.add(*l) };
                let upper = pb::UpperDiffInput { input: t.add(*u) };
                pb::Op {
                    inputs: t.inputs,
                    op: Some(pb::op::Op::Diff(pb::DiffOp {
                        lower: Some(lower),
                        upper: Some(upper),
                    })),
                    platform: None,
                    constraints: empty,
                }
            }
            NodeKind::Foreign(f) => f.op.clone(),
        })
    }
}
