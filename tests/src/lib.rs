//! Helpers for Slipway's end-to-end tests.
//!
//! Every test calls [`engine()`] first. It makes sure the engines from `scripts/buildkit.sh` answer
//! (dockerd 20.10, buildkitd v0.24 with its buildx builder, the local registry; started if needed),
//! that the base images exist (`scripts/base-images.sh`) and are in the registry under their public
//! names (`scripts/mirror-images.sh`), and that the frontend image (`slipway:dev`, or
//! `$SLIPWAY_IMAGE`) exists in dockerd and in the registry — and panics with a clear message
//! otherwise. These tests never skip: an engine that cannot be started means failure.
//!
//! Builds run through the three clients of [`clients::Client`]; images end up in dockerd, which
//! runs and inspects them with the Docker 20.10 client at `/usr/bin/docker`.

pub mod clients;
pub mod examples;

pub use clients::Client;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// The Docker 20.10 client (never the newer CLI in /usr/local/bin).
pub const DOCKER: &str = "/usr/bin/docker";
/// Default engine address (scripts/buildkit.sh).
pub const DEFAULT_HOST: &str = "unix:///run/slipway-docker.sock";
/// Upper bound for any single docker command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// Repository root (the parent of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn docker_host() -> String {
    std::env::var("SLIPWAY_DOCKER_HOST").unwrap_or_else(|_| DEFAULT_HOST.to_string())
}

/// The frontend image every fixture names on its `# syntax=` line.
pub fn frontend_image() -> String {
    std::env::var("SLIPWAY_IMAGE").unwrap_or_else(|_| "slipway:dev".to_string())
}

pub struct Engine {
    pub host: String,
    pub image: String,
    /// The variables of `scripts/buildkit.sh env` (DOCKER_HOST, PATH, BUILDKIT_HOST, BUILDX_CONFIG,
    /// BUILDX_BUILDER…), set on every client command.
    pub env: Vec<(String, String)>,
}

static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Ensure the engine answers and the images exist; panic with a clear message otherwise.
pub fn engine() -> &'static Engine {
    let _g = INIT.lock().unwrap_or_else(|e| e.into_inner());
    match ENGINE.get_or_init(init_engine) {
        Ok(e) => e,
        Err(msg) => panic!("\n=== Slipway e2e: engine not ready ===\n{msg}\n"),
    }
}

