//! `slipway`: the thin command line around the compiler and the gateway.
//!
//! - `slipway frontend`: the frontend image's entrypoint (BuildKit speaks
//!   gRPC to it over stdin/stdout: nothing else may be written to stdout).
//! - `slipway compile`: spec → marshaled `pb.Definition` (what `buildctl build`
//!   reads on stdin) or a readable JSON dump, offline.
//! - `slipway check`: validate a spec, print every diagnostic, exit 1 on errors.
//! - `slipway targets` / `slipway outline`: what buildx `--call targets|outline`
//!   shows, offline (listing.rs).
//! - `slipway convert`: a Dockerfile → slipway.yaml on stdout (feature `convert`).
//! - `slipway graph`: the stage graph as Graphviz dot or Mermaid (feature `graph`).

mod allocator;
mod listing;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "A BuildKit frontend for declarative YAML image builds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run as a BuildKit gateway frontend (the image's entrypoint).
    Frontend,
    /// Compile a spec to LLB, offline (base image configs are assumed:
    /// Docker's default PATH, user root, workdir /).
    Compile {
        /// The spec file.
        #[arg(default_value = "slipway.yaml")]
        file: PathBuf,
        /// Stage or group to build (default: `default:`, else the last stage).
        #[arg(long)]
        target: Option<String>,
        /// Build argument NAME=VALUE (repeatable).
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        /// Target platform, e.g. linux/arm64 (default linux/amd64).
        #[arg(long)]
        platform: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Pb)]
        format: Format,
        /// Also print the image config JSON to stderr.
        #[arg(long)]
        print_config: bool,
    },
    /// Validate a spec and print all diagnostics; exit 1 if there are errors.
    Check {
        /// The spec file.
        #[arg(default_value = "slipway.yaml")]
        file: PathBuf,
        /// Also check that this target exists.
        #[arg(long)]
        target: Option<String>,
        /// The build context, for `.dockerignore` (default: the spec's directory).
        #[arg(long)]
        context: Option<PathBuf>,
    },
    /// Print the JSON Schema of slipway.yaml (for editors: `# yaml-language-server: $schema=…`).
    Schema,
    /// List the stages and groups a build can target, and the default.
    Targets {
        #[arg(default_value = "slipway.yaml")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = listing::ListFormat::Text)]
        format: listing::ListFormat,
    },
    /// The build args (values, descriptions), secrets and SSH ids a target uses.
    Outline {
        #[arg(default_value = "slipway.yaml")]
        file: PathBuf,
        /// Stage or group (default: `default:`, else the last stage).
        #[arg(long)]
        target: Option<String>,
        /// Build argument NAME=VALUE (repeatable).
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        #[arg(long, value_enum, default_value_t = listing::ListFormat::Text)]
        format: listing::ListFormat,
    },
    /// Print the stage graph (stages, from/copy/bind/cache edges, groups, what the target prunes).
    #[cfg(feature = "graph")]
    Graph {
        /// The spec file.
        #[arg(default_value = "slipway.yaml")]
        file: PathBuf,
        /// Stage or group whose build is shown (default: `default:`, else the last stage).
        #[arg(long)]
        target: Option<String>,
        /// Output format: Graphviz dot or Mermaid.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Convert a Dockerfile to a slipway.yaml (printed on stdout; warnings on stderr).
    #[cfg(feature = "convert")]
    Convert {
        /// The Dockerfile.
        #[arg(default_value = "Dockerfile")]
        file: PathBuf,
        /// Frontend image for the output's `# syntax=` line.
        #[arg(long, default_value = "slipway:dev")]
        syntax: String,
    },
}

#[cfg(feature = "graph")]
#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Marshaled pb.Definition bytes (for `buildctl build`).
    Pb,
    /// A readable JSON dump of every op, its metadata and source ranges.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Frontend => slipway_gateway::main_frontend(),
        Command::Compile {
            file,
            target,
            build_args,
            platform,
            format,
            print_config,
        } => report(compile(
            file,
            target,
            build_args,
            platform,
            format,
            print_config,
        )),
        Command::Check {
            file,
            target,
            context,
        } => report(check(file, target, context)),
        Command::Schema => {
            print!("{}", slipway_spec::schema::COMMITTED);
            ExitCode::SUCCESS
        }
        Command::Targets { file, format } => report(listing::targets(&file, format)),
        Command::Outline {
            file,
            target,
            build_args,
            format,
        } => report(listing::outline(
            &file,
            target.as_deref(),
            &build_args,
            format,
        )),
        #[cfg(feature = "graph")]
        Command::Graph {
            file,
            target,
            format,
        } => report(graph(file, target, format)),
        #[cfg(feature = "convert")]
        Command::Convert { file, syntax } => report(convert(file, syntax)),
    }
}

