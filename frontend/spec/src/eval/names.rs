//! What a name may be: `x-` keys, stage/target names, variable names, image references.

pub(super) fn is_x_key(k: &str) -> bool {
    k.starts_with("x-")
}

pub fn valid_name_chars(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

pub(super) fn valid_var_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Docker reference grammar: `[domain[:port]/]path[:tag][@algo:hex]`.
pub fn is_valid_image_ref(s: &str) -> bool {
    if s.is_empty() || s.len() > 512 {
        return false;
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return false;
        };
        if algo.is_empty()
            || !algo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            || hex.len() < 32
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return false;
        }
    }
    // tag: after the last ':' that follows the last '/'
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let mut cs = t.chars();
        if !matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
            || t.len() > 128
            || !cs.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return false;
        }
    }
    let parts: Vec<&str> = name.split('/').collect();
    let (domain, path) = if parts.len() > 1
        && (parts[0].contains('.')
            || parts[0].contains(':')
            || parts[0] == "localhost"
            || parts[0].chars().any(|c| c.is_ascii_uppercase()))
    {
        (Some(parts[0]), &parts[1..])
    } else {
        (None, &parts[..])
    };
    if let Some(d) = domain {
        let (host, port) = match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        };
        if host.is_empty()
            || !host.split('.').all(|l| {
                !l.is_empty()
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
        {
            return false;
        }
        if let Some(p) = port {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
        }
    }
    if path.is_empty() {
        return false;
    }
    path.iter().all(|comp| {
        // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
        let b = comp.as_bytes();
        if b.is_empty() || !b[0].is_ascii_lowercase() && !b[0].is_ascii_digit() {
            return false;
        }
        if !(b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit()) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                i += 1;
                continue;
            }
            let st = i;
            while i < b.len() && !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
                i += 1;
            }
            let sep = &comp[st..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-')) {
                return false;
            }
        }
        true
    })
}