/// Run a script of scripts/ (or elsewhere in the repository) with SLIPWAY_DOCKER_HOST set.
fn script(path: &str, args: &[&str], host: &str) -> Result<String, String> {
    let out = Command::new("bash")
        .arg(repo_root().join(path))
        .args(args)
        .env("SLIPWAY_DOCKER_HOST", host)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {path}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(format!(
            "{path} {} failed ({}):\n{text}",
            args.join(" "),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `export K=V` lines (V plain or in single quotes) → pairs.
fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn init_engine() -> Result<Engine, String> {
    let host = docker_host();
    // `up` is idempotent: reuses what answers, else starts the registry, dockerd and buildkitd.
    script("scripts/buildkit.sh", &["up"], &host).map_err(|e| {
        format!(
            "the build engines (dockerd 20.10, buildkitd v0.24, registry) cannot be started:\n{e}"
        )
    })?;
    let env = parse_env(&script("scripts/buildkit.sh", &["env"], &host)?);
    script("scripts/base-images.sh", &[], &host)?;
    // Fixtures name `busybox:1.36` (docker.io/library/busybox:1.36): the registry must hold it.
    script(
        "scripts/mirror-images.sh",
        &[
            "slipway-test/busybox:latest",
            "slipway-test/debian:bookworm",
        ],
        &host,
    )?;
    let image = frontend_image();
    let inspect = raw_docker(
        &host,
        &["image", "inspect", "--format", "{{.Id}}", &image],
        None,
    );
    if !inspect.status.success() {
        return Err(format!(
            "the frontend image `{image}` does not exist on {host}: run `make image` (or `make test`, \
             which builds it) first.\n{}",
            String::from_utf8_lossy(&inspect.stderr)
        ));
    }
    // buildkitd pulls the frontend from the local registry.
    script("scripts/mirror-images.sh", &["--frontend", &image], &host)?;
    Ok(Engine { host, image, env })
}

/// Run PROGRAM ARGS… with ENV added, under `timeout` ([`COMMAND_TIMEOUT`]), output captured.
pub fn timed_command(
    program: &str,
    args: &[String],
    env: &[(String, String)],
    stdin: Option<&[u8]>,
) -> Output {
    timed_command_for(COMMAND_TIMEOUT, program, args, env, stdin)
}

/// As [`timed_command`], with another time limit (a build that may compile toolchains cold).
pub fn timed_command_for(
    limit: Duration,
    program: &str,
    args: &[String],
    env: &[(String, String)],
    stdin: Option<&[u8]>,
) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("--kill-after=10")
        .arg(limit.as_secs().to_string())
        .arg(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("DOCKER_BUILDKIT", "1")
        // Plain progress, no colours: the output is parsed.
        .env("BUILDKIT_PROGRESS", "plain")
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn raw_docker(host: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    timed_command(DOCKER, &args, &[("DOCKER_HOST".into(), host.into())], stdin)
}

/// Serialises timing-sensitive tests against everything else: timing tests take the write lock,
/// all other builds a read lock, so no build competes with a timed one for the 2 cores.
static TIMING: RwLock<()> = RwLock::new(());

/// The engine-wide lock file: every test process on this machine (every checkout's `make test`)
/// opens it. The examples suite locks it exclusively — it prunes all build cache and runs
/// `--no-cache` builds, which re-run identical steps of any build running at the same time
/// (BuildKit merges identical vertices, and an ignore-cache one executes for both: issue 9) —
/// every other test shares it.
pub const ENGINE_LOCK: &str = "/tmp/slipway-e2e-engine.lock";

fn engine_lock(exclusive: bool) -> std::fs::File {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ENGINE_LOCK)
        .unwrap_or_else(|e| panic!("cannot open {ENGINE_LOCK}: {e}"));
    let r = if exclusive { f.lock() } else { f.lock_shared() };
    r.unwrap_or_else(|e| panic!("cannot lock {ENGINE_LOCK}: {e}"));
    f
}

/// A test's hold on the process slot and the engine lock (released on drop).
pub struct Slot<G> {
    _process: G,
    _engine: std::fs::File,
}

/// For a build test: shares the process with other tests and the engine with other processes.
pub fn shared_slot() -> Slot<RwLockReadGuard<'static, ()>> {
    let g = TIMING.read().unwrap_or_else(|e| e.into_inner());
    Slot {
        _process: g,
        _engine: engine_lock(false),
    }
}

/// For a timing test: alone in this process; shares the engine with other processes.
pub fn exclusive_slot() -> Slot<RwLockWriteGuard<'static, ()>> {
    let g = TIMING.write().unwrap_or_else(|e| e.into_inner());
    Slot {
        _process: g,
        _engine: engine_lock(false),
    }
}

/// For the examples suite: alone in this process and on the engine (other processes' tests wait).
pub fn engine_exclusive_slot() -> Slot<RwLockWriteGuard<'static, ()>> {
    let g = TIMING.write().unwrap_or_else(|e| e.into_inner());
    Slot {
        _process: g,
        _engine: engine_lock(true),
    }
}

/// A program's run under the engines' environment with a time limit ([`COMMAND_TIMEOUT`] for
/// [`tool_run`]): PROGRAM is looked up on the PATH of `scripts/buildkit.sh env`.
pub fn tool_run_for(limit: Duration, program: &str, args: &[&str]) -> Run {
    let e = engine();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let start = Instant::now();
    let out = timed_command_for(limit, program, &args, &e.env, None);
    Run::from_output(out, start, format!("{program} {}", args.join(" ")))
}

/// [`tool_run_for`] with [`COMMAND_TIMEOUT`].
pub fn tool_run(program: &str, args: &[&str]) -> Run {
    tool_run_for(COMMAND_TIMEOUT, program, args)
}

/// `buildctl build` arguments for a Slipway build of the spec `slipway.yaml` in DIR (also the
/// context) through the frontend image IMAGE as buildkitd pulls it from the local registry,
/// then EXTRA.
pub fn buildctl_gateway_args(dir: &Path, image: &str, extra: &[String]) -> Vec<String> {
    let dir = dir.display();
    let mut a: Vec<String> = vec![
        "build".into(),
        "--progress=plain".into(),
        "--frontend".into(),
        "gateway.v0".into(),
        "--opt".into(),
        format!("source={}/{image}", clients::REGISTRY),
        "--local".into(),
        format!("context={dir}"),
        "--local".into(),
        format!("dockerfile={dir}"),
        "--opt".into(),
        "filename=slipway.yaml".into(),
    ];
    a.extend(extra.iter().cloned());
    a
}

/// A fresh scratch directory under the temp dir, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    /// `slipway-<what>-<nonce>` in the temp dir.
    pub fn new(what: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("slipway-{what}-{}", nonce()));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    /// Write TEXT to P (parents created); its path.
    pub fn write(&self, p: &str, text: &str) -> PathBuf {
        let f = self.0.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, text).unwrap();
        f
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Result of one docker command.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub command: String,
}

