//! Errors the frontend Returns to BuildKit: always a `google.rpc.Status` with
//! a non-zero code and a message a user can act on (Docker 20.10's CLI shows
//! only the message text), plus typed details where BuildKit clients use them.

use base64::Engine;
use prost::Message;
use serde_json::{json, Value};
use slipway_proto::{pb, rpc};
use slipway_spec::{Diagnostics, Plan, Severity};

use crate::entitlements::Entitlement;
use crate::options::get_ci;

pub const CODE_UNKNOWN: i32 = 2;
pub const CODE_INVALID_ARGUMENT: i32 = 3;
pub const CODE_NOT_FOUND: i32 = 5;
pub const CODE_PERMISSION_DENIED: i32 = 7;
pub const CODE_UNIMPLEMENTED: i32 = 12;
pub const CODE_INTERNAL: i32 = 13;
pub const CODE_UNAVAILABLE: i32 = 14;

pub const SOURCE_JSON: &str = "github.com/moby/buildkit/errdefs.Source+json";
pub const SUBREQUEST_JSON: &str = "github.com/moby/buildkit/errdefs.Subrequest+json";

/// A failure on its way to `Return`. `code` is never 0.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontendError {
    pub code: i32,
    pub message: String,
    pub details: Vec<rpc::Any>,
}

impl std::fmt::Display for FrontendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FrontendError {}

impl FrontendError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        let code = if code == 0 { CODE_UNKNOWN } else { code };
        FrontendError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(CODE_UNKNOWN, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(CODE_INVALID_ARGUMENT, message)
    }

    /// A BuildKit RPC failed: keep its code and details, prefix the message
    /// with what we were doing.
    pub fn from_status(context: &str, s: &tonic::Status) -> Self {
        let st = crate::client::status_to_rpc(s);
        let message = if context.is_empty() {
            st.message.clone()
        } else {
            format!("{context}: {}", st.message)
        };
        FrontendError {
            code: nonzero(st.code),
            message,
            details: st.details,
        }
    }

    /// Spec diagnostics: the rendered text (file:line:col, the line, caret,
    /// help) as message, and an `errdefs.Source` detail for the first error
    /// so that buildctl/buildx print the snippet.
    pub fn from_diagnostics(d: &Diagnostics) -> Self {
        let mut message = d.render();
        while message.ends_with('\n') {
            message.pop();
        }
        if message.is_empty() {
            message = format!("{}: invalid spec", d.filename);
        }
        let mut e = FrontendError::new(CODE_INVALID_ARGUMENT, message);
        let first = d
            .items
            .iter()
            .find(|i| i.severity == Severity::Error && !i.span.is_unknown());
        if let Some(item) = first {
            let s = item.span;
            let (el, ec) = if s.end.line == 0 {
                (s.start.line, s.start.col)
            } else {
                (s.end.line, s.end.col)
            };
            e.details.push(source_detail(
                &d.filename,
                d.source.as_bytes(),
                (s.start.line as i32, s.start.col.saturating_sub(1) as i32),
                (el as i32, ec.saturating_sub(1) as i32),
            ));
        }
        e
    }

    pub fn into_status(self) -> rpc::Status {
        rpc::Status {
            code: nonzero(self.code),
            message: self.message,
            details: self.details,
        }
    }
}

fn nonzero(code: i32) -> i32 {
    if code == 0 {
        CODE_UNKNOWN
    } else {
        code
    }
}

/// `errdefs.Source+json`: `{"info":{"filename","data"(base64),"language"},"ranges":[…]}`
/// with 1-based lines.
pub fn source_detail(filename: &str, data: &[u8], start: (i32, i32), end: (i32, i32)) -> rpc::Any {
    let v = json!({
        "info": {
            "filename": filename,
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "language": "YAML",
        },
        "ranges": [{
            "start": {"line": start.0, "character": start.1},
            "end": {"line": end.0, "character": end.1},
        }],
    });
    rpc::Any {
        type_url: SOURCE_JSON.into(),
        value: v.to_string().into_bytes(),
    }
}

/// "unsupported request NAME", typed as BuildKit's UnsupportedSubrequestError.
pub fn unsupported_subrequest(name: &str) -> FrontendError {
    let mut e = FrontendError::new(CODE_UNIMPLEMENTED, format!("unsupported request {name}"));
    e.details.push(rpc::Any {
        type_url: SUBREQUEST_JSON.into(),
        value: json!({ "name": name }).to_string().into_bytes(),
    });
    e
}

// --- Mapping a failed build back to the YAML ---------------------------------

/// `errdefs.Source` in protobuf form (older servers may send it that way).
#[derive(Clone, PartialEq, ::prost::Message)]
struct SourcePb {
    #[prost(message, optional, tag = "1")]
    info: Option<pb::SourceInfo>,
    #[prost(message, repeated, tag = "2")]
    ranges: Vec<pb::Range>,
}

#[derive(Clone, PartialEq, ::prost::Message)]
struct VertexPb {
    #[prost(string, tag = "1")]
    digest: String,
}

