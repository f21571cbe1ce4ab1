//! `slipway convert`: a Dockerfile → a `slipway.yaml` that builds the same image.
//!
//! Pure (text in, YAML text and diagnostics out). The pipeline: [`lexer`]
//! (directives, continuations, heredocs, flags) → `stage` (each instruction
//! rewritten into a stage's keys and steps, with Docker's `WORKDIR`, `USER`,
//! `SHELL`, `ENV` and `ARG` scoping) → [`emit`] (a deterministic YAML writer).
//! Instructions with no Slipway form are warnings with their place, and a note
//! in the output; nothing is dropped silently.

pub mod emit;
pub mod lexer;
mod mounts;
mod stage;
pub mod words;

use slipway_spec::{Diagnostic, Diagnostics, Severity};

pub use stage::DEFAULT_PATH;

/// Options of a conversion.
#[derive(Debug, Clone)]
pub struct Options {
    /// The frontend image named by the output's `# syntax=` line.
    pub syntax: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            syntax: "slipway:dev".into(),
        }
    }
}

/// A conversion's result: the spec text and the warnings (each located).
#[derive(Debug, Clone)]
pub struct Converted {
    pub yaml: String,
    pub warnings: Vec<Diagnostic>,
}

/// Convert a Dockerfile. Errors (an unknown instruction, a malformed line)
/// come back as located diagnostics, together with the warnings.
pub fn convert(filename: &str, source: &str, opts: &Options) -> Result<Converted, Diagnostics> {
    let lexed = lexer::lex(source);
    let mut diags = lexed.errors.clone();
    let yaml = stage::convert(&lexed, opts, &mut diags);
    diags.sort_by_key(|a| (a.span.start, a.severity));
    if diags.iter().any(|d| d.severity == Severity::Error) {
        diags.sort_by_key(|a| (a.severity, a.span.start));
        return Err(Diagnostics {
            filename: filename.to_string(),
            source: source.to_string(),
            items: diags,
        });
    }
    Ok(Converted {
        yaml,
        warnings: diags,
    })
}
