//! `buildx build --call targets|outline|check` for every example (equal to the offline
//! `slipway targets|outline`), and warnings a user sees on both engines: `tests/subrequests.sh`,
//! run against the project's engines (dockerd 20.10; buildx v0.28 on buildkitd v0.24).

use slipway_e2e::*;
use std::process::Command;

#[test]
fn subrequests_and_visible_warnings_on_both_engines() {
    let _x = exclusive_slot();
    let e = engine();
    let root = repo_root();
    let bin = root.join("target/debug/slipway");
    if !bin.is_file() {
        let built = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "slipway", "--bin", "slipway"])
            .current_dir(&root)
            .status()
            .unwrap();
        assert!(built.success(), "cargo build -p slipway failed");
    }
    let out = Command::new("bash")
        .arg(root.join("tests/subrequests.sh"))
        .envs(e.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("ENGINES", "docker buildx")
        .env("SLIPWAY_BIN", &bin)
        .env("SLIPWAY_IMAGE", &e.image)
        .env("DOCKER_BASE", "busybox:1.36")
        .env(
            "SLIPWAY_IMAGE_REF",
            format!("{}/{}", clients::REGISTRY, e.image),
        )
        .env("BUILDX_BASE", "busybox:1.36")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "tests/subrequests.sh failed:\n{text}");
    assert!(text.contains("checks passed (docker buildx)"), "{text}");
}