fn type_name(url: &str) -> (&str, bool) {
    let json = url.ends_with("+json");
    let base = url.trim_end_matches("+json");
    (base.rsplit('/').next().unwrap_or(base), json)
}

/// (filename, 1-based line) from an `errdefs.Source` detail.
fn source_location(any: &rpc::Any) -> Option<(String, i32)> {
    match type_name(&any.type_url) {
        ("errdefs.Source", true) => {
            let v: Value = serde_json::from_slice(&any.value).ok()?;
            let filename = get_ci(&v, "info")
                .and_then(|i| get_ci(i, "filename"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let line = get_ci(&v, "ranges")?
                .as_array()?
                .iter()
                .filter_map(|r| get_ci(r, "start").and_then(|s| get_ci(s, "line")))
                .filter_map(Value::as_i64)
                .find(|l| *l >= 1)?;
            Some((filename, line as i32))
        }
        ("errdefs.Source", false) => {
            let s = SourcePb::decode(any.value.as_slice()).ok()?;
            let line = s
                .ranges
                .iter()
                .filter_map(|r| r.start.as_ref().map(|p| p.line))
                .find(|l| *l >= 1)?;
            Some((s.info.map(|i| i.filename).unwrap_or_default(), line))
        }
        _ => None,
    }
}

fn vertex_digest(any: &rpc::Any) -> Option<String> {
    match type_name(&any.type_url) {
        ("errdefs.Vertex", true) => {
            let v: Value = serde_json::from_slice(&any.value).ok()?;
            get_ci(&v, "digest")
                .and_then(Value::as_str)
                .map(String::from)
        }
        ("errdefs.Vertex", false) => VertexPb::decode(any.value.as_slice())
            .ok()
            .map(|v| v.digest),
        _ => None,
    }
}

/// Where a failed build step is in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureSite {
    pub filename: String,
    pub line: i32,
    /// The step as written (`run: go test ./...`), when the line is a step.
    pub step: Option<String>,
    pub stage: Option<String>,
    /// The vertex name (`llb.customname`), when known.
    pub vertex_name: Option<String>,
}

/// Find the spec line of a failure from its details: our own source map as
/// echoed back in `errdefs.Source`, else the `errdefs.Vertex` digest looked
/// up in the Definition's source map.
pub fn locate_failure(st: &rpc::Status, def: &pb::Definition, plan: &Plan) -> Option<FailureSite> {
    let digest = st.details.iter().find_map(vertex_digest);
    let vertex_name = digest.as_ref().and_then(|d| {
        def.metadata
            .get(d)
            .and_then(|m| m.description.get("llb.customname"))
            .cloned()
    });
    let from_source = st
        .details
        .iter()
        .filter_map(source_location)
        .find(|(f, _)| f.is_empty() || *f == plan.filename);
    let (filename, line) = match from_source {
        Some((f, l)) => (
            if f.is_empty() {
                plan.filename.clone()
            } else {
                f
            },
            l,
        ),
        None => op_line(def, digest.as_ref()?)?,
    };
    Some(site_at(plan, filename, line, vertex_name))
}

/// The digest's first source line in the Definition's source map.
fn op_line(def: &pb::Definition, digest: &str) -> Option<(String, i32)> {
    let src = def.source.as_ref()?;
    let loc = src.locations.get(digest)?.locations.first()?;
    let info = src.infos.get(loc.source_index as usize)?;
    let line = loc
        .ranges
        .iter()
        .filter_map(|r| r.start.as_ref().map(|p| p.line))
        .find(|l| *l >= 1)?;
    Some((info.filename.clone(), line))
}

/// The step (else the stage) at a spec line.
fn site_at(plan: &Plan, filename: String, line: i32, vertex_name: Option<String>) -> FailureSite {
    let mut site = FailureSite {
        filename,
        line,
        step: None,
        stage: None,
        vertex_name,
    };
    let l = line as u32;
    // Spans may run up to the start of the next item: take the step that
    // starts last at or before the line.
    let best = plan
        .stages
        .iter()
        .flat_map(|stage| stage.steps.iter().map(move |step| (stage, step)))
        .filter(|(_, step)| {
            step.span.start.line <= l && l <= step.span.end.line.max(step.span.start.line)
        })
        .max_by_key(|(_, step)| (step.span.start.line, step.span.start.col));
    if let Some((stage, step)) = best {
        site.stage = Some(stage.name.value.clone());
        site.step = step_text(
            &plan.source,
            step.verb_span.start.line.max(step.span.start.line),
        );
        return site;
    }
    for stage in &plan.stages {
        if stage.span.start.line <= l && l <= stage.span.end.line {
            site.stage = Some(stage.name.value.clone());
        }
    }
    site
}

/// The step's first line as written, without indentation and list dash,
/// shortened for a one-line message.
fn step_text(source: &str, line: u32) -> Option<String> {
    let text = source.lines().nth(line.checked_sub(1)? as usize)?;
    let t = text.trim();
    let t = t.strip_prefix("- ").unwrap_or(t).trim();
    // Drop a trailing YAML comment (` # …`) when it is outside quotes.
    let t = match t.find(" #") {
        Some(i) if t[..i].matches(['"', '\'']).count() % 2 == 0 => t[..i].trim_end(),
        _ => t,
    };
    // A block scalar (`run: >-`) or a bare key says nothing about the step:
    // the caller then names the step by its vertex (`[test 3/4] RUN …`).
    if t.is_empty()
        || t.ends_with(':')
        || ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|b| t.ends_with(&format!(": {b}")))
    {
        return None;
    }
    let mut s: String = t.chars().take(80).collect();
    if t.chars().count() > 80 {
        s.push('…');
    }
    Some(s)
}

