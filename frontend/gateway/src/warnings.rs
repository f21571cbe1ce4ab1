//! Warnings a user sees, from the spec (e.g. a `copy.from` that looks like a
//! misspelt stage) and from the compiler (a feature degraded for this daemon).
//!
//! - BuildKit v0.10+ (`gateway.warnings`): the Warn RPC, with the spec and
//!   the warning's YAML range, so buildx prints it with a snippet.
//! - Older daemons (Docker 20.10, BuildKit v0.8) have no Warn. There the
//!   warnings become vertices of the build's progress: a separate, tiny
//!   Solve (one `mkdir` on scratch per warning, chained) whose vertex names
//!   are the located messages, so `docker build` shows
//!   `#5 [warning] slipway.yaml:12:11: …`. That Definition is not part of the
//!   build's, so the build's cache keys do not change.

use slipway_llb as llb;
use slipway_proto::gateway as gw;
use slipway_proto::pb;
use slipway_spec::{Diagnostic, Plan};

use crate::client::LlbBridge;
use crate::driver::ServerInfo;
use slipway_llb::digest;

/// Report `warnings` (spec or compile ones) for `plan`. `vertex`: the digest
/// of the vertex that loaded the spec (Warn attaches them there). Never fails
/// the build: a warning that cannot be shown is logged.
pub async fn report(
    bridge: &LlbBridge,
    server: &ServerInfo,
    vertex: &str,
    plan: &Plan,
    warnings: &[Diagnostic],
) {
    if warnings.is_empty() {
        return;
    }
    for w in warnings {
        eprintln!("slipway: warning: {}", one_line(&plan.filename, w));
    }
    if server.has("gateway.warnings") {
        for w in warnings {
            if let Err(e) = bridge.warn(warn_request(vertex, plan, w)).await {
                eprintln!("slipway: Warn failed: {e}");
            }
        }
        return;
    }
    let req = gw::SolveRequest {
        definition: Some(vertex_definition(&plan.filename, warnings)),
        evaluate: server.has("gateway.solve.evaluate"),
        allow_result_return: true,
        allow_result_array_ref: true,
        ..Default::default()
    };
    if let Err(e) = bridge.solve(req).await {
        eprintln!("slipway: showing warnings as progress vertices failed: {e}");
    }
}

/// `file:line:col: message (hint: …)`, the name of a warning's vertex.
pub fn one_line(filename: &str, w: &Diagnostic) -> String {
    let mut s = if w.span.is_unknown() {
        format!("{filename}: {}", w.message)
    } else {
        format!(
            "{filename}:{}:{}: {}",
            w.span.start.line, w.span.start.col, w.message
        )
    };
    if let Some(h) = &w.help {
        s.push_str(&format!(" (hint: {h})"));
    }
    // A vertex name is one line.
    s.replace(['\n', '\r'], " ")
}

fn warn_request(vertex: &str, plan: &Plan, w: &Diagnostic) -> gw::WarnRequest {
    let line = w.span.start.line;
    let mut short = w.message.clone();
    let mut ranges = Vec::new();
    if !w.span.is_unknown() {
        short = format!("{short} ({}:{line})", plan.filename);
        let end = if w.span.end.line == 0 {
            w.span.start
        } else {
            w.span.end
        };
        ranges.push(pb::Range {
            start: Some(pb::Position {
                line: line as i32,
                character: w.span.start.col.saturating_sub(1) as i32,
            }),
            end: Some(pb::Position {
                line: end.line as i32,
                character: end.col.saturating_sub(1) as i32,
            }),
        });
    }
    gw::WarnRequest {
        digest: vertex.to_string(),
        level: 1,
        short: short.into_bytes(),
        detail: w.help.iter().map(|h| h.clone().into_bytes()).collect(),
        url: String::new(),
        info: Some(pb::SourceInfo {
            filename: plan.filename.clone(),
            data: plan.source.clone().into_bytes(),
            definition: None,
            language: "YAML".into(),
        }),
        ranges,
    }
}

/// One `mkdir` on scratch per warning, each on the previous one's result
/// (so one Solve shows them all, in order), named `[warning] <message>`.
/// The directory name is a hash of the message, so two warnings never
/// share a vertex; the same warnings give the same Definition (cached).
pub fn vertex_definition(filename: &str, warnings: &[Diagnostic]) -> pb::EncodedDefinition {
    let mut g = llb::Graph::new();
    let mut st: llb::State = None;
    for w in warnings {
        let name = format!("[warning] {}", one_line(filename, w));
        let h = digest(name.as_bytes());
        let b = llb::FileOpBuilder::new(st).mkdir(llb::MkDir {
            path: format!("/slipway-warning-{}", &h[7..23]),
            mode: 0o755,
            make_parents: true,
            ..Default::default()
        });
        st = g.file(b, llb::OpMeta::named(name));
    }
    // A mkdir on scratch needs only `file.base`, which every daemon has:
    // no caps to check against.
    g.marshal(st, None, None)
        .expect("a chain of mkdirs on scratch always marshals")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use slipway_spec::{Pos, Severity, Span};

    fn warn(line: u32, msg: &str) -> Diagnostic {
        let mut d = Diagnostic::error(
            "maybe-typo",
            Span::new(
                Pos {
                    line,
                    col: 11,
                    offset: 0,
                },
                Pos {
                    line,
                    col: 16,
                    offset: 0,
                },
            ),
            msg,
        )
        .with_help("did you mean the stage `build`?");
        d.severity = Severity::Warning;
        d
    }

    #[test]
    fn one_vertex_per_warning_named_by_its_place() {
        let ws = [warn(5, "`buidl` is not a stage"), warn(9, "second\nline")];
        let d = vertex_definition("slipway.yaml", &ws).decode().unwrap();
        assert_eq!(d.def.len(), 3, "two mkdirs and the return op");
        let names: Vec<&str> = d.def[..2]
            .iter()
            .map(|b| d.metadata[&digest(b)].description["llb.customname"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "[warning] slipway.yaml:5:11: `buidl` is not a stage (hint: did you mean the stage `build`?)",
                "[warning] slipway.yaml:9:11: second line (hint: did you mean the stage `build`?)",
            ]
        );
        // Chained: the second reads the first; the return op the second.
        let second = pb::Op::decode(d.def[1].as_slice()).unwrap();
        assert_eq!(second.inputs[0].digest, digest(&d.def[0]));
        let ret = pb::Op::decode(d.def[2].as_slice()).unwrap();
        assert_eq!(ret.inputs[0].digest, digest(&d.def[1]));
        let first = pb::Op::decode(d.def[0].as_slice()).unwrap();
        let Some(pb::op::Op::File(f)) = first.op else {
            panic!("not a file op")
        };
        assert_eq!(f.actions[0].input, -1, "on scratch");
        // Deterministic; a different message is a different vertex.
        assert_eq!(vertex_definition("slipway.yaml", &ws).decode().unwrap(), d);
        let other = vertex_definition("slipway.yaml", &[warn(5, "another")])
            .decode()
            .unwrap();
        assert_ne!(other.def[0], d.def[0]);
    }
}
