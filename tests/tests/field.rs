//! Slipway in the field, on buildkitd v0.24 through buildx v0.28 and buildctl (issue 9 items 5–7):
//! several platforms in one build, what buildx sends (provenance, outputs, named contexts), remote
//! contexts (git daemon and an HTTP tarball, started here on 127.0.0.1 ephemeral ports).
//! These tests never skip: a missing engine, tool or image is a failure.

use serde_json::Value;
use slipway_e2e::*;
use std::path::{Path, PathBuf};

/// Run PROGRAM (looked up on the PATH of `scripts/buildkit.sh env`) with the engines' environment.
fn cmd(program: &str, args: &[&str]) -> Run {
    let e = engine();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let start = std::time::Instant::now();
    let out = timed_command(program, &args, &e.env, None);
    Run {
        success: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
        command: format!("{program} {}", args.join(" ")),
    }
}

/// A fresh scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("slipway-field-{what}-{}", nonce()));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
    fn write(&self, p: &str, text: &str) -> PathBuf {
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

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `--opt source=` for buildctl: the frontend image as buildkitd pulls it.
fn source_opt() -> String {
    format!("source={}/{}", clients::REGISTRY, engine().image)
}

/// The substitute for `golang:1.22-alpine` in the registry (built once, idempotent).
fn ensure_golang() {
    let root = repo_root();
    for (script, args) in [
        ("examples/base-images/build.sh", vec!["golang"]),
        ("scripts/mirror-images.sh", vec!["slipway-test/golang:latest"]),
    ] {
        let mut a = vec![s(&root.join(script))];
        a.extend(args.iter().map(|x| x.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        cmd("bash", &a).ok();
    }
}

/// An OCI layout directory's manifests: (platform `os/arch`, manifest JSON), following nested
/// indexes (the oci exporter wraps the multi-platform index in another one).
fn oci_manifests(layout: &Path) -> Vec<(String, Value)> {
    let read = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let p = layout.join("blobs/sha256").join(hex);
        serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
    };
    let mut out = Vec::new();
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut todo: Vec<Value> = index["manifests"].as_array().unwrap().clone();
    while let Some(d) = todo.pop() {
        let body = read(d["digest"].as_str().unwrap());
        match d["mediaType"].as_str().unwrap() {
            "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json" => {
                todo.extend(body["manifests"].as_array().unwrap().iter().cloned())
            }
            _ => {
                let p = &d["platform"];
                let plat = format!(
                    "{}/{}",
                    p["os"].as_str().unwrap_or("?"),
                    p["architecture"].as_str().unwrap_or("?")
                );
                out.push((plat, body));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `file` on PATH inside the last layer of a manifest, extracted to DIR.
fn file_in_last_layer(layout: &Path, manifest: &Value, path: &str, dir: &Path) -> String {
    let layer = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_string();
    std::fs::create_dir_all(dir).unwrap();
    let blob = layout.join("blobs/sha256").join(layer);
    cmd("tar", &["-xzf", &s(&blob), "-C", &s(dir), path]).ok();
    cmd("file", &["-b", &s(&dir.join(path))]).ok().stdout
}

/// Issue 9 item 7: the Go example's runtime-scratch target for two platforms in one build: one
/// index, two manifests, the right ELF in each (the builder cross-compiles on the build platform;
/// this machine has no emulation).
#[test]
fn go_example_two_platforms_one_index_right_elf_each() {
    let _s = shared_slot();
    ensure_golang();
    let dir = repo_root().join("examples/go");
    let tmp = Scratch::new("go2");
    let tar = tmp.join("go.tar");
    let run = cmd(
        "buildctl",
        &[
            "build",
            "--progress=plain",
            "--frontend",
            "gateway.v0",
            "--opt",
            &source_opt(),
            "--local",
            &format!("context={}", s(&dir)),
            "--local",
            &format!("dockerfile={}", s(&dir)),
            "--opt",
            "filename=slipway.yaml",
            "--opt",
            "target=runtime-scratch",
            "--opt",
            "platform=linux/amd64,linux/arm64",
            "--output",
            &format!("type=oci,dest={}", s(&tar)),
        ],
    )
    .ok();
    assert!(run.all().contains("exporting manifest list"), "{}", run.all());
    let layout = tmp.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    cmd("tar", &["-xf", &s(&tar), "-C", &s(&layout)]).ok();
    let manifests = oci_manifests(&layout);
    let plats: Vec<&str> = manifests.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm64"]);
    for (plat, m) in &manifests {
        let what = file_in_last_layer(&layout, m, "server", &tmp.join(&plat.replace('/', "-")));
        let want = if plat.ends_with("amd64") {
            "x86-64"
        } else {
            "ARM aarch64"
        };
        assert!(what.contains("ELF 64-bit") && what.contains(want), "{plat}: {what}");
        assert!(what.contains("statically linked"), "{plat}: {what}");
    }
}

/// Issue 9 item 7: a `run` step on a platform this machine cannot execute fails before the build
/// with the step's line and the platform (buildx shows the spec snippet).
#[test]
fn run_step_needing_emulation_fails_naming_the_platform() {
    let _s = shared_slot();
    let tmp = Scratch::new("emu");
    let spec = tmp.write(
        "slipway.yaml",
        &format!(
            "# syntax={}\nstages:\n  app:\n    from: busybox:1.36\n    steps:\n      - run: echo {} >/hi\n",
            engine().image,
            nonce()
        ),
    );
    let run = cmd(
        "buildx",
        &[
            "build",
            "--progress=plain",
            "--platform",
            "linux/amd64,linux/arm64",
            "-f",
            &s(&spec),
            &s(tmp.path()),
        ],
    )
    .fails();
    let out = run.all();
    assert!(
        out.contains("slipway.yaml:6: step \"run: echo")
            && out.contains("in stage app runs on linux/arm64, which this BuildKit cannot execute"),
        "{out}"
    );
    assert!(out.contains("platform: ${BUILDPLATFORM}"), "{out}");
    // The snippet under the error, from the source detail.
    assert!(out.contains(">>>       - run: echo"), "{out}");
}
