//! Graph → `pb::Definition` (`llb-wire.md` §2): depth-first post-order from
//! the result, one `def` entry per distinct digest (metadata of identical
//! ops merged), the return op last, a metadata entry for every op, source
//! locations keyed by digest. Only ops reachable from the result are emitted.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;

use crate::caps;
use crate::graph::{Graph, NodeId, NodeKind, Output, State};
use crate::pb;

/// The spec file, for `Definition.source.infos[0]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceInfoInput {
    pub filename: String,
    pub data: Vec<u8>,
    /// A GitHub-linguist name, e.g. `YAML`.
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlbError {
    /// The server lacks a cap this op needs.
    #[error("{op}: the BuildKit server does not support LLB capability `{cap}`")]
    UnsupportedCap { cap: String, op: String },
    /// The op cannot be expressed (e.g. an exec without arguments).
    #[error("{op}: invalid LLB: {reason}")]
    Invalid { op: String, reason: String },
}

/// A short human name for an op: its custom name, else what BuildKit would
/// show (identifier, args, action list…).
pub(crate) fn op_name(g: &Graph, id: NodeId) -> String {
    let n = &g.nodes[id.index()];
    if let Some(name) = &n.meta.custom_name {
        return name.clone();
    }
    match &n.kind {
        NodeKind::Source(s, _) => s.identifier.clone(),
        NodeKind::Exec(e) => e.exec.args.join(" "),
        NodeKind::File(_) => "file op".into(),
        NodeKind::Merge(_) => "merge".into(),
        NodeKind::Diff(..) => "diff".into(),
    }
}

struct Walk<'a> {
    g: &'a Graph,
    supported: Option<&'a BTreeSet<String>>,
    digests: Vec<Option<String>>,
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, pb::OpMetadata>,
    ranges: BTreeMap<String, Vec<pb::Range>>,
}

impl Walk<'_> {
    /// Depth-first post-order from `root` with an explicit stack (no
    /// recursion limit on long chains). Nodes only refer to earlier nodes,
    /// so there are no cycles.
    fn visit(&mut self, root: NodeId) -> Result<String, LlbError> {
        let mut stack = vec![(root, false)];
        while let Some((id, expanded)) = stack.pop() {
            if self.digests[id.index()].is_some() {
                continue;
            }
            if expanded {
                self.emit(id)?;
            } else {
                stack.push((id, true));
                let deps = self.g.nodes[id.index()].kind.deps();
                stack.extend(deps.iter().rev().map(|d| (d.node, false)));
            }
        }
        Ok(self.digests[root.index()].clone().expect("root emitted"))
    }

    /// Encodes one node whose inputs all have digests, checks its caps and
    /// records its def entry (once per digest) and merged metadata.
    fn emit(&mut self, id: NodeId) -> Result<(), LlbError> {
        let g = self.g;
        let node = &g.nodes[id.index()];
        let digests = &self.digests;
        let resolve = |o: Output| pb::Input {
            digest: digests[o.node.index()].clone().expect("inputs visited first"),
            index: i64::from(o.index),
        };
        let op = node
            .kind
            .to_pb(&resolve)
            .map_err(|reason| LlbError::Invalid { op: op_name(self.g, id), reason })?;
        let bytes = op.encode_to_vec();
        let dgst = crate::digest(&bytes);

        let mut needed = caps::op_caps(&op);
        needed.extend(node.extra_caps.iter().copied());
        if let Some(sup) = self.supported {
            if let Some(cap) = needed.iter().find(|c| !sup.contains(**c)) {
                return Err(LlbError::UnsupportedCap {
                    cap: cap.to_string(),
                    op: op_name(self.g, id),
                });
            }
        }

        let m = &node.meta;
        let md = self.metadata.entry(dgst.clone()).or_insert_with(|| {
            self.def.push(bytes);
            pb::OpMetadata::default()
        });
        md.ignore_cache |= m.ignore_cache;
        if let Some(name) = &m.custom_name {
            md.description.insert("llb.customname".into(), name.clone());
        }
        md.description.extend(m.description.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(v) = m.export_cache {
            md.export_cache = Some(pb::ExportCache { value: v });
        }
        if m.progress_group.is_some() {
            md.progress_group = m.progress_group.clone();
        }
        md.caps.extend(needed.iter().map(|c| (c.to_string(), true)));
        if !m.source_ranges.is_empty() {
            let r = self.ranges.entry(dgst.clone()).or_default();
            for sr in &m.source_ranges {
                let pr = pb::Range {
                    start: Some(pb::Position { line: sr.start_line, character: sr.start_character }),
                    end: Some(pb::Position { line: sr.end_line, character: sr.end_character }),
                };
                if !r.contains(&pr) {
                    r.push(pr);
                }
            }
        }
        self.digests[id.index()] = Some(dgst);
        Ok(())
    }
}

impl Graph {
    /// Serializes what `result` needs into a Definition.
    ///
    /// `supported_caps`: the server's LLB caps (from Ping); when given, an op
    /// needing any other cap is an [`LlbError::UnsupportedCap`]. A scratch
    /// result gives an empty Definition ("nothing to build").
    pub fn marshal(
        &self,
        result: State,
        source: Option<SourceInfoInput>,
        supported_caps: Option<&BTreeSet<String>>,
    ) -> Result<pb::Definition, LlbError> {
        let Some(result) = result else { return Ok(pb::Definition::default()) };
        let mut w = Walk {
            g: self,
            supported: supported_caps,
            digests: vec![None; self.nodes.len()],
            def: vec![],
            metadata: BTreeMap::new(),
            ranges: BTreeMap::new(),
        };
        let head = w.visit(result.node)?;

        let any_ic = w.metadata.values().any(|m| m.ignore_cache);
        let any_desc = w.metadata.values().any(|m| !m.description.is_empty());
        let any_ec = w.metadata.values().any(|m| m.export_cache.is_some());
        let ret = pb::Op {
            inputs: vec![pb::Input { digest: head, index: i64::from(result.index) }],
            ..Default::default()
        };
        let bytes = ret.encode_to_vec();
        let rd = crate::digest(&bytes);
        w.def.push(bytes);
        w.metadata.insert(
            rd,
            pb::OpMetadata {
                caps: caps::return_op_caps(any_ic, any_desc, any_ec)
                    .into_iter()
                    .map(|c| (c.to_string(), true))
                    .collect(),
                ..Default::default()
            },
        );

        let source = source.map(|s| pb::Source {
            locations: w
                .ranges
                .into_iter()
                .map(|(d, ranges)| {
                    (d, pb::Locations { locations: vec![pb::Location { source_index: 0, ranges }] })
                })
                .collect(),
            infos: vec![pb::SourceInfo {
                filename: s.filename,
                data: s.data,
                definition: None,
                language: s.language,
            }],
        });
        Ok(pb::Definition { def: w.def, metadata: w.metadata, source })
    }
}