/// Errors of the CLI: the text is already rendered for a person.
struct Failure(String);

fn report(r: Result<(), Failure>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(msg)) => {
            eprint!("{msg}");
            if !msg.ends_with('\n') {
                eprintln!();
            }
            ExitCode::FAILURE
        }
    }
}

fn read_spec(file: &PathBuf) -> Result<(String, String), Failure> {
    // Refuse huge files before reading them, so memory stays bounded.
    let limit = slipway_spec::yaml::MAX_INPUT_BYTES;
    if let Ok(meta) = std::fs::metadata(file) {
        if meta.len() > limit as u64 {
            return Err(Failure(format!(
                "error[too-large]: {} is {} bytes, more than the limit of {limit} bytes for a spec\n  = help: a build spec should be small; move data into files of the build context",
                file.display(),
                meta.len()
            )));
        }
    }
    let text = std::fs::read(file)
        .map_err(|e| Failure(format!("error: cannot read {}: {e}", file.display())))?;
    let text = String::from_utf8(text)
        .map_err(|e| Failure(format!("error: {} is not UTF-8 text: {e}", file.display())))?;
    Ok((file.display().to_string(), text))
}

fn parse_build_args(args: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Failure(format!(
                "error: --build-arg `{a}` must be NAME=VALUE (for example --build-arg VERSION=1.2)"
            ))),
        })
        .collect()
}

fn eval_options(
    build_args: BTreeMap<String, String>,
    platform: Option<&str>,
) -> Result<slipway_spec::EvalOptions, Failure> {
    let target_platform = match platform {
        Some(p) => slipway_spec::parse_platform(p)
            .map_err(|e| Failure(format!("error: invalid --platform `{p}`: {e}")))?,
        None => slipway_spec::Platform::default(),
    };
    Ok(slipway_spec::EvalOptions {
        build_args,
        build_platform: slipway_spec::Platform::default(),
        target_platform,
        // Offline: no registry, so every base image has Docker's default env.
        base_env: slipway_spec::BaseEnv::default(),
        context: None,
        named_contexts: Vec::new(),
    })
}

fn compile(
    file: PathBuf,
    target: Option<String>,
    build_args: Vec<String>,
    platform: Option<String>,
    format: Format,
    print_config: bool,
) -> Result<(), Failure> {
    let (name, text) = read_spec(&file)?;
    let build_args = parse_build_args(&build_args)?;
    let eval = eval_options(build_args.clone(), platform.as_deref())?;
    let loaded = slipway_spec::load(&name, &text, &eval).map_err(|d| Failure(d.render()))?;
    // Offline there is no build time: only SOURCE_DATE_EPOCH dates the image.
    let epoch = slipway_compiler::timestamps::epoch(&loaded.plan.args, &build_args)
        .map_err(|e| Failure(format!("error: {e}")))?;
    let opts = slipway_compiler::CompileOptions {
        target,
        cache_mount_ns: build_args.get("BUILDKIT_CACHE_MOUNT_NS").cloned(),
        created: epoch.map(slipway_compiler::timestamps::rfc3339),
        source_date_epoch: epoch,
        ..Default::default()
    };
    let compiled = slipway_compiler::compile(&loaded.plan, &opts, &eval.target_platform)
        .map_err(|d| Failure(d.render()))?;
    for w in &compiled.warnings {
        eprint!("{}", w.render(&name, &text));
    }
    let images = slipway_compiler::images_to_resolve(&loaded.plan, &opts, &eval.target_platform)
        .map_err(|d| Failure(d.render()))?;
    if !images.is_empty() {
        let names: Vec<&str> = images.iter().map(|i| i.reference.as_str()).collect();
        eprintln!(
            "note: offline, base image configs are assumed (Docker's defaults: PATH={}, user root, workdir /) for {}",
            slipway_spec::DEFAULT_PATH,
            names.join(", ")
        );
    }
    let out = match format {
        Format::Pb => compiled.definition.into_bytes(),
        Format::Json => {
            let def = compiled
                .definition
                .decode()
                .map_err(|e| Failure(format!("error: decoding the Definition: {e}")))?;
            let mut v = serde_json::to_vec_pretty(&slipway_llb::dump_json(&def))
                .map_err(|e| Failure(format!("error: {e}")))?;
            v.push(b'\n');
            v
        }
    };
    if print_config {
        eprintln!("{}", String::from_utf8_lossy(&compiled.image_config));
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure(format!("error: writing output: {e}")))?;
    // The output is written: exit without freeing the plan and the graph
    // (on a 1,000-stage spec that is ~10 ms of pure deallocation).
    std::process::exit(0)
}

