//! Listings of a spec for people and tools: the targets it offers
//! ([`targets()`]) and the parameters a target takes ([`outline()`]: build
//! args, secrets, SSH ids). Shared by `slipway targets|outline` and the
//! frontend's `--call targets|outline` subrequests; [`render`] writes them as
//! text (as buildx prints them) and as JSON (in BuildKit's subrequest shapes).
//!
//! Pure: the plan plus its source text. Where the plan keeps no span (build
//! args), the spec's YAML tree is read again (one linear pass).

mod outline;
pub mod render;
mod targets;

pub use outline::{outline, ArgEntry, MountEntry, Outline};
pub use targets::{default_target, targets, TargetEntry, TargetKind};

/// The comment that documents a mapping entry: the block of `#` lines right
/// above its key (no blank line between), else a comment after its value on
/// the same line. `None` when there is neither. `lines`: the spec's lines
/// (split once per listing, so a listing stays linear in the spec's size).
pub(crate) fn doc_comment(
    lines: &[&str],
    key_line: u32,
    value_end: Option<(u32, u32)>,
) -> Option<String> {
    let idx = key_line.checked_sub(1)? as usize;
    let mut above = Vec::new();
    let mut i = idx;
    while i > 0 {
        i -= 1;
        let t = lines.get(i)?.trim();
        match t.strip_prefix('#') {
            Some(c) if !is_directive(c) => above.push(c.trim()),
            _ => break,
        }
    }
    if !above.is_empty() {
        above.reverse();
        let text = above.join(" ").trim().to_string();
        if !text.is_empty() {
            return Some(text);
        }
    }
    // A trailing comment: after the value (or after the key's colon when
    // the value is empty), `#` preceded by a space.
    let line = lines.get(idx)?;
    let from = match value_end {
        Some((l, c)) if l == key_line => char_offset(line, c.saturating_sub(1) as usize),
        _ => 0,
    };
    let rest = &line[from..];
    let at = if rest.trim_start().starts_with('#') {
        Some(rest.len() - rest.trim_start().len())
    } else {
        rest.find(" #").map(|p| p + 1)
    }?;
    let c = rest[at + 1..].trim();
    (!c.is_empty()).then(|| c.to_string())
}

/// `# syntax=…` and similar parser directives are not documentation.
fn is_directive(comment: &str) -> bool {
    let c = comment.trim_start();
    c.starts_with("syntax=") || c.starts_with("escape=") || c.starts_with("check=")
}

/// Byte offset of the `n`th character of `line` (its length past the end).
fn char_offset(line: &str, n: usize) -> usize {
    line.char_indices()
        .nth(n)
        .map(|(b, _)| b)
        .unwrap_or(line.len())
}

#[cfg(test)]
mod tests {
    fn doc_comment(src: &str, line: u32, end: Option<(u32, u32)>) -> Option<String> {
        super::doc_comment(&src.lines().collect::<Vec<_>>(), line, end)
    }

    #[test]
    fn comments_above_and_after() {
        let src = "args:\n  # The Go toolchain\n  # image.\n  GO: golang\n  X: y   # trailing\n  Z:  # unset\n\n  # not above\n\n  W: v\n";
        assert_eq!(
            doc_comment(src, 4, Some((4, 13))).as_deref(),
            Some("The Go toolchain image.")
        );
        assert_eq!(
            doc_comment(src, 5, Some((5, 7))).as_deref(),
            Some("trailing")
        );
        assert_eq!(doc_comment(src, 6, None).as_deref(), Some("unset"));
        assert_eq!(doc_comment(src, 10, Some((10, 7))), None);
        assert_eq!(
            doc_comment("# syntax=slipway:dev\nA: b\n", 2, Some((2, 5))),
            None
        );
        // A `#` inside a value without a space before it is not a comment.
        assert_eq!(doc_comment("A: a#b\n", 1, Some((1, 7))), None);
    }
}
