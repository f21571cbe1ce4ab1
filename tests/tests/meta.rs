//! Issue 10 items 3–5 through the real engines: BuildKit's refusals mapped back to the spec
//! (entitlements, a missing LLB cap), the image's times (`Created`, history, SOURCE_DATE_EPOCH,
//! reproducible digests on buildkitd v0.24) and `output:` targets that export only their results.
//! Each test runs per client where the engine applies: `docker build` on dockerd 20.10 (BuildKit
//! v0.8), `buildx build` and `buildctl build` on buildkitd v0.24.

use slipway_e2e::clients::{Client, REGISTRY};
use slipway_e2e::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

on_every_client!(
    network_host_refusal_names_the_step,
    security_insecure_refusal_names_the_step,
    output_target_exports_only_its_results,
    failing_test_with_output_still_fails,
    source_date_epoch_dates_the_image,
    created_is_the_build_time,
);

/// A client tool from `scripts/buildkit.sh env`'s PATH.
fn tool(name: &str) -> String {
    let path = engine()
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not on the engine's PATH ({path})"))
        .display()
        .to_string()
}

/// A build of fixture `f` with an explicit `--output` (which `clients::build` does not take):
/// BUILD_ARGS are NAME=VALUE, OUTPUT an exporter spec (`type=local,dest=…`), None: no export.
fn build_with(
    f: &Fixture,
    target: Option<&str>,
    build_args: &[&str],
    output: Option<&str>,
    extra: &[&str],
) -> Run {
    let spec = f.spec_path().display().to_string();
    let ctx = f.dir.display().to_string();
    let mut a: Vec<String> = vec!["build".into(), "--progress=plain".into()];
    let program = match f.client {
        Client::Docker | Client::Buildx => {
            a.extend(["-f".into(), spec]);
            if let Some(t) = target {
                a.extend(["--target".into(), t.into()]);
            }
            for b in build_args {
                a.extend(["--build-arg".into(), b.to_string()]);
            }
            if let Some(o) = output {
                a.extend(["--output".into(), o.into()]);
            }
            a.extend(extra.iter().map(|s| s.to_string()));
            a.push(ctx);
            if f.client == Client::Docker {
                DOCKER.to_string()
            } else {
                tool("buildx")
            }
        }
        Client::Buildctl => {
            a.extend([
                "--frontend".into(),
                "gateway.v0".into(),
                "--opt".into(),
                format!("source={REGISTRY}/{}", engine().image),
                "--local".into(),
                format!("context={ctx}"),
                "--local".into(),
                format!("dockerfile={ctx}"),
                "--opt".into(),
                "filename=slipway.yaml".into(),
            ]);
            if let Some(t) = target {
                a.extend(["--opt".into(), format!("target={t}")]);
            }
            for b in build_args {
                a.extend(["--opt".into(), format!("build-arg:{b}")]);
            }
            if let Some(o) = output {
                a.extend(["--output".into(), o.into()]);
            }
            a.extend(extra.iter().map(|s| s.to_string()));
            tool("buildctl")
        }
    };
    let start = std::time::Instant::now();
    let out = timed_command(&program, &a, &engine().env, None);
    Run {
        success: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
        command: format!("{program} {}", a.join(" ")),
    }
}

fn temp_dir(what: &str, c: Client) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slipway-meta-{what}-{}-{}", c.name(), nonce()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every file under DIR, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

// --- item 3: BuildKit's refusals at the step's line -------------------------------------------

fn refusal(c: Client, target: &str, key: &str, id: &str) {
    let _s = shared_slot();
    let f = fixture("meta-entitlement", c);
    let (line, _) = f.locate(if id == "network.host" {
        "run: echo \"on the host"
    } else {
        "run: echo \"privileged"
    });
    let out = f.build(&["--target", target]).fails().all();
    let want = format!("slipway.yaml:{line}: step ");
    assert!(out.contains(&want), "no `{want}` in:\n{out}");
    assert!(
        out.contains(&format!(
            "in stage {target} uses `{key}`, which needs the `{id}` entitlement"
        )),
        "the refusal does not name the step's key and entitlement:\n{out}"
    );
    assert!(
        out.contains(&format!("--allow {id}"))
            && out.contains(&format!("--allow-insecure-entitlement {id}")),
        "no fix for the client and the daemon:\n{out}"
    );
    if c == Client::Buildx {
        // buildx prints the step's own lines from the Source detail.
        assert!(
            out.contains(&format!("{line} | >>>")),
            "no snippet at line {line}:\n{out}"
        );
    }
}

