//! Faults and load through the real engines (dockerd 20.10 and buildkitd v0.24): many builds at
//! once sharing cache-mount targets, a build cancelled mid-solve, the frontend's container as it
//! runs (no network, not root), and exactly which steps a spec edit re-runs.

use slipway_e2e::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A spec in a fresh directory (its own context), `# syntax=` naming the frontend under test.
fn spec_dir(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("slipway-faults-{name}-{}", nonce()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!("# syntax={}\nversion: 1\n{body}", engine().image);
    std::fs::write(dir.join("slipway.yaml"), text).unwrap();
    dir
}

fn build_dir(c: Client, dir: &Path, tag: Option<&str>, flags: &[&str]) -> Run {
    clients::build(&clients::Build {
        client: c,
        frontend: clients::Frontend::Slipway,
        file: &dir.join("slipway.yaml"),
        context: dir,
        tag,
        flags,
    })
}

/// Steps of the spec that ran (not CACHED), by name.
fn executed(r: &Run) -> Vec<String> {
    parse_progress(&r.all())
        .into_iter()
        .filter(|v| !is_plumbing(v) && !v.cached && v.name.contains("RUN"))
        .map(|v| v.name)
        .collect()
}

fn steps(r: &Run) -> Vec<Vertex> {
    parse_progress(&r.all())
        .into_iter()
        .filter(|v| !is_plumbing(v) && v.name.contains("RUN"))
        .collect()
}

on_both_engines!(
    twenty_concurrent_builds_sharing_cache_targets_are_correct_and_cached_on_rerun,
    a_cancelled_build_leaves_no_frontend_or_step_behind,
    a_spec_edit_reruns_exactly_the_edited_step_and_those_after,
);

const CONCURRENT: usize = 20;

fn twenty_concurrent_builds_sharing_cache_targets_are_correct_and_cached_on_rerun(c: Client) {
    let _s = shared_slot();
    let run_id = nonce();
    // Twenty different specs; every one writes into the same cache-mount targets (the package
    // caches of real builds), and its result depends only on its own inputs.
    let dirs: Vec<PathBuf> = (0..CONCURRENT)
        .map(|i| {
            let body = format!(
                "stages:\n  app:\n    from: busybox:1.36\n    steps:\n      \
                 - run: mkdir -p /out && echo 'spec {i} of {run_id}' > /out/id && echo {i} >> /root/.cache/shared/log && echo {i} > /var/cache/pkg/{i}\n        \
                 cache: [/root/.cache/shared, /var/cache/pkg]\n      \
                 - run: cat /out/id | tr a-z A-Z > /out/upper\n    \
                 image:\n      cmd: [cat, /out/id, /out/upper]\n"
            );
            spec_dir(&format!("load{i}"), &body)
        })
        .collect();
    let tags: Vec<String> = (0..CONCURRENT)
        .map(|i| format!("slipway-e2e/load{i}:{}", c.name()))
        .collect();
    let round = |what: &str| -> Vec<Run> {
        let start = Instant::now();
        let runs: Vec<Run> = std::thread::scope(|s| {
            let hs: Vec<_> = dirs
                .iter()
                .zip(&tags)
                .map(|(d, t)| s.spawn(move || build_dir(c, d, Some(t), &[])))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        eprintln!(
            "{c}: {CONCURRENT} concurrent builds ({what}) in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        runs.into_iter().map(|r| r.ok()).collect()
    };
    let first = round("first");
    for (i, r) in first.iter().enumerate() {
        assert_eq!(
            executed(r).len(),
            2,
            "build {i} should run both steps:\n{}",
            r.all()
        );
    }
    for (i, t) in tags.iter().enumerate() {
        let out = docker(&["run", "--rm", t]).ok().stdout;
        let id = format!("spec {i} of {run_id}");
        assert_eq!(out, format!("{id}\n{}\n", id.to_uppercase()), "image {t}");
    }
    // Nothing changed: every step of every build is cached, even with the others running.
    let again = round("rerun");
    for (i, r) in again.iter().enumerate() {
        let s = steps(r);
        assert_eq!(s.len(), 2, "build {i}: both steps reported:\n{}", r.all());
        assert!(
            executed(r).is_empty(),
            "build {i} re-ran {:?}:\n{}",
            executed(r),
            r.all()
        );
    }
    for d in &dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Pids of processes whose command line is the frontend's entrypoint (`/slipway frontend`).
fn frontend_pids() -> Vec<u32> {
    pids_where(|argv| argv.len() == 2 && argv[0].ends_with("slipway") && argv[1] == "frontend")
}

fn pids_where(f: impl Fn(&[String]) -> bool) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let argv: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if f(&argv) {
            out.push(pid);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Start a client build without waiting for it; its output goes to `dir/client.log`.
fn spawn_build(c: Client, dir: &Path) -> Child {
    let e = engine();
    let path = e
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let find = |name: &str| {
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .unwrap()
    };
    let d = dir.display().to_string();
    let mut cmd = match c {
        Client::Docker => {
            let mut cmd = Command::new(DOCKER);
            cmd.args([
                "build",
                "--progress=plain",
                "-f",
                &format!("{d}/slipway.yaml"),
                &d,
            ]);
            cmd
        }
        Client::Buildctl => {
            let mut cmd = Command::new(find("buildctl"));
            cmd.args([
                "build",
                "--progress=plain",
                "--frontend",
                "gateway.v0",
                "--opt",
            ])
            .arg(format!("source={}/{}", clients::REGISTRY, e.image))
            .args([
                "--local",
                &format!("context={d}"),
                "--local",
                &format!("dockerfile={d}"),
            ])
            .args(["--opt", "filename=slipway.yaml"]);
            cmd
        }
        Client::Buildx => unreachable!("buildx shares buildkitd with buildctl"),
    };
    cmd.envs(e.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("DOCKER_BUILDKIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("client.log")).unwrap())
        .spawn()
        .unwrap()
}

fn wait_for<T>(what: &str, log: &Path, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}; client output:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn a_cancelled_build_leaves_no_frontend_or_step_behind(c: Client) {
    // Alone on the engines: the processes counted here must be this build's.
    let _x = exclusive_slot();
    let mark = format!("MARK-{}", nonce());
    let dir = spec_dir(
        "cancel",
        &format!("stages:\n  app:\n    from: busybox:1.36\n    steps:\n      - run: echo {mark}; sleep 600; echo {mark} done\n"),
    );
    let before = frontend_pids();
    let mut child = spawn_build(c, &dir);
    let step = |argv: &[String]| argv.iter().any(|a| a.contains(&mark));
    // The step is running (its shell is a process on this host).
    let log = dir.join("client.log");
    wait_for("the step to start", &log, Duration::from_secs(180), || {
        (!pids_where(step).is_empty()).then_some(())
    });
    let ours: Vec<u32> = frontend_pids()
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "one frontend process for this build, found {ours:?}"
    );
    let pid = ours[0];

    // The frontend's container as it runs: not root, and no network but loopback.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<&str> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        uids, ["65532"; 4],
        "frontend uid (real, effective, saved, fs):\n{status}"
    );
    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap();
    let ifaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(ifaces, ["lo"], "the frontend's network namespace:\n{dev}");
    let own_ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let host_ns = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(
        own_ns, host_ns,
        "the frontend shares the host's network namespace"
    );

    // Cancel: docker build killed outright; buildctl interrupted as by Ctrl-C.
    let signal = if c == Client::Docker { "KILL" } else { "INT" };
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let t0 = Instant::now();
    let _ = child.wait();
    wait_for(
        "the frontend and the step to end",
        &log,
        Duration::from_secs(30),
        || (!alive(pid) && pids_where(step).is_empty()).then_some(()),
    );
    let gone = t0.elapsed();
    eprintln!(
        "{c}: frontend and step gone {:.0} ms after the client was {signal}ed",
        gone.as_secs_f64() * 1e3
    );
    assert!(
        gone <= Duration::from_secs(1),
        "{c}: processes outlived the cancelled build by {gone:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn a_spec_edit_reruns_exactly_the_edited_step_and_those_after(c: Client) {
    let _s = shared_slot();
    let n = nonce();
    let spec = |second: &str| {
        format!(
            "stages:\n  app:\n    from: busybox:1.36\n    steps:\n      \
             - run: echo one-{n} > /one\n      \
             - run: echo {second}-{n} > /two\n      \
             - run: cat /one /two > /three\n      \
             - copy: slipway.yaml\n        to: /spec.yaml\n"
        )
    };
    let dir = spec_dir("edit", &spec("two"));
    let first = build_dir(c, &dir, None, &[]).ok();
    assert_eq!(
        executed(&first).len(),
        3,
        "first build runs every step:\n{}",
        first.all()
    );
    let again = build_dir(c, &dir, None, &[]).ok();
    assert!(
        executed(&again).is_empty(),
        "no change, nothing runs: {:?}",
        executed(&again)
    );
    // Edit the second step: the first stays cached, the second and third run.
    let text = format!("# syntax={}\nversion: 1\n{}", engine().image, spec("TWO"));
    std::fs::write(dir.join("slipway.yaml"), text).unwrap();
    let edited = build_dir(c, &dir, None, &[]).ok();
    let ran = executed(&edited);
    assert_eq!(
        ran.len(),
        2,
        "the edited step and the one after it run: {ran:?}\n{}",
        edited.all()
    );
    assert!(ran[0].contains(&format!("TWO-{n}")), "{ran:?}");
    assert!(ran[1].contains("cat /one /two"), "{ran:?}");
    let cached: Vec<String> = steps(&edited)
        .into_iter()
        .filter(|v| v.cached)
        .map(|v| v.name)
        .collect();
    assert!(
        cached.len() == 1 && cached[0].contains(&format!("one-{n}")),
        "the first step stays cached: {cached:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET http://127.0.0.1:5000/v2/PATH from the local registry (plain HTTP/1.0).
fn registry_get(path: &str, accept: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(clients::REGISTRY).unwrap();
    write!(
        s,
        "GET /v2/{path} HTTP/1.0\r\nHost: {}\r\nAccept: {accept}\r\n\r\n",
        clients::REGISTRY
    )
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response");
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "GET /v2/{path}: {head}"
    );
    resp[split + 4..].to_vec()
}

/// The bytes as stored, and gunzipped when they are gzip (layers).
fn contents(blob: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![blob.to_vec()];
    if blob.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(blob)
            .read_to_end(&mut plain)
            .unwrap();
        out.push(plain);
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// buildx's full output path: progress log, an OCI layout with buildx's provenance attestation
/// (mode=max records build args and the Definition), and a registry cache export (mode=max).
/// The secret is used as a file and as an environment variable; its value must be in none of them.
#[test]
fn a_secret_appears_nowhere_buildx_writes() {
    let _s = shared_slot();
    let value = format!("s3cr3t-{}", nonce());
    let dir = spec_dir(
        "secret",
        "stages:\n  app:\n    from: busybox:1.36\n    steps:\n      \
         - run: test \"$TOKEN\" = \"$(cat /run/secrets/token)\" && echo ${#TOKEN} > /len && env | grep -c TOKEN > /count\n        \
         secret: [token, {id: token, env: TOKEN}]\n    \
         image:\n      cmd: [cat, /len]\n",
    );
    std::fs::write(dir.join("token"), &value).unwrap();
    let secret = format!("id=token,src={}", dir.join("token").display());
    let oci = dir.join("oci");
    let cache_repo = format!("slipway-e2e/secret-cache-{}", nonce());
    let flags = [
        "--secret".to_string(),
        secret,
        "--provenance=mode=max".to_string(),
        format!(
            "--cache-to=type=registry,ref={}/{cache_repo}:c,mode=max",
            clients::REGISTRY
        ),
        format!("--output=type=oci,dest={},tar=false", oci.display()),
    ];
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // The token file is in the context directory only as the secret's source; .dockerignore keeps
    // it out of the context.
    std::fs::write(dir.join(".dockerignore"), "token\noci\n").unwrap();
    let r = build_dir(Client::Buildx, &dir, None, &flags).ok();
    assert!(
        !r.all().contains(&value),
        "secret value in the progress log:\n{}",
        r.all()
    );

    // Every blob of the OCI layout: layers (gunzipped), image config with history, the index and
    // manifests, and the provenance attestation.
    let mut blobs = 0;
    let mut provenance = false;
    for e in std::fs::read_dir(oci.join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        let blob = std::fs::read(e.path()).unwrap();
        provenance |= holds(&blob, "https://slsa.dev/provenance");
        for c in contents(&blob) {
            assert!(
                !holds(&c, &value),
                "secret value in OCI blob {}",
                e.path().display()
            );
        }
        blobs += 1;
    }
    assert!(provenance, "no provenance attestation among {blobs} blobs");
    assert!(
        blobs >= 5,
        "expected image, config, layers and attestation blobs, got {blobs}"
    );

    // The registry cache: its index and every blob it lists.
    let index = registry_get(
        &format!("{cache_repo}/manifests/c"),
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
    );
    assert!(!holds(&index, &value), "secret value in the cache index");
    let index: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let mut descs: Vec<serde_json::Value> =
        index["manifests"].as_array().cloned().unwrap_or_default();
    descs.extend(index["layers"].as_array().cloned().unwrap_or_default());
    descs.extend(index.get("config").cloned());
    assert!(descs.len() >= 2, "cache index lists {descs:?}");
    for d in &descs {
        let digest = d["digest"].as_str().unwrap();
        let blob = registry_get(&format!("{cache_repo}/blobs/{digest}"), "*/*");
        for c in contents(&blob) {
            assert!(!holds(&c, &value), "secret value in cache blob {digest}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
