//! Graph → `pb::Definition` (`llb-wire.md` §2): one `def` entry per
//! distinct digest among the ops reachable from the result, in node order,
//! the return op last; a metadata entry for every op (metadata of identical
//! ops merged, later nodes' values winning), source locations keyed by
//! digest.
//!
//! Node order, not the Go client's depth-first post-order: the server only
//! needs the return op last (`llb-wire.md` §2), and node order keeps inputs
//! before the ops that read them (nodes only refer to earlier nodes). It is
//! also the order in which the op table stores each distinct op's whole `def`
//! entry as the node is added, so a Definition holding every op of the graph
//! (a single target) takes that arena over as its buffer
//! ([`Graph::marshal_owned`]) instead of copying most of its bytes, and
//! otherwise copies runs of adjacent entries.
//!
//! The Definition is written straight in wire form (an
//! [`pb::EncodedDefinition`]) from the graph's op table, which holds every
//! op's bytes, digest, caps, metadata and source locations, encoded when the
//! node was added, so no `pb::Definition` (≈10 allocations per op) is built
//! and then encoded again, and the nodes' strings are not read a second time.
//! The bytes equal prost's encoding of the same `pb::Definition`; debug
//! builds check that on every marshal, and every op against the reference
//! encoder.

use std::collections::BTreeSet;
use std::ops::Range;

use prost::Message;
use sha2::{Digest, Sha256};

use crate::caps;
use crate::encode;
use crate::graph::{Graph, NodeId, OpMeta, Output, State};
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
    /// `line`: the first source line of the op (1-based; 0: none), so the
    /// caller can name the feature in the spec's words.
    #[error("{op}: the BuildKit server does not support LLB capability `{cap}`")]
    UnsupportedCap {
        cap: String,
        op: String,
        /// The first source line of the op (1-based), when it has one.
        line: Option<u32>,
    },
    /// The op cannot be expressed (e.g. an exec without arguments).
    #[error("{op}: invalid LLB: {reason}")]
    Invalid {
        op: String,
        reason: String,
        /// The first source line of the op (1-based), when it has one.
        line: Option<u32>,
    },
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

/// The first source line of an op (read back from its locations), so that
/// an error found while marshaling points into the spec.
fn op_line(t: &OpTable, id: NodeId) -> Option<u32> {
    let r = &t.ops[id.index()];
    let locs = pb::Locations::decode(t.locs.get(r.locs.range())?).ok()?;
    let line = locs.locations.first()?.ranges.first()?.start.as_ref()?.line;
    u32::try_from(line).ok().filter(|&l| l > 0)
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
    /// The first node with this digest (`OpRecord::canon`): its `def` entry
    /// is in the table's arena.
    canon: u32,
    /// The first reachable node with this digest: its metadata goes with it.
    node: u32,
    /// Whether later reachable nodes share it (their metadata is merged in).
    shared: bool,
}

const UNSEEN: u32 = u32::MAX;

/// The ops a Definition for one result holds: the distinct ops of the nodes
/// reachable from it, in node order (inputs always come before the ops that
/// read them: nodes only refer to earlier nodes, and identical ops have
/// identical inputs).
struct Selection {
    entries: Vec<EntryRef>,
    /// `(entry, node)` for every later node of a shared entry, in node order.
    shared: Vec<(u32, u32)>,
    flags: MetaFlags,
    /// The entry of the result's op.
    head: u32,
}

