//! POSIX path handling for paths inside images and the build context.
//! Lexical only (no filesystem): `..` cannot climb above `/`.

/// Clean a path like Go's `path.Clean`: collapse `//`, `.` and `..`.
/// Absolute paths stay absolute; an empty result is `.` (or `/`).
pub fn clean(p: &str) -> String {
    // Most paths in a spec are already clean: one copy, no splitting.
    if is_clean(p) {
        return p.to_string();
    }
    clean_slow(p)
}

/// [`clean`] for a path already owned: returned as it is when clean (no
/// copy), e.g. `clean_owned(resolve(cwd, p))`.
pub fn clean_owned(p: String) -> String {
    if is_clean(&p) {
        return p;
    }
    clean_slow(&p)
}

/// True when [`clean`] would return `p` unchanged: `/`, or segments that are
/// neither empty (`//`, trailing `/`), `.` nor `..`.
fn is_clean(p: &str) -> bool {
    if p == "/" {
        return true;
    }
    let rel = p.as_bytes().strip_prefix(b"/").unwrap_or(p.as_bytes());
    // One pass over the bytes (this runs for every path of every step):
    // a segment is bad when it is empty or only one or two dots.
    let bad = |len: usize, dots: usize| len == 0 || (len == dots && dots <= 2);
    let (mut len, mut dots) = (0, 0);
    for &c in rel {
        if c == b'/' {
            if bad(len, dots) {
                return false;
            }
            (len, dots) = (0, 0);
        } else {
            len += 1;
            dots += usize::from(c == b'.');
        }
    }
    !bad(len, dots)
}

/// The full clean, into one string: `..` truncates back to the previous
/// `/` (a relative path keeps leading `..` segments it cannot climb).
fn clean_slow(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out = String::with_capacity(p.len() + 1);
    // Relative paths: how many leading `..` segments `out` starts with.
    let mut up = 0usize;
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                let lead = if abs || up == 0 { 0 } else { 3 * up - 1 };
                if out.len() > lead {
                    let cut = out[lead..].rfind('/').map_or(lead, |i| lead + i);
                    out.truncate(cut);
                } else if !abs {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str("..");
                    up += 1;
                }
            }
            s => {
                if abs || !out.is_empty() {
                    out.push('/');
                }
                out.push_str(s);
            }
        }
    }
    if out.is_empty() {
        out.push(if abs { '/' } else { '.' });
    }
    out
}

/// Resolve `p` against the working directory `cwd` (absolute), keeping a
/// trailing `/` (which means "into this directory" for copies).
pub fn resolve(cwd: &str, p: &str) -> String {
    let trailing = p.ends_with('/') || p.ends_with("/.") || p == ".";
    let mut joined = if p.starts_with('/') {
        clean(p)
    } else if let Some(rel) = clean_relative_tail(cwd, p) {
        // The common `./dir/` or `name` under a clean working directory:
        // one concatenation, no cleaning pass.
        let mut s = String::with_capacity(cwd.len() + rel.len() + 2);
        if cwd != "/" {
            s.push_str(cwd);
        }
        s.push('/');
        s.push_str(rel);
        s
    } else {
        let mut s = String::with_capacity(cwd.len() + p.len() + 2);
        s.push_str(cwd);
        s.push('/');
        s.push_str(p);
        if is_clean(&s) {
            s
        } else {
            clean_slow(&s)
        }
    };
    if trailing && joined != "/" {
        joined.push('/');
    }
    joined
}

/// `p` without leading `./` and one trailing `/`, when joining that to
/// `cwd` gives a clean path (both clean, the rest relative).
fn clean_relative_tail<'p>(cwd: &str, p: &'p str) -> Option<&'p str> {
    let mut rel = p;
    while let Some(r) = rel.strip_prefix("./") {
        rel = r;
    }
    let rel = rel.strip_suffix('/').unwrap_or(rel);
    (cwd.starts_with('/') && !rel.starts_with('/') && is_clean(rel) && is_clean(cwd)).then_some(rel)
}

/// A path relative to the build context root, as BuildKit's local source
/// include patterns want it (`.` for the whole context).
pub fn context_relative(p: &str) -> String {
    // Usually `dir/file` or `dir/`: already the answer, less a trailing `/`.
    let q = p.strip_prefix('/').unwrap_or(p);
    let q = q.strip_suffix('/').unwrap_or(q);
    if !q.starts_with('/') && is_clean(q) {
        return q.to_string();
    }
    let c = clean_owned(format!("/{p}"));
    if c == "/" {
        ".".into()
    } else {
        c.trim_start_matches('/').to_string()
    }
}

/// True when a path contains glob metacharacters.
pub fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The parent directory of an absolute path (`/` for `/x`).
pub fn parent(p: &str) -> String {
    let c = clean(p);
    match c.rfind('/') {
        Some(0) | None => "/".into(),
        Some(i) => c[..i].to_string(),
    }
}

