//! Subrequests: a client sets `requestid` to ask the frontend a question
//! about the spec instead of building it — what buildx `--call` sends
//! (`frontend.` + the call name). Each answer is a Result with no ref and
//! metadata `result.json` (BuildKit's shapes, `frontend/subrequests/*`),
//! `result.txt` (the same as text) and `version`; `frontend.lint` adds
//! `result.statuscode` (1 when there are warnings: `--call check` exits 1).
//!
//! The data comes from the plan (`slipway_compiler::listing`) and the
//! spec's warnings, the same as `slipway targets|outline|check`.

mod lint;

use std::collections::BTreeMap;

use serde_json::json;
use slipway_compiler::listing::{self, render};
use slipway_proto::gateway as gw;
use slipway_spec::{Diagnostic, Plan};

use crate::errors::{self, FrontendError};

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const TARGETS: &str = "frontend.targets";
pub const OUTLINE: &str = "frontend.outline";
pub const LINT: &str = "frontend.lint";
pub const VERSION: &str = "1.0.0";

/// A subrequest answered without reading the spec (describe, or one Slipway
/// does not know); None when it needs the plan ([`answer`]).
pub fn early(name: &str) -> Option<Result<gw::Result, FrontendError>> {
    match name {
        DESCRIBE => Some(Ok(describe())),
        TARGETS | OUTLINE | LINT => None,
        _ => Some(Err(errors::unsupported_subrequest(name))),
    }
}

/// Answer `name` for the loaded spec. `target`: the `target` option.
pub fn answer(
    name: &str,
    target: Option<&str>,
    plan: &Plan,
    warnings: &[Diagnostic],
) -> Result<gw::Result, FrontendError> {
    match name {
        TARGETS => {
            let list = listing::targets(plan);
            Ok(result(
                &render::targets_json(plan, &list),
                render::targets_text(&list),
            ))
        }
        OUTLINE => {
            let o =
                listing::outline(plan, target).map_err(|d| FrontendError::from_diagnostics(&d))?;
            Ok(result(
                &render::outline_json(plan, &o),
                render::outline_text(&o),
            ))
        }
        LINT => {
            if let Some(t) = target {
                slipway_compiler::check_target(plan, t)
                    .map_err(|d| FrontendError::from_diagnostics(&d))?;
            }
            let (json, txt) = lint::results(plan, warnings);
            let mut r = result(&json, txt);
            let status = if warnings.is_empty() { "0" } else { "1" };
            r.metadata
                .insert("result.statuscode".into(), status.as_bytes().to_vec());
            Ok(r)
        }
        other => early(other).unwrap_or_else(|| Err(errors::unsupported_subrequest(other))),
    }
}

fn result(json: &serde_json::Value, txt: String) -> gw::Result {
    let mut metadata = BTreeMap::new();
    metadata.insert("result.json".into(), render::to_text(json).into_bytes());
    metadata.insert("result.txt".into(), txt.into_bytes());
    metadata.insert("version".into(), VERSION.as_bytes().to_vec());
    gw::Result {
        result: None,
        metadata,
    }
}

/// The subrequests Slipway answers, as `subrequests.Request` values.
fn describe() -> gw::Result {
    let named = |names: &[(&str, &str)]| -> Vec<serde_json::Value> {
        names
            .iter()
            .map(|(n, d)| json!({"name": n, "description": d}))
            .collect()
    };
    let req = |name: &str, desc: &str, opts: &[(&str, &str)], meta: &[(&str, &str)]| {
        json!({
            "name": name,
            "version": VERSION,
            "type": "rpc",
            "description": desc,
            "opts": named(opts),
            "inputs": [],
            "metadata": named(meta),
            "refs": [],
        })
    };
    let json_txt: &[(&str, &str)] = &[("result.json", ""), ("result.txt", "")];
    let list = json!([
        req(
            OUTLINE,
            "List all parameters current build takes",
            &[("target", "Target build stage")],
            json_txt
        ),
        req(
            TARGETS,
            "List all targets current build supports",
            &[],
            json_txt
        ),
        req(
            LINT,
            "Lint a Slipway spec",
            &[],
            &[
                ("result.json", ""),
                ("result.txt", ""),
                ("result.statuscode", "")
            ]
        ),
        req(DESCRIBE, "List available subrequest types", &[], json_txt),
    ]);
    let mut rows = vec![vec![
        "NAME".to_string(),
        "VERSION".into(),
        "DESCRIPTION".into(),
    ]];
    for r in list.as_array().into_iter().flatten() {
        rows.push(vec![
            r["name"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("frontend.")
                .to_string(),
            VERSION.to_string(),
            r["description"].as_str().unwrap_or("").to_string(),
        ]);
    }
    result(&list, render::table(&rows, 1))
}
