//! Scalar syntaxes: paths that must not climb out, durations, sizes, modes, ports.

/// Depth-checking normalization: returns false when `..` climbs above the
/// starting depth 0 (`base` components deep).
pub(super) fn escapes(path: &str, base_depth: usize) -> bool {
    // Only `..` climbs: most paths have none.
    if !path.contains("..") {
        return false;
    }
    let mut depth = if path.starts_with('/') {
        0isize
    } else {
        base_depth as isize
    };
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

pub(super) fn depth_of(abs: &str) -> usize {
    let mut d = 0usize;
    for comp in abs.split('/') {
        match comp {
            "" | "." => {}
            ".." => d = d.saturating_sub(1),
            _ => d += 1,
        }
    }
    d
}

/// `30s`, `1m30s`, `500ms`, `1h`, `2us`, `10ns`, or a bare integer of seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1_000_000_000))
            .ok_or_else(|| format!("duration `{s}` is too large"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    while i < b.len() {
        let st = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let num = &s[st..i];
        if num.is_empty() {
            return Err(format!("invalid duration `{s}`"));
        }
        let us = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[us..i];
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("duration `{s}` is missing a unit after `{num}`")),
            u => return Err(format!("unknown unit `{u}` in duration `{s}`")),
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid number `{num}` in duration `{s}`"))?;
        let add = n * mult;
        if !add.is_finite() || add > 1e18 {
            return Err(format!("duration `{s}` is too large"));
        }
        total = total.saturating_add(add as u64);
    }
    Ok(total)
}

/// `64m`, `1g`, `512k`, `1gb`, `1GiB`, or bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!("invalid size `{s}`"));
    }
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        u => return Err(format!("unknown unit `{u}` in size `{s}`")),
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("size `{s}` is too large"))
}

/// Octal permission bits: `"0755"`, `755`, `0o755`. Always read as octal.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.strip_prefix("0o").unwrap_or(t);
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(8)) {
        return Err(format!("`{s}` is not an octal mode"));
    }
    let v = u32::from_str_radix(digits, 8).map_err(|_| format!("mode `{s}` is too large"))?;
    if v > 0o7777 {
        return Err(format!("mode `{s}` is larger than 07777"));
    }
    Ok(v)
}

pub(super) fn valid_symbolic_chmod(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|clause| {
            let who_end = clause
                .find(|c: char| !"ugoa".contains(c))
                .unwrap_or(clause.len());
            let rest = &clause[who_end..];
            !rest.is_empty()
                && rest.starts_with(['+', '-', '='])
                && rest[1..].chars().all(|c| "rwxXst+-=".contains(c))
        })
}

/// `8080`, `8080/tcp`, `9090/udp`, `8000-8010/tcp` → normalized with protocol.
pub fn parse_port(s: &str) -> Result<String, String> {
    let (ports, proto) = match s.split_once('/') {
        Some((p, pr)) => (p, pr.to_ascii_lowercase()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "unknown protocol `{proto}` in port `{s}` (use tcp, udp or sctp)"
        ));
    }
    let num = |p: &str| -> Result<u32, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => Ok(n),
            _ => Err(format!("`{p}` is not a port number between 1 and 65535")),
        }
    };
    match ports.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if a > b {
                return Err(format!("port range `{ports}` is reversed"));
            }
            Ok(format!("{a}-{b}/{proto}"))
        }
        None => Ok(format!("{}/{proto}", num(ports)?)),
    }
}
