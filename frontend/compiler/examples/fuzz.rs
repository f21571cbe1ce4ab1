//! The in-repository fuzzer (issue 11, item 4), stable Rust, no extra
//! crates: structured generated specs (stages, steps, references, cycles,
//! aliases, merge keys, interpolation, tags, unicode, CR/CRLF/BOM) and
//! mutations of every spec committed in the repository.
//!
//! Oracles, per case: no panic (load and compile under `catch_unwind`);
//! every diagnostic's line and column equal its byte offset's, lines broken
//! as YAML breaks them, and its offset is on a char boundary; a spec that
//! loads compiles twice to the same bytes (or the same diagnostics), and
//! every compile error is located (with the same position checks); no case
//! takes more than 1 s of CPU time (the thread's own, so that a loaded
//! machine or `nice` does not make findings; 30 s of wall time catches a
//! case that waits). Debug assertions also check the parser's offsets
//! against the line index on every node.
//!
//! Short run (`make test`): `cargo run -p slipway-compiler --example fuzz --
//! CASES [SEED]` (dev profile). Long run: `--profile fuzz` (optimised, with
//! debug assertions and overflow checks; the release and bench profiles
//! abort on panic). Exits 1 on any finding, printing the input.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Cases that compiled (so the two-runs oracle compared Definitions).
static COMPILED: AtomicUsize = AtomicUsize::new(0);
/// Cases refused with diagnostics that have a location.
static LOCATED: AtomicUsize = AtomicUsize::new(0);
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use slipway_compiler::{compile, CompileOptions};
use slipway_spec::{load, EvalOptions, Platform};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const NAMES: &[&str] = &["base", "build", "app", "test", "é", "a.b", "x-y", "s1"];
const VALUES: &[&str] = &[
    "alpine",
    "scratch",
    "debian:12",
    "${BASE}",
    "${BASE:-alpine}",
    "$$x",
    "é${X}",
    "!!str é${X}",
    "\"${A}\"",
    "'q'",
    "\u{202e}${X}",
    "${A:+${B}}",
    "${",
    "[a, b]",
    "{k: v}",
    "*a",
    "~",
    "0755",
];

/// Values that are valid nearly everywhere (half the generated specs use
/// only these, so that many compile and the two-runs oracle compares
/// Definitions).
const CLEAN: &[&str] = &[
    "alpine",
    "debian:12",
    "${BASE}",
    "${BASE:-alpine}",
    "'q'",
    "${A:+${B}}",
];

