//! Graph → `pb::Definition` (`llb-wire.md` §2): depth-first post-order from
//! the result, one `def` entry per distinct digest (metadata of identical
//! ops merged), the return op last, a metadata entry for every op, source
//! locations keyed by digest. Only ops reachable from the result are emitted.
//!
//! The Definition is written straight in wire form (an
//! [`pb::EncodedDefinition`]) from the graph's op table, which holds every
//! op's bytes, digest, caps, metadata and source locations, encoded when the
//! node was added: the walk reads that compact table in node order and
//! copies bytes, so no `pb::Definition` (≈10 allocations per op) is built and
//! then encoded again, and the nodes' strings are not read a second time.
//! The bytes equal prost's encoding of the same `pb::Definition`; debug
//! builds check that on every marshal, and every op against the reference
//! encoder.

use std::collections::BTreeSet;

use prost::Message;
use sha2::{Digest, Sha256};

use crate::caps;
use crate::encode;
#[cfg(debug_assertions)]
use crate::graph::Output;
use crate::graph::{Graph, NodeId, OpMeta, State};
use crate::optable::{OpTable, Span};
use crate::pb;

/// The spec file, for `Definition.source.infos[0]` (borrowed: the text is
/// written into the Definition once, not copied first).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SourceInfoInput<'a> {
    pub filename: &'a str,
    pub data: &'a [u8],
    /// A GitHub-linguist name, e.g. `YAML`.
    pub language: &'a str,
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

/// A short human name for an op: its custom name (read back from its
/// metadata), else what BuildKit would show (identifier, args, action list…).
fn op_name(t: &OpTable, id: NodeId) -> String {
    let r = &t.ops[id.index()];
    pb::OpMetadata::decode(&t.meta[r.meta.range()])
        .ok()
        .and_then(|m| m.description.get("llb.customname").cloned())
        .or_else(|| r.fallback_name.as_deref().map(str::to_string))
        .unwrap_or_default()
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

/// What the return op's caps depend on, ORed over every op emitted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MetaFlags {
    pub ignore_cache: bool,
    pub description: bool,
    pub export_cache: bool,
}

impl MetaFlags {
    pub(crate) fn of(m: &OpMeta) -> Self {
        MetaFlags {
            ignore_cache: m.ignore_cache,
            description: m.custom_name.is_some() || !m.description.is_empty(),
            export_cache: m.export_cache.is_some(),
        }
    }
    fn or(&mut self, o: MetaFlags) {
        self.ignore_cache |= o.ignore_cache;
        self.description |= o.description;
        self.export_cache |= o.export_cache;
    }
}

/// One distinct op (by digest) in the Definition.
struct EntryRef {
    /// The first node emitted with this digest.
    node: u32,
    /// Whether later nodes share it (their metadata is merged in).
    shared: bool,
}

const UNSEEN: u32 = u32::MAX;

struct Walk<'a> {
    t: &'a OpTable,
    supported: Option<&'a BTreeSet<String>>,
    /// Per node: index of its entry, or `UNSEEN`.
    node_entry: Vec<u32>,
    /// Per node that is the first with its digest (`OpRecord::canon`): the
    /// entry of that digest, or `UNSEEN`.
    canon_entry: Vec<u32>,
    entries: Vec<EntryRef>,
    /// `(entry, node)` for every later node of a shared entry, in emit order.
    shared: Vec<(u32, u32)>,
    flags: MetaFlags,
    /// The Definition being written: `def` entries (field 1) so far.
    out: Vec<u8>,
}

impl<'a> Walk<'a> {
    /// Depth-first post-order from `root` with an explicit stack (no
    /// recursion limit on long chains). Nodes only refer to earlier nodes,
    /// so there are no cycles.
    fn visit(&mut self, root: NodeId) -> Result<u32, LlbError> {
        let mut stack = vec![(root.0, false)];
        while let Some((id, expanded)) = stack.pop() {
            if self.node_entry[id as usize] != UNSEEN {
                continue;
            }
            if expanded {
                self.emit(id)?;
            } else {
                stack.push((id, true));
                let deps = self.t.deps_of(&self.t.ops[id as usize]);
                stack.extend(deps.iter().rev().map(|&d| (d, false)));
            }
        }
        Ok(self.node_entry[root.index()])
    }

