//! An entitlement refusal (BuildKit sends no vertex or source detail with it)
//! is traced back to the step that asks for it, from the Definition alone.

use slipway_compiler::{compile, CompileOptions};
use slipway_gateway::errors::{build_failure, CODE_PERMISSION_DENIED, SOURCE_JSON};
use slipway_spec::{load, EvalOptions, Platform};

const SPEC: &str = "version: 1\nstages:\n  base:\n    from: alpine:3.20\n    steps:\n      - run: apk add curl\n  probe:\n    from: base\n    steps:\n      - run: curl http://localhost:8080/\n        network: host\n      - run: ping -c1 localhost\n        network: host\n";

#[test]
fn network_host_refusal_names_the_first_step_and_the_fix() {
    let plan = load("slipway.yaml", SPEC, &EvalOptions::default())
        .unwrap()
        .plan;
    let c = compile(&plan, &CompileOptions::default(), &Platform::default()).unwrap();
    let st = tonic::Status::unknown("failed to load LLB: network.host is not allowed");
    let e = build_failure(&st, &c.definition, &plan);
    assert_eq!(e.code, CODE_PERMISSION_DENIED);
    let first_line = e.message.lines().next().unwrap();
    assert_eq!(
        first_line,
        "slipway.yaml:10: step \"run: curl http://localhost:8080/\" in stage probe (and 1 more step) \
         uses `network: host`, which needs the `network.host` entitlement, and this build was not \
         granted it (failed to load LLB: network.host is not allowed)"
    );
    assert!(e
        .message
        .contains("hint: grant the entitlement: `docker buildx build --allow network.host"));
    // A source snippet for buildx/buildctl, at the step's lines.
    let src = e
        .details
        .iter()
        .find(|d| d.type_url == SOURCE_JSON)
        .expect("a source detail");
    let v: serde_json::Value = serde_json::from_slice(&src.value).unwrap();
    assert_eq!(v["ranges"][0]["start"]["line"], 10, "{v}");
}

#[test]
fn other_failures_are_not_entitlement_refusals() {
    let plan = load("slipway.yaml", SPEC, &EvalOptions::default())
        .unwrap()
        .plan;
    let c = compile(&plan, &CompileOptions::default(), &Platform::default()).unwrap();
    let st = tonic::Status::unknown(
        "process \"/bin/sh -c apk add curl\" did not complete successfully: exit code: 1",
    );
    let e = build_failure(&st, &c.definition, &plan);
    assert!(!e.message.contains("entitlement"), "{}", e.message);
    assert_ne!(e.code, CODE_PERMISSION_DENIED);
}