impl Selection {
    /// Marks what `root` needs (one backward pass: nodes only refer to
    /// earlier nodes), then checks those nodes in node order: the first op
    /// in error or needing a cap the server lacks stops the marshal.
    fn of(
        t: &OpTable,
        root: NodeId,
        supported: Option<&BTreeSet<String>>,
    ) -> Result<Self, LlbError> {
        if t.bytes_taken {
            return Err(LlbError::Invalid {
                op: "the LLB graph".into(),
                reason: "its ops were already moved into a Definition".into(),
                line: None,
            });
        }
        let n = root.index() + 1;
        let mut reach = vec![false; n];
        reach[root.index()] = true;
        for id in (0..n).rev() {
            if reach[id] {
                for &d in t.deps_of(&t.ops[id]) {
                    reach[d as usize] = true;
                }
            }
        }
        let mut canon_entry = vec![UNSEEN; n];
        let mut sel = Selection {
            entries: Vec::new(),
            shared: Vec::new(),
            flags: MetaFlags::default(),
            head: UNSEEN,
        };
        for id in (0..n).filter(|&id| reach[id]) {
            let rec = &t.ops[id];
            if let Some(reason) = &rec.error {
                return Err(LlbError::Invalid {
                    op: op_name(t, NodeId(id as u32)),
                    reason: reason.to_string(),
                    line: op_line(t, NodeId(id as u32)),
                });
            }
            #[cfg(debug_assertions)]
            cross_check(t, NodeId(id as u32));
            if let Some(sup) = supported {
                if let Some(cap) = t.caps_of(rec).iter().find(|c| !sup.contains(**c)) {
                    return Err(LlbError::UnsupportedCap {
                        cap: cap.to_string(),
                        op: op_name(t, NodeId(id as u32)),
                        line: op_line(t, NodeId(id as u32)),
                    });
                }
            }
            sel.flags.or(rec.flags);
            let c = rec.canon as usize;
            match canon_entry[c] {
                UNSEEN => {
                    canon_entry[c] = sel.entries.len() as u32;
                    sel.entries.push(EntryRef {
                        canon: c as u32,
                        node: id as u32,
                        shared: false,
                    });
                }
                i => {
                    sel.entries[i as usize].shared = true;
                    sel.shared.push((i, id as u32));
                }
            }
        }
        sel.head = canon_entry[t.ops[root.index()].canon as usize];
        Ok(sel)
    }

    /// Whether the Definition holds every distinct op of the table: then
    /// the table's arena is its `def` section as it stands.
    fn is_whole_table(&self, t: &OpTable) -> bool {
        self.entries.len() == t.distinct
    }

    /// Appends the `def` entries, in the arena's order (first nodes' order),
    /// copying runs of adjacent entries at once.
    fn write_defs(&self, t: &OpTable, out: &mut Vec<u8>) {
        let mut canons: Vec<u32> = self.entries.iter().map(|e| e.canon).collect();
        canons.sort_unstable();
        let mut run: Option<Range<usize>> = None;
        for c in canons {
            let r = t.def_entry(&t.ops[c as usize]);
            run = match run {
                Some(prev) if prev.end == r.start => Some(prev.start..r.end),
                Some(prev) => {
                    out.extend_from_slice(&t.bytes[prev]);
                    Some(r)
                }
                None => Some(r),
            };
        }
        if let Some(r) = run {
            out.extend_from_slice(&t.bytes[r]);
        }
    }

    /// The merged metadata and distinct source ranges of a shared entry:
    /// its first node's, then the others' in node order (later values win,
    /// as in a map), read back from the table (identical ops are rare, so
    /// nodes' metadata is not kept just for them).
    fn merged(&self, t: &OpTable, i: u32, first: usize) -> (pb::OpMetadata, Vec<pb::Location>) {
        let later = self.shared[first..].iter().take_while(|(j, _)| *j == i);
        let nodes = std::iter::once(self.entries[i as usize].node).chain(later.map(|&(_, n)| n));
        let mut md = pb::OpMetadata::default();
        // One location per source info, in the order first seen.
        let mut locations: Vec<pb::Location> = Vec::new();
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
            if m.linux_resources.is_some() {
                md.linux_resources = m.linux_resources;
            }
            let locs = pb::Locations::decode(&t.locs[r.locs.range()]).unwrap_or_default();
            for l in locs.locations {
                let at = match locations
                    .iter()
                    .position(|x| x.source_index == l.source_index)
                {
                    Some(k) => k,
                    None => {
                        locations.push(pb::Location {
                            source_index: l.source_index,
                            ranges: Vec::new(),
                        });
                        locations.len() - 1
                    }
                };
                let into = &mut locations[at].ranges;
                for rg in l.ranges {
                    if !into.contains(&rg) {
                        into.push(rg);
                    }
                }
            }
        }
        (md, locations)
    }
}

