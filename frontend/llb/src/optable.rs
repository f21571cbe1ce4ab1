//! Every node's op, encoded once, when the node is added.
//!
//! An op's bytes, digest and caps depend only on the op and its inputs'
//! digests, and nodes only refer to earlier nodes, so all of it can be
//! computed as nodes are added, while the node's strings are still in the
//! CPU cache. Its `OpMetadata` body and source locations are written then
//! too. The marshal walk then only reads this table (compact, in node order)
//! and copies bytes; the nodes are not kept (the metadata of identical ops,
//! several nodes with one digest, is merged from the encoded bodies).
//!
//! Inputs are identified by digest exactly as in the Definition (the first
//! node with a digest stands for all nodes with it). Debug builds check
//! every op marshaled against the reference encoder (`NodeKind::to_pb`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::encode::{self, CapList};
use crate::graph::{Node, NodeId, Output};
use crate::marshal::{write_node_locations, write_node_metadata, MetaFlags};

/// A range into one of the table's arenas (u32: a record is ~100 bytes
/// instead of ~150; `OpTable::add` refuses ops past 4 GiB).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span(u32, u32);

impl Span {
    /// `v[from..]`; `None` past 4 GiB.
    fn of<T>(v: &[T], from: usize) -> Option<Span> {
        Some(Span(
            u32::try_from(from).ok()?,
            u32::try_from(v.len()).ok()?,
        ))
    }
    pub fn range(self) -> Range<usize> {
        self.0 as usize..self.1 as usize
    }
    pub fn is_empty(self) -> bool {
        self.0 == self.1
    }
}

/// Hashes a SHA-256 digest by its first 8 bytes: they are already uniformly
/// distributed, so SipHash over all 32 (~50 ns per op) buys nothing. Keys
/// are still compared in full, and the map is only looked up, never
/// iterated, so nothing depends on this hash.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes its length, then its bytes: the bytes win.
        let mut head = [0u8; 8];
        let n = bytes.len().min(8);
        head[..n].copy_from_slice(&bytes[..n]);
        self.0 = u64::from_le_bytes(head);
    }
}

/// One node's op.
#[derive(Clone, Debug)]
pub(crate) struct OpRecord {
    /// The op's bytes (`Definition.def` entry) in [`OpTable::bytes`].
    pub bytes: Span,
    /// The `OpMetadata` body of this node alone, in [`OpTable::meta`].
    pub meta: Span,
    /// The `Locations` body of this node alone (empty: no source ranges),
    /// in [`OpTable::locs`].
    pub locs: Span,
    /// Nodes this op reads, in visiting order, in [`OpTable::deps`].
    pub deps: Span,
    /// Sorted, deduplicated, the node's extra caps included, in
    /// [`OpTable::caps`].
    pub caps: Span,
    /// The first node with this digest (itself if it is the first).
    pub canon: u32,
    pub flags: MetaFlags,
    /// What BuildKit would show for an op without a custom name (for
    /// errors); `None` when it has one (it is in `meta`), except for an op
    /// in error, which has no `meta`: then its custom name.
    pub fallback_name: Option<Box<str>>,
    /// Why the op cannot be encoded (reported by the walk, if it reaches
    /// it). Such a node is never an input's digest: the walk emits inputs
    /// first and stops at this error.
    pub error: Option<Box<str>>,
}

/// Every node's op, in node order.
#[derive(Clone, Default)]
pub(crate) struct OpTable {
    pub ops: Vec<OpRecord>,
    /// Debug builds keep every node, to check the table against the
    /// reference encoder (`NodeKind::to_pb`) at marshal time.
    #[cfg(debug_assertions)]
    pub nodes: Vec<Node>,
    /// Per node, the SHA-256 of its op bytes (zero for an op in error).
    pub digests: Vec<[u8; 32]>,
    /// The `def` entries (field 1 of `Definition`: key, length, op bytes) of
    /// the first node of each digest, in node order: for a Definition that
    /// holds every op, its `def` section as it stands.
    pub bytes: Vec<u8>,
    /// First nodes with their digest (entries in `bytes`).
    pub distinct: usize,
    /// `bytes` was moved into a Definition (`Graph::marshal_owned`).
    pub bytes_taken: bool,
    pub meta: Vec<u8>,
    pub locs: Vec<u8>,
    pub deps: Vec<u32>,
    pub caps: Vec<&'static str>,
    /// Lookup only (never iterated), so output order does not depend on it.
    first: HashMap<[u8; 32], u32, BuildHasherDefault<DigestHasher>>,
    buf: Vec<u8>,
    body: Vec<u8>,
    scratch_caps: CapList,
    scratch_deps: Vec<(NodeId, bool)>,
}

