//! Write the benchmark's generated spec: `cargo run --example gen_spec -- 1000 > big.yaml`.
fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    print!("{}", slipway_compiler::generated_spec(n));
}
