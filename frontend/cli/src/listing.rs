//! `slipway targets` and `slipway outline`: the listings buildx shows for
//! `--call targets|outline`, offline (same data, same text, same JSON).

use std::path::Path;

use slipway_compiler::listing::{self, render};

use crate::{eval_options, parse_build_args, read_spec, Failure};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ListFormat {
    /// Aligned columns, as buildx prints them.
    Text,
    /// BuildKit's subrequest result JSON (what `--call …,format=json` prints).
    Json,
}

fn load(file: &Path, build_args: &[String]) -> Result<slipway_spec::Plan, Failure> {
    let (name, text) = read_spec(&file.to_path_buf())?;
    let eval = eval_options(parse_build_args(build_args)?, None)?;
    let loaded = slipway_spec::load(&name, &text, &eval).map_err(|d| Failure(d.render()))?;
    Ok(loaded.plan)
}

pub fn targets(file: &Path, format: ListFormat) -> Result<(), Failure> {
    let plan = load(file, &[])?;
    let list = listing::targets(&plan);
    print!(
        "{}",
        match format {
            ListFormat::Text => render::targets_text(&list),
            ListFormat::Json => render::to_text(&render::targets_json(&plan, &list)),
        }
    );
    Ok(())
}

pub fn outline(
    file: &Path,
    target: Option<&str>,
    build_args: &[String],
    format: ListFormat,
) -> Result<(), Failure> {
    let plan = load(file, build_args)?;
    let o = listing::outline(&plan, target).map_err(|d| Failure(d.render()))?;
    print!(
        "{}",
        match format {
            ListFormat::Text => render::outline_text(&o),
            ListFormat::Json => render::to_text(&render::outline_json(&plan, &o)),
        }
    );
    Ok(())
}