    /// Records one node whose inputs have all been emitted: checks its caps,
    /// writes its op once per digest and notes whose metadata goes with it.
    fn emit(&mut self, id: u32) -> Result<(), LlbError> {
        let t = self.t;
        let rec = &t.ops[id as usize];
        if let Some(reason) = &rec.error {
            return Err(LlbError::Invalid {
                op: op_name(t, NodeId(id)),
                reason: reason.to_string(),
            });
        }
        #[cfg(debug_assertions)]
        self.cross_check(NodeId(id));

        if let Some(sup) = self.supported {
            if let Some(cap) = t.caps_of(rec).iter().find(|c| !sup.contains(**c)) {
                return Err(LlbError::UnsupportedCap {
                    cap: cap.to_string(),
                    op: op_name(t, NodeId(id)),
                });
            }
        }
        self.flags.or(rec.flags);
        let c = rec.canon as usize;
        let idx = match self.canon_entry[c] {
            UNSEEN => {
                let i = self.entries.len() as u32;
                self.canon_entry[c] = i;
                encode::bytes_field(&mut self.out, 1, t.bytes_of(rec));
                self.entries.push(EntryRef {
                    node: id,
                    shared: false,
                });
                i
            }
            i => {
                self.entries[i as usize].shared = true;
                self.shared.push((i, id));
                i
            }
        };
        self.node_entry[id as usize] = idx;
        Ok(())
    }

    /// The merged metadata and distinct source ranges of a shared entry:
    /// its first node's, then the others' in emit order (later values win,
    /// as in a map), read back from the table (identical ops are rare, so
    /// nodes' metadata is not kept just for them).
    fn merged(&self, i: u32, first: usize) -> (pb::OpMetadata, Vec<pb::Range>) {
        let t = self.t;
        let later = self.shared[first..].iter().take_while(|(j, _)| *j == i);
        let nodes = std::iter::once(self.entries[i as usize].node).chain(later.map(|&(_, n)| n));
        let mut md = pb::OpMetadata::default();
        let mut ranges: Vec<pb::Range> = Vec::new();
        for n in nodes {
            let r = &t.ops[n as usize];
            // The table's own encoding: it decodes.
            let m = pb::OpMetadata::decode(&t.meta[r.meta.range()]).unwrap_or_default();
            md.ignore_cache |= m.ignore_cache;
            md.description.extend(m.description);
            if m.export_cache.is_some() {
                md.export_cache = m.export_cache;
            }
            md.caps.extend(m.caps);
            if m.progress_group.is_some() {
                md.progress_group = m.progress_group;
            }
            let locs = pb::Locations::decode(&t.locs[r.locs.range()]).unwrap_or_default();
            for rg in locs.locations.into_iter().flat_map(|l| l.ranges) {
                if !ranges.contains(&rg) {
                    ranges.push(rg);
                }
            }
        }
        (md, ranges)
    }

    /// Debug builds: the table's encoding must equal the `pb::Op` one, and
    /// its caps those read off the decoded op.
    #[cfg(debug_assertions)]
    fn cross_check(&self, id: NodeId) {
        let node = &self.t.nodes[id.index()];
        let rec = &self.t.ops[id.index()];
        let resolve = |o: Output| pb::Input {
            digest: digest_string(&self.t.digests[o.node.index()]),
            index: i64::from(o.index),
        };
        let op = node
            .kind
            .to_pb(&resolve)
            .expect("direct encoding accepted the op");
        let bytes = self.t.bytes_of(rec);
        assert_eq!(
            op.encode_to_vec(),
            bytes,
            "direct op encoding differs from prost's"
        );
        let d: [u8; 32] = Sha256::digest(bytes).into();
        assert_eq!(
            d,
            self.t.digests[id.index()],
            "digest differs from the op's bytes"
        );
        let mut want = caps::op_caps(&op);
        want.extend(node.extra_caps.iter().copied());
        assert_eq!(
            want.into_iter().collect::<Vec<_>>(),
            self.t.caps_of(rec),
            "caps differ"
        );
        let deps: Vec<u32> = node.kind.deps().into_iter().map(|o| o.node.0).collect();
        assert_eq!(deps, self.t.deps_of(rec), "deps differ");
    }
}

