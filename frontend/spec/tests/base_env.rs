//! `${NAME}` in a stage's `env:` values and steps sees the base image's env
//! (Docker's `ENV PATH=/opt/venv/bin:$PATH`), through `from: <stage>` too.

use std::collections::BTreeMap;

use slipway_spec::{load, BaseEnv, EvalOptions, DEFAULT_PATH};

const SPEC: &str = "stages:
  venv:
    from: python:3.12-slim
    env:
      PATH: /opt/venv/bin:${PATH}
      PY: python${PYTHON_VERSION}
    workdir: ${GOPATH}/src
  child:
    from: venv
    env:
      PATH: /extra:${PATH}
";

fn known(env: &[(&str, &str)]) -> EvalOptions {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EvalOptions {
        base_env: BaseEnv::Known(BTreeMap::from([("python:3.12-slim".to_string(), env)])),
        ..Default::default()
    }
}

fn env_of(plan: &slipway_spec::Plan, stage: &str) -> Vec<(String, String)> {
    plan.stages
        .iter()
        .find(|s| s.name.value == stage)
        .unwrap()
        .env
        .clone()
}

#[test]
fn env_values_see_the_resolved_base_env_and_the_parent_stage_env() {
    let opts = known(&[
        ("PATH", "/usr/local/bin:/usr/bin"),
        ("PYTHON_VERSION", "3.12.7"),
        ("GOPATH", "/go"),
    ]);
    let plan = load("slipway.yaml", SPEC, &opts).unwrap().plan;
    assert_eq!(
        env_of(&plan, "venv"),
        [
            (
                "PATH".to_string(),
                "/opt/venv/bin:/usr/local/bin:/usr/bin".to_string()
            ),
            ("PY".to_string(), "python3.12.7".to_string()),
        ]
    );
    let venv = plan.stages.iter().find(|s| s.name.value == "venv").unwrap();
    assert_eq!(venv.workdir.as_ref().unwrap().value, "/go/src");
    assert_eq!(
        env_of(&plan, "child"),
        [(
            "PATH".to_string(),
            "/extra:/opt/venv/bin:/usr/local/bin:/usr/bin".to_string()
        )]
    );
}

#[test]
fn offline_an_unknown_image_has_dockers_default_path_and_nothing_else() {
    let spec = "stages:\n  a:\n    from: alpine:3.20\n    env: {PATH: '/x:${PATH}'}\n  s:\n    from: scratch\n    env: {PATH: '/y:${PATH}'}\n";
    let plan = load("slipway.yaml", spec, &EvalOptions::default())
        .unwrap()
        .plan;
    assert_eq!(env_of(&plan, "a")[0].1, format!("/x:{DEFAULT_PATH}"));
    assert_eq!(env_of(&plan, "s")[0].1, format!("/y:{DEFAULT_PATH}"));
    // A name the image does not define is still an error, at its place.
    let e = load("slipway.yaml", SPEC, &EvalOptions::default())
        .unwrap_err()
        .render();
    assert!(e.contains("undefined argument `PYTHON_VERSION`"), "{e}");
    assert!(e.contains("slipway.yaml:6:"), "{e}");
}

#[test]
fn discovery_reads_unknown_names_as_empty_inside_stages_only() {
    let opts = EvalOptions {
        base_env: BaseEnv::Discover,
        ..Default::default()
    };
    let plan = load("slipway.yaml", SPEC, &opts).unwrap().plan;
    assert_eq!(env_of(&plan, "venv")[1].1, "python");
    // `from:` is evaluated before any image is known: still strict.
    let e = load("slipway.yaml", "stages:\n  a:\n    from: ${IMG}\n", &opts)
        .unwrap_err()
        .render();
    assert!(e.contains("undefined argument `IMG`"), "{e}");
}
