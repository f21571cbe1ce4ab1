//! Graph → `pb::Definition` (`llb-wire.md` §2): depth-first post-order from
//! the result, one `def` entry per distinct digest (metadata of identical
//! ops merged), the return op last, a metadata entry for every op, source
//! locations keyed by digest. Only ops reachable from the result are emitted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message;
use sha2::{Digest, Sha256};

use crate::caps;
use crate::encode::{self, CapList};
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

/// Lowercase hex of a digest, with the `sha256:` prefix.
pub(crate) fn digest_string(d: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = Vec::with_capacity(71);
    s.extend_from_slice(b"sha256:");
    for x in d {
        s.push(HEX[(x >> 4) as usize]);
        s.push(HEX[(x & 15) as usize]);
    }
    String::from_utf8(s).expect("ascii")
}

/// One distinct op (by digest) and its merged metadata.
struct Entry {
    ignore_cache: bool,
    description: BTreeMap<String, String>,
    export_cache: Option<bool>,
    progress_group: Option<pb::ProgressGroup>,
    /// Sorted, deduplicated.
    caps: Vec<&'static str>,
    ranges: Vec<pb::Range>,
}

const UNSEEN: u32 = u32::MAX;

struct Walk<'a> {
    g: &'a Graph,
    supported: Option<&'a BTreeSet<String>>,
    /// Per node: index of its entry, or `UNSEEN`.
    node_entry: Vec<u32>,
    /// Per entry: the SHA-256 of its `def` bytes.
    digests: Vec<[u8; 32]>,
    entries: Vec<Entry>,
    /// Lookup only (never iterated), so output order does not depend on it.
    by_digest: HashMap<[u8; 32], u32>,
    def: Vec<Vec<u8>>,
    buf: Vec<u8>,
    body: Vec<u8>,
    caps: CapList,
}

