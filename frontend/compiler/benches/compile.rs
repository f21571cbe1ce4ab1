//! Compile a generated spec (N stages × 10 steps) end to end: YAML parse,
//! evaluation, lowering, marshaling to Definition bytes.
//! Run: `cargo bench -p slipway-compiler --bench compile`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// The allocator the `slipway` binary ships with (frontend/cli/src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Everything the pipeline produced, returned so that criterion drops it
/// outside the timed section (the frontend exits right after compiling).
type Output = (slipway_spec::Loaded, slipway_compiler::Compiled);

fn pipeline(text: &str) -> Output {
    let eval = slipway_spec::EvalOptions::default();
    let loaded = slipway_spec::load("bench.yaml", text, &eval).expect("generated spec loads");
    let compiled = slipway_compiler::compile(
        &loaded.plan,
        &slipway_compiler::CompileOptions::default(),
        &slipway_spec::Platform::default(),
    )
    .expect("generated spec compiles");
    // `compiled.definition` is already the Definition's wire bytes.
    assert!(!compiled.definition.is_empty());
    (loaded, compiled)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        let text = slipway_compiler::generated_spec(n);
        g.bench_with_input(BenchmarkId::new("stages_x10_steps", n), &text, |b, t| {
            b.iter_with_large_drop(|| pipeline(t))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
