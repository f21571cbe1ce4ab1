//! The corpus of real public Dockerfiles (tests/convert-corpus/, sources in
//! SOURCES.md): each converts with no error (warnings only, each located) to a
//! spec that passes `slipway check` and compiles.

mod convert_check {
    include!("common/check.rs");
}

use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn corpus_converts_and_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/convert-corpus");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    entries.sort();
    let (mut clean, mut warned, mut failures) = (0, 0, Vec::new());
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &entries {
        let file = p.join("Dockerfile");
        let text = std::fs::read_to_string(&file).unwrap();
        let name = format!("{}/Dockerfile", p.file_name().unwrap().to_string_lossy());
        match slipway_convert::convert(&name, &text, &Default::default()) {
            Err(d) => failures.push(format!("{name}: conversion failed:\n{}", d.render())),
            Ok(c) => {
                for w in &c.warnings {
                    assert!(
                        !w.span.is_unknown(),
                        "{name}: warning without a place: {}",
                        w.message
                    );
                    *by_code.entry(w.code).or_default() += 1;
                }
                if c.warnings.is_empty() {
                    clean += 1
                } else {
                    warned += 1
                }
                if let Err(e) = convert_check::check(&c.yaml) {
                    failures.push(format!("{name}: the converted spec fails check:\n{e}"));
                }
            }
        }
    }
    eprintln!(
        "corpus: {} Dockerfiles, {clean} converted clean, {warned} with located warnings, {} failed; warnings by code: {by_code:?}",
        entries.len(),
        failures.len()
    );
    assert!(
        entries.len() >= 30,
        "the corpus has {} files, fewer than 30",
        entries.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