/// The `OpMetadata` body of one node, as prost would encode it (fields in
/// tag order, defaults skipped, map entries in key order): the description
/// map is already sorted, and the custom name goes in at its key's place
/// unless the map overrides it. Debug builds check it against prost.
pub(crate) fn write_node_metadata(b: &mut Vec<u8>, m: &OpMeta, caps: &[&'static str]) {
    const NAME_KEY: &str = "llb.customname";
    let entry = |b: &mut Vec<u8>, k: &str, v: &str| {
        encode::message(b, 2, |b| {
            encode::string(b, 1, k);
            encode::string(b, 2, v);
        })
    };
    encode::boolean(b, 1, m.ignore_cache);
    let mut name = m
        .custom_name
        .as_deref()
        .filter(|_| !m.description.contains_key(NAME_KEY));
    for (k, v) in &m.description {
        if let Some(n) = name.filter(|_| NAME_KEY < k.as_str()) {
            entry(b, NAME_KEY, n);
            name = None;
        }
        entry(b, k, v);
    }
    if let Some(n) = name {
        entry(b, NAME_KEY, n);
    }
    if let Some(v) = m.export_cache {
        encode::message(b, 4, |b| encode::boolean(b, 1, v));
    }
    write_caps(b, caps);
    if let Some(pg) = &m.progress_group {
        encode::message(b, 6, |b| {
            encode::string(b, 1, &pg.id);
            encode::string(b, 2, &pg.name);
            encode::boolean(b, 3, pg.weak);
        });
    }
}

/// The `Locations` body of one node's distinct source ranges (source info
/// 0); nothing when it has none.
pub(crate) fn write_node_locations(b: &mut Vec<u8>, m: &OpMeta) {
    let rs = &m.source_ranges;
    if rs.is_empty() {
        return;
    }
    let distinct = |i: usize| !rs[..i].contains(&rs[i]);
    encode::message(b, 1, |b| {
        for (i, r) in rs.iter().enumerate() {
            if !distinct(i) {
                continue;
            }
            encode::message(b, 2, |b| {
                encode::message(b, 1, |b| {
                    encode::int32(b, 1, r.start_line);
                    encode::int32(b, 2, r.start_character);
                });
                encode::message(b, 2, |b| {
                    encode::int32(b, 1, r.end_line);
                    encode::int32(b, 2, r.end_character);
                });
            });
        }
    });
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

/// Bytes of a `"sha256:<hex>"` map key field: tag, length, 71 bytes.
const DIGEST_KEY_LEN: usize = 2 + 71;

/// A `map<string, message>` entry keyed by `"sha256:" + hex(key)` whose
/// value body is `body`; an empty body (the message at its default) is left
/// out, as prost does.
fn write_map_entry(out: &mut Vec<u8>, tag: u32, key: &[u8; 32], body: &[u8]) {
    // Lengths known up front: no back-patch (which shifts the entry when it
    // is 128 bytes or more, as most metadata entries are), and the hex is
    // written in place (no string per entry).
    let body_len = if body.is_empty() {
        0
    } else {
        encode::field_len(2, body.len())
    };
    encode::key(out, tag, 2);
    encode::varint(out, (DIGEST_KEY_LEN + body_len) as u64);
    encode::digest_field(out, 1, key);
    if !body.is_empty() {
        encode::bytes_field(out, 2, body);
    }
}

/// How many entries ahead the metadata pass prefetches: enough to overlap
/// the cache misses of a few entries (~200 bytes each).
const PREFETCH_AHEAD: usize = 8;

/// Asks the CPU to start loading the start of `b` into cache. A hint only:
/// no effect on results, and none at all on other architectures.
#[inline(always)]
fn prefetch(b: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing observable and never faults, whatever
    // the address; SSE is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(b.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = b;
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
        source: Option<SourceInfoInput<'_>>,
        supported_caps: Option<&BTreeSet<String>>,
    ) -> Result<pb::EncodedDefinition, LlbError> {
        let Some(result) = result else {
            return Ok(pb::EncodedDefinition::default());
        };
        let t = self.table();
        let mut w = Walk {
            t,
            supported: supported_caps,
            node_entry: vec![UNSEEN; t.len()],
            canon_entry: vec![UNSEEN; t.len()],
            entries: Vec::new(),
            shared: Vec::new(),
            flags: MetaFlags::default(),
            // Reserved once for everything (growing a buffer of tens of
            // megabytes copies it): the table's arenas bound what reachable
            // entries need; each map entry adds its digest key and lengths.
            // Pages reserved and never written cost no memory.
            out: Vec::with_capacity(
                t.bytes.len()
                    + t.meta.len()
                    + t.locs.len()
                    + t.len() * 2 * (DIGEST_KEY_LEN + 16)
                    + source.as_ref().map_or(0, |s| {
                        s.data.len() + s.filename.len() + s.language.len() + 64
                    })
                    + 4096,
            ),
        };
        let head = w.visit(result.node)?;
        // Shared entries' later nodes, grouped by entry (stable: emit order
        // is kept within an entry).
        w.shared.sort_by_key(|&(i, _)| i);
        let first_shared = |i: u32| w.shared.partition_point(|&(j, _)| j < i);

        let ret = pb::Op {
            inputs: vec![pb::Input {
                digest: digest_string(&t.digests[w.entries[head as usize].node as usize]),
                index: i64::from(result.index),
            }],
            ..Default::default()
        };
        let ret_bytes = ret.encode_to_vec();
        let rd: [u8; 32] = Sha256::digest(&ret_bytes).into();
        let mut out = std::mem::take(&mut w.out);
        encode::bytes_field(&mut out, 1, &ret_bytes);
        let f = w.flags;
        let ret_caps: Vec<&'static str> =
            caps::return_op_caps(f.ignore_cache, f.description, f.export_cache)
                .into_iter()
                .collect();

        // Metadata and locations in digest order (hex order is byte order).
        // The sort keys are gathered in entry order, which follows node
        // order, so the records are read sequentially; the arenas are then
        // read in digest order, i.e. at random, and prefetched ahead.
        let mut order: Vec<([u8; 32], u32, Span, Span)> = w
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let r = &t.ops[e.node as usize];
                (t.digests[e.node as usize], i as u32, r.meta, r.locs)
            })
            .collect();
        // Digests are uniformly distributed: their first 8 bytes, compared
        // as one big-endian integer, nearly always decide (a 32-byte
        // comparison per step took ~1 ms per 10,000 ops).
        order.sort_unstable_by(|a, b| {
            let head = |d: &[u8; 32]| u64::from_be_bytes(d[..8].try_into().expect("8 bytes"));
            head(&a.0).cmp(&head(&b.0)).then_with(|| a.0.cmp(&b.0))
        });
        let mut body = Vec::with_capacity(1024);
        let mut locations = Vec::new();
        if source.is_some() {
            locations.reserve(t.locs.len() + order.len() * (DIGEST_KEY_LEN + 8));
        }
        // The return op's metadata entry takes its place among the others.
        let ret_at = order.partition_point(|o| o.0 < rd);
        for (k, (d, i, meta, locs)) in order.iter().enumerate() {
            if k == ret_at {
                body.clear();
                write_caps(&mut body, &ret_caps);
                write_map_entry(&mut out, 2, &rd, &body);
            }
            if let Some(next) = order.get(k + PREFETCH_AHEAD) {
                prefetch(&t.meta[next.2.range()]);
                prefetch(&t.locs[next.3.range()]);
            }
            if w.entries[*i as usize].shared {
                let (m, ranges) = w.merged(*i, first_shared(*i));
                write_map_entry(&mut out, 2, d, &m.encode_to_vec());
                if source.is_some() && !ranges.is_empty() {
                    let l = pb::Locations {
                        locations: vec![pb::Location {
                            source_index: 0,
                            ranges,
                        }],
                    };
                    write_map_entry(&mut locations, 1, d, &l.encode_to_vec());
                }
            } else {
                write_map_entry(&mut out, 2, d, &t.meta[meta.range()]);
                if source.is_some() && !locs.is_empty() {
                    write_map_entry(&mut locations, 1, d, &t.locs[locs.range()]);
                }
            }
        }
        if ret_at == order.len() {
            body.clear();
            write_caps(&mut body, &ret_caps);
            write_map_entry(&mut out, 2, &rd, &body);
        }

        if let Some(s) = source {
            // Lengths are computed up front rather than back-patched: the
            // section holds the whole spec text, which a back-patch would
            // shift byte by byte.
            // Empty strings and bytes are skipped, as prost does.
            let opt_len = |tag: u32, len: usize| {
                if len == 0 {
                    0
                } else {
                    encode::field_len(tag, len)
                }
            };
            let info_len = opt_len(1, s.filename.len())
                + opt_len(2, s.data.len())
                + opt_len(4, s.language.len());
            let source_len = locations.len() + encode::field_len(2, info_len);
            encode::key(&mut out, 3, 2);
            encode::varint(&mut out, source_len as u64);
            out.extend_from_slice(&locations);
            encode::key(&mut out, 2, 2);
            encode::varint(&mut out, info_len as u64);
            encode::string(&mut out, 1, s.filename);
            if !s.data.is_empty() {
                encode::bytes_field(&mut out, 2, s.data);
            }
            encode::string(&mut out, 4, s.language);
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
