//! Every `tests/bad/*.yaml` must fail to load; its rendered diagnostics are
//! snapshotted.

use slipway_spec::*;

#[test]
fn bad_inputs() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 45, "only {} fixtures", files.len());
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        let rendered = match load("slipway.yaml", &src, &EvalOptions::default()) {
            Ok(l) => panic!(
                "{name}: expected errors, got a plan with {} stages",
                l.plan.stages.len()
            ),
            Err(d) => {
                assert!(d.has_errors(), "{name}");
                d.render()
            }
        };
        insta::assert_snapshot!(name, rendered);
    }
}
