use std::collections::BTreeMap;

/// The spec `slipway check` would accept, with `--build-arg`s for args
/// declared without a default (a Dockerfile may require them).
pub fn check(yaml: &str) -> Result<usize, String> {
    let mut build_args = BTreeMap::new();
    for line in yaml.lines() {
        // `  NAME:` at the args level with no value
        let t = line.trim();
        if t.ends_with(':') && !t.contains(' ') && line.starts_with("  ") && t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            build_args.insert(t.trim_end_matches(':').to_string(), "placeholder".to_string());
        }
    }
    let opts = slipway_spec::EvalOptions {
        build_args,
        ..Default::default()
    };
    let loaded = slipway_spec::load("slipway.yaml", yaml, &opts).map_err(|d| d.render())?;
    let copts = slipway_compiler::CompileOptions::default();
    slipway_compiler::compile(&loaded.plan, &copts, &opts.target_platform)
        .map_err(|d| d.render())?;
    Ok(loaded.plan.stages.len())
}

