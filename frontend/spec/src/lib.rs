//! Slipway spec v1: the YAML build language.
//!
//! Two stages, as in rattler-build: the file as written (a YAML tree whose every
//! node carries its span) and the evaluated [`plan::Plan`] (validated, every
//! `${NAME}` interpolated, types checked). This crate does no I/O: text in,
//! plan or [`diag::Diagnostics`] out.

pub mod diag;
pub mod plan;

pub use diag::{Diagnostic, Diagnostics, Pos, Severity, Span};
pub use plan::*;

use std::collections::BTreeMap;

/// What evaluation needs from outside the file.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `--build-arg NAME=VALUE`, overriding `args:` defaults.
    pub build_args: BTreeMap<String, String>,
    /// Platform of the machine doing the build (BUILDPLATFORM…).
    pub build_platform: Platform,
    /// Platform of the result (TARGETPLATFORM…).
    pub target_platform: Platform,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}
