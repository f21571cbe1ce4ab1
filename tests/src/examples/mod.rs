//! The examples suite: every `examples/<name>/example.toml` (format: examples/README.md) built
//! with Slipway and with its Dockerfile twin, compared, run, tested, rebuilt after an edit and
//! timed; the results table of examples/README.md is rewritten from the measurements.
//!
//! Checks are collected (a failed build of one target does not hide the rest) and the example's
//! test fails at the end with all of them. Nothing is skipped: [`crate::engine`] fails without an
//! engine, and the base-image substitutes are built when missing (`examples/base-images/build.sh`).

pub mod progress;
pub mod tar;
pub mod toml;

use crate::clients::{self, Client, Frontend};
use crate::{docker, engine, engine_exclusive_slot, frontend_image, nonce, repo_root, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The examples the suite covers, in README order.
pub const EXAMPLES: &[&str] = &[
    "go",
    "node",
    "python",
    "rust",
    "java",
    "static-site",
    "parallel",
    "external-image",
    "ci-targets",
];

/// Image config fields that must be equal between Slipway's image and the twin's.
pub const CONFIG_KEYS: &[&str] = &[
    "Entrypoint",
    "Cmd",
    "Env",
    "User",
    "WorkingDir",
    "ExposedPorts",
    "Labels",
    "Healthcheck",
    "StopSignal",
    "Volumes",
    "OnBuild",
    "Shell",
];

/// Upper bound for an `output:` test target's image (only its reports on an empty base).
pub const TEST_IMAGE_MAX_BYTES: u64 = 64 * 1024;

/// Files dockerd adds to every container (and so to `docker export`), not the image's.
const CONTAINER_FILES: &[&str] = &[".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf"];

/// Every regular file under DIR, relative, sorted (nothing when DIR is missing).
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// Warm (no-change) rebuilds per builder; the table shows their median.
pub const WARM_RUNS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builder {
    Slipway,
    Dockerfile,
    Single,
}

impl Builder {
    pub fn key(self) -> &'static str {
        match self {
            Builder::Slipway => "slipway",
            Builder::Dockerfile => "dockerfile",
            Builder::Single => "single",
        }
    }
}

pub struct Example {
    pub name: String,
    pub dir: PathBuf,
    pub cfg: Value,
    /// Every build of the example goes through this client (docker on dockerd 20.10, buildx on
    /// buildkitd v0.24).
    pub client: Client,
}