/// The last element of a path or URL path.
pub fn base_name(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    t.rsplit('/').next().unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward clean (segments collected, then joined) that
    /// `clean_slow` must agree with.
    fn clean_reference(p: &str) -> String {
        let abs = p.starts_with('/');
        let mut parts: Vec<&str> = Vec::new();
        for seg in p.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    if parts.last().is_some_and(|l| *l != "..") {
                        parts.pop();
                    } else if !abs {
                        parts.push("..");
                    }
                }
                s => parts.push(s),
            }
        }
        let joined = parts.join("/");
        match (abs, joined.is_empty()) {
            (true, _) => format!("/{joined}"),
            (false, true) => ".".into(),
            (false, false) => joined,
        }
    }

    #[test]
    fn the_one_string_clean_agrees_with_the_reference() {
        let parts = ["", "a", ".", "..", "bc", "..."];
        let mut n = 0;
        let mut check = |p: &str| {
            assert_eq!(clean_slow(p), clean_reference(p), "{p:?}");
            n += 1;
        };
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        for lead in ["", "/", "//"] {
                            check(&format!("{lead}{a}/{b}/{c}/{d}"));
                            check(&format!("{lead}{a}/{b}{c}/{d}/"));
                        }
                    }
                }
            }
        }
        assert!(n > 7000);
        assert_eq!(clean_slow("../../a/../b"), "../../b");
        assert_eq!(clean_slow("/../a/./b/.."), "/a");
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_clean() {
        let parts = [
            "", "/", "a", ".", "..", "b.c", "...", ".x", "x..", "x/", "//",
        ];
        let mut n = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for lead in ["", "/"] {
                        let p = format!("{lead}{a}/{b}{c}");
                        assert_eq!(clean(&p), clean_slow(&p), "{p:?}");
                        assert_eq!(clean_owned(p.clone()), clean_slow(&p), "{p:?}");
                        let q = format!("{lead}{a}{b}{c}");
                        assert_eq!(clean(&q), clean_slow(&q), "{q:?}");
                        n += 2;
                    }
                }
            }
        }
        assert!(n > 1000);
        assert!(is_clean("/work/s1/in") && is_clean("a/b") && is_clean("/"));
        assert!(!is_clean("") && !is_clean("a/") && !is_clean("/a/./b") && !is_clean("a//b"));
    }

    #[test]
    fn resolve_fast_path_agrees_with_cleaning_the_join() {
        let parts = ["", ".", "..", "a", "b.c", "./", "//", "/"];
        let mut n = 0;
        for cwd in ["/", "/w", "/w/x", "/w/../x", "/w/"] {
            for a in parts {
                for b in parts {
                    for c in ["", "/", "/.", "x/"] {
                        let p = format!("{a}{b}{c}");
                        let trailing = p.ends_with('/') || p.ends_with("/.") || p == ".";
                        let mut want = if p.starts_with('/') {
                            clean_slow(&p)
                        } else {
                            clean_slow(&format!("{cwd}/{p}"))
                        };
                        if trailing && want != "/" {
                            want.push('/');
                        }
                        assert_eq!(resolve(cwd, &p), want, "{cwd:?} {p:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 1000);
    }

    #[test]
    fn context_relative_fast_path_agrees_with_cleaning() {
        let parts = ["", ".", "..", "a", "b.c", "./", "//", "/", "x/"];
        for a in parts {
            for b in parts {
                for c in parts {
                    let p = format!("{a}{b}{c}");
                    let c = clean_slow(&format!("/{p}"));
                    let want = if c == "/" {
                        "."
                    } else {
                        c.trim_start_matches('/')
                    };
                    assert_eq!(context_relative(&p), want, "{p:?}");
                }
            }
        }
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean("/a/./b/../c//"), "/a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("/"), "/");
    }

    #[test]
    fn resolve_keeps_trailing_slash() {
        assert_eq!(resolve("/app", "./"), "/app/");
        assert_eq!(resolve("/app", "."), "/app/");
        assert_eq!(resolve("/app", "bin/x"), "/app/bin/x");
        assert_eq!(resolve("/app", "/usr/"), "/usr/");
        assert_eq!(resolve("/", "."), "/");
    }

    #[test]
    fn context_paths_are_relative() {
        assert_eq!(context_relative("."), ".");
        assert_eq!(context_relative("./src/"), "src");
        assert_eq!(context_relative("/go.mod"), "go.mod");
        assert_eq!(context_relative("../x"), "x");
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(base_name("https://x.org/a/b.tgz"), "b.tgz");
        assert!(has_glob("src/*.go"));
        assert!(!has_glob("src/main.go"));
    }
}