/// Debug builds: the table's encoding must equal the `pb::Op` one, and its
/// caps those read off the decoded op.
#[cfg(debug_assertions)]
fn cross_check(t: &OpTable, id: NodeId) {
    let node = &t.nodes[id.index()];
    let rec = &t.ops[id.index()];
    let resolve = |o: Output| pb::Input {
        digest: digest_string(&t.digests[o.node.index()]),
        index: i64::from(o.index),
    };
    let op = node
        .kind
        .to_pb(&resolve)
        .expect("direct encoding accepted the op");
    let bytes = t.bytes_of(rec);
    match &node.kind {
        // A foreign op keeps the client's bytes (which prost need not
        // reproduce: fields it does not know, another encoder's order).
        crate::graph::NodeKind::Foreign(f) => {
            assert_eq!(f.bytes, bytes, "a foreign op's bytes were changed")
        }
        _ => assert_eq!(
            op.encode_to_vec(),
            bytes,
            "direct op encoding differs from prost's"
        ),
    }
    let d: [u8; 32] = Sha256::digest(bytes).into();
    assert_eq!(
        d,
        t.digests[id.index()],
        "digest differs from the op's bytes"
    );
    let mut want = caps::op_caps(&op);
    want.extend(node.extra_caps.iter().copied());
    assert_eq!(
        want.into_iter().collect::<Vec<_>>(),
        t.caps_of(rec),
        "caps differ"
    );
    let deps: Vec<u32> = node.kind.deps().into_iter().map(|o| o.node.0).collect();
    assert_eq!(deps, t.deps_of(rec), "deps differ");
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
    if let Some(lr) = &m.linux_resources {
        encode::message(b, 7, |b| b.extend_from_slice(&lr.encode_to_vec()));
    }
}

/// The `Locations` body of one node's distinct source ranges (source info
/// 0); nothing when it has none.
pub(crate) fn write_node_locations(b: &mut Vec<u8>, m: &OpMeta) {
    let rs = &m.source_ranges;
    if !rs.is_empty() {
        write_spec_location(b, rs);
    }
    for l in &m.other_locations {
        encode::message(b, 1, |b| b.extend_from_slice(&l.encode_to_vec()));
    }
}

/// The `Location` (source info 0) of a node's distinct ranges in the spec.
fn write_spec_location(b: &mut Vec<u8>, rs: &[crate::graph::SourceRange]) {
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

/// Bytes the Definition needs beyond its `def` entries: metadata and
/// locations (bounded by the table's arenas plus a digest key and lengths
/// per entry), the return op and the source section.
fn rest_capacity(t: &OpTable, source: Option<&SourceInfoInput<'_>>) -> usize {
    t.meta.len()
        + t.locs.len()
        + t.len() * 2 * (DIGEST_KEY_LEN + 16)
        + source.map_or(0, |s| {
            s.data.len() + s.filename.len() + s.language.len() + 64
        })
        + 4096
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
        let sel = Selection::of(t, result.node, supported_caps)?;
        Ok(copied(t, sel, result, source, &self.extra_sources))
    }

    /// As [`Graph::marshal`], for the graph's last Definition: when it holds
    /// every op of the graph (a single target: the usual case), the op
    /// table's arena of `def` entries becomes the Definition's buffer, so
    /// those bytes (most of the Definition) are neither copied nor written
    /// to fresh memory. The graph cannot be marshaled again after that.
    pub fn marshal_owned(
        &mut self,
        result: State,
        source: Option<SourceInfoInput<'_>>,
        supported_caps: Option<&BTreeSet<String>>,
    ) -> Result<pb::EncodedDefinition, LlbError> {
        let Some(result) = result else {
            return Ok(pb::EncodedDefinition::default());
        };
        let extra = std::mem::take(&mut self.extra_sources);
        let t = self.table_mut();
        let sel = Selection::of(t, result.node, supported_caps);
        let sel = match sel {
            Ok(s) => s,
            Err(e) => {
                self.extra_sources = extra;
                return Err(e);
            }
        };
        let def = if !sel.is_whole_table(t) {
            copied(t, sel, result, source, &extra)
        } else {
            let rest = rest_capacity(t, source.as_ref());
            let mut out = std::mem::take(&mut t.bytes);
            t.bytes_taken = true;
            out.reserve(rest);
            finish(t, sel, out, result, source, &extra)
        };
        self.extra_sources = extra;
        Ok(def)
    }
}

