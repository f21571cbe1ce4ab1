//! How many times the driver evaluates the spec: once when the base images
//! turn out to have Docker's default env (the offline first pass is then the
//! final plan), twice when an image's env differs, three times when the
//! offline pass reads a name only the image defines. The result is the same
//! as evaluating with the images' env in every case.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{drive_with, Fake};
use slipway_gateway::driver::{Pipeline, Slipway};
use slipway_gateway::Outcome;
use slipway_spec::{Diagnostics, EvalOptions, Loaded};

#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Pipeline for Counting {
    fn load(&self, f: &str, s: &str, o: &EvalOptions) -> Result<Loaded, Diagnostics> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Slipway.load(f, s, o)
    }
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn config(env: &[&str]) -> String {
    let env: Vec<String> = env.iter().map(|e| format!("{e:?}")).collect();
    format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Env":[{}]}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
        env.join(",")
    )
}

/// Build `spec` against an image `img:1` with `image_env`; returns the number
/// of evaluations and the build's Definition bytes.
async fn build(spec: &str, image_env: &[&str]) -> (usize, Vec<u8>) {
    let fake =
        Fake::new()
            .file("slipway.yaml", spec)
            .image("img:1", "sha256:abcd", &config(image_env));
    let p = Counting::default();
    let out = drive_with(&fake, &["filename=slipway.yaml"], p.clone()).await;
    assert_eq!(out, Outcome::Success, "calls: {:?}", fake.state().calls);
    let st = fake.state();
    let def = st
        .solves
        .last()
        .unwrap()
        .definition
        .clone()
        .unwrap()
        .into_bytes();
    (p.0.load(Ordering::SeqCst), def)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

const PATH_SPEC: &str = "\
# syntax=slipway:dev
stages:
  app:
    from: img:1
    env: {PATH: \"/opt/bin:${PATH}\"}
    steps:
      - run: echo hi
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_env_images_need_one_evaluation() {
    let (loads, def) = build(PATH_SPEC, &[&format!("PATH={DEFAULT_PATH}")]).await;
    assert_eq!(loads, 1);
    assert!(contains(&def, &format!("PATH=/opt/bin:{DEFAULT_PATH}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_env_is_evaluated_again_with_it() {
    let (loads, def) = build(PATH_SPEC, &["PATH=/custom/bin"]).await;
    assert_eq!(loads, 2);
    assert!(contains(&def, "PATH=/opt/bin:/custom/bin"));
    assert!(!contains(&def, &format!("/opt/bin:{DEFAULT_PATH}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_only_the_image_defines_takes_the_discover_pass() {
    let spec = "\
# syntax=slipway:dev
stages:
  app:
    from: img:1
    env: {PATH: \"${GOPATH}/bin:${PATH}\"}
    steps:
      - run: echo hi
";
    let (loads, def) = build(spec, &[&format!("PATH={DEFAULT_PATH}"), "GOPATH=/go"]).await;
    assert_eq!(loads, 3);
    assert!(contains(&def, &format!("PATH=/go/bin:{DEFAULT_PATH}")));
}