impl std::fmt::Debug for OpTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpTable({} ops)", self.ops.len())
    }
}

impl OpTable {
    /// `expected_ops` sizes the arenas once (growing multi-megabyte buffers
    /// by doubling showed up in time and peak memory). Reserved pages that
    /// are never written cost no memory.
    pub fn with_capacity(expected_ops: usize) -> Self {
        OpTable {
            ops: Vec::with_capacity(expected_ops),
            digests: Vec::with_capacity(expected_ops),
            // Room for the rest of the Definition too, which is appended
            // to this buffer when it becomes the Definition's.
            bytes: Vec::with_capacity(expected_ops * 896 + 64 * 1024),
            meta: Vec::with_capacity(expected_ops * 112),
            locs: Vec::with_capacity(expected_ops * 24),
            deps: Vec::with_capacity(expected_ops * 2),
            caps: Vec::with_capacity(expected_ops * 2),
            first: HashMap::with_capacity_and_hasher(expected_ops, Default::default()),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Encodes the next node (its index must be `self.len()`).
    pub fn add(&mut self, node: Node) {
        let fallback_name = node
            .meta
            .custom_name
            .is_none()
            .then(|| node.kind.fallback_name().into_boxed_str());
        let i = self.ops.len() as u32;
        self.scratch_caps.clear();
        let r = {
            let ops = &self.ops;
            let entry_of = |o: Output| ops[o.node.index()].canon;
            encode::encode_op(
                &node.kind,
                &entry_of,
                &self.digests,
                &mut self.buf,
                &mut self.body,
                &mut self.scratch_caps,
            )
        };
        let deps_at = self.deps.len();
        self.scratch_deps.clear();
        node.kind.push_deps(&mut self.scratch_deps);
        self.deps.extend(self.scratch_deps.iter().map(|(n, _)| n.0));
        let deps = Span::of(&self.deps, deps_at);
        let written = r.and_then(|()| {
            let caps = &mut self.scratch_caps;
            caps.extend(node.extra_caps.iter().copied());
            caps.sort_unstable();
            caps.dedup();
            let (c, m, l) = (self.caps.len(), self.meta.len(), self.locs.len());
            self.caps.extend_from_slice(caps);
            write_node_metadata(&mut self.meta, &node.meta, caps);
            write_node_locations(&mut self.locs, &node.meta);
            // Spans are u32: a graph whose tables outgrow them (gigabytes of
            // ops, only reachable through huge aliased values) gets an error
            // for every op from there on instead of wrong offsets.
            let spans = (|| {
                Some((
                    Span::of(&self.caps, c)?,
                    Span::of(&self.meta, m)?,
                    Span::of(&self.locs, l)?,
                    deps?,
                ))
            })();
            spans.ok_or_else(|| "the build is too large: its ops exceed 4 GiB".to_string())
        });
        let written = written.and_then(|spans| {
            let digest: [u8; 32] = Sha256::digest(&self.buf).into();
            if let Some(&canon) = self.first.get(&digest) {
                return Ok((spans, digest, canon, self.ops[canon as usize].bytes));
            }
            // The first node with this digest: its `def` entry, whole. It
            // becomes the digest's first node only once the entry is in
            // (an op past 4 GiB leaves nothing behind).
            let start = self.bytes.len();
            encode::key(&mut self.bytes, 1, encode::LEN);
            encode::varint(&mut self.bytes, self.buf.len() as u64);
            let at = self.bytes.len();
            self.bytes.extend_from_slice(&self.buf);
            let Some(bytes) = Span::of(&self.bytes, at) else {
                self.bytes.truncate(start);
                return Err("the build is too large: its ops exceed 4 GiB".to_string());
            };
            self.first.insert(digest, i);
            self.distinct += 1;
            Ok((spans, digest, i, bytes))
        });
        let rec = match written {
            Ok(((caps, meta, locs, deps), digest, canon, bytes)) => {
                #[cfg(debug_assertions)]
                reference::check_metadata(
                    &node.meta,
                    &self.caps[caps.range()],
                    &self.meta[meta.range()],
                    &self.locs[locs.range()],
                );
                self.digests.push(digest);
                OpRecord {
                    bytes,
                    meta,
                    locs,
                    deps,
                    caps,
                    canon,
                    flags: MetaFlags::of(&node.meta),
                    fallback_name,
                    error: None,
                }
            }
            Err(e) => {
                self.digests.push([0; 32]);
                // Its source ranges are kept, so that the error names the
                // spec line it came from (nothing else is written for it).
                let at = self.locs.len();
                write_node_locations(&mut self.locs, &node.meta);
                let locs = Span::of(&self.locs, at).unwrap_or_else(|| {
                    self.locs.truncate(at);
                    Span::default()
                });
                OpRecord {
                    bytes: Span::default(),
                    meta: Span::default(),
                    locs,
                    deps: deps.unwrap_or_default(),
                    caps: Span::default(),
                    canon: i,
                    flags: MetaFlags::default(),
                    // No metadata is written for it: its name goes here.
                    fallback_name: node
                        .meta
                        .custom_name
                        .as_deref()
                        .map(Box::from)
                        .or(fallback_name),
                    error: Some(e.into()),
                }
            }
        };
        self.ops.push(rec);
        #[cfg(debug_assertions)]
        self.nodes.push(node);
    }

    /// An op's bytes (debug builds check them against the reference encoder).
    #[cfg(debug_assertions)]
    pub fn bytes_of(&self, r: &OpRecord) -> &[u8] {
        &self.bytes[r.bytes.range()]
    }

    /// The whole `def` entry of a node's op (its first node's): the key and
    /// length before the op bytes, then the bytes.
    pub fn def_entry(&self, r: &OpRecord) -> Range<usize> {
        let ops = r.bytes.range();
        let prefix = 1 + prost::encoding::encoded_len_varint(ops.len() as u64);
        ops.start - prefix..ops.end
    }

    pub fn caps_of(&self, r: &OpRecord) -> &[&'static str] {
        &self.caps[r.caps.range()]
    }

    pub fn deps_of(&self, r: &OpRecord) -> &[u32] {
        &self.deps[r.deps.range()]
    }
}

/// Debug builds: a node's metadata and locations bytes must be prost's
/// encoding of the same messages built field by field from its `OpMeta`.
#[cfg(debug_assertions)]
mod reference {
    use prost::Message;

    use crate::graph::OpMeta;
    use crate::pb;

    pub(super) fn check_metadata(m: &OpMeta, caps: &[&'static str], meta: &[u8], locs: &[u8]) {
        let mut description = std::collections::BTreeMap::new();
        if let Some(n) = &m.custom_name {
            description.insert("llb.customname".to_string(), n.clone());
        }
        description.extend(m.description.clone());
        let want = pb::OpMetadata {
            ignore_cache: m.ignore_cache,
            description,
            export_cache: m.export_cache.map(|value| pb::ExportCache { value }),
            caps: caps.iter().map(|c| (c.to_string(), true)).collect(),
            progress_group: m.progress_group.clone(),
            linux_resources: m.linux_resources.clone(),
        };
        assert_eq!(want.encode_to_vec(), meta, "node metadata bytes");
        let mut ranges: Vec<pb::Range> = Vec::new();
        for r in &m.source_ranges {
            let r = pb::Range {
                start: Some(pb::Position {
                    line: r.start_line,
                    character: r.start_character,
                }),
                end: Some(pb::Position {
                    line: r.end_line,
                    character: r.end_character,
                }),
            };
            if !ranges.contains(&r) {
                ranges.push(r);
            }
        }
        let mut locations = Vec::new();
        if !ranges.is_empty() {
            locations.push(pb::Location {
                source_index: 0,
                ranges,
            });
        }
        locations.extend(m.other_locations.iter().cloned());
        let want = if locations.is_empty() {
            Vec::new()
        } else {
            pb::Locations { locations }.encode_to_vec()
        };
        assert_eq!(want, locs, "node locations bytes");
    }
}

#[cfg(test)]
mod tests {
    use super::{DigestHasher, Span};

    #[test]
    fn a_digest_hashes_to_its_first_eight_bytes() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&0x0123_4567_89ab_cdefu64.to_le_bytes());
        d[31] = 9;
        let h = BuildHasherDefault::<DigestHasher>::default().hash_one(d);
        assert_eq!(h, 0x0123_4567_89ab_cdef);
    }

    #[test]
    fn spans_past_4_gib_are_refused_not_truncated() {
        // Zero-sized elements: a slice that long costs no memory.
        let huge = vec![(); u32::MAX as usize + 2];
        assert!(Span::of(&huge, 0).is_none());
        assert!(Span::of(&huge[..u32::MAX as usize], 7).is_some());
        assert_eq!(Span::of(&[1u8, 2, 3], 1).map(Span::range), Some(1..3));
    }
}
