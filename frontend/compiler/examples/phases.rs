//! Time each phase on the generated spec: `cargo run --release --example phases -- 1000`.
use std::time::Instant;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let text = slipway_compiler::generated_spec(n);
    let iters: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    for _ in 0..iters {
        let t0 = Instant::now();
        let loaded = slipway_spec::load("g.yaml", &text, &Default::default()).unwrap();
        let t1 = Instant::now();
        let lint = slipway_spec::lint::run(&loaded.plan, &Default::default());
        let tl = Instant::now() - t1;
        let t1 = Instant::now();
        let c = slipway_compiler::compile(&loaded.plan, &Default::default(), &Default::default())
            .unwrap();
        let t2 = Instant::now();
        let bytes = c.definition.as_bytes().to_vec();
        let t3 = Instant::now();
        drop(c);
        drop(loaded);
        let t4 = Instant::now();
        eprintln!(
            "load {:?} (lint alone {:?}, {} findings) compile {:?} copy {:?} drop {:?} ({} bytes)",
            t1 - t0 - tl,
            tl,
            lint.len(),
            t2 - t1,
            t3 - t2,
            t4 - t3,
            bytes.len()
        );
    }
}
