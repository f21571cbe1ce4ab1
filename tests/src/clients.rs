//! The three build clients every end-to-end test runs through, on two engines:
//!
//! - [`Client::Docker`]: `docker build` (the 20.10 client) on dockerd 20.10, BuildKit v0.8 inside;
//! - [`Client::Buildx`]: `buildx build` (v0.28, standalone) on buildkitd v0.24 (remote driver);
//! - [`Client::Buildctl`]: `buildctl build --frontend gateway.v0 --opt source=…` on buildkitd v0.24.
//!
//! Tests write docker-style flags (`--build-arg K=V`, `--target T`, `--label K=V`, `--secret …`,
//! `--no-cache`); [`build`] translates them for buildctl. Images built on buildkitd are exported as
//! docker tarballs and loaded into dockerd, so `docker run`/`inspect`/`save` see every client's result.
//! The frontend reaches buildkitd through the local registry: buildx reads the spec's own
//! `# syntax=` line (a short name such as `slipway:dev` resolves through the docker.io mirror to
//! `127.0.0.1:5000/library/slipway:dev`), buildctl names `127.0.0.1:5000/<image>` as its source.

use crate::{engine, Run};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The local registry (scripts/registry.sh), mirror of docker.io and gcr.io for both engines.
pub const REGISTRY: &str = "127.0.0.1:5000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Docker,
    Buildx,
    Buildctl,
}

impl Client {
    pub const ALL: [Client; 3] = [Client::Docker, Client::Buildx, Client::Buildctl];

    pub fn name(self) -> &'static str {
        match self {
            Client::Docker => "docker",
            Client::Buildx => "buildx",
            Client::Buildctl => "buildctl",
        }
    }

    /// The engine behind the client, for messages.
    pub fn engine(self) -> &'static str {
        match self {
            Client::Docker => "dockerd 20.10 (BuildKit v0.8)",
            Client::Buildx | Client::Buildctl => "buildkitd v0.24",
        }
    }

    /// Whether the client talks to buildkitd v0.24 (else dockerd 20.10).
    pub fn is_current(self) -> bool {
        self != Client::Docker
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.name(), self.engine())
    }
}

/// Which frontend reads the file: Slipway (the spec's `# syntax=` image) or BuildKit's own
/// Dockerfile frontend (the examples' twins).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frontend {
    Slipway,
    Dockerfile,
}

/// What one build is: file, context, tag, docker-style flags.
pub struct Build<'a> {
    pub client: Client,
    pub frontend: Frontend,
    /// The spec or Dockerfile; its directory need not be the context.
    pub file: &'a Path,
    pub context: &'a Path,
    /// Tag of the image in dockerd (loaded there for buildx/buildctl); none: no image is kept.
    pub tag: Option<&'a str>,
    pub flags: &'a [&'a str],
}

/// A command line for the record (failure messages, README).
fn show(program: &str, args: &[String]) -> String {
    let mut s = program.to_string();
    for a in args {
        s.push(' ');
        if a.contains([' ', '"', '\'', '$']) {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(a);
        }
    }
    s
}

/// The buildctl form of docker-style flags.
fn buildctl_flags(flags: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some(&f) = it.next() {
        let (name, inline) = match f.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (f, None),
        };
        let mut value = || -> String {
            inline.clone().unwrap_or_else(|| {
                it.next()
                    .unwrap_or_else(|| panic!("flag {name} needs a value"))
                    .to_string()
            })
        };
        match name {
            "--build-arg" => {
                let v = value();
                // The frontend image is named by --opt source; not a build arg for Slipway.
                if !v.starts_with("BUILDKIT_SYNTAX=") {
                    out.extend(["--opt".into(), format!("build-arg:{v}")]);
                }
            }
            "--target" => out.extend(["--opt".into(), format!("target={}", value())]),
            "--label" => out.extend(["--opt".into(), format!("label:{}", value())]),
            "--platform" => out.extend(["--opt".into(), format!("platform={}", value())]),
            "--secret" => out.extend(["--secret".into(), value()]),
            "--ssh" => out.extend(["--ssh".into(), value()]),
            "--no-cache" => out.push("--no-cache".into()),
            other => panic!("e2e harness: no buildctl translation for flag `{other}`"),
        }
    }
    out
}

/// The path of a client program on the PATH of `scripts/buildkit.sh env` (buildx, buildctl).
pub fn tool_path(name: &str) -> PathBuf {
    tool(&engine().env, name)
}

/// Run a client program (buildx, buildctl) with the engine's environment plus `env`.
pub fn run_tool(name: &str, args: &[String], env: &[(&str, &str)]) -> Run {
    let e = engine();
    let program = tool(&e.env, name).display().to_string();
    let mut all = e.env.clone();
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let start = Instant::now();
    let out = crate::timed_command(&program, args, &all, None);
    let shown = env
        .iter()
        .map(|(k, v)| format!("{k}={v} "))
        .collect::<String>();
    Run::from_output(out, start, format!("{shown}{}", show(name, args)))
}

