//! Encoding ops on a second thread while the graph is still being built.
//!
//! An op's bytes, digest and caps depend only on the op and its inputs'
//! digests, and nodes only refer to earlier nodes, so they can be computed
//! in node order as nodes are added ([`Graph::with_encoder_thread`]). The
//! marshal walk then takes them instead of encoding each op itself. Inputs
//! are identified by digest here exactly as in the walk (the first node
//! with a digest stands for all nodes with it), so the bytes are the same;
//! debug builds check every op against the reference encoder as before.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::encode::{self, CapList};
use crate::graph::{Node, Output};

/// One node's op, encoded.
pub(crate) struct EncodedOp {
    pub digest: [u8; 32],
    /// Where the op's bytes are in [`Encoded::bytes`].
    pub range: std::ops::Range<usize>,
    /// Sorted, deduplicated, the node's extra caps included.
    pub caps: CapList,
    /// Why the op cannot be encoded (reported by the walk, if it reaches it).
    pub error: Option<String>,
}

/// Every node's op, in node order.
#[derive(Default)]
pub(crate) struct Encoded {
    pub ops: Vec<EncodedOp>,
    pub bytes: Vec<u8>,
}

/// Nodes are handed over in batches: one channel message (and thread
/// wake-up) per node cost more than the encoding it moved.
const BATCH: usize = 256;

/// The feed to the encoder thread.
pub(crate) struct Encoder {
    feed: Mutex<Feed>,
}

struct Feed {
    tx: Option<mpsc::Sender<Vec<Arc<Node>>>>,
    pending: Vec<Arc<Node>>,
    handle: Option<JoinHandle<Encoded>>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoder")
    }
}

impl Encoder {
    pub fn spawn(expected_ops: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Vec<Arc<Node>>>();
        let handle = std::thread::Builder::new()
            .name("llb-encoder".into())
            .spawn(move || run(rx, expected_ops))
            .ok();
        Encoder {
            feed: Mutex::new(Feed {
                tx: handle.is_some().then_some(tx),
                pending: Vec::with_capacity(BATCH),
                handle,
            }),
        }
    }

    /// Hands a new node to the thread (ignored once [`Encoder::take`] ran).
    pub fn send(&self, node: &Arc<Node>) {
        let Ok(mut feed) = self.feed.lock() else {
            return;
        };
        if feed.tx.is_none() {
            return;
        }
        feed.pending.push(Arc::clone(node));
        if feed.pending.len() >= BATCH {
            let batch = std::mem::replace(&mut feed.pending, Vec::with_capacity(BATCH));
            if let Some(tx) = &feed.tx {
                let _ = tx.send(batch);
            }
        }
    }

    /// Stops the feed and waits for the thread: the ops of every node added
    /// so far. Only the first call gets them (the marshal frees them as soon
    /// as its walk is done: they would add ~15 % to the peak memory); later
    /// calls, or a thread that could not run, give `None` and the walk
    /// encodes every op itself.
    pub fn take(&self) -> Option<Encoded> {
        let mut feed = self.feed.lock().ok()?;
        let tx = feed.tx.take()?;
        let _ = tx.send(std::mem::take(&mut feed.pending));
        drop(tx);
        feed.handle.take()?.join().ok()
    }
}

fn run(rx: mpsc::Receiver<Vec<Arc<Node>>>, expected_ops: usize) -> Encoded {
    // Reserved, not touched: pages of an unused reserve cost no memory.
    let mut out = Encoded {
        ops: Vec::with_capacity(expected_ops),
        bytes: Vec::with_capacity(expected_ops * 512),
    };
    // Per node: the first node with the same digest (inputs are compared by
    // digest, as the walk compares them by entry), and its digest.
    let mut canon: Vec<u32> = Vec::with_capacity(expected_ops);
    let mut digests: Vec<[u8; 32]> = Vec::with_capacity(expected_ops);
    let mut first: HashMap<[u8; 32], u32> = HashMap::with_capacity(expected_ops);
    let (mut buf, mut body) = (Vec::with_capacity(1024), Vec::with_capacity(1024));
    for node in rx.into_iter().flatten() {
        let i = canon.len() as u32;
        let mut caps = CapList::new();
        let entry_of = |o: Output| canon[o.node.index()];
        let r = encode::encode_op(
            &node.kind, &entry_of, &digests, &mut buf, &mut body, &mut caps,
        );
        match r {
            Ok(()) => {
                let d: [u8; 32] = Sha256::digest(&buf).into();
                caps.extend(node.extra_caps.iter().copied());
                caps.sort_unstable();
                caps.dedup();
                let at = out.bytes.len();
                out.bytes.extend_from_slice(&buf);
                out.ops.push(EncodedOp {
                    digest: d,
                    range: at..out.bytes.len(),
                    caps,
                    error: None,
                });
                canon.push(*first.entry(d).or_insert(i));
                digests.push(d);
            }
            Err(e) => {
                // Never used as an input's digest: the walk emits inputs
                // first and stops at this error.
                out.ops.push(EncodedOp {
                    digest: [0; 32],
                    range: 0..0,
                    caps,
                    error: Some(e),
                });
                canon.push(i);
                digests.push([0; 32]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Exec, Graph, OpMeta};

    #[test]
    fn the_thread_encodes_every_node_added_before_take() {
        let mut g = Graph::with_encoder_thread(16);
        let mut s = None;
        for i in 0..50 {
            s = g
                .exec(Exec::shell(s, &format!("step {i}")), OpMeta::default())
                .root();
        }
        let enc = g.encoder.as_ref().unwrap().take().expect("thread ran");
        assert_eq!(enc.ops.len(), 50);
        assert!(enc
            .ops
            .iter()
            .all(|o| o.error.is_none() && !o.range.is_empty()));
        // Once taken, nodes are no longer sent and nothing is left to take.
        g.exec(Exec::shell(s, "late"), OpMeta::default());
        assert!(g.encoder.as_ref().unwrap().take().is_none());
    }
}
