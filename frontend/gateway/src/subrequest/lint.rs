//! `frontend.lint` (buildx `--call check`): the spec's warnings as BuildKit's
//! `lint.LintResults` — `{"warnings":[{ruleName, detail, location}],
//! "sources":[{filename, data, language}]}` — which buildx prints with a
//! snippet of the spec per warning.

use base64::Engine;
use serde_json::{json, Value};
use slipway_compiler::listing::render;
use slipway_spec::{Diagnostic, Plan};

/// The JSON result and its text form (each warning rendered as `slipway
/// check` prints it).
pub fn results(plan: &Plan, warnings: &[Diagnostic]) -> (Value, String) {
    let list: Vec<Value> = warnings
        .iter()
        .map(|w| {
            let mut detail = w.message.clone();
            if let Some(h) = &w.help {
                detail.push_str(&format!("\nhint: {h}"));
            }
            // sourceIndex -1: no place in the spec (buildx prints no snippet).
            let location = match render::location(w.span) {
                Some(l) => l,
                None => json!({"sourceIndex": -1}),
            };
            json!({"ruleName": w.code, "detail": detail, "location": location})
        })
        .collect();
    let json = json!({
        "warnings": list,
        "sources": [{
            "filename": plan.filename,
            "data": base64::engine::general_purpose::STANDARD.encode(plan.source.as_bytes()),
            "language": "YAML",
        }],
    });
    let mut txt = String::new();
    for w in warnings {
        txt.push_str(&w.render(&plan.filename, &plan.source));
    }
    txt.push_str(&match warnings.len() {
        0 => "Check complete, no warnings found.\n".to_string(),
        1 => "Check complete, 1 warning has been found!\n".to_string(),
        n => format!("Check complete, {n} warnings have been found!\n"),
    });
    (json, txt)
}
