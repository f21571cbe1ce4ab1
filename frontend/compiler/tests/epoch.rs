//! `SOURCE_DATE_EPOCH` in `run` steps, as BuildKit's Dockerfile frontend gives it to `RUN`
//! (only where the stage asks for it), and from a global `args:` default (docs/spec.md, Image
//! times). The end-to-end proof on both engines is tests/tests/meta.rs's epoch tests.

use std::collections::BTreeMap;

use prost::Message;
use slipway_compiler::{compile, timestamps, CompileOptions};
use slipway_proto::pb;
use slipway_spec::{load, EvalOptions, Plan, Platform};

const SPEC: &str = "version: 1
stages:
  names:
    from: busybox:1.36
    steps:
      - run: echo \"$SOURCE_DATE_EPOCH\" > /epoch
      - run: echo other > /other
  declares:
    from: busybox:1.36
    args: {SOURCE_DATE_EPOCH: }
    steps:
      - run: cat /dev/null
";

fn plan(src: &str, build_args: &[(&str, &str)]) -> Plan {
    let eval = EvalOptions {
        build_args: build_args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    load("slipway.yaml", src, &eval)
        .unwrap_or_else(|d| panic!("{}", d.render()))
        .plan
}

/// Each `run` command's (last argument, env) of the target's Definition, in op order.
fn runs(p: &Plan, target: &str, epoch: Option<u64>) -> Vec<(String, Vec<String>)> {
    let opts = CompileOptions {
        target: Some(target.into()),
        source_date_epoch: epoch,
        ..Default::default()
    };
    let c = compile(p, &opts, &Platform::default()).unwrap_or_else(|d| panic!("{}", d.render()));
    c.definition
        .decode()
        .unwrap()
        .def
        .iter()
        .filter_map(|b| match pb::Op::decode(b.as_slice()).unwrap().op {
            Some(pb::op::Op::Exec(e)) => {
                let m = e.meta.unwrap();
                Some((m.args.last().cloned().unwrap_or_default(), m.env))
            }
            _ => None,
        })
        .collect()
}

fn has_epoch(env: &[String], v: &str) -> bool {
    env.iter().any(|e| *e == format!("SOURCE_DATE_EPOCH={v}"))
}

#[test]
fn a_run_naming_it_sees_the_epoch_the_others_do_not() {
    let p = plan(SPEC, &[("SOURCE_DATE_EPOCH", "1704067200")]);
    let r = runs(&p, "names", Some(1_704_067_200));
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        r[0].0.contains("$SOURCE_DATE_EPOCH") && has_epoch(&r[0].1, "1704067200"),
        "{r:?}"
    );
    assert!(
        !r[1].1.iter().any(|e| e.starts_with("SOURCE_DATE_EPOCH=")),
        "{r:?}"
    );
    // Without an epoch nothing is made up (never the clock): the shell sees it unset.
    let r = runs(&p, "names", None);
    assert!(
        !r[0].1.iter().any(|e| e.starts_with("SOURCE_DATE_EPOCH=")),
        "{r:?}"
    );
}

#[test]
fn a_stage_declaring_it_gives_it_to_every_run() {
    // Docker's `ARG SOURCE_DATE_EPOCH` in the stage.
    let p = plan(SPEC, &[("SOURCE_DATE_EPOCH", "1704067200")]);
    let r = runs(&p, "declares", Some(1_704_067_200));
    assert!(has_epoch(&r[0].1, "1704067200"), "{r:?}");
}

#[test]
fn a_global_default_is_the_epoch_and_the_build_arg_wins() {
    let src = format!("args:\n  SOURCE_DATE_EPOCH: \"1700000001\"\n{SPEC}");
    let p = plan(&src, &[]);
    let e = timestamps::epoch(&p.args, &BTreeMap::new()).unwrap();
    assert_eq!(e, Some(1_700_000_001));
    let r = runs(&p, "names", e);
    assert!(has_epoch(&r[0].1, "1700000001"), "{r:?}");
    let r = runs(&p, "declares", e);
    assert!(has_epoch(&r[0].1, "1700000001"), "{r:?}");

    let b: BTreeMap<String, String> =
        [("SOURCE_DATE_EPOCH".to_string(), "1700000002".to_string())].into();
    let p = plan(&src, &[("SOURCE_DATE_EPOCH", "1700000002")]);
    assert_eq!(timestamps::epoch(&p.args, &b).unwrap(), Some(1_700_000_002));
}