/// A spec built from the language's shapes, then its line breaks and
/// byte-order mark varied.
fn generate(r: &mut Rng) -> String {
    let clean = r.below(2) == 0;
    let values = if clean { CLEAN } else { VALUES };
    let mut s = String::new();
    let anchor = r.below(4) == 0;
    if anchor {
        s.push_str("x-common: &a {from: alpine}\n");
    }
    s.push_str("args:\n  BASE: alpine\n  A: a\n");
    if clean || r.below(2) == 0 {
        s.push_str("  B: ${A}${A}\n");
    }
    s.push_str("stages:\n");
    let n = 1 + r.below(5);
    for i in 0..n {
        let name = if !clean && r.below(3) == 0 {
            r.pick(NAMES).to_string()
        } else {
            format!("s{i}")
        };
        s.push_str(&format!("  {name}:\n"));
        // Clean specs refer only to earlier stages (no cycle).
        let earlier = |r: &mut Rng| {
            if clean && i > 0 {
                r.below(i)
            } else {
                r.below(n)
            }
        };
        if (anchor || !clean) && r.below(6) == 0 {
            s.push_str("    <<: *a\n");
        } else {
            let from = match r.below(4) {
                0 if !clean || i > 0 => format!("s{}", earlier(r)),
                _ if clean => r.pick(values).to_string(),
                _ => r.pick(values).to_string(),
            };
            s.push_str(&format!("    from: {from}\n"));
        }
        if r.below(2) == 0 {
            s.push_str(&format!(
                "    env:\n      K: {}\n      L: {}\n",
                r.pick(values),
                r.pick(values)
            ));
        }
        if r.below(3) == 0 {
            s.push_str(&format!(
                "    workdir: {}\n",
                if clean {
                    "/w"
                } else {
                    r.pick(&["/w", "w/../..", "/${A}", "é"])
                }
            ));
        }
        s.push_str("    steps:\n");
        for _ in 0..r.below(4) {
            let step = match r.below(7) {
                0 => format!(
                    "      - run: echo {}\n        cache: [/c]\n",
                    r.pick(values)
                ),
                1 => {
                    if clean && i == 0 {
                        "      - mkdir: /m\n".to_string()
                    } else {
                        format!(
                            "      - copy: a\n        from: s{}\n        to: /x/\n",
                            earlier(r)
                        )
                    }
                }
                2 => format!(
                    "      - copy: {}\n        to: ./\n        chown: {}\n        link: true\n",
                    r.pick(values),
                    if clean {
                        "1:1"
                    } else {
                        r.pick(&["root", "1:1", "${A}"])
                    }
                ),
                3 => format!("      - mkdir: {}\n", r.pick(values)),
                4 => format!("      - file: /f\n        content: {}\n", r.pick(values)),
                5 => "      - link: /l\n        target: /t\n".to_string(),
                _ => format!("      - remove: [{}]\n", r.pick(values)),
            };
            s.push_str(&step);
        }
    }
    if r.below(3) == 0 {
        let m = if clean {
            format!("s{}", r.below(n))
        } else {
            r.pick(NAMES).to_string()
        };
        s.push_str(&format!("groups:\n  all: [s0, {m}]\n"));
    }
    if !clean && r.below(4) == 0 {
        s.push_str(&format!("default: {}\n", r.pick(NAMES)));
    }
    vary(r, s)
}

fn vary(r: &mut Rng, s: String) -> String {
    let s = match r.below(6) {
        0 => s.replace('\n', "\r\n"),
        1 => s.replace('\n', "\r"),
        2 => s.replacen('\n', "\r\r", 2),
        _ => s,
    };
    if r.below(8) == 0 {
        format!("\u{feff}{s}")
    } else {
        s
    }
}

const TOKENS: &[&str] = &[
    "${", "}", "$$", "$A", ":", "- ", "[", "]", "{", "&a", "*a", "<<: *a", "\n", "\r", "\r\n",
    "  ", "\"", "'", "#", "|", ">", "!!str ", "!x ", "---", "..", "é", "\u{feff}", "\t", "from",
    "copy", "run", "stages", "x-", ",", "?", "\u{202e}",
];

fn mutate(r: &mut Rng, seed: &str) -> String {
    let mut s: Vec<char> = seed.chars().collect();
    for _ in 0..1 + r.below(4) {
        let at = r.below(s.len() + 1);
        match r.below(3) {
            0 => {
                let t: Vec<char> = r.pick(TOKENS).chars().collect();
                s.splice(at..at, t);
            }
            1 if !s.is_empty() => {
                let at = at.min(s.len() - 1);
                let end = (at + 1 + r.below(8)).min(s.len());
                s.drain(at..end);
            }
            _ => s.insert(at, char::from_u32(r.below(0x80) as u32).unwrap_or('x')),
        }
    }
    s.into_iter().collect()
}

/// (line, col) of byte `off`, counted independently of the crates.
fn expected(src: &str, off: usize) -> (u32, u32) {
    let (mut line, mut col) = (1u32, 1u32);
    let mut it = src[..off].chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\r' if it.peek() == Some(&'\n') => {}
            '\r' | '\n' => {
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
    }
    (line, col)
}

/// CPU time this thread has used (user + system), from
/// `/proc/thread-self/stat` (in clock ticks of 10 ms); `None` off Linux.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is 3,
    // utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Position checks on located diagnostics: each offset on a char boundary,
