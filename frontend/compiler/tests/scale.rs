//! Large specs compile without deep recursion and stay deterministic.

use slipway_compiler::{compile, generated_spec, CompileOptions};
use slipway_spec::{load, EvalOptions, Platform};

#[test]
fn ten_thousand_stage_chain_compiles_and_verifies() {
    let text = generated_spec(10_000);
    // Run on a small stack: nothing may recurse per stage.
    let def = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let loaded = load("big.yaml", &text, &EvalOptions::default()).expect("loads");
            compile(
                &loaded.plan,
                &CompileOptions::default(),
                &Platform::default(),
            )
            .expect("compiles")
            .definition
            .decode()
            .expect("decodes")
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
    slipway_llb::verify(&def).unwrap();
    // 10,000 stages × (image is shared) ≈ 10 ops per stage + context + return.
    assert!(def.def.len() > 90_000, "only {} ops", def.def.len());
}