impl Example {
    pub fn load(name: &str) -> Example {
        let dir = repo_root().join("examples").join(name);
        let path = dir.join("example.toml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let cfg = toml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(cfg["name"], name, "{}: name", path.display());
        Example {
            name: name.to_string(),
            dir,
            cfg,
            client: Client::Docker,
        }
    }

    pub fn file(&self, b: Builder) -> String {
        let v = &self.cfg[b.key()];
        v.as_str()
            .unwrap_or_else(|| panic!("example.toml of {}: no `{}`", self.name, b.key()))
            .to_string()
    }

    pub fn build_args(&self) -> Vec<(String, String)> {
        obj_pairs(&self.cfg["build_args"])
    }

    pub fn runtimes(&self) -> Vec<Value> {
        self.cfg["runtime"].as_array().cloned().unwrap_or_default()
    }

    pub fn tag(&self, target: &str, b: Builder) -> String {
        format!(
            "slipway-e2e/ex-{}-{}:{}-{}",
            self.name,
            target,
            b.key(),
            self.client.name()
        )
    }

    /// `docker build --progress=plain -f FILE [--target T] [-t TAG] --build-arg… FLAGS… DIR`, or
    /// the same through buildx/buildctl ([`Example::client`]).
    pub fn build(
        &self,
        dir: &Path,
        b: Builder,
        target: Option<&str>,
        tag: Option<&str>,
        extra: &[(String, String)],
        flags: &[&str],
    ) -> Run {
        let file = dir.join(self.file(b));
        let mut args: Vec<String> = Vec::new();
        if let Some(t) = target {
            args.extend(["--target".into(), t.to_string()]);
        }
        let mut all = self.build_args();
        all.extend(extra.iter().cloned());
        if b == Builder::Slipway && frontend_image() != "slipway:dev" {
            // Another frontend image than the files' `# syntax=slipway:dev` line.
            all.push(("BUILDKIT_SYNTAX".into(), frontend_image()));
        }
        for (k, v) in all {
            args.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
        args.extend(flags.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        clients::build(&clients::Build {
            client: self.client,
            frontend: if b == Builder::Slipway {
                Frontend::Slipway
            } else {
                Frontend::Dockerfile
            },
            file: &file,
            context: dir,
            tag,
            flags: &refs,
        })
    }
}

fn obj_pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Collected check results of one example.
pub struct Report {
    pub name: String,
    pub failures: Vec<String>,
}

impl Report {
    pub fn check(&mut self, ok: bool, msg: impl Into<String>) {
        let msg = msg.into();
        if ok {
            eprintln!("[{}] ok   {}", self.name, first_line(&msg));
        } else {
            eprintln!("[{}] FAIL {msg}", self.name);
            self.failures.push(msg);
        }
    }
    pub fn info(&self, msg: impl AsRef<str>) {
        eprintln!("[{}] info {}", self.name, msg.as_ref());
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The end of a failed build's output for a check's message; nothing when
/// it succeeded.
pub fn failure_tail(run: &Run) -> String {
    if run.success {
        String::new()
    } else {
        tail(run, 60)
    }
}

/// The last `n` lines of a build's output, for failure messages.
pub fn tail(run: &Run, n: usize) -> String {
    let all = run.all();
    let lines: Vec<&str> = all.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Build the base-image substitutes that are missing (`examples/base-images/build.sh` skips the
/// existing ones) and push them to the local registry under their public names
/// (`scripts/mirror-images.sh`, which skips what is there). Panics when either fails: the suite
/// never skips.
pub fn ensure_substitutes() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let e = engine();
        let t = Instant::now();
        let mut built = false;
        for script in ["examples/base-images/build.sh", "scripts/mirror-images.sh"] {
            let path = repo_root().join(script);
            let out = Command::new("bash")
                .arg(&path)
                .env("DOCKER_HOST", &e.host)
                .env("DOCKER_BUILDKIT", "1")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|err| panic!("cannot run {}: {err}", path.display()));
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success(),
                "{script} failed ({}): the base-image substitutes cannot be built or pushed\n{text}",
                out.status,
            );
            built |= text.contains("building ") || text.contains("pushed ");
        }
        if built {
            eprintln!(
                "built/pushed missing base-image substitutes in {:.0?}",
                t.elapsed()
            );
        }
    });
}

/// Drop all unused build cache (`docker builder prune -af`: layers and cache mounts alike; images
/// stay) so a `--no-cache` build is cold for both builders. Dropping only the cache mounts is not
/// an option: steps that fill a cache mount (rust's `cargo fetch`) would stay CACHED over an empty
/// mount and the next `cargo build --offline` would fail, for whoever builds next.
pub fn prune_build_cache(client: Client) {
    if client.is_current() {
        clients::prune_all().ok();
    } else {
        docker(&["builder", "prune", "-af"]).ok();
    }
}

pub fn inspect(tag: &str) -> Value {
    let out = docker(&["image", "inspect", tag]).ok().stdout;
    let v: Value = serde_json::from_str(&out).expect("docker inspect JSON");
    v[0].clone()
}

/// The flattened filesystem of an image: `docker create` + `docker export`, listed as a tar.
pub fn file_list(tag: &str) -> Vec<tar::Entry> {
    let cid = docker(&["create", tag, "x"]).ok().stdout.trim().to_string();
    let e = engine();
    let mut child = Command::new(crate::DOCKER)
        .args(["export", &cid])
        .env("DOCKER_HOST", &e.host)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker export");
    let listed = tar::list(child.stdout.take().unwrap());
    let out = child.wait_with_output().unwrap();
    docker(&["rm", "-f", &cid]);
    assert!(
        out.status.success(),
        "docker export {tag}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v = listed.unwrap_or_else(|err| panic!("docker export {tag}: bad tar: {err}"));
    v.sort();
    v
}

/// A container removed when dropped.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        docker(&["rm", "-f", &self.0]);
    }
}

fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Run an image as example.toml's `run` says; Ok(description) or Err(why).
pub fn run_image(tag: &str, spec: &Value) -> Result<String, String> {
    let timeout = Duration::from_secs(spec["timeout_s"].as_u64().unwrap_or(30));
    match spec["kind"].as_str() {
        Some("command") => {
            let mut args = vec!["run".to_string(), "--rm".into(), tag.to_string()];
            args.extend(strs(&spec["args"]));
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = docker(&refs);
            let want = spec["expect_stdout"].as_str().unwrap_or("");
            if r.success && r.stdout == want {
                Ok(format!("stdout {:?}", r.stdout))
            } else {
                Err(format!(
                    "exit {:?}, stdout {:?} (want {want:?}), stderr {:?}",
                    r.code, r.stdout, r.stderr
                ))
            }
        }
        Some("http") => {
            let port = spec["port"].as_u64().ok_or("run.port")?;
            let path = spec["path"].as_str().unwrap_or("/");
            let r = docker(&["run", "-d", "-p", &format!("127.0.0.1::{port}"), tag]);
            let cid = r.stdout.trim().to_string();
            let _c = (!cid.is_empty()).then(|| Container(cid.clone()));
            if !r.success {
                return Err(format!("docker run: {}", r.stderr.trim()));
            }
            let mapped = docker(&["port", &cid, &port.to_string()]).stdout;
            let host_port: u16 = mapped
                .lines()
                .next()
                .and_then(|l| l.rsplit(':').next())
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| format!("no host port for {port}: {mapped:?}"))?;
            let want_status = spec["expect_status"].as_u64().unwrap_or(200) as u16;
            let deadline = Instant::now() + timeout;
            let mut last = String::new();
            let mut answered = None;
            while Instant::now() < deadline {
                match http_get(host_port, path) {
                    Ok((status, body)) => {
                        let good = status == want_status
                            && spec["expect_body"].as_str().is_none_or(|b| body == b)
                            && spec["expect_contains"]
                                .as_str()
                                .is_none_or(|c| body.contains(c));
                        if good {
                            answered = Some(format!(
                                "GET {path}: {status} {:?}",
                                body.chars().take(60).collect::<String>()
                            ));
                            break;
                        }
                        last = format!("{status} {:?}", body.chars().take(300).collect::<String>());
                    }
                    Err(e) => last = e,
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            let Some(mut answer) = answered else {
                let logs = docker(&["logs", &cid]).all();
                return Err(format!("GET {path} never answered as expected within {timeout:?}: last {last}; logs: {logs}"));
            };
            if let Some(want) = spec["expect_health"].as_str() {
                let deadline = Instant::now() + timeout + Duration::from_secs(30);
                let mut h = String::new();
                while Instant::now() < deadline {
                    h = docker(&["inspect", "-f", "{{.State.Health.Status}}", &cid])
                        .stdout
                        .trim()
                        .to_string();
                    if h == want {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                if h != want {
                    return Err(format!("health status {h:?}, want {want:?}"));
                }
                answer.push_str(&format!(", health {h}"));
            }
            Ok(answer)
        }
        other => Err(format!("unknown run kind {other:?}")),
    }
}

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    Some(v[v.len() / 2])
}

/// One row of the README results table.
#[derive(Default, Debug, Clone)]
pub struct Row {
    pub name: String,
    pub target: String,
    pub size_slipway: Option<u64>,
    pub size_dockerfile: Option<u64>,
    pub size_single: Option<u64>,
    pub cold_slipway: Option<Duration>,
    pub cold_dockerfile: Option<Duration>,
    pub warm_slipway: Option<Duration>,
    pub warm_dockerfile: Option<Duration>,
    pub edit_slipway: Option<(Duration, usize)>,
    pub edit_dockerfile: Option<(Duration, usize)>,
}

fn fmt_size(b: Option<u64>) -> String {
    match b {
        None => "–".into(),
        Some(b) if b < 1_000_000 => format!("{:.0} kB", b as f64 / 1e3),
        Some(b) => format!("{:.1} MB", b as f64 / 1e6),
    }
}

fn fmt_secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1} s", d.as_secs_f64()))
        .unwrap_or_else(|| "–".into())
}

impl Row {
    fn line(&self) -> String {
        let saved = match (self.size_slipway, self.size_single) {
            (Some(s), Some(single)) if single > 0 => {
                // `{:.0}` of a tiny negative number prints "-0": clamp that to 0.
                let pct = (100.0 * (single as f64 - s as f64) / single as f64).round();
                format!("{} %", if pct == 0.0 { 0.0 } else { pct })
            }
            _ => "–".into(),
        };
        let edit = |e: Option<(Duration, usize)>| match e {
            Some((d, n)) => format!(
                "{} ({n} step{})",
                fmt_secs(Some(d)),
                if n == 1 { "" } else { "s" }
            ),
            None => "–".into(),
        };
        format!(
            "| [{n}]({n}/) | `{}` | {} | {} | {} | {saved} | {} | {} | {} | {} | {} | {} |",
            self.target,
            fmt_size(self.size_slipway),
            fmt_size(self.size_dockerfile),
            fmt_size(self.size_single),
            fmt_secs(self.cold_slipway),
            fmt_secs(self.cold_dockerfile),
            fmt_secs(self.warm_slipway),
            fmt_secs(self.warm_dockerfile),
            edit(self.edit_slipway),
            edit(self.edit_dockerfile),
            n = self.name,
        )
    }
}

const BEGIN: &str = "<!-- results:begin -->";
const END: &str = "<!-- results:end -->";
const TABLE_HEAD: &str = "| example | final image | Slipway | Dockerfile twin | single-stage | saved vs single | cold Slipway | cold Dockerfile | warm Slipway | warm Dockerfile | edit rebuild Slipway | edit rebuild Dockerfile |\n|---|---|---|---|---|---|---|---|---|---|---|---|";

/// Set (to 1) by `make examples-table`: only then does a run rewrite the tracked examples/README.md
/// (a plain `make test` leaves the checkout clean and prints the row instead).
pub const WRITE_RESULTS_ENV: &str = "SLIPWAY_WRITE_RESULTS";

/// Replace this example's row of the results table in examples/README.md (other rows stay) when
/// [`WRITE_RESULTS_ENV`] is 1; else print the row.
pub fn write_row(row: &Row) {
    if std::env::var(WRITE_RESULTS_ENV).as_deref() != Ok("1") {
        eprintln!(
            "[{}] results row (examples/README.md is rewritten by `make examples-table`):\n{}",
            row.name,
            row.line()
        );
        return;
    }
    let path = repo_root().join("examples/README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        panic!("{}: no {BEGIN} … {END} markers", path.display());
    };
    let inside = &text[b + BEGIN.len()..e];
    let mut rows: Vec<(String, String)> = inside
        .lines()
        .filter(|l| l.starts_with("| ["))
        .filter_map(|l| {
            let name = l.strip_prefix("| [")?.split(']').next()?.to_string();
            Some((name, l.to_string()))
        })
        .filter(|(n, _)| n != &row.name)
        .collect();
    rows.push((row.name.clone(), row.line()));
    let pos = |n: &str| EXAMPLES.iter().position(|x| *x == n).unwrap_or(usize::MAX);
    rows.sort_by_key(|(n, _)| pos(n));
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let server = docker(&["version", "--format", "{{.Server.Version}}"])
        .stdout
        .trim()
        .to_string();
    let today = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let body = format!(
        "\n_Written by `cargo test -p slipway-e2e --test examples` (tests/tests/examples.rs); each row by \
         the run of its example, last on {today}, Docker {server} (BuildKit v0.8), {cores} cores, local \
         base-image substitutes._\n\n\
         Sizes are `docker image inspect` sizes of the primary final image (`final image`), built with \
         Slipway, with the Dockerfile twin, and as a single stage (`Dockerfile.single`); `saved` is \
         Slipway's image against the single-stage one. `cold`: one `--no-cache` build of that target \
         after `docker builder prune -af` (once before both builds; the two frontends' cache mounts are \
         separate), base images present. `warm`: median of {WARM_RUNS} no-change rebuilds (everything CACHED). \
         `edit rebuild`: the rebuild after example.toml's one-file edit, with the number of RUN/COPY \
         steps that re-ran.\n\n{TABLE_HEAD}\n{}\n",
        rows.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>().join("\n")
    );
    let new = format!("{}{BEGIN}{body}{}", &text[..b], &text[e..]);
    if new != text {
        std::fs::write(&path, new).unwrap();
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            copy_dir(&entry.path(), &to);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &to).unwrap();
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// Put `nonce` after the word starting with "rebuil" (`rebuild marker`, `(rebuilt)`), so every run
/// makes a new edit (a repeated edit would be CACHED from the previous run).
fn unique_edit(text: &str, nonce: &str) -> String {
    let Some(i) = text.find("rebuil") else {
        panic!("the rebuild edit {text:?} has no word starting with `rebuil` to make unique");
    };
    let end = text[i..]
        .find(|c: char| !c.is_alphanumeric())
        .map_or(text.len(), |j| i + j);
    format!("{} {nonce}{}", &text[..end], &text[end..])
}

/// Build args that make the test target's test step run (not CACHED) and pass: each `fail_args`
/// key set to a fresh value that is not its failing one.
fn passing_args(fail_args: &[(String, String)]) -> Vec<(String, String)> {
    let n = nonce();
    fail_args
        .iter()
        .map(|(k, _)| (k.clone(), format!("0-pass-{n}")))
        .collect()
}

/// Everything example.toml asks for, for one example, built through `client`.
pub fn run_example(name: &str, client: Client) {
    // One example at a time (timings, 2 cores), and no other test process's build on the engine
    // meanwhile: the suite prunes the build cache and builds with --no-cache (issue 9).
    let _slot = engine_exclusive_slot();
    engine();
    ensure_substitutes();
    let started = Instant::now();
    let mut ex = Example::load(name);
    ex.client = client;
    let mut r = Report {
        name: format!("{name} {}", client.name()),
        failures: vec![],
    };
    let runtimes = ex.runtimes();
    assert!(
        !runtimes.is_empty(),
        "{name}: example.toml has no [[runtime]]"
    );
    let primary = runtimes
        .iter()
        .find(|rt| rt["primary"] == true)
        .unwrap_or(&runtimes[0])
        .clone();
    let ptarget = primary["target"].as_str().unwrap().to_string();
    let mut row = Row {
        name: name.to_string(),
        target: ptarget.clone(),
        ..Default::default()
    };
    let both = [Builder::Slipway, Builder::Dockerfile];
    let mut built: std::collections::HashMap<(String, &'static str), String> = Default::default();

    // 1. The primary target, cold (this is also the "builds with Slipway/Dockerfile" check), then
    //    warm no-change rebuilds. On the parallel example, the cold build shows the overlap.
    let par = &ex.cfg["parallel"];
    // One prune for both cold builds (Slipway's cache mounts and the Dockerfile frontend's are
    // separate records on BuildKit v0.8, so both start without them).
    prune_build_cache(client);
    for b in both {
        let tag = ex.tag(&ptarget, b);
        let run = ex.build(&ex.dir, b, Some(&ptarget), Some(&tag), &[], &["--no-cache"]);
        r.check(
            run.success,
            format!(
                "{} cold build --target {ptarget}: {:.1?}\n{}",
                b.key(),
                run.elapsed,
                failure_tail(&run)
            ),
        );
        if !run.success {
            continue;
        }
        let cold_steps = progress::parse(&run.all());
        let cached: Vec<String> = cold_steps
            .iter()
            .filter(|s| s.is_run_or_copy() && s.cached)
            .map(|s| s.name.clone())
            .collect();
        let ran = progress::executed_steps(&cold_steps).len();
        r.check(
            cached.is_empty() && ran > 0,
            format!(
                "{} --no-cache build ran every RUN/COPY step ({ran} ran; CACHED: {cached:?})",
                b.key()
            ),
        );
        built.insert((ptarget.clone(), b.key()), tag.clone());
        let cold = run.elapsed;
        if b == Builder::Slipway {
            row.cold_slipway = Some(cold)
        } else {
            row.cold_dockerfile = Some(cold)
        }
        if par.is_object() && par["target"].as_str() == Some(ptarget.as_str()) {
            let mut out = run.all();
            let mut verdict = overlap(par, &out);
            // The order of lines is the only clock: retry a non-overlapping result (untimed) to
            // tell a scheduling hiccup on a shared machine from sequential stages.
            for _ in 0..2 {
                if verdict.is_ok() || b != Builder::Slipway {
                    break;
                }
                r.info(format!(
                    "stages did not overlap ({}), retrying",
                    verdict.as_ref().unwrap_err()
                ));
                let again = ex.build(&ex.dir, b, Some(&ptarget), Some(&tag), &[], &["--no-cache"]);
                out = again.all();
                verdict = overlap(par, &out);
            }
            match (b, verdict) {
                (Builder::Slipway, v) => r.check(
                    v.is_ok(),
                    format!(
                        "slipway: independent stages overlap: {}",
                        v.unwrap_or_else(|e| format!("{e}\n--- progress ---\n{out}"))
                    ),
                ),
                (_, v) => r.info(format!("{}: stages overlap: {v:?}", b.key())),
            }
        }
        let mut warm = Vec::new();
        // On buildkitd the image is already in dockerd (cold build): a warm rebuild exports nothing,
        // else the docker tarball export (hundreds of MB for node) would be most of its time.
        let warm_tag = (!ex.client.is_current()).then_some(tag.as_str());
        for i in 0..WARM_RUNS {
            let w = ex.build(&ex.dir, b, Some(&ptarget), warm_tag, &[], &[]);
            if !w.success {
                r.check(
                    false,
                    format!("{} warm build {i}: failed\n{}", b.key(), tail(&w, 40)),
                );
                break;
            }
            let steps = progress::parse(&w.all());
            let ran: Vec<String> = progress::executed_steps(&steps)
                .iter()
                .map(|s| s.name.clone())
                .collect();
            if i == 0 {
                r.check(
                    ran.is_empty(),
                    format!(
                        "{} no-change rebuild: every RUN/COPY step CACHED (re-ran: {ran:?})",
                        b.key()
                    ),
                );
            }
            warm.push(w.elapsed);
        }
        let m = median(warm.clone());
        r.info(format!(
            "{} --target {ptarget}: cold {cold:.1?}, warm {warm:.2?} (median {m:.2?})",
            b.key()
        ));
        if b == Builder::Slipway {
            row.warm_slipway = m
        } else {
            row.warm_dockerfile = m
        }
    }

    // 2. The other final images (cache from step 1).
    for rt in &runtimes {
        let t = rt["target"].as_str().unwrap().to_string();
        if t == ptarget {
            continue;
        }
        for b in both {
            let tag = ex.tag(&t, b);
            let run = ex.build(&ex.dir, b, Some(&t), Some(&tag), &[], &[]);
            r.check(
                run.success,
                format!(
                    "{} build --target {t}: {:.1?}\n{}",
                    b.key(),
                    run.elapsed,
                    failure_tail(&run)
                ),
            );
            if run.success {
                built.insert((t.clone(), b.key()), tag);
            }
        }
    }

    // 3. Compare, inspect and run every final image.
    for rt in &runtimes {
        let t = rt["target"].as_str().unwrap().to_string();
        let mut lists = Vec::new();
        let mut configs = Vec::new();
        for b in both {
            let Some(tag) = built.get(&(t.clone(), b.key())) else {
                continue;
            };
            let img = inspect(tag);
            let files = file_list(tag);
            let names: std::collections::BTreeSet<String> =
                files.iter().map(|e| e.path.clone()).collect();
            for p in strs(&rt["present_paths"]) {
                r.check(names.contains(&p), format!("{tag} has {p}"));
            }
            for p in strs(&rt["absent_paths"]) {
                r.check(!names.contains(&p), format!("{tag} lacks {p}"));
            }
            if rt["nonroot"] == true {
                let u = img["Config"]["User"].as_str().unwrap_or("").to_string();
                r.check(
                    !["", "root", "0", "0:0", "root:root"].contains(&u.as_str()),
                    format!("{tag} runs as non-root user {u:?}"),
                );
            }
            match run_image(tag, &rt["run"]) {
                Ok(what) => r.check(true, format!("{tag} runs: {what}")),
                Err(why) => r.check(false, format!("{tag} runs and answers: {why}")),
            }
            if t == ptarget {
                let size = img["Size"].as_u64();
                if b == Builder::Slipway {
                    row.size_slipway = size
                } else {
                    row.size_dockerfile = size
                }
            }
            lists.push(files);
            configs.push(img);
        }
        if configs.len() == 2 {
            let (a, d) = (&configs[0], &configs[1]);
            for key in CONFIG_KEYS {
                let (va, vd) = (&a["Config"][key], &d["Config"][key]);
                let (na, nd) = (norm_config(key, va), norm_config(key, vd));
                r.check(
                    na == nd,
                    format!("{t}: same Config.{key}: slipway {va} vs dockerfile {vd}"),
                );
                if na == nd && va != vd {
                    r.info(format!(
                        "{t}: Config.{key} equal up to order/null: {va} vs {vd}"
                    ));
                }
            }
            for key in ["Os", "Architecture"] {
                r.check(
                    a[key] == d[key],
                    format!("{t}: same {key}: {} vs {}", a[key], d[key]),
                );
            }
            let fa: std::collections::BTreeSet<&str> =
                lists[0].iter().map(|e| e.path.as_str()).collect();
            let fd: std::collections::BTreeSet<&str> =
                lists[1].iter().map(|e| e.path.as_str()).collect();
            let only_a: Vec<_> = fa.difference(&fd).take(30).collect();
            let only_d: Vec<_> = fd.difference(&fa).take(30).collect();
            r.check(fa == fd, format!("{t}: same file list ({} vs {} entries); only slipway: {only_a:?}; only dockerfile: {only_d:?}", fa.len(), fd.len()));
            let kinds_differ = lists[0]
                .iter()
                .zip(&lists[1])
                .filter(|(x, y)| x.path == y.path && x.kind != y.kind)
                .count();
            r.check(
                kinds_differ == 0 || fa != fd,
                format!("{t}: same entry types ({kinds_differ} paths differ in type)"),
            );
            let (sa, sd) = (
                a["Size"].as_u64().unwrap_or(0),
                d["Size"].as_u64().unwrap_or(0),
            );
            let diff = sa.abs_diff(sd) as f64 / sa.max(sd).max(1) as f64;
            r.check(
                diff <= 0.02,
                format!(
                    "{t}: sizes within 2 %: slipway {sa} vs dockerfile {sd} ({:.2} %)",
                    diff * 100.0
                ),
            );
        }
    }

    // 4. Groups (ci-targets): Slipway builds the group at once, the twin its targets one by one.
    let group = &ex.cfg["group"];
    if group.is_object() {
        let gname = group["name"].as_str().unwrap();
        let fail_args = obj_pairs(&ex.cfg["test"]["fail_args"]);
        let tag = ex.tag(gname, Builder::Slipway);
        let run = ex.build(
            &ex.dir,
            Builder::Slipway,
            Some(gname),
            Some(&tag),
            &passing_args(&fail_args),
            &[],
        );
        r.check(
            run.success,
            format!(
                "slipway build --target {gname} (group): {:.1?}\n{}",
                run.elapsed,
                failure_tail(&run)
            ),
        );
        if run.success {
            let out = run.all();
            let steps = progress::parse(&out);
            for st in strs(&group["stages"]) {
                let seen = steps.iter().any(|s| s.parts().is_some_and(|p| p.0 == st));
                r.check(seen, format!("group {gname} builds stage `{st}`"));
            }
            for l in strs(&group["expect_log"]) {
                r.check(
                    out.contains(&l),
                    format!("group {gname} output shows {l:?}"),
                );
            }
            if let Some(rt_tag) = built.get(&(ptarget.clone(), "slipway")) {
                let (g, rti) = (inspect(&tag), inspect(rt_tag));
                r.check(
                    g["Config"] == rti["Config"],
                    format!("group {gname}'s image has the config of `{ptarget}`"),
                );
                let gf: Vec<String> = file_list(&tag).into_iter().map(|e| e.path).collect();
                let rf: Vec<String> = file_list(rt_tag).into_iter().map(|e| e.path).collect();
                r.check(
                    gf == rf,
                    format!(
                        "group {gname}'s image has the files of `{ptarget}` ({} vs {})",
                        gf.len(),
                        rf.len()
                    ),
                );
            }
        }
        for t in strs(&group["dockerfile_targets"]) {
            let run = ex.build(
                &ex.dir,
                Builder::Dockerfile,
                Some(&t),
                None,
                &passing_args(&fail_args),
                &[],
            );
            r.check(
                run.success,
                format!(
                    "dockerfile build --target {t} (group twin): {:.1?}\n{}",
                    run.elapsed,
                    failure_tail(&run)
                ),
            );
        }
    }

    // 5. The single-stage build, for the size comparison.
    {
        let tag = ex.tag("single", Builder::Single);
        let run = ex.build(&ex.dir, Builder::Single, None, Some(&tag), &[], &[]);
        r.check(
            run.success,
            format!(
                "single-stage build: {:.1?}\n{}",
                run.elapsed,
                failure_tail(&run)
            ),
        );
        if run.success {
            row.size_single = inspect(&tag)["Size"].as_u64();
        }
    }

    // 6. The test target runs the tests (not CACHED), and fails with the fail args.
    let test = &ex.cfg["test"];
    if test.is_object() {
        let t = test["target"].as_str().unwrap();
        let fail_args = obj_pairs(&test["fail_args"]);
        let expect = test["expect_log"].as_str().unwrap_or("");
        let expect_fail = test["expect_fail_log"].as_str().unwrap_or("");
        let reports = strs(&test["reports"]);
        for b in both {
            // The tests run (fresh args: not CACHED) and the export writes only the reports.
            let dest = std::env::temp_dir().join(format!(
                "slipway-ex-{name}-reports-{}-{}-{}",
                b.key(),
                client.name(),
                nonce()
            ));
            let o = format!("type=local,dest={}", dest.display());
            let run = ex.build(
                &ex.dir,
                b,
                Some(t),
                None,
                &passing_args(&fail_args),
                &["-o", &o],
            );
            let out = run.all();
            r.check(
                run.success && out.contains(expect),
                format!(
                    "{} test target `{t}` passes and shows {expect:?} ({:.1?})\n{}",
                    b.key(),
                    run.elapsed,
                    if run.success && out.contains(expect) {
                        String::new()
                    } else {
                        tail(&run, 60)
                    }
                ),
            );
            if !reports.is_empty() {
                let got = files_under(&dest);
                let empty: Vec<&String> = got
                    .iter()
                    .filter(|f| std::fs::metadata(dest.join(f)).map_or(true, |m| m.len() == 0))
                    .collect();
                r.check(
                    got == reports && empty.is_empty(),
                    format!(
                        "{} `--target {t} -o type=local` writes exactly {reports:?}, not empty: got {got:?} (empty: {empty:?})",
                        b.key()
                    ),
                );
                // The test image: the reports on an empty base, one small layer.
                let tag = ex.tag(t, b);
                let img = ex.build(
                    &ex.dir,
                    b,
                    Some(t),
                    Some(&tag),
                    &passing_args(&fail_args),
                    &[],
                );
                r.check(
                    img.success,
                    format!("{} test image build\n{}", b.key(), failure_tail(&img)),
                );
                if img.success {
                    let i = inspect(&tag);
                    let size = i["Size"].as_u64().unwrap_or(u64::MAX);
                    let layers = i["RootFS"]["Layers"].as_array().map_or(0, |l| l.len());
                    r.info(format!(
                        "{} test image `{t}`: {size} bytes, {layers} layer(s)",
                        b.key()
                    ));
                    r.check(
                        size <= TEST_IMAGE_MAX_BYTES && layers == 1,
                        format!(
                            "{} test image `{t}` is tiny: {size} bytes (max {TEST_IMAGE_MAX_BYTES}), {layers} layer(s) (want 1)",
                            b.key()
                        ),
                    );
                    // `docker export` of a container: without the files dockerd itself puts
                    // into every container.
                    let files: Vec<String> = file_list(&tag)
                        .into_iter()
                        .filter(|e| matches!(e.kind, '0' | '\0'))
                        .map(|e| e.path.trim_start_matches('/').to_string())
                        .filter(|p| {
                            !CONTAINER_FILES.contains(&p.as_str()) && !p.starts_with("dev/")
                        })
                        .collect();
                    r.check(
                        files == reports,
                        format!(
                            "{} test image `{t}` holds only {reports:?}: {files:?}",
                            b.key()
                        ),
                    );
                }
            }
            let _ = std::fs::remove_dir_all(&dest);
            let run = ex.build(&ex.dir, b, Some(t), None, &fail_args, &[]);
            let out = run.all();
            r.check(
                !run.success && out.contains(expect_fail),
                format!("{} test target `{t}` with {fail_args:?} fails showing {expect_fail:?} (exit {:?})\n{}", b.key(), run.code, if !run.success && out.contains(expect_fail) { String::new() } else { tail(&run, 60) }),
            );
        }
    }

    // 7. Edit one source file (in a copy of the example) and rebuild: only the steps after the
    //    source copy re-run, as many as with the twin.
    let rb = &ex.cfg["rebuild"];
    if rb.is_object() {
        let t = rb["target"].as_str().unwrap();
        let edit = rb["edit"].as_str().unwrap();
        let mut counts = Vec::new();
        for b in both {
            let tmp =
                std::env::temp_dir().join(format!("slipway-ex-{name}-{}-{}", b.key(), nonce()));
            copy_dir(&ex.dir, &tmp);
            let first = ex.build(&tmp, b, Some(t), None, &[], &[]);
            r.check(
                first.success,
                format!(
                    "{} rebuild: first build of the copy\n{}",
                    b.key(),
                    failure_tail(&first)
                ),
            );
            let file = tmp.join(edit);
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let n = nonce();
            let edited = if let Some(app) = rb["append"].as_str() {
                format!("{text}{}", unique_edit(app, &n))
            } else {
                let find = rb["find"]
                    .as_str()
                    .expect("rebuild: append or find/replace");
                let repl = unique_edit(rb["replace"].as_str().expect("rebuild.replace"), &n);
                assert!(text.contains(find), "{edit}: `{find}` not found");
                text.replacen(find, &repl, 1)
            };
            std::fs::write(&file, edited).unwrap();
            let run = ex.build(&tmp, b, Some(t), None, &[], &[]);
            let _ = std::fs::remove_dir_all(&tmp);
            r.check(
                run.success,
                format!(
                    "{} rebuild after editing {edit}: {:.1?}\n{}",
                    b.key(),
                    run.elapsed,
                    failure_tail(&run)
                ),
            );
            if !run.success {
                continue;
            }
            let steps = progress::parse(&run.all());
            let ran: Vec<String> = progress::executed_steps(&steps)
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let cached: Vec<String> = steps
                .iter()
                .filter(|s| s.is_run_or_copy() && s.cached)
                .map(|s| s.name.clone())
                .collect();
            r.info(format!(
                "{} rebuild after editing {edit}: {:.1?}; re-ran {ran:#?}; cached {cached:#?}",
                b.key(),
                run.elapsed
            ));
            r.check(
                !ran.is_empty(),
                format!("{} rebuild after editing {edit}: some step re-ran", b.key()),
            );
            let problems = progress::check_only_after_copy_reruns(&steps);
            r.check(
                problems.is_empty(),
                format!(
                    "{} rebuild: only steps after the source copy re-ran: {problems:#?}",
                    b.key()
                ),
            );
            let e = Some((run.elapsed, ran.len()));
            if b == Builder::Slipway {
                row.edit_slipway = e
            } else {
                row.edit_dockerfile = e
            }
            counts.push((b.key(), ran));
        }
        if counts.len() == 2 {
            r.check(
                counts[0].1.len() == counts[1].1.len(),
                format!("rebuild re-runs as many steps with Slipway as with the twin: {} vs {}\nslipway: {:#?}\ndockerfile: {:#?}", counts[0].1.len(), counts[1].1.len(), counts[0].1, counts[1].1),
            );
        }
    }

    if client == Client::Docker {
        write_row(&row);
    }
    r.info(format!("{row:?}"));
    r.info(format!("done in {:.0?}", started.elapsed()));
    assert!(
        r.failures.is_empty(),
        "\n{} check(s) of example `{name}` failed:\n- {}\n",
        r.failures.len(),
        r.failures.join("\n- ")
    );
}

/// Env compares as a set (order aside); a missing field equals null/empty.
fn norm_config(key: &str, v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Array(a) if a.is_empty() => Value::Null,
        Value::Object(o) if o.is_empty() => Value::Null,
        Value::String(s) if s.is_empty() => Value::Null,
        Value::Array(a) if key == "Env" => {
            let mut a = a.clone();
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        _ => v.clone(),
    }
}

/// Whether the `[parallel]` stages overlap in this output: each stage's steps start (first line)
/// before any other stage's steps have all finished. Ok(description) / Err(why).
pub fn overlap(par: &Value, out: &str) -> Result<String, String> {
    let steps = progress::parse(out);
    let stages = par["stages"].as_object().ok_or("parallel.stages")?;
    let mut spans = Vec::new();
    for (stage, markers) in stages {
        let markers = strs(markers);
        match progress::span(&steps, &markers) {
            Some(s) => spans.push((stage.clone(), s)),
            None => {
                return Err(format!(
                    "no executed step of stage `{stage}` (markers {markers:?}) in the output"
                ))
            }
        }
    }
    let latest_start = spans.iter().map(|(_, s)| s.start).max().unwrap();
    let earliest_end = spans.iter().map(|(_, s)| s.end).min().unwrap();
    let desc = spans
        .iter()
        .map(|(n, s)| format!("{n}: {} steps, lines {}..{}", s.steps, s.start, s.end))
        .collect::<Vec<_>>()
        .join("; ");
    if latest_start < earliest_end {
        Ok(desc)
    } else {
        Err(format!("one stage finished before another started: {desc}"))
    }
}
