//! `.dockerignore` parsing, as moby's `patternmatcher/ignorefile` does it:
//! one pattern per line, `#` comments and blank lines skipped, whitespace
//! trimmed, paths cleaned, a leading `/` dropped, `!` exceptions kept.

pub fn parse(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut p = line.trim();
        if p.is_empty() {
            continue;
        }
        let invert = p.starts_with('!');
        if invert {
            p = p[1..].trim();
        }
        let mut pat = String::new();
        if !p.is_empty() {
            pat = clean(p);
            if pat.len() > 1 && pat.starts_with('/') {
                pat.remove(0);
            }
        }
        if invert {
            pat.insert(0, '!');
        }
        out.push(pat);
    }
    out
}

/// Go's `path.Clean` (shared with the compiler, which cleans the same kind of paths).
pub use slipway_compiler::paths::clean;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_moby() {
        let f =
            b"# comment\n\n  target/  \n/abs/./x//y\n!keep.txt\n! /spaced \n**/*.o\na/../b\n#x\n";
        assert_eq!(
            parse(f),
            vec!["target", "abs/x/y", "!keep.txt", "!spaced", "**/*.o", "b"]
        );
    }

    #[test]
    fn clean_matches_go() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("a/b/", "a/b"),
            ("./a", "a"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/../..", ".."),
            ("a//b/./c/..", "a/b"),
        ] {
            assert_eq!(clean(i), o, "{i}");
        }
    }
}
