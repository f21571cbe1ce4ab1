//! The two-thread parse of large specs (`yaml::parse_with`) must give exactly
//! what one sequential parse gives: the same tree, spans and diagnostics,
//! whether the halves are joined or the split is abandoned.

use slipway_spec::yaml::{parse_with, splits_joined, Parsed};
use std::path::Path;

fn seq(src: &str) -> Parsed<'_> {
    parse_with(src, usize::MAX)
}

fn split(src: &str) -> Parsed<'_> {
    parse_with(src, 0)
}

fn same(src: &str, what: &str) {
    let (a, b) = (seq(src), split(src));
    assert_eq!(a.root, b.root, "{what}: trees differ");
    assert_eq!(a.errors, b.errors, "{what}: diagnostics differ");
}

/// Asserts equality and that the halves were joined.
fn joined(src: &str, what: &str) {
    let before = splits_joined();
    same(src, what);
    assert_eq!(
        splits_joined(),
        before + 1,
        "{what}: the split was not used"
    );
}

/// Asserts equality and that the split was abandoned.
fn abandoned(src: &str, what: &str) {
    let before = splits_joined();
    same(src, what);
    assert_eq!(
        splits_joined(),
        before,
        "{what}: the split should not be used"
    );
}

fn stages(n: usize) -> String {
    let mut s = String::from("version: 1\nargs:\n  BASE: debian\nstages:\n");
    for i in 0..n {
        s.push_str(&format!(
            "  s{i}:\n    from: ${{BASE}}\n    env: {{K: \"{i}\"}}\n    steps:\n      - run: make {i}\n        cache: [/c]\n      - copy: [a{i}, b]\n        to: ./x/\n"
        ));
    }
    s
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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

#[test]
fn every_spec_in_the_repository_parses_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for d in ["examples", "tests/fixtures", "frontend/spec/tests"] {
        walk(&root.join(d), &mut files);
    }
    assert!(files.len() > 60, "only {} specs found", files.len());
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        same(&src, &f.display().to_string());
    }
}

#[test]
fn a_long_stages_mapping_is_split_and_joined() {
    joined(&stages(200), "200 stages");
    // Stage names of every allowed shape; comments and blank lines around the split.
    let mut s = String::from("stages:\n");
    for i in 0..100 {
        s.push_str(&format!("  # stage {i}\n\n  a.b-c_{i}:   # note\n    from: scratch\n    steps: [{{mkdir: /d{i}}}]\n"));
    }
    joined(&s, "commented stages");
    // CRLF line ends.
    joined(&stages(100).replace('\n', "\r\n"), "CRLF");
    // Non-ASCII text before and after the split (columns are chars, offsets
    // bytes), with the middle byte inside a multi-byte character.
    let wide = stages(100).replace("make", "måke ✓");
    joined(&wide, "non-ASCII");
    let mut all_wide = String::from("stages:\n");
    for i in 0..200 {
        all_wide.push_str(&format!(
            "  s{i}:\n    description: ✓✓✓✓✓✓✓✓\n    from: scratch\n"
        ));
    }
    joined(&all_wide, "mostly multi-byte");
    // Shifted byte by byte so that the middle falls inside a character.
    let shifted: Vec<String> = (0..12)
        .map(|pad| format!("#{}\n{all_wide}", "x".repeat(pad)))
        .collect();
    assert!(
        shifted.iter().any(|s| !s.is_char_boundary(s.len() / 2)),
        "one variant has its middle inside a character"
    );
    for s in &shifted {
        joined(s, "multi-byte, shifted");
    }
}

#[test]
fn tricky_inputs_give_the_sequential_result() {
    let base = stages(100);
    // A top-level key after the stages: the half alone is not a document.
    abandoned(
        &format!("{base}groups:\n  all: [s1, s2]\n"),
        "key after stages",
    );
    // The second half uses an anchor of the first.
    let aliased = base.replacen("    from: ${BASE}\n", "    from: &b ${BASE}\n", 1)
        + "  last:\n    from: *b\n";
    abandoned(&aliased, "alias across the split");
    // Duplicate stage names across the halves are reported as one parse would.
    let dup = format!("{base}  s1:\n    from: scratch\n");
    joined(&dup, "duplicate across halves");
    assert!(seq(&dup).errors.iter().any(|d| d.code == "duplicate-key"));
    // A syntax error in the second half: same diagnostic.
    abandoned(
        &format!("{base}  bad:\n    from: [unclosed\n"),
        "syntax error after split",
    );
    // A syntax error in the first half: same diagnostic.
    same(
        &base.replacen("    from: ${BASE}\n", "    from: [x\n", 1),
        "syntax error before split",
    );
    // A block scalar at the top level swallowing indented key-like lines.
    let mut blk = String::from("description: |\n");
    for i in 0..400 {
        blk.push_str(&format!("  s{i}: text\n"));
    }
    blk.push_str("stages:\n  a:\n    from: scratch\n");
    same(&blk, "block scalar before stages");
    // A multi-line quoted scalar crossing the middle.
    let mut q = String::from("stages:\n  a:\n    description: \"start\n");
    for i in 0..400 {
        q.push_str(&format!("  s{i}: still quoted\n"));
    }
    q.push_str("  end\"\n    from: scratch\n");
    same(&q, "quoted scalar across the split");
    // A flow mapping of stages (no block `stages:` line).
    same(
        &format!(
            "stages: {{{}}}\n",
            (0..300)
                .map(|i| format!("s{i}: {{from: scratch}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "flow stages",
    );
    // Two documents.
    abandoned(&format!("{base}---\nstages: {{}}\n"), "second document");
    // Tabs and tags in the second half.
    same(
        &format!("{base}  t:\n    from: !!str scratch\n"),
        "core tag",
    );
    same(
        &format!("{base}  t:\n    from: !custom scratch\n"),
        "unsupported tag",
    );
}

#[test]
fn truncated_and_edited_specs_give_the_sequential_result() {
    // Cut anywhere (unclosed quotes, flows, half keys), or with a line
    // re-indented: whatever the split point meets, the result is the same.
    let base = stages(60).replace("make 7", "\"make\n        7\"");
    let cuts = (1..200).map(|k| base.len() * k / 200);
    for cut in cuts {
        let mut c = cut;
        while !base.is_char_boundary(c) {
            c += 1;
        }
        same(&base[..c], &format!("cut at {c}"));
    }
    for (i, line) in base.lines().enumerate().step_by(7) {
        let edited: String = base
            .lines()
            .enumerate()
            .map(|(j, l)| {
                if j == i {
                    format!(" {line}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        same(&edited, &format!("line {} indented", i + 1));
    }
}
