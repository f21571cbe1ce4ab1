//! "Did you mean" hints (edit distance, bounded work) and name lists in help texts.

use super::*;

/// Edit distance counting an adjacent transposition as one edit (OSA).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(256).collect();
    let b: Vec<char> = b.chars().take(256).collect();
    let m = b.len();
    // Three rolling rows (i-2, i-1, i) instead of the whole matrix.
    let mut pp = vec![0usize; m + 1];
    let mut p: Vec<usize> = (0..=m).collect();
    let mut c = vec![0usize; m + 1];
    for i in 1..=a.len() {
        c[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (p[j] + 1).min(c[j - 1] + 1).min(p[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(pp[j - 2] + 1);
            }
            c[j] = v;
        }
        std::mem::swap(&mut pp, &mut p);
        std::mem::swap(&mut p, &mut c);
    }
    p[m]
}

/// The closest candidate within a small edit distance.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut unbounded = usize::MAX;
    did_you_mean_within(word, candidates, &mut unbounded)
}

/// [`did_you_mean`] spending at most `budget` units of work (one per
/// candidate looked at, one per edit-distance cell), taken off `budget`;
/// `None` once it runs out. Hints over a spec's own names (stages, args,
/// targets) go through one budget per spec (`MAX_HINT_WORK`), so that
/// thousands of `from: alpine` cannot make the hints quadratic.
pub(super) fn did_you_mean_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &mut usize,
) -> Option<&'a str> {
    let w = word.to_ascii_lowercase().replace('_', "-");
    let limit = match w.chars().count() {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    let wlen = w.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let clen = c.chars().count();
        let cost = 1 + clen.min(256) * wlen.min(256);
        if *budget < cost {
            *budget = 0;
            return None;
        }
        *budget -= cost;
        // Names whose length differs by more than the limit cannot be close.
        if clen.abs_diff(wlen) > limit {
            continue;
        }
        let d = levenshtein(&w, &c.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

pub(super) fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first `MAX_LISTED_NAMES` names, and how many more there are (a
/// hint listing every target of a large spec made each error as large as
/// the spec).
pub(super) fn list_some<'n>(names: impl ExactSizeIterator<Item = &'n str>) -> String {
    let total = names.len();
    let mut out = names
        .take(MAX_LISTED_NAMES)
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_LISTED_NAMES {
        out.push_str(&format!(" and {} more", total - MAX_LISTED_NAMES));
    }
    out
}
