//! Another Definition's ops added to a graph as they are: a frontend input
//! (`input:NAME` named context, e.g. buildx bake's `target:NAME` contexts).
//!
//! Every op keeps its bytes, so its digest is the one the client computed;
//! its metadata (minus caps, which are read off the op as for every node)
//! and its source locations come along, the locations re-indexed into the
//! graph's source infos (the spec is 0; foreign infos follow, de-duplicated).
//! The ops are added inputs first (Kahn's order, ties in the Definition's
//! order), so the result does not depend on how the client ordered them.

use std::collections::HashMap;

use prost::Message;

use crate::graph::{Graph, NodeKind, OpMeta, Output, State};
use crate::pb;

/// One op of a foreign Definition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ForeignOp {
    /// The op's bytes as the client encoded them.
    pub bytes: Vec<u8>,
    /// The decoded op (for caps and names only: never re-encoded).
    pub op: pb::Op,
    /// The nodes its inputs name, in `Op.inputs` order.
    pub deps: Vec<Output>,
}

impl ForeignOp {
    pub(crate) fn fallback_name(&self) -> String {
        match &self.op.op {
            Some(pb::op::Op::Source(s)) => s.identifier.clone(),
            Some(pb::op::Op::Exec(e)) => e
                .meta
                .as_ref()
                .map(|m| m.args.join(" "))
                .unwrap_or_default(),
            Some(pb::op::Op::File(_)) => "file op".into(),
            Some(pb::op::Op::Merge(_)) => "merge".into(),
            Some(pb::op::Op::Diff(_)) => "diff".into(),
            _ => "op".into(),
        }
    }
}

/// Why a foreign Definition cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ForeignError(pub String);

impl Graph {
    /// Adds the ops of `def` (a Definition as a client marshaled it: ops,
    /// then the return op naming the result) and returns its result. An
    /// empty Definition is scratch.
    pub fn add_definition(&mut self, def: &pb::Definition) -> Result<State, ForeignError> {
        let err = |m: String| ForeignError(m);
        let Some((ret, ops)) = def.def.split_last() else {
            return Ok(None);
        };
        let ret = pb::Op::decode(ret.as_slice())
            .map_err(|e| err(format!("its last op (the result) does not decode: {e}")))?;
        let result = match (ret.op.as_ref(), ret.inputs.as_slice()) {
            (None, [one]) => one.clone(),
            _ => {
                return Err(err(
                    "its last op is not a return op with one input (the result)".into(),
                ))
            }
        };

        // Decode every op once; distinct digests only (the first wins).
        let mut index: HashMap<String, usize> = HashMap::with_capacity(ops.len());
        let mut decoded: Vec<(String, &Vec<u8>, pb::Op)> = Vec::with_capacity(ops.len());
        for bytes in ops {
            let d = crate::digest(bytes);
            if index.contains_key(&d) {
                continue;
            }
            let op = pb::Op::decode(bytes.as_slice())
                .map_err(|e| err(format!("op {d} does not decode: {e}")))?;
            index.insert(d.clone(), decoded.len());
            decoded.push((d, bytes, op));
        }

        // Kahn's order: an op once all the ops it reads are in.
        let n = decoded.len();
        let mut waiting = vec![0usize; n];
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, (d, _, op)) in decoded.iter().enumerate() {
            for input in &op.inputs {
                let Some(&j) = index.get(&input.digest) else {
                    return Err(err(format!(
                        "op {d} reads {}, which is not in the Definition",
                        input.digest
                    )));
                };
                waiting[i] += 1;
                readers[j].push(i);
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|&i| waiting[i] == 0).collect();
        let mut node_of: Vec<Option<crate::graph::NodeId>> = vec![None; n];
        let sources = self.adopt_sources(def);
        while let Some(i) = ready.pop_first() {
            let (d, bytes, op) = &decoded[i];
            let deps = op
                .inputs
                .iter()
                .map(|input| Output {
                    node: node_of[index[&input.digest]].expect("inputs first"),
                    index: u32::try_from(input.index).unwrap_or(u32::MAX),
                })
                .collect();
            let meta = foreign_meta(def, d, &sources);
            let node = self.push(
                NodeKind::Foreign(Box::new(ForeignOp {
                    bytes: bytes.to_vec(),
                    op: op.clone(),
                    deps,
                })),
                meta,
            );
            node_of[i] = Some(node);
            for &r in &readers[i] {
                waiting[r] -= 1;
                if waiting[r] == 0 {
                    ready.insert(r);
                }
            }
        }
        if node_of.iter().any(Option::is_none) {
            return Err(err("its ops read each other in a cycle".into()));
        }
        let Some(&j) = index.get(&result.digest) else {
            return Err(err(format!(
                "its result {} is not one of its ops",
                result.digest
            )));
        };
        Ok(Some(Output {
            node: node_of[j].expect("all added"),
            index: u32::try_from(result.index).unwrap_or(u32::MAX),
        }))
    }

    /// The graph's index of each of `def`'s source infos (appended unless
    /// an equal one is there already; the spec is index 0).
    fn adopt_sources(&mut self, def: &pb::Definition) -> Vec<i32> {
        let Some(src) = &def.source else {
            return Vec::new();
        };
        src.infos
            .iter()
            .map(|info| {
                let at = match self.extra_sources.iter().position(|x| x == info) {
                    Some(k) => k,
                    None => {
                        self.extra_sources.push(info.clone());
                        self.extra_sources.len() - 1
                    }
                };
                i32::try_from(at + 1).unwrap_or(i32::MAX)
            })
            .collect()
    }
}

/// The node metadata of foreign op `d`: its `OpMetadata` (caps are derived
/// again from the op) and its locations, re-indexed by `sources`.
fn foreign_meta(def: &pb::Definition, d: &str, sources: &[i32]) -> OpMeta {
    let mut meta = OpMeta::default();
    if let Some(m) = def.metadata.get(d) {
        meta.description = m.description.clone();
        meta.ignore_cache = m.ignore_cache;
        meta.export_cache = m.export_cache.as_ref().map(|e| e.value);
        meta.progress_group = m.progress_group.clone();
        meta.linux_resources = m.linux_resources.clone();
    }
    if let Some(locs) = def.source.as_ref().and_then(|s| s.locations.get(d)) {
        for l in &locs.locations {
            // A location naming a source info the Definition lacks is dropped.
            let Some(&at) = usize::try_from(l.source_index)
                .ok()
                .and_then(|i| sources.get(i))
            else {
                continue;
            };
            meta.other_locations.push(pb::Location {
                source_index: at,
                ranges: l.ranges.clone(),
            });
        }
    }
    meta
}