impl Walk<'_> {
    /// Depth-first post-order from `root` with an explicit stack (no
    /// recursion limit on long chains). Nodes only refer to earlier nodes,
    /// so there are no cycles.
    fn visit(&mut self, root: NodeId) -> Result<u32, LlbError> {
        let mut stack = vec![(root, false)];
        while let Some((id, expanded)) = stack.pop() {
            if self.node_entry[id.index()] != UNSEEN {
                continue;
            }
            if expanded {
                self.emit(id)?;
            } else {
                stack.push((id, true));
                let from = stack.len();
                self.g.nodes[id.index()].kind.push_deps(&mut stack);
                stack[from..].reverse();
            }
        }
        Ok(self.node_entry[root.index()])
    }

    /// Encodes one node whose inputs all have digests, checks its caps and
    /// records its def entry (once per digest) and merged metadata.
    fn emit(&mut self, id: NodeId) -> Result<(), LlbError> {
        let g = self.g;
        let node = &g.nodes[id.index()];
        self.caps.clear();
        {
            let node_entry = &self.node_entry;
            let entry_of = |o: Output| node_entry[o.node.index()];
            encode::encode_op(
                &node.kind,
                &entry_of,
                &self.digests,
                &mut self.buf,
                &mut self.body,
                &mut self.caps,
            )
            .map_err(|reason| LlbError::Invalid {
                op: op_name(g, id),
                reason,
            })?;
        }
        let dgst: [u8; 32] = Sha256::digest(&self.buf).into();
        self.caps.extend(node.extra_caps.iter().copied());
        self.caps.sort_unstable();
        self.caps.dedup();
        #[cfg(debug_assertions)]
        self.cross_check(id);

        if let Some(sup) = self.supported {
            if let Some(cap) = self.caps.iter().find(|c| !sup.contains(**c)) {
                return Err(LlbError::UnsupportedCap {
                    cap: cap.to_string(),
                    op: op_name(g, id),
                });
            }
        }

        let idx = match self.by_digest.get(&dgst) {
            Some(&i) => i,
            None => {
                let i = self.entries.len() as u32;
                self.by_digest.insert(dgst, i);
                self.digests.push(dgst);
                self.def.push(self.buf.as_slice().to_vec());
                self.entries.push(Entry {
                    ignore_cache: false,
                    description: BTreeMap::new(),
                    export_cache: None,
                    progress_group: None,
                    caps: Vec::new(),
                    ranges: Vec::new(),
                });
                i
            }
        };
        let md = &mut self.entries[idx as usize];
        let m = &node.meta;
        md.ignore_cache |= m.ignore_cache;
        if let Some(name) = &m.custom_name {
            md.description.insert("llb.customname".into(), name.clone());
        }
        md.description
            .extend(m.description.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(v) = m.export_cache {
            md.export_cache = Some(v);
        }
        if m.progress_group.is_some() {
            md.progress_group = m.progress_group.clone();
        }
        if md.caps.is_empty() {
            md.caps.extend_from_slice(&self.caps);
        } else {
            md.caps.extend_from_slice(&self.caps);
            md.caps.sort_unstable();
            md.caps.dedup();
        }
        for sr in &m.source_ranges {
            let pr = pb::Range {
                start: Some(pb::Position {
                    line: sr.start_line,
                    character: sr.start_character,
                }),
                end: Some(pb::Position {
                    line: sr.end_line,
                    character: sr.end_character,
                }),
            };
            if !md.ranges.contains(&pr) {
                md.ranges.push(pr);
            }
        }
        self.node_entry[id.index()] = idx;
        Ok(())
    }

    /// Debug builds: the direct encoding must equal the `pb::Op` one, and
    /// the caps those read off the decoded op.
    #[cfg(debug_assertions)]
    fn cross_check(&self, id: NodeId) {
        let node = &self.g.nodes[id.index()];
        let resolve = |o: Output| pb::Input {
            digest: digest_string(&self.digests[self.node_entry[o.node.index()] as usize]),
            index: i64::from(o.index),
        };
        let op = node
            .kind
            .to_pb(&resolve)
            .expect("direct encoding accepted the op");
        assert_eq!(
            op.encode_to_vec(),
            self.buf,
            "direct op encoding differs from prost's"
        );
        let mut want = caps::op_caps(&op);
        want.extend(node.extra_caps.iter().copied());
        assert_eq!(
            want.into_iter().collect::<Vec<_>>(),
            self.caps,
            "caps differ"
        );
        let mut deps = Vec::new();
        node.kind.push_deps(&mut deps);
        assert_eq!(
            node.kind
                .deps()
                .into_iter()
                .map(|o| o.node)
                .collect::<Vec<_>>(),
            deps.into_iter().map(|(n, _)| n).collect::<Vec<_>>()
        );
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
        let Some(result) = result else {
            return Ok(pb::Definition::default());
        };
        let mut w = Walk {
            g: self,
            supported: supported_caps,
            node_entry: vec![UNSEEN; self.nodes.len()],
            digests: Vec::new(),
            entries: Vec::new(),
            by_digest: HashMap::new(),
            def: Vec::new(),
            buf: Vec::with_capacity(1024),
            body: Vec::with_capacity(1024),
            caps: Vec::new(),
        };
        let head = w.visit(result.node)?;

        let any_ic = w.entries.iter().any(|m| m.ignore_cache);
        let any_desc = w.entries.iter().any(|m| !m.description.is_empty());
        let any_ec = w.entries.iter().any(|m| m.export_cache.is_some());
        let ret = pb::Op {
            inputs: vec![pb::Input {
                digest: digest_string(&w.digests[head as usize]),
                index: i64::from(result.index),
            }],
            ..Default::default()
        };
        let bytes = ret.encode_to_vec();
        let rd: [u8; 32] = Sha256::digest(&bytes).into();
        w.def.push(bytes);

        // Keys in digest order (hex order is byte order), so the maps are
        // bulk-built from sorted input.
        let mut order: Vec<u32> = (0..w.entries.len() as u32).collect();
        order.sort_unstable_by_key(|&i| w.digests[i as usize]);
        let digests = std::mem::take(&mut w.digests);
        let mut entries: Vec<Option<Entry>> = w.entries.into_iter().map(Some).collect();
        let mut locations: Vec<(String, pb::Locations)> = Vec::new();
        let mut metadata: Vec<(String, pb::OpMetadata)> = Vec::with_capacity(order.len() + 1);
        let ret_md = pb::OpMetadata {
            caps: caps::return_op_caps(any_ic, any_desc, any_ec)
                .into_iter()
                .map(|c| (c.to_string(), true))
                .collect(),
            ..Default::default()
        };
        let mut ret_md = Some(ret_md);
        for i in order {
            let d = &digests[i as usize];
            if ret_md.is_some() && rd < *d {
                metadata.push((digest_string(&rd), ret_md.take().expect("some")));
            }
            let e = entries[i as usize].take().expect("each entry once");
            let key = digest_string(d);
            if !e.ranges.is_empty() && source.is_some() {
                locations.push((
                    key.clone(),
                    pb::Locations {
                        locations: vec![pb::Location {
                            source_index: 0,
                            ranges: e.ranges,
                        }],
                    },
                ));
            }
            metadata.push((
                key,
                pb::OpMetadata {
                    ignore_cache: e.ignore_cache,
                    description: e.description,
                    export_cache: e.export_cache.map(|value| pb::ExportCache { value }),
                    caps: e.caps.iter().map(|c| (c.to_string(), true)).collect(),
                    progress_group: e.progress_group,
                    linux_resources: None,
                },
            ));
        }
        if let Some(md) = ret_md {
            metadata.push((digest_string(&rd), md));
        }

        let source = source.map(|s| pb::Source {
            locations: locations.into_iter().collect(),
            infos: vec![pb::SourceInfo {
                filename: s.filename,
                data: s.data,
                definition: None,
                language: s.language,
            }],
        });
        Ok(pb::Definition {
            def: w.def,
            metadata: metadata.into_iter().collect(),
            source,
        })
    }
}
