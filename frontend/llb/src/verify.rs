//! Structural checks on a Definition, for golden tests and as a safety net:
//! what BuildKit's loader would reject (or silently mis-handle) is caught here.

use std::collections::BTreeSet;

use prost::Message;

use crate::pb;

/// Checks that:
/// - every `def` entry decodes as an `Op` and re-encodes to the same bytes
///   (so our digest equals what a v0.18+ server recomputes);
/// - no entry is duplicated;
/// - every input refers to an *earlier* entry, with index >= 0;
/// - the last entry is a return op (exactly one input, nothing else) and the
///   only one of its kind; there are at least 2 entries;
/// - metadata and source-location keys are digests of entries.
///
/// An empty Definition (scratch result) is valid if it has no metadata.
pub fn verify(def: &pb::Definition) -> Result<(), String> {
    if def.def.is_empty() {
        if !def.metadata.is_empty() {
            return Err("metadata without def entries".into());
        }
        return Ok(());
    }
    if def.def.len() < 2 {
        return Err(format!("invalid LLB with {} vertexes", def.def.len()));
    }
    let mut seen = BTreeSet::new();
    let last = def.def.len() - 1;
    for (i, bytes) in def.def.iter().enumerate() {
        let op = pb::Op::decode(bytes.as_slice())
            .map_err(|e| format!("def[{i}]: does not decode: {e}"))?;
        if op.encode_to_vec() != *bytes {
            return Err(format!("def[{i}]: does not re-encode to the same bytes"));
        }
        let d = crate::digest(bytes);
        for (j, inp) in op.inputs.iter().enumerate() {
            if !seen.contains(&inp.digest) {
                return Err(format!(
                    "def[{i}]: input {j} ({}) is not an earlier entry",
                    inp.digest
                ));
            }
            if inp.index < 0 {
                return Err(format!(
                    "def[{i}]: input {j} has negative index {}",
                    inp.index
                ));
            }
        }
        let is_return = op.inputs.len() == 1
            && op.op.is_none()
            && op.platform.is_none()
            && op.constraints.is_none();
        if i == last && !is_return {
            return Err("last entry is not a return op (exactly one input, nothing else)".into());
        }
        if i != last {
            if is_return || op.op.is_none() {
                return Err(format!("def[{i}]: op without a body before the end"));
            }
            check_op(&op).map_err(|e| format!("def[{i}] ({d}): {e}"))?;
        }
        if !seen.insert(d.clone()) {
            return Err(format!("def[{i}]: duplicate entry {d}"));
        }
    }
    for k in def.metadata.keys() {
        if !seen.contains(k) {
            return Err(format!("metadata key {k} is not the digest of a def entry"));
        }
    }
    if let Some(src) = &def.source {
        for (k, locs) in &src.locations {
            if !seen.contains(k) {
                return Err(format!(
                    "source location key {k} is not the digest of a def entry"
                ));
            }
            for l in &locs.locations {
                if l.source_index < 0 || l.source_index as usize >= src.infos.len() {
                    return Err(format!(
                        "source location for {k} has bad source index {}",
                        l.source_index
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Per-op checks the server's `opsutils.Validate` and loaders make.
fn check_op(op: &pb::Op) -> Result<(), String> {
    let n = op.inputs.len() as i64;
    let in_range = |i: i64, what: &str| {
        if i == -1 || (0..n).contains(&i) {
            Ok(())
        } else {
            Err(format!("{what} {i} out of range (inputs: {n})"))
        }
    };
    match &op.op {
        Some(pb::op::Op::Exec(e)) => {
            let meta = e.meta.as_ref().ok_or("exec without meta")?;
            if meta.args.is_empty() {
                return Err("exec without args".into());
            }
            if !e.mounts.iter().any(|m| m.dest == "/") {
                return Err("exec without a root mount".into());
            }
            for m in &e.mounts {
                in_range(m.input, "mount input")?;
            }
        }
        Some(pb::op::Op::File(f)) => {
            if f.actions.is_empty() {
                return Err("file op without actions".into());
            }
            let mut outputs = vec![];
            for (i, a) in f.actions.iter().enumerate() {
                let limit = n + i as i64; // inputs plus earlier actions
                for (v, what) in [
                    (a.input, "action input"),
                    (a.secondary_input, "secondary input"),
                ] {
                    if v != -1 && !(0..limit).contains(&v) {
                        return Err(format!("action {i}: {what} {v} out of range"));
                    }
                }
                if a.output != -1 {
                    outputs.push(a.output);
                }
            }
            outputs.sort_unstable();
            if outputs.iter().enumerate().any(|(i, o)| *o != i as i64) {
                return Err(format!("file op outputs {outputs:?} are not 0..n-1"));
            }
        }
        Some(pb::op::Op::Diff(d)) => {
            let (l, u) = (d.lower.as_ref(), d.upper.as_ref());
            let (Some(l), Some(u)) = (l, u) else {
                return Err("diff without lower or upper".into());
            };
            in_range(l.input, "diff lower")?;
            in_range(u.input, "diff upper")?;
        }
        Some(pb::op::Op::Merge(m)) => {
            for i in &m.inputs {
                if !(0..n).contains(&i.input) {
                    return Err(format!("merge input {} out of range", i.input));
                }
            }
        }
        _ => {}
    }
    Ok(())
}