fn network_host_refusal_names_the_step(c: Client) {
    refusal(c, "probe", "network: host", "network.host");
    if c == Client::Docker {
        // The fix the message gives for docker build works on Docker 20.10.
        let f = fixture("meta-entitlement", c);
        f.build(&["--target", "probe", "--network", "host"]).ok();
    }
}

fn security_insecure_refusal_names_the_step(c: Client) {
    refusal(c, "privileged", "security: insecure", "security.insecure");
}

#[test]
fn missing_cap_names_the_feature_line_and_version_on_docker_20_10() {
    let _s = shared_slot();
    let f = fixture("meta-parents", Client::Docker);
    let (line, col) = f.locate("copy: \"src/*/a.txt\"");
    let out = f.build(&[]).fails().all();
    assert!(
        out.contains(&format!("slipway.yaml:{line}:{col}")),
        "not located at {line}:{col}:\n{out}"
    );
    assert!(
        out.contains("copies with `parents` and a glob need the BuildKit capability `file.copy.includeexcludepatterns`"),
        "the feature is not named in the spec's words:\n{out}"
    );
    assert!(
        out.contains("BuildKit v0.9 (Docker 23.0)"),
        "no version:\n{out}"
    );
}

#[test]
fn parents_with_a_glob_builds_on_buildkitd() {
    let _s = shared_slot();
    let f = fixture("meta-parents", Client::Buildx);
    f.build(&[]).ok();
    let out = f.run(&[]);
    let mut got: Vec<&str> = out.lines().collect();
    got.sort();
    assert_eq!(got, ["/out/src/one/a.txt", "/out/src/two/a.txt"]);
}

// --- item 5: output targets ----------------------------------------------------------------------

fn output_target_exports_only_its_results(c: Client) {
    let _s = shared_slot();
    let f = fixture("meta-output", c);
    let dir = temp_dir("output", c);
    build_with(
        &f,
        Some("test"),
        &[],
        Some(&format!("type=local,dest={}", dir.display())),
        &[],
    )
    .ok();
    assert_eq!(files_under(&dir), ["src/reports/junit.xml"]);
    let junit = std::fs::read_to_string(dir.join("src/reports/junit.xml")).unwrap();
    assert!(junit.starts_with("<testsuite name=\"t\""), "{junit}");
    let _ = std::fs::remove_dir_all(&dir);

    // The image: one tiny layer, no base config.
    f.build(&["--target", "test"]).ok();
    let img = f.inspect();
    let layers = img["RootFS"]["Layers"].as_array().unwrap().len();
    let size = img["Size"].as_u64().unwrap();
    assert_eq!(layers, 1, "{img:#}");
    assert!(size < 4096, "the test image is {size} bytes: {img:#}");
    assert!(img["Config"]["Env"].is_null(), "{img:#}");
    // The stage's whole filesystem is 0.5 MB bigger (big.bin), so the export really is pruned.
    f.build(&["--target", "build"]).ok();
    let full = f.inspect()["Size"].as_u64().unwrap();
    assert!(full > 512 * 1024, "the build stage is only {full} bytes");
}

