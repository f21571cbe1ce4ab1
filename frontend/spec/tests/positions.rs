//! Every diagnostic's line and column agree with its byte offset, lines
//! broken as YAML breaks them (`\n`, `\r\n`, lone `\r`), whatever the line
//! breaks and byte-order marks of the input (issue 11: lone `\r` and a
//! second BOM used to give lines and columns the snippet did not show).

use slipway_spec::*;

/// (line, col) of byte `off`, counted independently of the crate.
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
    // A `\r\n` split by `off` (never a position) would count as a break.
    (line, col)
}

fn variants(src: &str) -> Vec<String> {
    vec![
        src.to_string(),
        src.replace('\n', "\r"),
        src.replace('\n', "\r\n"),
        format!("\u{feff}{src}"),
        format!("\u{feff}{}", src.replace('\n', "\r")),
        // a lone `\r` on the second line only
        src.replacen('\n', "\r\r", 2),
        // non-ASCII text before every value
        src.replace(": ", ": é"),
        src.replace(": ", ": é").replace('\n', "\r"),
    ]
}

fn fixtures() -> Vec<String> {
    let mut out = vec![];
    for d in ["tests/bad", "tests/good"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    }
    out
}

#[test]
fn diagnostic_positions_agree_with_offsets() {
    let mut checked = 0;
    for src in fixtures() {
        for v in variants(&src) {
            let diags = match load("s.yaml", &v, &EvalOptions::default()) {
                Ok(l) => l.warnings,
                Err(d) => d.items,
            };
            for d in diags.iter().filter(|d| !d.span.is_unknown()) {
                for p in [d.span.start, d.span.end] {
                    let off = p.offset as usize;
                    assert!(v.is_char_boundary(off), "{}: offset {off} in {v:?}", d.code);
                    assert_eq!(
                        (p.line, p.col),
                        expected(&v, off),
                        "{}: {p:?} in {v:?}",
                        d.code
                    );
                }
                // The rendered location is the same line:col.
                let r = d.render("s.yaml", &v);
                let at = format!("s.yaml:{}:{}\n", d.span.start.line, d.span.start.col);
                assert!(r.contains(&at), "{r} lacks {at}");
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} diagnostics checked");
}

/// Issue 11: with two lone `\r` on the second line, the two-thread parse
/// returned 13,001 of 13,003 stages (now over MAX_STAGES: the most allowed).
#[test]
fn lone_cr_keeps_every_stage() {
    let n = limits::MAX_STAGES;
    let mut src = String::from("version: 1\r\r\nstages:\n");
    for i in 0..n {
        src.push_str(&format!("  s{i}: {{from: alpine}}\n"));
    }
    assert!(src.len() > 200 * 1024);
    let l = load("s.yaml", &src, &EvalOptions::default()).expect("loads");
    assert_eq!(l.plan.stages.len(), n);
    let lf = src.replace('\r', "\n");
    let l2 = load("s.yaml", &lf, &EvalOptions::default()).expect("loads");
    assert_eq!(l2.plan.stages.len(), n);
}

/// A block scalar (`run: |`) ends at its last character, not at the next
/// token: a step's span (its LLB source range, quoted by buildx in error
/// snippets) must not take in the next step's line, blank lines between
/// them or not, whatever the line breaks.
#[test]
fn block_scalar_step_ends_on_its_last_line() {
    let src = "stages:\n  a:\n    from: busybox:1.36\n    steps:\n      - run: |\n          echo hi\n          exit 3\n\n      - run: >\n          echo folded\n      - run: echo next\n";
    // (The variants that put `é` before values make invalid image names.)
    for v in variants(src).into_iter().filter(|v| !v.contains('é')) {
        let l = load("s.yaml", &v, &EvalOptions::default())
            .unwrap_or_else(|d| panic!("{}", d.render()));
        let ends: Vec<(u32, u32)> = l.plan.stages[0]
            .steps
            .iter()
            .map(|s| (s.span.end.line, s.span.end.col))
            .collect();
        let after = |text: &str| expected(&v, v.find(text).unwrap() + text.len());
        let want = vec![after("exit 3"), after("echo folded"), after("echo next")];
        assert_eq!(ends, want, "{v:?}");
    }
}