impl Run {
    /// A finished command's result (started at START, shown as COMMAND).
    pub fn from_output(out: Output, start: Instant, command: String) -> Run {
        Run {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
            command,
        }
    }

    /// stdout and stderr together (docker build writes progress to stderr).
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        if !self.success {
            panic!(
                "command failed ({:?}): {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.code, self.command, self.stdout, self.stderr
            );
        }
        self
    }

    #[track_caller]
    pub fn fails(self) -> Self {
        if self.success {
            panic!(
                "command succeeded but should have failed: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.command, self.stdout, self.stderr
            );
        }
        self
    }
}

/// Run `docker ARGS…` against the engine.
pub fn docker(args: &[&str]) -> Run {
    docker_stdin(args, None)
}

pub fn docker_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let e = engine();
    let start = Instant::now();
    let out = raw_docker(&e.host, args, stdin);
    Run::from_output(out, start, format!("docker {}", args.join(" ")))
}

/// Raw stdout bytes of a docker command (e.g. `docker save`).
pub fn docker_bytes(args: &[&str]) -> Vec<u8> {
    let e = engine();
    let out = raw_docker(&e.host, args, None);
    assert!(
        out.status.success(),
        "docker {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A fixture: `tests/fixtures/<name>/` holding `slipway.yaml` (and any context files).
pub struct Fixture {
    pub name: String,
    pub dir: PathBuf,
    /// The client (and so the engine) every build of this fixture goes through.
    pub client: Client,
}

impl Fixture {
    pub fn spec_path(&self) -> PathBuf {
        self.dir.join("slipway.yaml")
    }

    pub fn spec_text(&self) -> String {
        std::fs::read_to_string(self.spec_path()).unwrap()
    }

    /// 1-based (line, column) of the first occurrence of `needle` in the spec.
    pub fn locate(&self, needle: &str) -> (usize, usize) {
        for (i, line) in self.spec_text().lines().enumerate() {
            if let Some(col) = line.find(needle) {
                return (i + 1, line[..col].chars().count() + 1);
            }
        }
        panic!("`{needle}` not found in {}", self.spec_path().display());
    }

    /// The tag of this fixture's image in dockerd (one per client: tests of the three clients run
    /// at the same time).
    pub fn tag(&self) -> String {
        format!("slipway-e2e/{}:{}", self.name, self.client.name())
    }

    /// Build `<fixture>/slipway.yaml` with the fixture as context through the fixture's client, the
    /// image tagged [`Fixture::tag`] in dockerd; EXTRA are docker-style flags
    /// (`docker build --progress=plain -f … -t … EXTRA… DIR`, or its buildx/buildctl equivalent).
    pub fn build(&self, extra: &[&str]) -> Run {
        let tag = self.tag();
        clients::build(&clients::Build {
            client: self.client,
            frontend: clients::Frontend::Slipway,
            file: &self.spec_path(),
            context: &self.dir,
            tag: Some(&tag),
            flags: extra,
        })
    }

    /// A copy of this fixture in a directory of its own, named NAME (its own tag): the same
    /// project built from another checkout.
    pub fn copy_as(&self, name: &str) -> Fixture {
        let dst = std::env::temp_dir().join(format!(
            "slipway-e2e-{}-{name}-{}-{}",
            std::process::id(),
            self.client.name(),
            nonce()
        ));
        let _ = std::fs::remove_dir_all(&dst);
        copy_dir(&self.dir, &dst);
        Fixture {
            name: name.to_string(),
            dir: dst,
            client: self.client,
        }
    }

    /// `docker run --rm <tag> ARGS…`, stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let tag = self.tag();
        let mut a = vec!["run", "--rm", tag.as_str()];
        a.extend_from_slice(args);
        docker(&a).ok().stdout
    }

    /// `docker image inspect <tag>` as JSON (the first element).
    pub fn inspect(&self) -> serde_json::Value {
        let out = docker(&["image", "inspect", &self.tag()]).ok().stdout;
        let v: serde_json::Value = serde_json::from_str(&out).expect("docker inspect JSON");
        v[0].clone()
    }
}

/// Open a fixture for builds through `client`. When `$SLIPWAY_IMAGE` names another frontend image,
/// a copy of the fixture is made with its `# syntax=` line rewritten.
pub fn fixture(name: &str, client: Client) -> Fixture {
    engine();
    let src = fixtures_dir().join(name);
    assert!(
        src.join("slipway.yaml").is_file(),
        "no fixture {}",
        src.display()
    );
    let image = frontend_image();
    if image == "slipway:dev" {
        return Fixture {
            name: name.to_string(),
            dir: src,
            client,
        };
    }
    let dst = std::env::temp_dir().join(format!(
        "slipway-e2e-{}-{name}-{}",
        std::process::id(),
        client.name()
    ));
    let _ = std::fs::remove_dir_all(&dst);
    copy_dir(&src, &dst);
    let spec = dst.join("slipway.yaml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let text = text.replacen("# syntax=slipway:dev", &format!("# syntax={image}"), 1);
    std::fs::write(&spec, text).unwrap();
    Fixture {
        name: name.to_string(),
        dir: dst,
        client,
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// A value unique to this test run (for cache busting and secrets).
pub fn nonce() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let c = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{:x}{:x}{c}", t, std::process::id())
}

/// One vertex of `--progress=plain` output.
#[derive(Debug, Default, Clone)]
pub struct Vertex {
    pub id: String,
    pub name: String,
    /// Line of the first `#N <name>` line (docker 20.10 prints no timestamps,
    /// so line order is the time line).
    pub first_line: usize,
    /// Line of the first `#N 0.123 …` log line (the step is running).
    pub first_log_line: Option<usize>,
    /// Line of `#N DONE …` / `#N CACHED` / `#N ERROR …`.
    pub end_line: Option<usize>,
    pub cached: bool,
    pub done: bool,
    pub error: bool,
    /// Lines of the step's own output (`#N 0.123 text`).
    pub logs: Vec<String>,
}

/// Parse docker 20.10's plain progress output into vertices, in first-seen order.
pub fn parse_progress(out: &str) -> Vec<Vertex> {
    let mut order: Vec<String> = Vec::new();
    let mut map: std::collections::HashMap<String, Vertex> = Default::default();
    for (ln, line) in out.lines().enumerate() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((id, tail)) = rest.split_once(' ') else {
            continue;
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let v = map.entry(id.to_string()).or_insert_with(|| {
            order.push(id.to_string());
            Vertex {
                id: id.to_string(),
                first_line: ln,
                ..Default::default()
            }
        });
        if tail.starts_with("sha256:") {
            continue;
        }
        if tail == "CACHED" {
            v.cached = true;
            v.end_line.get_or_insert(ln);
        } else if tail.starts_with("DONE") {
            v.done = true;
            v.end_line.get_or_insert(ln);
        } else if tail.starts_with("ERROR") {
            v.error = true;
            v.end_line.get_or_insert(ln);
        } else if tail
            .split_once(' ')
            .is_some_and(|(t, _)| t.parse::<f64>().is_ok())
        {
            v.first_log_line.get_or_insert(ln);
            v.logs.push(tail.split_once(' ').unwrap().1.to_string());
        } else if v.name.is_empty() {
            v.name = tail.to_string();
        }
    }
    order
        .into_iter()
        .map(|id| map.remove(&id).unwrap())
        .collect()
}

/// Vertices that are plumbing of any build (loading the definition and context, resolving
/// images, exporting), not steps of the spec.
pub fn is_plumbing(v: &Vertex) -> bool {
    let n = v.name.to_ascii_lowercase();
    n.is_empty()
        // buildx's `#0 building with "NAME" instance using remote driver`.
        || n.starts_with("building with ")
        || n.starts_with("[internal]")
        || n.starts_with("resolve image config")
        || n.starts_with("exporting")
        || n.starts_with("naming to")
        || n.starts_with("writing image")
        || n.contains("load metadata")
        || n.contains("load build context")
        || n.contains("load build definition")
        || n.contains("load .dockerignore")
        || n.starts_with("local://")
        || n.starts_with("docker-image://")
        || n.contains("[context]")
        // The base image of a stage (`[stage 1/3] FROM image`): a source, not a step.
        || n.split_once("] ").is_some_and(|(_, rest)| rest.starts_with("from "))
}

/// `on_every_client!(f, g)`: a module per test function `f(Client)` with one `#[test]` per
/// client (`f::docker`, `f::buildx`, `f::buildctl`).
#[macro_export]
macro_rules! on_every_client {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn docker() {
                super::$name($crate::Client::Docker)
            }
            #[test]
            fn buildx() {
                super::$name($crate::Client::Buildx)
            }
            #[test]
            fn buildctl() {
                super::$name($crate::Client::Buildctl)
            }
        }
    )*};
}

/// `on_both_engines!(f, g)`: as [`on_every_client!`], one client per engine (`f::docker` on
/// dockerd 20.10, `f::buildctl` on buildkitd v0.24).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn docker() {
                super::$name($crate::Client::Docker)
            }
            #[test]
            fn buildctl() {
                super::$name($crate::Client::Buildctl)
            }
        }
    )*};
}