fn tool(env: &[(String, String)], name: &str) -> PathBuf {
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not on the PATH of `scripts/buildkit.sh env` ({path}): run scripts/buildkit.sh up")
        })
}

/// Run one build through its client; on success with a tag, the image is in dockerd.
pub fn build(b: &Build) -> Run {
    let e = engine();
    let file = b.file.display().to_string();
    let ctx = b.context.display().to_string();
    let file_dir = b
        .file
        .parent()
        .unwrap_or(Path::new("."))
        .display()
        .to_string();
    let file_name = b.file.file_name().unwrap().to_string_lossy().into_owned();
    // buildkitd's images come back as docker tarballs, loaded into dockerd.
    let tar = b.tag.filter(|_| b.client.is_current()).map(|t| {
        std::env::temp_dir().join(format!(
            "slipway-e2e-{}-{}.tar",
            t.replace(['/', ':'], "_"),
            crate::nonce()
        ))
    });
    let (program, args): (String, Vec<String>) = match b.client {
        Client::Docker => {
            let mut a: Vec<String> = vec!["build".into(), "--progress=plain".into()];
            a.extend(["-f".into(), file.clone()]);
            if let Some(t) = b.tag {
                a.extend(["-t".into(), t.to_string()]);
            }
            a.extend(b.flags.iter().map(|s| s.to_string()));
            a.push(ctx.clone());
            (crate::DOCKER.to_string(), a)
        }
        Client::Buildx => {
            let mut a: Vec<String> = vec!["build".into(), "--progress=plain".into()];
            a.extend(["-f".into(), file.clone()]);
            if let (Some(t), Some(tar)) = (b.tag, &tar) {
                a.extend([
                    "--output".into(),
                    format!("type=docker,name={t},dest={}", tar.display()),
                ]);
            }
            a.extend(b.flags.iter().map(|s| s.to_string()));
            a.push(ctx.clone());
            (tool(&e.env, "buildx").display().to_string(), a)
        }
        Client::Buildctl => {
            let mut a: Vec<String> = vec!["build".into(), "--progress=plain".into()];
            match b.frontend {
                Frontend::Slipway => a.extend([
                    "--frontend".into(),
                    "gateway.v0".into(),
                    "--opt".into(),
                    format!("source={REGISTRY}/{}", e.image),
                ]),
                Frontend::Dockerfile => a.extend(["--frontend".into(), "dockerfile.v0".into()]),
            }
            a.extend([
                "--local".into(),
                format!("context={ctx}"),
                "--local".into(),
                format!("dockerfile={file_dir}"),
                "--opt".into(),
                format!("filename={file_name}"),
            ]);
            if let (Some(t), Some(tar)) = (b.tag, &tar) {
                a.extend([
                    "--output".into(),
                    format!("type=docker,name={t},dest={}", tar.display()),
                ]);
            }
            a.extend(buildctl_flags(b.flags));
            (tool(&e.env, "buildctl").display().to_string(), a)
        }
    };
    let command = show(
        Path::new(&program).file_name().unwrap().to_str().unwrap(),
        &args,
    );
    let start = Instant::now();
    let out = crate::timed_command(&program, &args, &e.env, None);
    let elapsed = start.elapsed();
    let mut run = Run {
        success: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
        command,
    };
    if let Some(tar) = tar {
        if run.success {
            let path = tar.display().to_string();
            let load = crate::docker(&["load", "-i", &path]);
            if !load.success {
                run.success = false;
                run.stderr.push_str(&format!(
                    "\n--- docker load -i {path} failed ---\n{}",
                    load.all()
                ));
            }
        }
        let _ = std::fs::remove_file(&tar);
    }
    run
}

/// `buildctl prune --all` on buildkitd: every unused cache record, cache mounts included.
pub fn prune_all() -> Run {
    run_tool("buildctl", &["prune".into(), "--all".into()], &[])
}

#[cfg(test)]
mod tests {
    use super::buildctl_flags;

    #[test]
    fn docker_flags_become_buildctl_opts() {
        let got = buildctl_flags(&[
            "--build-arg",
            "A=1",
            "--build-arg=B=2 3",
            "--target",
            "t",
            "--label",
            "k=v",
            "--secret",
            "id=s,src=/f",
            "--no-cache",
            "--build-arg",
            "BUILDKIT_SYNTAX=x",
        ]);
        assert_eq!(
            got,
            [
                "--opt",
                "build-arg:A=1",
                "--opt",
                "build-arg:B=2 3",
                "--opt",
                "target=t",
                "--opt",
                "label:k=v",
                "--secret",
                "id=s,src=/f",
                "--no-cache"
            ]
        );
    }

    #[test]
    #[should_panic(expected = "no buildctl translation for flag `--pull`")]
    fn unknown_flags_are_refused() {
        buildctl_flags(&["--pull"]);
    }
}
