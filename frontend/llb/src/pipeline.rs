//! Encoding ops on a second thread while the graph is still being built.
//!
//! The thread fills an [`OpTable`] exactly as [`Graph`](crate::Graph) does
//! inline (nodes only refer to earlier nodes, so node order is enough); the
//! first marshal waits for it and every later one reuses the table.

use std::sync::{mpsc, Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::graph::Node;
use crate::optable::OpTable;

/// Nodes are handed over in batches: one channel message (and thread
/// wake-up) per node cost more than the encoding it moved.
const BATCH: usize = 256;

/// Batches in flight at most: the building thread waits rather than run
/// further ahead of the encoder. Nodes read soon after they were built are
/// still in cache; at 10,000 stages an unbounded queue let the encoder fall
/// ~50 ms behind, read every node from memory, and fall further behind.
const IN_FLIGHT: usize = 8;

/// The feed to the encoder thread, and what it returned.
pub(crate) struct Encoder {
    feed: Mutex<Feed>,
    done: OnceLock<OpTable>,
}

struct Feed {
    tx: Option<mpsc::SyncSender<Vec<Node>>>,
    pending: Vec<Node>,
    handle: Option<JoinHandle<OpTable>>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Encoder")
    }
}

impl Encoder {
    pub fn spawn(expected_ops: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Vec<Node>>(IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name("llb-encoder".into())
            .spawn(move || {
                let mut t = OpTable::with_capacity(expected_ops);
                for node in rx.into_iter().flatten() {
                    t.add(node);
                }
                t
            })
            .ok();
        Encoder {
            feed: Mutex::new(Feed {
                tx: handle.is_some().then_some(tx),
                pending: Vec::with_capacity(BATCH),
                handle,
            }),
            done: OnceLock::new(),
        }
    }

    /// Hands a new node to the thread (or keeps it, to be encoded by
    /// [`Encoder::table`], if the thread could not be started).
    pub fn send(&mut self, node: Node) {
        // Poisoned only by a panic while holding it, which would have
        // unwound past this encoder already.
        let feed = self.feed.get_mut().unwrap_or_else(|p| p.into_inner());
        feed.pending.push(node);
        if feed.tx.is_none() {
            return;
        }
        if feed.pending.len() >= BATCH {
            let batch = std::mem::replace(&mut feed.pending, Vec::with_capacity(BATCH));
            if let Some(tx) = &feed.tx {
                let _ = tx.send(batch);
            }
        }
    }

    /// The table of every node sent so far: the thread's, once it has
    /// encoded them all; if it could not be started, encoded here.
    pub fn table(&self) -> &OpTable {
        self.done.get_or_init(|| self.join())
    }

    /// The table, if [`Encoder::table`] ran: nodes added from now on are
    /// encoded inline.
    pub fn finished(&mut self) -> Option<OpTable> {
        self.done.take()
    }

    fn join(&self) -> OpTable {
        let mut feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
        let pending = std::mem::take(&mut feed.pending);
        let Some(tx) = feed.tx.take() else {
            let mut t = OpTable::with_capacity(pending.len());
            pending.into_iter().for_each(|n| t.add(n));
            return t;
        };
        let _ = tx.send(pending);
        drop(tx);
        match feed.handle.take().map(JoinHandle::join) {
            Some(Ok(t)) => t,
            // The thread panicked: a bug in the encoder, which the
            // inline path would hit as well.
            Some(Err(p)) => std::panic::resume_unwind(p),
            None => OpTable::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::Ops;
    use crate::{Exec, Graph, OpMeta};

    #[test]
    fn the_thread_encodes_every_node_added_before_the_table_is_asked_for() {
        let mut g = Graph::with_encoder_thread(16);
        let mut s = None;
        for i in 0..50 {
            s = g
                .exec(Exec::shell(s, &format!("step {i}")), OpMeta::default())
                .root();
        }
        let t = g.table();
        assert_eq!(t.len(), 50);
        assert!(t
            .ops
            .iter()
            .all(|o| o.error.is_none() && !o.bytes.is_empty()));
        // Later nodes are encoded inline, after the thread's.
        g.exec(Exec::shell(s, "late"), OpMeta::default());
        assert!(matches!(g.ops, Ops::Inline(_)));
        assert_eq!(g.table().len(), 51);
    }
}
