//! Allocations per phase on the generated spec:
//! `cargo run --profile bench -p slipway-compiler --example allocs -- 1000`.
//!
//! Prints, after the YAML parse, the load (parse + evaluation) and compile:
//! allocation count, bytes allocated, live heap and peak live heap (through
//! mimalloc, the allocator the binary ships with). With `TRACE=1` it also
//! samples every 16th allocation of the compile phase and prints the sites
//! that allocate most; that needs symbols:
//! `TRACE=1 CARGO_PROFILE_BENCH_STRIP=false CARGO_PROFILE_BENCH_DEBUG=1 cargo run …`.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

struct Counting;

static COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static TRACE: AtomicBool = AtomicBool::new(false);
static SITES: Mutex<Vec<String>> = Mutex::new(Vec::new());
const SAMPLE_EVERY: usize = 16;

thread_local! {
    /// Set while a sample is taken: the backtrace allocates too.
    static SAMPLING: Cell<bool> = const { Cell::new(false) };
}

fn grew(size: usize) {
    COUNT.fetch_add(1, Relaxed);
    BYTES.fetch_add(size, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
    if TRACE.load(Relaxed) && COUNT.load(Relaxed).is_multiple_of(SAMPLE_EVERY) {
        sample();
    }
}

/// Records the first Slipway frame of the current stack (and its callee).
fn sample() {
    if SAMPLING.with(|s| s.replace(true)) {
        return;
    }
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let mut callee = "";
    let mut site = String::from("?");
    for frame in trace
        .lines()
        .filter_map(|l| l.trim().split_once(": ").map(|x| x.1))
    {
        if frame.contains("slipway") && !frame.contains("drop_in_place") {
            site = format!("{frame} <- {callee}");
            break;
        }
        callee = frame;
    }
    if let Ok(mut s) = SITES.lock() {
        s.push(site);
    }
    SAMPLING.with(|s| s.set(false));
}

// SAFETY: every call is forwarded to mimalloc unchanged; the counters only
// observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size());
        unsafe { mimalloc::MiMalloc.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { mimalloc::MiMalloc.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_sub(l.size(), Relaxed);
        grew(new);
        unsafe { mimalloc::MiMalloc.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn report(phase: &str) {
    eprintln!(
        "{phase:8} allocations {:>9}  bytes {:>11}  live {:>11}  peak live {:>11}",
        COUNT.swap(0, Relaxed),
        BYTES.swap(0, Relaxed),
        LIVE.load(Relaxed),
        PEAK.load(Relaxed)
    );
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let text = slipway_compiler::generated_spec(n);
    report("text");
    drop(slipway_spec::yaml::parse(&text));
    report("yaml");
    let loaded = slipway_spec::load("g.yaml", &text, &Default::default()).expect("loads");
    report("load");
    TRACE.store(std::env::var_os("TRACE").is_some(), Relaxed);
    let compiled =
        slipway_compiler::compile(&loaded.plan, &Default::default(), &Default::default())
            .expect("compiles");
    TRACE.store(false, Relaxed);
    report("compile");
    let sites = std::mem::take(&mut *SITES.lock().expect("not poisoned"));
    let mut by_site = std::collections::BTreeMap::<String, usize>::new();
    for s in sites {
        *by_site.entry(s).or_default() += SAMPLE_EVERY;
    }
    let mut by_site: Vec<_> = by_site.into_iter().collect();
    by_site.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (site, n) in by_site.iter().take(30) {
        eprintln!("{n:9} ~{site}");
    }
    drop(compiled);
}