/// A Definition whose `def` entries are copied out of the table (which
/// stays usable), in one buffer reserved for everything: growing a buffer
/// of tens of megabytes copies it; pages reserved and never written cost no
/// memory.
fn copied(
    t: &OpTable,
    sel: Selection,
    result: Output,
    source: Option<SourceInfoInput<'_>>,
    extra: &[pb::SourceInfo],
) -> pb::EncodedDefinition {
    let mut out = Vec::with_capacity(t.bytes.len() + rest_capacity(t, source.as_ref()));
    sel.write_defs(t, &mut out);
    finish(t, sel, out, result, source, extra)
}

/// The rest of a Definition after its `def` entries in `out`: the return
/// op, every entry's metadata and source locations in digest order, and the
/// source section.
fn finish(
    t: &OpTable,
    sel: Selection,
    mut out: Vec<u8>,
    result: Output,
    source: Option<SourceInfoInput<'_>>,
    extra: &[pb::SourceInfo],
) -> pb::EncodedDefinition {
    let mut w = sel;
    // Shared entries' later nodes, grouped by entry (stable: node order is
    // kept within an entry).
    w.shared.sort_by_key(|&(i, _)| i);
    let first_shared = |i: u32| w.shared.partition_point(|&(j, _)| j < i);
    let head = w.head;
    let ret = pb::Op {
        inputs: vec![pb::Input {
            digest: digest_string(&t.digests[w.entries[head as usize].node as usize]),
            index: i64::from(result.index),
        }],
        ..Default::default()
    };
    let ret_bytes = ret.encode_to_vec();
    let rd: [u8; 32] = Sha256::digest(&ret_bytes).into();
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
            let (m, locs) = w.merged(t, *i, first_shared(*i));
            write_map_entry(&mut out, 2, d, &m.encode_to_vec());
            if source.is_some() && !locs.is_empty() {
                let l = pb::Locations { locations: locs };
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
        let info_len =
            opt_len(1, s.filename.len()) + opt_len(2, s.data.len()) + opt_len(4, s.language.len());
        // Foreign Definitions' source infos follow the spec's (index 1…).
        let extra: Vec<Vec<u8>> = extra.iter().map(|i| i.encode_to_vec()).collect();
        let source_len = locations.len()
            + encode::field_len(2, info_len)
            + extra
                .iter()
                .map(|e| encode::field_len(2, e.len()))
                .sum::<usize>();
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
        for e in &extra {
            encode::key(&mut out, 2, 2);
            encode::varint(&mut out, e.len() as u64);
            out.extend_from_slice(e);
        }
    }
    let def = pb::EncodedDefinition::from(out);
    #[cfg(debug_assertions)]
    {
        let decoded = def.decode().expect("marshaled Definition decodes");
        assert_eq!(
            decoded.encode_to_vec(),
            *def.0,
            "direct Definition encoding differs from prost's"
        );
    }
    def
}
