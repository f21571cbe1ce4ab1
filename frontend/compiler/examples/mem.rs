//! Peak RSS after each phase: `cargo run --release --example mem -- /tmp/s1000.yaml`.
/// The allocator the `slipway` binary ships with.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn hwm() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let h = s
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("")
        .to_string();
    let r = s
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("")
        .to_string();
    format!("{h} {r}")
}
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    eprintln!("read     {}", hwm());
    let loaded = slipway_spec::load("g.yaml", &text, &Default::default()).unwrap();
    eprintln!("load     {}", hwm());
    let c =
        slipway_compiler::compile(&loaded.plan, &Default::default(), &Default::default()).unwrap();
    eprintln!("compile  {}", hwm());
    eprintln!("({} bytes)", c.definition.as_bytes().len());
}
