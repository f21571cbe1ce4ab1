//! What `--target` can name: every stage and group, with its description and
//! which one is built by default.

use slipway_spec::{Base, Plan, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    Stage,
    /// A group and its members as written.
    Group(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetEntry {
    pub name: String,
    pub kind: TargetKind,
    /// A stage's `description:`; for a group, its members.
    pub description: Option<String>,
    /// Built when no `--target` is given.
    pub default: bool,
    /// A stage's `from` as written (an image, a stage name or `scratch`).
    pub base: Option<String>,
    /// A stage's `platform:`.
    pub platform: Option<String>,
    /// The stage's or group's name in the spec.
    pub span: Span,
}

/// The name built without `--target`: `default:`, else the last stage.
pub fn default_target(plan: &Plan) -> Option<&str> {
    match &plan.default {
        Some(d) => Some(d.value.as_str()),
        None => plan.stages.last().map(|s| s.name.value.as_str()),
    }
}

/// Stages in file order, then groups in file order.
pub fn targets(plan: &Plan) -> Vec<TargetEntry> {
    let default = default_target(plan);
    let mut out = Vec::with_capacity(plan.stages.len() + plan.groups.len());
    for s in &plan.stages {
        out.push(TargetEntry {
            name: s.name.value.clone(),
            kind: TargetKind::Stage,
            description: s.description.clone(),
            default: default == Some(s.name.value.as_str()),
            base: Some(match &s.from.value {
                Base::Scratch => "scratch".to_string(),
                Base::Stage(n) | Base::Image(n) => n.clone(),
            }),
            platform: s.platform.as_ref().map(|p| p.value.to_string()),
            span: s.name.span,
        });
    }
    for g in &plan.groups {
        let members: Vec<String> = g.members.iter().map(|m| m.value.clone()).collect();
        out.push(TargetEntry {
            name: g.name.value.clone(),
            description: Some(format!("group: {}", members.join(", "))),
            kind: TargetKind::Group(members),
            default: default == Some(g.name.value.as_str()),
            base: None,
            platform: None,
            span: g.name.span,
        });
    }
    out
}
