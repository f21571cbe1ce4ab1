//! Graph → `pb::Definition` (`llb-wire.md` §2): depth-first post-order from
//! the result, one `def` entry per distinct digest (metadata of identical
//! ops merged), the return op last, a metadata entry for every op, source
//! locations keyed by digest. Only ops reachable from the result are emitted.
//!
//! The Definition is written straight in wire form (an
//! [`pb::EncodedDefinition`]): ops go into the output buffer as they are
//! encoded, metadata and source map entries are written from borrowed
//! strings, so no `pb::Definition` (≈10 allocations per op) is built and then
//! encoded again. The bytes equal prost's encoding of the same
//! `pb::Definition`; debug builds check that on every marshal.

use std::collections::{BTreeSet, HashMap};

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

/// One distinct op (by digest) and its merged metadata, borrowing its
/// strings from the graph.
struct Entry<'a> {
    ignore_cache: bool,
    /// Description entries, later ones replacing earlier ones with the same
    /// key (as a map would); sorted when written.
    description: Vec<(&'a str, &'a str)>,
    export_cache: Option<bool>,
    progress_group: Option<&'a pb::ProgressGroup>,
    /// Sorted, deduplicated.
    caps: Vec<&'static str>,
    /// Source ranges (start line, start char, end line, end char), distinct.
    ranges: Vec<[i32; 4]>,
}

const UNSEEN: u32 = u32::MAX;

struct Walk<'a> {
    g: &'a Graph,
    supported: Option<&'a BTreeSet<String>>,
    /// Per node: index of its entry, or `UNSEEN`.
    node_entry: Vec<u32>,
    /// Per entry: the SHA-256 of its `def` bytes.
    digests: Vec<[u8; 32]>,
    entries: Vec<Entry<'a>>,
    /// Lookup only (never iterated), so output order does not depend on it.
    by_digest: HashMap<[u8; 32], u32>,
    /// Ops encoded by the graph's encoder thread, if it has one.
    pre: Option<crate::pipeline::Encoded>,
    /// The Definition being written: `def` entries (field 1) so far.
    out: Vec<u8>,
    buf: Vec<u8>,
    body: Vec<u8>,
    caps: CapList,
}

impl<'a> Walk<'a> {
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

