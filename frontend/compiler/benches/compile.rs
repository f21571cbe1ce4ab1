//! Compile a generated spec (N stages × 10 steps) end to end: YAML parse,
//! evaluation, lowering, marshaling to Definition bytes.
//! Run: `cargo bench -p slipway-compiler --bench compile`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use prost::Message;

fn pipeline(text: &str) -> usize {
    let eval = slipway_spec::EvalOptions::default();
    let loaded = slipway_spec::load("bench.yaml", text, &eval).expect("generated spec loads");
    let compiled = slipway_compiler::compile(
        &loaded.plan,
        &slipway_compiler::CompileOptions::default(),
        &slipway_spec::Platform::default(),
    )
    .expect("generated spec compiles");
    compiled.definition.encode_to_vec().len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        let text = slipway_compiler::generated_spec(n);
        g.bench_with_input(BenchmarkId::new("stages_x10_steps", n), &text, |b, t| b.iter(|| pipeline(t)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