fn check(file: PathBuf, target: Option<String>, context: Option<PathBuf>) -> Result<(), Failure> {
    let (name, text) = read_spec(&file)?;
    let mut eval = eval_options(BTreeMap::new(), None)?;
    eval.context = Some(context_info(&file, context));
    let loaded = slipway_spec::load(&name, &text, &eval).map_err(|d| Failure(d.render()))?;
    let syntax = slipway_spec::lint::missing_syntax(&loaded.plan);
    for w in syntax.iter().chain(&loaded.warnings) {
        eprint!("{}", w.render(&name, &text));
    }
    if let Some(t) = target {
        slipway_compiler::check_target(&loaded.plan, &t).map_err(|d| Failure(d.render()))?;
    }
    let n = loaded.plan.stages.len();
    eprintln!("{name}: ok ({n} stage{})", if n == 1 { "" } else { "s" });
    Ok(())
}

/// What `docker build -f FILE CONTEXT` would send: the `.dockerignore` (the
/// spec's own `FILE.dockerignore` first, as BuildKit does), where the spec
/// is inside the context, and which of `.git`, `node_modules`, `target` exist.
fn context_info(file: &std::path::Path, context: Option<PathBuf>) -> slipway_spec::ContextInfo {
    let spec_dir = file.parent().map(PathBuf::from).unwrap_or_default();
    let ctx = context.unwrap_or_else(|| spec_dir.clone());
    let ctx = if ctx.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        ctx
    };
    let own = PathBuf::from(format!("{}.dockerignore", file.display()));
    let ignore = std::fs::read(&own)
        .or_else(|_| std::fs::read(ctx.join(".dockerignore")))
        .unwrap_or_default();
    let spec_path = match (file.canonicalize(), ctx.canonicalize()) {
        (Ok(f), Ok(c)) => f
            .strip_prefix(&c)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/")),
        _ => None,
    };
    let entries = [".git", "node_modules", "target"]
        .iter()
        .filter(|e| ctx.join(e).exists())
        .map(|e| e.to_string())
        .collect();
    slipway_spec::ContextInfo {
        excludes: slipway_gateway::dockerignore::parse(&ignore),
        spec_path,
        entries: Some(entries),
    }
}

#[cfg(feature = "convert")]
fn convert(file: PathBuf, syntax: String) -> Result<(), Failure> {
    let (name, text) = read_spec(&file)?;
    let opts = slipway_convert::Options { syntax };
    let out = slipway_convert::convert(&name, &text, &opts).map_err(|d| Failure(d.render()))?;
    for w in &out.warnings {
        eprint!("{}", w.render(&name, &text));
    }
    if !out.warnings.is_empty() {
        eprintln!(
            "{name}: converted with {} warning{} (each also noted in the output where something was left out)",
            out.warnings.len(),
            if out.warnings.len() == 1 { "" } else { "s" }
        );
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.yaml.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure(format!("error: writing output: {e}")))
}

#[cfg(feature = "graph")]
fn graph(file: PathBuf, target: Option<String>, format: GraphFormat) -> Result<(), Failure> {
    let (name, text) = read_spec(&file)?;
    let eval = eval_options(BTreeMap::new(), None)?;
    let loaded = slipway_spec::load(&name, &text, &eval).map_err(|d| Failure(d.render()))?;
    let format = match format {
        GraphFormat::Dot => slipway_compiler::graph::GraphFormat::Dot,
        GraphFormat::Mermaid => slipway_compiler::graph::GraphFormat::Mermaid,
    };
    let out = slipway_compiler::graph::graph(&loaded.plan, target.as_deref(), format)
        .map_err(|d| Failure(d.render(&name, &text)))?;
    print!("{out}");
    Ok(())
}