/// line:col equal to the offset's.
fn positions(src: &str, d: &slipway_spec::Diagnostics) -> Result<(), String> {
    for i in d.items.iter().filter(|i| !i.span.is_unknown()) {
        for p in [i.span.start, i.span.end] {
            let off = p.offset as usize;
            if off > src.len() || !src.is_char_boundary(off) {
                return Err(format!("{}: offset {off} not on a char", i.code));
            }
            if (p.line, p.col) != expected(src, off) {
                return Err(format!(
                    "{}: {}:{} but offset {off} is at {:?}",
                    i.code,
                    p.line,
                    p.col,
                    expected(src, off)
                ));
            }
        }
    }
    Ok(())
}

/// Runs every oracle on one input; `Err` describes a finding.
fn check(src: &str) -> Result<(), String> {
    let once = || -> Result<Result<Vec<u8>, String>, String> {
        let opts = EvalOptions::default();
        let loaded = match load("f.yaml", src, &opts) {
            Ok(l) => l,
            Err(d) => {
                if d.items.iter().any(|i| !i.span.is_unknown()) {
                    LOCATED.fetch_add(1, Relaxed);
                }
                positions(src, &d)?;
                return Ok(Err(d.render()));
            }
        };
        Ok(
            match compile(
                &loaded.plan,
                &CompileOptions::default(),
                &Platform::default(),
            ) {
                Ok(c) => {
                    COMPILED.fetch_add(1, Relaxed);
                    Ok(c.definition.into_bytes())
                }
                Err(d) => {
                    if let Some(i) = d.items.iter().find(|i| i.span.is_unknown()) {
                        return Err(format!("compile error `{}` has no location", i.code));
                    }
                    positions(src, &d)?;
                    Err(d.render())
                }
            },
        )
    };
    let (t, cpu) = (Instant::now(), thread_cpu());
    let a = catch_unwind(AssertUnwindSafe(once)).map_err(|_| "panic".to_string())??;
    let used = cpu.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a));
    match used {
        Some(c) if c > Duration::from_secs(1) => {
            return Err(format!("took {c:?} of CPU time ({:?} wall)", t.elapsed()));
        }
        None if t.elapsed() > Duration::from_secs(1) => {
            return Err(format!("took {:?}", t.elapsed()));
        }
        _ if t.elapsed() > Duration::from_secs(30) => {
            return Err(format!("took {:?} of wall time", t.elapsed()));
        }
        _ => {}
    }
    let b = catch_unwind(AssertUnwindSafe(once)).map_err(|_| "panic".to_string())??;
    if a != b {
        return Err("two runs differ".into());
    }
    Ok(())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let cases: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for d in [
        "examples",
        "tests/fixtures",
        "frontend/spec/tests",
        "frontend/compiler/tests",
    ] {
        walk(&root.join(d), &mut files);
    }
    files.sort();
    let seeds: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    assert!(seeds.len() > 60, "only {} seed specs", seeds.len());
    // Panics are findings, reported once each below, not printed twice.
    std::panic::set_hook(Box::new(|_| {}));
    let mut r = Rng(seed | 1);
    let t = Instant::now();
    let mut findings = 0;
    for i in 0..cases {
        let src = match i % 3 {
            0 => generate(&mut r),
            1 => {
                let k = r.below(seeds.len());
                mutate(&mut r, &seeds[k])
            }
            _ => {
                let g = generate(&mut r);
                mutate(&mut r, &g)
            }
        };
        if let Err(what) = check(&src) {
            findings += 1;
            println!("finding {findings} (case {i}): {what}\n{src:?}\n");
        }
    }
    println!(
        "{cases} cases from {} seeds in {:.1} s, {findings} findings (seed {seed}); \
         {} compiled (each twice), {} refused with located diagnostics (each run twice)",
        seeds.len(),
        t.elapsed().as_secs_f64(),
        COMPILED.load(Relaxed) / 2,
        LOCATED.load(Relaxed) / 2,
    );
    if findings > 0 {
        std::process::exit(1);
    }
}