/// A failed evaluate Solve as the user should see it:
/// `slipway.yaml:14: step "run: go test ./..." in stage test failed: <original>`,
/// keeping the original code and details (so buildctl still prints snippets).
pub fn build_failure(s: &tonic::Status, def: &pb::EncodedDefinition, plan: &Plan) -> FrontendError {
    let st = crate::client::status_to_rpc(s);
    let original = st.message.clone();
    // Decoded only now: the source map is needed only when a build fails.
    let decoded = def.decode().ok();
    if let (Some(ent), Some(d)) = (Entitlement::refused(&original), decoded.as_ref()) {
        return entitlement_failure(st, ent, d, plan);
    }
    let site = decoded.and_then(|d| locate_failure(&st, &d, plan));
    let message = match site {
        Some(site) => format!(
            "{}:{}: {} failed: {original}",
            site.filename,
            site.line,
            site.what()
        ),
        None => format!("{}: build failed: {original}", plan.filename),
    };
    FrontendError {
        code: nonzero(st.code),
        message,
        details: st.details,
    }
}

impl FailureSite {
    /// `step "run: make" in stage build`, or as much of it as is known.
    fn what(&self) -> String {
        match (&self.step, &self.stage, &self.vertex_name) {
            (Some(step), Some(stage), _) => format!("step \"{step}\" in stage {stage}"),
            (None, Some(stage), Some(v)) => format!("step \"{v}\" in stage {stage}"),
            (None, Some(stage), None) => format!("stage {stage}"),
            (_, None, Some(v)) => format!("step \"{v}\""),
            _ => "build".to_string(),
        }
    }
}

/// `network.host is not allowed`: name the step that asks for it (its
/// line, with a source snippet for buildx/buildctl) and how to grant it.
fn entitlement_failure(
    st: rpc::Status,
    ent: Entitlement,
    def: &pb::Definition,
    plan: &Plan,
) -> FrontendError {
    let ops = ent.ops(def);
    let site = ops.first().and_then(|d| {
        let (f, line) = op_line(def, d)?;
        let name = def
            .metadata
            .get(d)
            .and_then(|m| m.description.get("llb.customname"))
            .cloned();
        Some(site_at(plan, f, line, name))
    });
    let more = match ops.len() {
        0 | 1 => String::new(),
        n => format!(
            " (and {} more step{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    };
    let (id, key, original) = (ent.id(), ent.spec_key(), &st.message);
    let mut details = st.details;
    let message = match &site {
        Some(site) => {
            // The step's own lines as the snippet buildx/buildctl print.
            let step = plan
                .stages
                .iter()
                .flat_map(|s| &s.steps)
                .find(|s| s.span.start.line as i32 <= site.line && site.line <= s.span.end.line as i32);
            if let Some(s) = step {
                let end = if s.span.end.line == 0 { s.span.start } else { s.span.end };
                details.insert(
                    0,
                    source_detail(
                        &plan.filename,
                        plan.source.as_bytes(),
                        (s.span.start.line as i32, s.span.start.col.saturating_sub(1) as i32),
                        (end.line as i32, end.col.saturating_sub(1) as i32),
                    ),
                );
            }
            format!(
                "{}:{}: {}{more} uses `{key}`, which needs the `{id}` entitlement, and this build was not granted it ({original})",
                site.filename,
                site.line,
                site.what()
            )
        }
        None => format!(
            "{}: a step uses `{key}`, which needs the `{id}` entitlement, and this build was not granted it ({original})",
            plan.filename
        ),
    };
    FrontendError {
        code: CODE_PERMISSION_DENIED,
        message: format!("{message}\nhint: {}", ent.hint()),
        details,
    }
}

/// The message Returned when the frontend itself panics.
pub fn panic_message(info: &str) -> String {
    format!(
        "internal error in the Slipway frontend (this is a bug, please report it with your spec): \
         {info}"
    )
}

#[cfg(test)]
mod step_text_tests {
    use super::step_text;

    #[test]
    fn quotes_the_step_line_without_comment_or_dash() {
        let src = "steps:\n  - run: make test   # the tests\n  - run: >-\n      javac X.java\n  - run: echo \"a # b\"\n";
        assert_eq!(step_text(src, 2).as_deref(), Some("run: make test"));
        // A block scalar line names nothing: the caller uses the vertex name.
        assert_eq!(step_text(src, 3), None);
        assert_eq!(step_text(src, 5).as_deref(), Some("run: echo \"a # b\""));
    }
}