fn failing_test_with_output_still_fails(c: Client) {
    let _s = shared_slot();
    let f = fixture("meta-output", c);
    let (line, _) = f.locate("run: mkdir -p reports");
    let dir = temp_dir("output-fail", c);
    let out = build_with(
        &f,
        Some("test"),
        &["FAIL_TEST=1"],
        Some(&format!("type=local,dest={}", dir.display())),
        &[],
    )
    .fails()
    .all();
    assert!(
        out.contains(&format!(
            "slipway.yaml:{line}: step \"run: mkdir -p reports"
        )),
        "the failing test step is not named:\n{out}"
    );
    assert!(
        !dir.join("src/reports/junit.xml").exists(),
        "a failed build exported its report"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// --- item 4: image times ------------------------------------------------------------------------

const EPOCH: &str = "1704067200";
const EPOCH_TEXT: &str = "2024-01-01T00:00:00Z";

/// (created, created_by) of every history entry, oldest first.
fn history(tag: &str) -> Vec<(String, String)> {
    let out = docker(&[
        "history",
        "--no-trunc",
        "--human=false",
        "--format",
        "{{.CreatedAt}}|{{.CreatedBy}}",
        tag,
    ])
    .ok()
    .stdout;
    let mut v: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let (a, b) = l.split_once('|').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    v.reverse();
    v
}

fn parse_time(s: &str) -> SystemTime {
    humantime::parse_rfc3339_weak(s.trim_end_matches('Z').split('.').next().unwrap())
        .unwrap_or_else(|e| panic!("`{s}` is not an RFC 3339 time: {e}"))
}

fn source_date_epoch_dates_the_image(c: Client) {
    let _s = shared_slot();
    let f = fixture("meta-epoch", c);
    let arg = format!("SOURCE_DATE_EPOCH={EPOCH}");
    f.build(&["--build-arg", &arg]).ok();
    let img = f.inspect();
    assert_eq!(img["Created"].as_str(), Some(EPOCH_TEXT), "{img:#}");
    let h = history(&f.tag());
    let ours: Vec<&(String, String)> = h
        .iter()
        .filter(|(_, by)| by.contains("# slipway"))
        .collect();
    assert_eq!(ours.len(), 2, "{h:?}");
    for (at, by) in ours {
        assert_eq!(parse_time(at), parse_time(EPOCH_TEXT), "{by} at {at}");
    }
}

fn created_is_the_build_time(c: Client) {
    let _s = shared_slot();
    let f = fixture("meta-epoch", c);
    let before = SystemTime::now() - Duration::from_secs(2);
    f.build(&["--no-cache"]).ok();
    let after = SystemTime::now() + Duration::from_secs(2);
    let created = f.inspect()["Created"].as_str().unwrap().to_string();
    let t = parse_time(&created);
    assert!(
        before <= t && t <= after,
        "Created {created} is not the build's time (the base image's is kept?)"
    );
    let base = docker(&[
        "image",
        "inspect",
        "-f",
        "{{.Created}}",
        "slipway-test/busybox:latest",
    ])
    .ok()
    .stdout;
    assert_ne!(created.trim(), base.trim());
}

/// The manifest digest of a buildctl build exported as an OCI tarball, from `--metadata-file`.
fn oci_digest(f: &Fixture, rewrite: bool) -> String {
    let tar = temp_dir("oci", f.client).with_extension("tar");
    let meta = temp_dir("meta", f.client).with_extension("json");
    let mut out = format!("type=oci,dest={}", tar.display());
    if rewrite {
        out.push_str(",rewrite-timestamp=true");
    }
    let m = meta.display().to_string();
    build_with(
        f,
        None,
        &[&format!("SOURCE_DATE_EPOCH={EPOCH}")],
        Some(&out),
        &["--no-cache", "--metadata-file", &m],
    )
    .ok();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    let _ = std::fs::remove_file(&tar);
    let _ = std::fs::remove_file(&meta);
    v["containerimage.digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no digest in {v}"))
        .to_string()
}

/// Two builds of the same commit with fresh state (no cache, the context's files touched in
/// between) give the same image digest on buildkitd v0.24 with SOURCE_DATE_EPOCH and the exporter's
/// `rewrite-timestamp=true`; without it the layers' file times differ, and so do the digests.
#[test]
fn same_commit_same_digest_on_buildkitd() {
    let _s = exclusive_slot();
    let f = fixture("meta-epoch", Client::Buildctl);
    let touch = || {
        std::thread::sleep(Duration::from_millis(1100));
        let p = f.dir.join("hello.txt");
        let text = std::fs::read(&p).unwrap();
        std::fs::write(&p, text).unwrap();
    };
    let a = oci_digest(&f, true);
    touch();
    let b = oci_digest(&f, true);
    assert_eq!(a, b, "SOURCE_DATE_EPOCH + rewrite-timestamp builds differ");
    touch();
    let c = oci_digest(&f, false);
    touch();
    let d = oci_digest(&f, false);
    assert_ne!(
        c, d,
        "without rewrite-timestamp the layers' times should differ"
    );
}
