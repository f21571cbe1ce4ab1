//! Hostile inputs: every one must end quickly with an error, never a panic
//! or a stack overflow.

use std::time::{Duration, Instant};

use slipway_spec::*;

fn fails_with(src: &str, code: &str) -> String {
    let t = Instant::now();
    let d = load("slipway.yaml", src, &EvalOptions::default()).expect_err("must fail");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        d.items.iter().any(|i| i.code == code),
        "expected {code}: {}",
        d.render()
    );
    d.render()
}

#[test]
fn alias_bomb() {
    let mut src = String::from("x-a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        src.push_str(&format!(
            "x-a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    src.push_str("stages:\n  app: {from: alpine}\n");
    let r = fails_with(&src, "alias-limit");
    assert!(r.contains("slipway.yaml:"), "{r}");
}

#[test]
fn deep_nesting_flow() {
    let n = 10_000;
    let src = format!("stages: {}{}", "[".repeat(n), "]".repeat(n));
    fails_with(&src, "too-deep");
}

#[test]
fn deep_nesting_block() {
    let src = format!(
        "stages:\n  app:\n    steps:\n      {}x\n",
        "- ".repeat(10_000)
    );
    fails_with(&src, "too-deep");
}

#[test]
fn deep_nesting_in_thread_with_small_stack() {
    // also holds with a small stack: nothing recurses per nesting level
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let src = format!("stages: {}", "{a: ".repeat(10_000));
            let _ = load("s.yaml", &src, &EvalOptions::default());
            let src = format!("stages: {}", "- ".repeat(10_000));
            let _ = load("s.yaml", &src, &EvalOptions::default());
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn oversized_input() {
    let src = format!(
        "stages:\n  app: {{from: alpine}}\n# {}\n",
        "x".repeat(17 * 1024 * 1024)
    );
    let r = fails_with(&src, "too-large");
    assert!(r.contains("16 MiB"), "{r}");
}

#[test]
fn empty_input() {
    fails_with("", "empty-file");
    fails_with("# only a comment\n", "empty-file");
}

#[test]
fn long_interpolation_nesting() {
    let src = format!(
        "stages:\n  app:\n    from: alpine\n    env: {{A: \"{}{}\"}}\n",
        "${X:-".repeat(5000),
        "}".repeat(5000)
    );
    fails_with(&src, "bad-interpolation");
}

/// A tiny deterministic PRNG (xorshift), so the test needs no extra crates.
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
}

#[test]
fn mutated_inputs_never_panic() {
    let mut seeds: Vec<String> = vec![include_str!("good/example.yaml").to_string()];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for f in files {
        seeds.push(std::fs::read_to_string(f).unwrap());
    }
    let tokens = [
        "${", "}", "$$", "$A", ":", "-", "- ", "[", "]", "{", "}", "&a", "*a", "<<", "\n", "  ",
        "\"", "'", "#", "|", ">", "!", "%", "---", "..", "/", "é", "\t", "0755", "from", "copy",
        "run", "stages", ",", "?", "@",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t = Instant::now();
    for i in 0..20000 {
        let mut s: Vec<char> = seeds[i % seeds.len()].chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(s.len() + 1);
            match rng.below(3) {
                0 => {
                    let tok: Vec<char> = tokens[rng.below(tokens.len())].chars().collect();
                    s.splice(at..at, tok);
                }
                1 if !s.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(s.len());
                    s.drain(at.min(s.len())..end.max(at.min(s.len())));
                }
                _ => {
                    let c = char::from_u32(rng.below(0x80) as u32).unwrap_or('x');
                    s.insert(at, c);
                }
            }
        }
        let src: String = s.into_iter().collect();
        let opts = EvalOptions::default();
        match load("m.yaml", &src, &opts) {
            Ok(_) => {}
            Err(d) => {
                let _ = d.render();
            }
        }
    }
    assert!(t.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_byte_order_mark_is_skipped_and_offsets_count_it() {
    let src = "\u{feff}version: 1\nstages:\n  a:\n    from: alpine\n";
    let loaded = slipway_spec::load("s.yaml", src, &Default::default()).expect("loads");
    let name = &loaded.plan.stages[0].name;
    assert_eq!(name.value, "a");
    // 3 bytes of BOM, `version: 1\n`, `stages:\n`, two spaces.
    assert_eq!(name.span.start.offset, 3 + 11 + 8 + 2);
    assert_eq!((name.span.start.line, name.span.start.col), (3, 3));
}
