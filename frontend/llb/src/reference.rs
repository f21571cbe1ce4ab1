//! Docker image reference normalization (`llb-wire.md` §3), the equivalent of
//! distribution's `ParseNormalizedNamed` + `TagNameOnly`: the server needs
//! the fully qualified form with a tag or digest. Also platform
//! normalization as containerd's `platforms.Normalize` does it.

use crate::pb;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct RefError {
    pub reference: String,
    pub reason: String,
}

const MAX_NAME_LEN: usize = 255;

/// `alpine` → `docker.io/library/alpine:latest`; `ghcr.io/o/i` →
/// `ghcr.io/o/i:latest`; a digest is kept (and no `:latest` added).
pub fn normalize_image_ref(s: &str) -> Result<String, RefError> {
    let err = |reason: &str| RefError {
        reference: s.to_string(),
        reason: reason.to_string(),
    };
    if s.is_empty() {
        return Err(err("empty reference"));
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        check_digest(d).map_err(|r| err(&r))?;
    }
    // A tag is a ':' after the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        check_tag(t).map_err(|r| err(&r))?;
    }
    if name.is_empty() {
        return Err(err("empty repository name"));
    }
    if name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return Err(err(
            "cannot specify 64-byte hexadecimal strings as a repository name",
        ));
    }
    let (mut domain, mut path) = match name.split_once('/') {
        Some((first, remainder))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), remainder.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !path.contains('/') {
        path = format!("library/{path}");
    }
    check_domain(&domain).map_err(|r| err(&r))?;
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(err("repository name must be lowercase"));
    }
    for comp in path.split('/') {
        check_path_component(comp).map_err(|r| err(&r))?;
    }
    let full = format!("{domain}/{path}");
    if full.len() > MAX_NAME_LEN {
        return Err(err("repository name must not be more than 255 characters"));
    }
    let mut out = full;
    match (tag, digest) {
        (Some(t), _) => {
            out.push(':');
            out.push_str(t);
        }
        (None, None) => out.push_str(":latest"),
        (None, Some(_)) => {}
    }
    if let Some(d) = digest {
        out.push('@');
        out.push_str(d);
    }
    Ok(out)
}

fn alnum_lower(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn check_path_component(c: &str) -> Result<(), String> {
    let bad = || Err(format!("invalid path component {c:?}"));
    let b = c.as_bytes();
    if b.is_empty() || !alnum_lower(b[0]) || !alnum_lower(b[b.len() - 1]) {
        return bad();
    }
    let mut i = 0;
    while i < b.len() {
        if alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return bad();
        }
    }
    Ok(())
}

fn check_domain(d: &str) -> Result<(), String> {
    let bad = || Err(format!("invalid registry host {d:?}"));
    let (host, port) = if d.starts_with('[') {
        match d.find(']') {
            Some(i) => (&d[..=i], d[i + 1..].strip_prefix(':')),
            None => return bad(),
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return bad();
        }
    }
    if host.starts_with('[') {
        let inner = &host[1..host.len() - 1];
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return bad();
        }
        return Ok(());
    }
    for label in host.split('.') {
        let b = label.as_bytes();
        if b.is_empty()
            || !b[0].is_ascii_alphanumeric()
            || !b[b.len() - 1].is_ascii_alphanumeric()
            || !b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
        {
            return bad();
        }
    }
    Ok(())
}

/// `[\w][\w.-]{0,127}`
fn check_tag(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    if b.is_empty()
        || b.len() > 128
        || !word(b[0])
        || !b.iter().all(|x| word(*x) || *x == b'.' || *x == b'-')
    {
        return Err(format!("invalid tag {t:?}"));
    }
    Ok(())
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err(format!("invalid digest {d:?}"));
    };
    let alg_ok = !alg.is_empty()
        && alg.bytes().all(|b| alnum_lower(b) || b"+._-".contains(&b))
        && alnum_lower(alg.as_bytes()[0]);
    let hex_ok = hex.len() >= 32
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !alg_ok || !hex_ok {
        return Err(format!("invalid digest {d:?}"));
    }
    let want = match alg {
        "sha256" => Some(64),
        "sha384" => Some(96),
        "sha512" => Some(128),
        _ => None,
    };
    if want.is_some_and(|n| hex.len() != n) {
        return Err(format!("invalid digest length in {d:?}"));
    }
    Ok(())
}