    /// Encodes one node whose inputs all have digests (or takes what the
    /// encoder thread computed), checks its caps and records its def entry
    /// (once per digest) and merged metadata.
    fn emit(&mut self, id: NodeId) -> Result<(), LlbError> {
        let g: &'a Graph = self.g;
        let node = &g.nodes[id.index()];
        let pre = self
            .pre
            .as_ref()
            .and_then(|e| e.ops.get(id.index()).map(|op| (e, op)));
        let (dgst, bytes): ([u8; 32], &[u8]) = match pre {
            Some((_, op)) if op.error.is_some() => {
                return Err(LlbError::Invalid {
                    op: op_name(g, id),
                    reason: op.error.clone().unwrap_or_default(),
                })
            }
            Some((e, op)) => {
                self.caps.clear();
                self.caps.extend_from_slice(&op.caps);
                (op.digest, &e.bytes[op.range.clone()])
            }
            None => {
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
                self.caps.extend(node.extra_caps.iter().copied());
                self.caps.sort_unstable();
                self.caps.dedup();
                (Sha256::digest(&self.buf).into(), &self.buf)
            }
        };
        #[cfg(debug_assertions)]
        self.cross_check(id, bytes, &dgst);

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
                encode::bytes_field(&mut self.out, 1, bytes);
                self.entries.push(Entry {
                    ignore_cache: false,
                    description: Vec::new(),
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
            set_description(&mut md.description, "llb.customname", name);
        }
        for (k, v) in &m.description {
            set_description(&mut md.description, k, v);
        }
        if let Some(v) = m.export_cache {
            md.export_cache = Some(v);
        }
        if let Some(pg) = &m.progress_group {
            md.progress_group = Some(pg);
        }
        if md.caps.is_empty() {
            md.caps.extend_from_slice(&self.caps);
        } else {
            md.caps.extend_from_slice(&self.caps);
            md.caps.sort_unstable();
            md.caps.dedup();
        }
        for sr in &m.source_ranges {
            let r = [
                sr.start_line,
                sr.start_character,
                sr.end_line,
                sr.end_character,
            ];
            if !md.ranges.contains(&r) {
                md.ranges.push(r);
            }
        }
        self.node_entry[id.index()] = idx;
        Ok(())
    }

    /// Debug builds: the direct encoding must equal the `pb::Op` one, and
    /// the caps those read off the decoded op.
    #[cfg(debug_assertions)]
    fn cross_check(&self, id: NodeId, bytes: &[u8], dgst: &[u8; 32]) {
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
            bytes,
            "direct op encoding differs from prost's"
        );
        let d: [u8; 32] = Sha256::digest(bytes).into();
        assert_eq!(&d, dgst, "digest differs from the op's bytes");
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

/// Insert or replace `k` (map semantics, insertion order kept until written).
fn set_description<'a>(d: &mut Vec<(&'a str, &'a str)>, k: &'a str, v: &'a str) {
    match d.iter_mut().find(|(key, _)| *key == k) {
        Some(e) => e.1 = v,
        None => d.push((k, v)),
    }
}

/// The `OpMetadata` body of one entry, fields in tag order (prost's rules:
/// defaults skipped, map entries in key order, `true` map values written).
fn write_op_metadata(b: &mut Vec<u8>, e: &mut Entry<'_>) {
    encode::boolean(b, 1, e.ignore_cache);
    e.description.sort_unstable_by(|x, y| x.0.cmp(y.0));
    for (k, v) in &e.description {
        encode::message(b, 2, |b| {
            encode::string(b, 1, k);
            encode::string(b, 2, v);
        });
    }
    if let Some(v) = e.export_cache {
        encode::message(b, 4, |b| encode::boolean(b, 1, v));
    }
    write_caps(b, &e.caps);
    if let Some(pg) = e.progress_group {
        encode::message(b, 6, |b| {
            encode::string(b, 1, &pg.id);
            encode::string(b, 2, &pg.name);
            encode::boolean(b, 3, pg.weak);
        });
    }
}

/// `map<string, bool> caps = 5`, every value `true`; `caps` sorted.
fn write_caps(b: &mut Vec<u8>, caps: &[&str]) {
    for c in caps {
        encode::message(b, 5, |b| {
            encode::string(b, 1, c);
            encode::boolean(b, 2, true);
        });
    }
}

/// A `map<string, message>` entry whose value body is `body`; an empty body
/// (the message at its default) is left out, as prost does.
fn write_map_entry(out: &mut Vec<u8>, tag: u32, key: &str, body: &[u8]) {
    encode::message(out, tag, |o| {
        encode::string(o, 1, key);
        if !body.is_empty() {
            encode::bytes_field(o, 2, body);
        }
    });
}

/// `Locations { locations: [Location { source_index: 0, ranges }] }`.
fn write_locations(b: &mut Vec<u8>, ranges: &[[i32; 4]]) {
    encode::message(b, 1, |b| {
        for r in ranges {
            encode::message(b, 2, |b| {
                encode::message(b, 1, |b| {
                    encode::int32(b, 1, r[0]);
                    encode::int32(b, 2, r[1]);
                });
                encode::message(b, 2, |b| {
                    encode::int32(b, 1, r[2]);
                    encode::int32(b, 2, r[3]);
                });
            });
        }
    });
}

impl Graph {
    /// Serializes what `result` needs into a Definition, in wire form.
    ///
    /// `supported_caps`: the server's LLB caps (from Ping); when given, an op
    /// needing any other cap is an [`LlbError::UnsupportedCap`]. A scratch
    /// result gives an empty Definition ("nothing to build").
    pub fn marshal(
        &self,
        result: State,
        source: Option<SourceInfoInput>,
        supported_caps: Option<&BTreeSet<String>>,
    ) -> Result<pb::EncodedDefinition, LlbError> {
        let Some(result) = result else {
            return Ok(pb::EncodedDefinition::default());
        };
        let mut w = Walk {
            g: self,
            pre: self.encoder.as_ref().and_then(|e| e.take()),
            supported: supported_caps,
            node_entry: vec![UNSEEN; self.nodes.len()],
            digests: Vec::new(),
            entries: Vec::new(),
            by_digest: HashMap::with_capacity(self.nodes.len()),
            // The ops: ~350 bytes per node is typical (metadata and the
            // source map are reserved for once their sizes are known).
            out: Vec::with_capacity(self.nodes.len() * 384 + 4096),
            buf: Vec::with_capacity(1024),
            body: Vec::with_capacity(1024),
            caps: Vec::new(),
        };
        let head = w.visit(result.node)?;
        // Freed before the metadata is written: it would add to the peak.
        w.pre = None;

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
        let ret_bytes = ret.encode_to_vec();
        let rd: [u8; 32] = Sha256::digest(&ret_bytes).into();
        let mut out = std::mem::take(&mut w.out);
        encode::bytes_field(&mut out, 1, &ret_bytes);
        let ret_caps: Vec<&'static str> = caps::return_op_caps(any_ic, any_desc, any_ec)
            .into_iter()
            .collect();

        // Metadata in digest order (hex order is byte order); the return
        // op's entry takes its place among them.
        let mut order: Vec<u32> = (0..w.entries.len() as u32).collect();
        order.sort_unstable_by_key(|&i| w.digests[i as usize]);
        let mut body = std::mem::take(&mut w.body);
        // Metadata entries are ~150 bytes (digest key, name, caps): reserve
        // once instead of letting the multi-megabyte buffer double.
        out.reserve(order.len() * 192 + 4096);
        let mut ret_pending = true;
        let write_ret = |out: &mut Vec<u8>, body: &mut Vec<u8>| {
            body.clear();
            write_caps(body, &ret_caps);
            write_map_entry(out, 2, &digest_string(&rd), body);
        };
        for &i in &order {
            let d = &w.digests[i as usize];
            if ret_pending && rd < *d {
                write_ret(&mut out, &mut body);
                ret_pending = false;
            }
            body.clear();
            write_op_metadata(&mut body, &mut w.entries[i as usize]);
            write_map_entry(&mut out, 2, &digest_string(d), &body);
        }
        if ret_pending {
            write_ret(&mut out, &mut body);
        }

        if let Some(s) = source {
            // Lengths are computed up front rather than back-patched: the
            // section holds the whole spec text, which a back-patch would
            // shift byte by byte.
            let mut locations = Vec::with_capacity(order.len() * 96);
            for &i in &order {
                let e = &w.entries[i as usize];
                if e.ranges.is_empty() {
                    continue;
                }
                body.clear();
                write_locations(&mut body, &e.ranges);
                write_map_entry(
                    &mut locations,
                    1,
                    &digest_string(&w.digests[i as usize]),
                    &body,
                );
            }
            let field_len = |tag: u32, len: usize| {
                if len == 0 {
                    0
                } else {
                    prost::encoding::key_len(tag)
                        + prost::encoding::encoded_len_varint(len as u64)
                        + len
                }
            };
            let info_len = field_len(1, s.filename.len())
                + field_len(2, s.data.len())
                + field_len(4, s.language.len());
            let source_len = locations.len()
                + prost::encoding::key_len(2)
                + prost::encoding::encoded_len_varint(info_len as u64)
                + info_len;
            out.reserve_exact(source_len + 16);
            encode::key(&mut out, 3, 2);
            encode::varint(&mut out, source_len as u64);
            out.extend_from_slice(&locations);
            encode::key(&mut out, 2, 2);
            encode::varint(&mut out, info_len as u64);
            encode::string(&mut out, 1, &s.filename);
            if !s.data.is_empty() {
                encode::bytes_field(&mut out, 2, &s.data);
            }
            encode::string(&mut out, 4, &s.language);
        }
        let def = pb::EncodedDefinition(out);
        #[cfg(debug_assertions)]
        {
            let decoded = def.decode().expect("marshaled Definition decodes");
            assert_eq!(
                decoded.encode_to_vec(),
                def.0,
                "direct Definition encoding differs from prost's"
            );
        }
        Ok(def)
    }
}
