//! Slipway in the field, on buildkitd v0.24 through buildx v0.28 and buildctl (issue 9 items 5–7):
//! several platforms in one build, what buildx sends (provenance, outputs, named contexts), remote
//! contexts (git daemon and an HTTP tarball, started here on 127.0.0.1 ephemeral ports).
//! These tests never skip: a missing engine, tool or image is a failure.

use serde_json::Value;
use slipway_e2e::*;
use std::path::Path;

/// Run PROGRAM (looked up on the PATH of `scripts/buildkit.sh env`) with the engines' environment.
fn cmd(program: &str, args: &[&str]) -> Run {
    tool_run(program, args)
}

/// As [`cmd`], for a build that may compile a toolchain's standard library for two platforms from
/// a cold cache (2–5 minutes on a loaded 2-core machine, longer while it waits for the engine
/// lock): up to 15 minutes, so that a stuck build still leaves CI (90 min) time to report.
fn cmd_long(program: &str, args: &[&str]) -> Run {
    tool_run_for(std::time::Duration::from_secs(900), program, args)
}

/// What the daemon says about its builds (newest first), for a failure message: a build it
/// never finished has no COMPLETE record. Also saves buildkitd's goroutine dump (its
/// `--debugaddr`, set by scripts/buildkitd.sh) to a file the message names: where a stuck
/// build waits.
fn daemon_histories() -> String {
    let r = cmd("buildctl", &["debug", "histories"]);
    let mut out = r.all().lines().take(12).collect::<Vec<_>>().join("\n");
    let dump = std::env::temp_dir().join(format!(
        "slipway-buildkitd-goroutines-{}.txt",
        std::process::id()
    ));
    let g = tool_run(
        "curl",
        &[
            "-sS",
            "-o",
            &s(&dump),
            "http://127.0.0.1:6060/debug/pprof/goroutine?debug=2",
        ],
    );
    out.push_str(&if g.success {
        format!("\n--- buildkitd goroutines: {} ---", s(&dump))
    } else {
        format!("\n--- no goroutine dump: {}", g.all())
    });
    out
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `--opt source=` for buildctl: the frontend image as buildkitd pulls it.
fn source_opt() -> String {
    format!("source={}/{}", clients::REGISTRY, engine().image)
}

/// `Scratch::new("field-WHAT")`.
fn scratch(what: &str) -> Scratch {
    Scratch::new(&format!("field-{what}"))
}

/// The substitute for `golang:1.22-alpine` in the registry (built once, idempotent).
fn ensure_golang() {
    let root = repo_root();
    for (script, args) in [
        ("examples/base-images/build.sh", vec!["golang"]),
        (
            "scripts/mirror-images.sh",
            vec!["slipway-test/golang:latest"],
        ),
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

/// buildctl's arguments for a build of `dir` through the frontend with `opts`, exported as an
/// OCI layout tarball to `tar`.
fn buildctl_oci_args(dir: &Path, tar: &Path, opts: &[&str]) -> Vec<String> {
    let mut extra: Vec<String> = opts.iter().map(|x| x.to_string()).collect();
    extra.extend(["--output".into(), format!("type=oci,dest={}", s(tar))]);
    buildctl_gateway_args(dir, &engine().image, &extra)
}

/// Unpacks an OCI layout tarball into `dir/layout`; its manifests, which must be for
/// linux/amd64 and linux/arm64 in that order.
fn two_platform_manifests(dir: &Path, tar: &Path) -> (std::path::PathBuf, Vec<(String, Value)>) {
    let layout = dir.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    cmd("tar", &["-xf", &s(tar), "-C", &s(&layout)]).ok();
    let manifests = oci_manifests(&layout);
    let plats: Vec<&str> = manifests.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(plats, ["linux/amd64", "linux/arm64"]);
    (layout, manifests)
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
///
/// Once, in a full run (2026-12-03), buildctl waited after the export was done ("sending tarball
/// done") until its limit: buildkitd never finished that Solve after its exporter (no error logged
/// when the client went, no history record until the daemon was restarted 20 min later), with the
/// Go build vertex shared with another checkout's concurrent build. Not reproduced since (7 runs,
/// cold and warm, with neighbours sharing vertices). If it happens again the failure shows the
/// daemon's build history.
#[test]
fn go_example_two_platforms_one_index_right_elf_each() {
    let _s = shared_slot();
    ensure_golang();
    let dir = repo_root().join("examples/go");
    let tmp = scratch("go2");
    let tar = tmp.join("go.tar");
    let opts = [
        "--opt",
        "target=runtime-scratch",
        "--opt",
        "platform=linux/amd64,linux/arm64",
    ];
    let args = buildctl_oci_args(&dir, &tar, &opts);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = cmd_long("buildctl", &args);
    assert!(
        run.success,
        "{} failed ({:?}) after {:?}\n{}\n--- buildctl debug histories ---\n{}",
        run.command,
        run.code,
        run.elapsed,
        run.all(),
        daemon_histories()
    );
    assert!(
        run.all().contains("exporting manifest list"),
        "{}",
        run.all()
    );
    let (layout, manifests) = two_platform_manifests(tmp.path(), &tar);
    for (plat, m) in &manifests {
        let what = file_in_last_layer(&layout, m, "server", &tmp.join(&plat.replace('/', "-")));
        let want = if plat.ends_with("amd64") {
            "x86-64"
        } else {
            "ARM aarch64"
        };
        assert!(
            what.contains("ELF 64-bit") && what.contains(want),
            "{plat}: {what}"
        );
        assert!(what.contains("statically linked"), "{plat}: {what}");
    }
}

/// Issue 9 item 7: a `run` step on a platform this machine cannot execute fails before the build
/// with the step's line and the platform (buildx shows the spec snippet).
#[test]
fn run_step_needing_emulation_fails_naming_the_platform() {
    let _s = shared_slot();
    let tmp = scratch("emu");
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

/// SOURCE_DATE_EPOCH in a two-platform build: each platform's image config (created and
/// history) carries the epoch (the per-platform results used to drop it before the exporter).
#[test]
fn two_platforms_keep_source_date_epoch() {
    let _s = shared_slot();
    let tmp = scratch("epoch2");
    tmp.write(
        "slipway.yaml",
        &spec(&format!(
            "stages:\n  app:\n    from: scratch\n    steps:\n      - file: /hello\n        content: \"{}\"\n",
            nonce()
        )),
    );
    let tar = tmp.join("o.tar");
    let opts = [
        "--opt",
        "platform=linux/amd64,linux/arm64",
        "--opt",
        "build-arg:SOURCE_DATE_EPOCH=1704067200",
    ];
    let args = buildctl_oci_args(tmp.path(), &tar, &opts);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    cmd("buildctl", &args).ok();
    let (layout, manifests) = two_platform_manifests(tmp.path(), &tar);
    for (plat, m) in &manifests {
        let digest = m["config"]["digest"].as_str().unwrap();
        let cfg: Value = serde_json::from_slice(
            &std::fs::read(layout.join("blobs/sha256").join(&digest[7..])).unwrap(),
        )
        .unwrap();
        assert_eq!(cfg["created"], "2024-01-01T00:00:00Z", "{plat}: {cfg:#}");
        for h in cfg["history"].as_array().unwrap() {
            assert_eq!(h["created"], "2024-01-01T00:00:00Z", "{plat}: {cfg:#}");
        }
    }
}

/// `buildx build ARGS… -f SPEC DIR` with plain progress.
fn buildx(spec: &Path, dir: &Path, args: &[&str]) -> Run {
    let mut a = vec!["build", "--progress=plain"];
    a.extend_from_slice(args);
    let (spec, dir) = (s(spec), s(dir));
    a.extend(["-f", &spec, &dir]);
    cmd("buildx", &a)
}

/// The spec text with the frontend image on its `# syntax=` line.
fn spec(body: &str) -> String {
    format!("# syntax={}\n{body}", engine().image)
}

/// Issue 9 item 5: buildx's default provenance attestation (mode=min) is pushed with the image:
/// the index holds the image and an attestation manifest whose provenance names the spec.
#[test]
fn push_with_default_provenance() {
    let _s = shared_slot();
    let tmp = scratch("prov");
    let n = nonce();
    let f = tmp.write(
        "slipway.yaml",
        &spec(&format!(
            "stages:\n  app:\n    from: busybox:1.36\n    steps:\n      - run: echo {n} >/n\n"
        )),
    );
    let tag = format!("{}/slipway-field/prov:{n}", clients::REGISTRY);
    buildx(&f, tmp.path(), &["--push", "-t", &tag]).ok();
    let raw = cmd("buildx", &["imagetools", "inspect", "--raw", &tag]).ok();
    let index: Value = serde_json::from_str(&raw.stdout).unwrap();
    let kinds: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["vnd.docker.reference.type"]
                .as_str()
                .unwrap_or(m["platform"]["architecture"].as_str().unwrap_or("?"))
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["amd64", "attestation-manifest"], "{}", raw.stdout);
    let prov = cmd(
        "buildx",
        &[
            "imagetools",
            "inspect",
            &tag,
            "--format",
            "{{json .Provenance}}",
        ],
    )
    .ok();
    let p: Value = serde_json::from_str(&prov.stdout).unwrap();
    assert_eq!(
        p["SLSA"]["invocation"]["configSource"]["entryPoint"], "slipway.yaml",
        "{}",
        prov.stdout
    );
    assert_eq!(
        p["SLSA"]["buildType"],
        "https://mobyproject.org/buildkit@v1"
    );
}

/// Issue 9 item 5: `--sbom=true` needs BuildKit's scanner image, which this machine's registry
/// does not hold: the build fails at once saying so (not at the end with only the image's name).
#[test]
fn sbom_without_scanner_fails_clearly() {
    let _s = shared_slot();
    let tmp = scratch("sbom");
    let f = tmp.write(
        "slipway.yaml",
        &spec("stages:\n  app:\n    from: busybox:1.36\n"),
    );
    let out = buildx(&f, tmp.path(), &["--sbom=true"]).fails().all();
    assert!(
        out.contains("--sbom: BuildKit makes the SBOM by running the scanner image docker.io/docker/buildkit-syft-scanner:stable-1, which it cannot resolve"),
        "{out}"
    );
    assert!(out.contains("build without `--sbom`"), "{out}");
}

/// Issue 9 item 5: every output type buildx offers for one image.
#[test]
fn outputs_oci_docker_local_tar() {
    let _s = shared_slot();
    let tmp = scratch("out");
    let n = nonce();
    let f = tmp.write(
        "slipway.yaml",
        &spec(&format!(
            "stages:\n  app:\n    from: busybox:1.36\n    steps:\n      - run: echo {n} >/n\n"
        )),
    );
    let ctx = tmp.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    // local: the root filesystem in a directory.
    let local = tmp.join("local");
    buildx(
        &f,
        &ctx,
        &["--output", &format!("type=local,dest={}", s(&local))],
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(local.join("n")).unwrap(),
        format!("{n}\n")
    );
    assert!(local.join("bin/busybox").exists());
    // tar: the same as a tarball.
    let tar = tmp.join("fs.tar");
    buildx(
        &f,
        &ctx,
        &["--output", &format!("type=tar,dest={}", s(&tar))],
    )
    .ok();
    let list = cmd("tar", &["-tf", &s(&tar)]).ok().stdout;
    assert!(list.lines().any(|l| l == "n"), "{list}");
    // oci: an image layout whose config is the frontend's.
    let oci = tmp.join("oci");
    buildx(
        &f,
        &ctx,
        &["--output", &format!("type=oci,dest={},tar=false", s(&oci))],
    )
    .ok();
    let m = oci_manifests(&oci);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].0, "linux/amd64");
    // docker: a tarball `docker load` takes.
    let dtar = tmp.join("docker.tar");
    let tag = format!("slipway-field/out:{n}");
    buildx(
        &f,
        &ctx,
        &[
            "--output",
            &format!("type=docker,name={tag},dest={}", s(&dtar)),
        ],
    )
    .ok();
    docker(&["load", "-i", &s(&dtar)]).ok();
    let got = docker(&["run", "--rm", &tag, "cat", "/n"]).ok().stdout;
    assert_eq!(got, format!("{n}\n"));
    docker(&["rmi", &tag]).ok();
}

/// Issue 9 item 5: `--build-context` with an image, an OCI layout (made by a first build) and a
/// directory, in one build.
#[test]
fn named_contexts_image_oci_layout_and_dir() {
    let _s = shared_slot();
    let tmp = scratch("ctx");
    let n = nonce();
    // The layout: an image built with Slipway, exported as OCI.
    let base = tmp.write(
        "base/slipway.yaml",
        &spec(&format!(
            "stages:\n  base:\n    from: busybox:1.36\n    env: {{FROM_LAYOUT: \"yes-{n}\"}}\n    steps:\n      - run: echo layout-{n} >/marker\n"
        )),
    );
    let layout = tmp.join("layout");
    buildx(
        &base,
        &tmp.join("base"),
        &[
            "--output",
            &format!("type=oci,dest={},tar=false", s(&layout)),
        ],
    )
    .ok();
    tmp.write("files/hello.txt", &format!("dir-{n}\n"));
    let app = tmp.write(
        "app/slipway.yaml",
        &spec(
            "stages:\n  app:\n    from: base\n    steps:\n      - copy: hello.txt\n        from: files\n        to: /hello.txt\n      - copy: /bin/busybox\n        from: tools\n        to: /tools-busybox\n      - run: cat /marker /hello.txt && echo \"env=$FROM_LAYOUT\" >/env\n",
        ),
    );
    let out = tmp.join("out");
    let run = buildx(
        &app,
        &tmp.join("app"),
        &[
            "--build-context",
            &format!("base=oci-layout://{}", s(&layout)),
            "--build-context",
            &format!("files={}", s(&tmp.join("files"))),
            "--build-context",
            "tools=docker-image://busybox:1.36",
            "--output",
            &format!("type=local,dest={}", s(&out)),
        ],
    )
    .ok();
    let all = run.all();
    assert!(all.contains("[context base] OCI load from client"), "{all}");
    assert!(
        all.contains(&format!("layout-{n}")) && all.contains(&format!("dir-{n}")),
        "{all}"
    );
    // `from: base` names the context, not an image to pin (lint's `unpinned-base`).
    assert!(!all.contains("builds on `base`"), "{all}");
    assert_eq!(
        std::fs::read_to_string(out.join("env")).unwrap(),
        format!("env=yes-{n}\n")
    );
    assert_eq!(
        std::fs::read_to_string(out.join("hello.txt")).unwrap(),
        format!("dir-{n}\n")
    );
    assert!(out.join("tools-busybox").exists());
}

/// Issue 9 item 5: `input:` named contexts. `buildx bake` with `contexts = { base = "target:base" }`
/// builds target `base` and hands its result to `app` as a frontend input (`context:base=input:base`,
/// with `input-metadata:base`); Slipway adds base's ops as they are and uses the result as `from:` (its
/// image config's env comes along) and as a `copy.from`.
#[test]
fn bake_target_context_is_read_as_a_frontend_input() {
    let _s = shared_slot();
    let tmp = scratch("bake");
    let n = nonce();
    tmp.write(
        "base/slipway.yaml",
        &spec(&format!(
            "stages:\n  base:\n    from: busybox:1.36\n    env: {{FROM_BASE: \"yes-{n}\"}}\n    steps:\n      - run: echo base-{n} >/marker\n"
        )),
    );
    tmp.write(
        "app/slipway.yaml",
        &spec(
            "stages:\n  app:\n    from: base\n    steps:\n      - copy: /marker\n        from: base\n        to: /copied\n      - run: cat /marker /copied && echo \"env=$FROM_BASE\" >/env\n",
        ),
    );
    let out = tmp.join("out");
    let bake = tmp.write(
        "docker-bake.hcl",
        &format!(
            "target \"base\" {{\n  context = \"{base}\"\n  dockerfile = \"slipway.yaml\"\n}}\n\
             target \"app\" {{\n  context = \"{app}\"\n  dockerfile = \"slipway.yaml\"\n  \
             contexts = {{ base = \"target:base\" }}\n  output = [\"type=local,dest={out}\"]\n}}\n",
            base = s(&tmp.join("base")),
            app = s(&tmp.join("app")),
            out = s(&out),
        ),
    );
    // The files are outside the working directory: granted as buildx asks.
    let (read, write) = (
        format!("--allow=fs.read={}", s(tmp.path())),
        format!("--allow=fs.write={}", s(tmp.path())),
    );
    let run = cmd(
        "buildx",
        &[
            "bake",
            &read,
            &write,
            "--progress=plain",
            "-f",
            &s(&bake),
            "app",
        ],
    )
    .ok();
    let all = run.all();
    // base's own step, named by base's metadata, ran inside app's build.
    assert!(
        all.lines()
            .any(|l| l.contains("[base ") && l.contains("] RUN echo base-")),
        "{all}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("env")).unwrap(),
        format!("env=yes-{n}\n")
    );
    assert_eq!(
        std::fs::read_to_string(out.join("copied")).unwrap(),
        format!("base-{n}\n")
    );
    assert_eq!(
        std::fs::read_to_string(out.join("marker")).unwrap(),
        format!("base-{n}\n")
    );
}

/// A service this test started (git daemon, http server), killed when dropped with its whole
/// process group: `git daemon` runs the server as a child process (`git-daemon`), which killing
/// `git` alone left listening after the test.
struct Service(std::process::Child);

impl Drop for Service {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free 127.0.0.1 port (the listener is closed again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start PROGRAM ARGS listening on `port`; wait until it accepts connections.
fn start_service(program: &str, args: &[&str], port: u16) -> Service {
    use std::os::unix::process::CommandExt;
    let child = std::process::Command::new(program)
        .args(args)
        // Its own process group, which Drop kills.
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let svc = Service(child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{program} did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    svc
}

/// A small app: spec + a file, the spec copying the file and printing it at build time, then the
/// whole context to /ctx. It has a `.dockerignore` naming `ignored.txt` (and a Dockerfile twin that
/// copies the context the same way), for the remote-context rule: as BuildKit's Dockerfile frontend
/// does, `.dockerignore` filters only what a client sends from a local directory, not a git
/// repository or tarball the daemon fetches itself.
fn remote_app(dir: &Path, n: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("hello.txt"), format!("remote-{n}\n")).unwrap();
    std::fs::write(dir.join("ignored.txt"), "in the remote context\n").unwrap();
    std::fs::write(dir.join(".dockerignore"), "ignored.txt\n").unwrap();
    std::fs::write(
        dir.join("slipway.yaml"),
        spec("stages:\n  app:\n    from: busybox:1.36\n    steps:\n      - copy: hello.txt\n        to: /hello.txt\n      - run: cat /hello.txt && cp /hello.txt /seen\n      - copy: .\n        to: /ctx/\n"),
    )
    .unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox:1.36\nCOPY . /ctx/\n").unwrap();
}

/// Build the remote app at URL with buildctl, then buildx (outputs `out-<client>` in TMP): both
/// see its file; then the `.dockerignore` rule against the Dockerfile frontend.
fn remote_builds(url: &str, tmp: &Scratch, n: &str) {
    for (client, run, out) in [
        (
            "buildctl",
            buildctl_remote as fn(&str, &Path) -> Run,
            tmp.join("out-buildctl"),
        ),
        ("buildx", buildx_remote, tmp.join("out-buildx")),
    ] {
        let r = run(url, &out).ok();
        // The first client runs the step (and prints the file); the second finds it cached.
        let want = if client == "buildctl" {
            format!("remote-{n}")
        } else {
            "[app 3/4] RUN cat /hello.txt".to_string()
        };
        assert!(r.all().contains(&want), "{client}: {}", r.all());
        assert_eq!(
            std::fs::read_to_string(out.join("seen")).unwrap(),
            format!("remote-{n}\n"),
            "{client}"
        );
    }
    remote_ignore_like_dockerfile(url, &tmp.join("out-buildctl"), tmp);
}

/// The remote context's `.dockerignore` is not applied, by Slipway (OUT, a build's local output)
/// nor by BuildKit's own Dockerfile frontend on the same URL.
fn remote_ignore_like_dockerfile(url: &str, out: &Path, tmp: &Scratch) {
    assert!(
        out.join("ctx/ignored.txt").is_file() && out.join("ctx/hello.txt").is_file(),
        "Slipway: the remote context lost files"
    );
    let twin = tmp.join("out-dockerfile");
    cmd(
        "buildctl",
        &[
            "build",
            "--progress=plain",
            "--frontend",
            "dockerfile.v0",
            "--opt",
            &format!("context={url}"),
            "--opt",
            "filename=Dockerfile",
            "--output",
            &format!("type=local,dest={}", s(&twin)),
        ],
    )
    .ok();
    assert!(
        twin.join("ctx/ignored.txt").is_file(),
        "the Dockerfile frontend applied the remote .dockerignore: Slipway should too"
    );
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d.join("ctx"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(out),
        names(&twin),
        "same context as the Dockerfile frontend's"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let mut a = vec![
        "-C",
        dir.to_str().unwrap(),
        "-c",
        "user.email=t@e",
        "-c",
        "user.name=t",
    ];
    a.extend_from_slice(args);
    cmd("git", &a).ok();
}

/// buildctl with a remote context (`--opt context=URL`, no locals) into a local directory.
fn buildctl_remote(url: &str, out: &Path) -> Run {
    cmd(
        "buildctl",
        &[
            "build",
            "--progress=plain",
            "--frontend",
            "gateway.v0",
            "--opt",
            &source_opt(),
            "--opt",
            &format!("context={url}"),
            "--opt",
            "filename=slipway.yaml",
            "--output",
            &format!("type=local,dest={}", s(out)),
        ],
    )
}

/// buildx with a remote context URL and the spec inside it.
fn buildx_remote(url: &str, out: &Path) -> Run {
    cmd(
        "buildx",
        &[
            "build",
            "--progress=plain",
            "-f",
            "slipway.yaml",
            "--output",
            &format!("type=local,dest={}", s(out)),
            url,
        ],
    )
}

/// Issue 9 item 6: spec and context from a git repository served by `git daemon` on 127.0.0.1,
/// through buildctl (`--opt context=git://…#main`) and buildx (`git://…` as the context).
#[test]
fn spec_and_context_from_git() {
    let _s = shared_slot();
    let tmp = scratch("git");
    let n = nonce();
    let work = tmp.join("work");
    remote_app(&work, &n);
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "app"]);
    let served = tmp.join("srv");
    std::fs::create_dir_all(&served).unwrap();
    cmd(
        "git",
        &[
            "clone",
            "-q",
            "--bare",
            &s(&work),
            &s(&served.join("app.git")),
        ],
    )
    .ok();
    let port = free_port();
    let _daemon = start_service(
        "git",
        &[
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", s(&served)),
            &s(&served),
        ],
        port,
    );
    let url = format!("git://127.0.0.1:{port}/app.git#main");
    remote_builds(&url, &tmp, &n);
}

/// Issue 9 item 6: spec and context from a tarball served over HTTP on 127.0.0.1.
#[test]
fn spec_and_context_from_an_http_tarball() {
    let _s = shared_slot();
    let tmp = scratch("http");
    let n = nonce();
    let app = tmp.join("app");
    remote_app(&app, &n);
    let served = tmp.join("srv");
    std::fs::create_dir_all(&served).unwrap();
    cmd(
        "tar",
        &["-czf", &s(&served.join("ctx.tar.gz")), "-C", &s(&app), "."],
    )
    .ok();
    let port = free_port();
    let _http = start_service(
        "python3",
        &[
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
            &s(&served),
        ],
        port,
    );
    let url = format!("http://127.0.0.1:{port}/ctx.tar.gz");
    remote_builds(&url, &tmp, &n);
}