/// containerd `platforms.Normalize`: lower-case; `x86_64`→`amd64`;
/// `aarch64`→`arm64` (variant `8`/`v8` dropped); `arm` without variant →
/// `v7`; `armhf`→arm/v7; `armel`→arm/v6; `i386`→`386`.
pub fn normalize_platform(os: &str, arch: &str, variant: &str) -> pb::Platform {
    let os = os.to_ascii_lowercase();
    let os = if os == "macos" {
        "darwin".to_string()
    } else {
        os
    };
    let arch = arch.to_ascii_lowercase();
    let mut variant = variant.to_ascii_lowercase();
    let arch = match arch.as_str() {
        "i386" => "386".to_string(),
        "x86_64" | "x86-64" | "amd64" => {
            if variant == "v1" {
                variant.clear();
            }
            "amd64".to_string()
        }
        "aarch64" | "arm64" => {
            if variant == "8" || variant == "v8" {
                variant.clear();
            }
            "arm64".to_string()
        }
        "armhf" => {
            variant = "v7".into();
            "arm".into()
        }
        "armel" => {
            variant = "v6".into();
            "arm".into()
        }
        "arm" => {
            variant = match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            "arm".into()
        }
        _ => arch,
    };
    pb::Platform {
        architecture: arch,
        os,
        variant,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        let n = |s: &str| normalize_image_ref(s).unwrap();
        assert_eq!(n("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(n("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(n("user/app"), "docker.io/user/app:latest");
        assert_eq!(n("ghcr.io/o/i"), "ghcr.io/o/i:latest");
        assert_eq!(n("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(n("localhost/x"), "localhost/x:latest");
        assert_eq!(
            n("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(n("docker.io/busybox"), "docker.io/library/busybox:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            n(&format!("alpine@{d}")),
            format!("docker.io/library/alpine@{d}")
        );
        assert_eq!(
            n(&format!("alpine:3@{d}")),
            format!("docker.io/library/alpine:3@{d}")
        );
        assert_eq!(n("Registry.Example/a/b"), "Registry.Example/a/b:latest");
        assert_eq!(
            n("a/b__c/d-e/f.g:v1.0-x_y"),
            "docker.io/a/b__c/d-e/f.g:v1.0-x_y"
        );
        assert_eq!(n("[::1]:5000/x"), "[::1]:5000/x:latest");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "Alpine",
            "docker.io/Library/alpine",
            "alpine:",
            "alpine:-x",
            "alpine@sha256:abc",
            "a//b",
            "a/b/",
            "-a",
            "a..b/c",
            &"a".repeat(64).replace('a', "0"),
            "alpine@md5",
            "ex ample/x",
        ] {
            let e = normalize_image_ref(bad);
            assert!(e.is_err(), "{bad:?} accepted as {e:?}");
        }
        let e = normalize_image_ref("UPPER").unwrap_err();
        assert!(e.reason.contains("lowercase"), "{e}");
    }

    #[test]
    fn platforms() {
        let p = normalize_platform("Linux", "x86_64", "");
        assert_eq!(
            (p.os.as_str(), p.architecture.as_str(), p.variant.as_str()),
            ("linux", "amd64", "")
        );
        let p = normalize_platform("linux", "aarch64", "v8");
        assert_eq!((p.architecture.as_str(), p.variant.as_str()), ("arm64", ""));
        let p = normalize_platform("linux", "arm", "");
        assert_eq!((p.architecture.as_str(), p.variant.as_str()), ("arm", "v7"));
        let p = normalize_platform("linux", "armel", "");
        assert_eq!((p.architecture.as_str(), p.variant.as_str()), ("arm", "v6"));
    }
}
