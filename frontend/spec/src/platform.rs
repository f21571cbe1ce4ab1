//! Platform strings, normalized as containerd does.

use std::fmt;

use crate::plan::Platform;

const KNOWN_OS: &[&str] = &[
    "linux",
    "windows",
    "darwin",
    "freebsd",
    "netbsd",
    "openbsd",
    "solaris",
    "illumos",
    "android",
    "aix",
    "plan9",
    "dragonfly",
    "js",
    "wasip1",
];

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parse `os/arch[/variant]` or a bare `arch` (meaning `linux/arch`), normalized:
/// lower-case; `x86_64`/`x86-64` → `amd64`; `aarch64` → `arm64` (variant `v8`
/// dropped); `arm` → `arm/v7`; `armhf` → `arm/v7`; `armel` → `arm/v6`;
/// `i386`/`i686`/`x86` → `386`; variants `7` → `v7`.
pub fn parse_platform(s: &str) -> Result<Platform, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err("empty platform".into());
    }
    let parts: Vec<&str> = t.split('/').collect();
    let (os, arch, variant) = match parts.as_slice() {
        [a] => {
            if KNOWN_OS.contains(a) {
                return Err(format!(
                    "platform `{s}` names an OS but no architecture (write e.g. `{a}/amd64`)"
                ));
            }
            ("linux", *a, None)
        }
        [o, a] => (*o, *a, None),
        [o, a, v] => (*o, *a, Some(*v)),
        _ => {
            return Err(format!(
                "platform `{s}` has too many parts (expected os/arch[/variant])"
            ))
        }
    };
    for (what, p) in [("OS", os), ("architecture", arch)] {
        if !valid_part(p) {
            return Err(format!("platform `{s}` has an invalid {what} `{p}`"));
        }
    }
    if let Some(v) = variant {
        if !valid_part(v) {
            return Err(format!("platform `{s}` has an invalid variant `{v}`"));
        }
    }
    if !KNOWN_OS.contains(&os) {
        return Err(format!(
            "unknown OS `{os}` in platform `{s}` (known: {})",
            KNOWN_OS.join(", ")
        ));
    }
    let (arch, variant): (String, Option<String>) = match arch {
        "x86_64" | "x86-64" | "amd64" => (
            "amd64".into(),
            variant.filter(|v| *v != "v1").map(String::from),
        ),
        "aarch64" | "arm64" => (
            "arm64".into(),
            variant
                .filter(|v| *v != "v8" && *v != "8")
                .map(String::from),
        ),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => (
            "arm".into(),
            Some(match variant {
                None => "v7".into(),
                Some(v @ ("5" | "6" | "7" | "8")) => format!("v{v}"),
                Some(v) => v.into(),
            }),
        ),
        "i386" | "i686" | "x86" | "386" => ("386".into(), variant.map(String::from)),
        a => (a.into(), variant.map(String::from)),
    };
    Ok(Platform {
        os: os.into(),
        architecture: arch,
        variant,
    })
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_platform(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn p(s: &str) -> String {
        parse_platform(s).unwrap().to_string()
    }
    #[test]
    fn normalizes() {
        assert_eq!(p("linux/amd64"), "linux/amd64");
        assert_eq!(p("amd64"), "linux/amd64");
        assert_eq!(p("Linux/X86_64"), "linux/amd64");
        assert_eq!(p("linux/aarch64"), "linux/arm64");
        assert_eq!(p("linux/arm64/v8"), "linux/arm64");
        assert_eq!(p("linux/arm"), "linux/arm/v7");
        assert_eq!(p("linux/arm/v6"), "linux/arm/v6");
        assert_eq!(p("linux/arm/7"), "linux/arm/v7");
        assert_eq!(p("armhf"), "linux/arm/v7");
        assert_eq!(p("armel"), "linux/arm/v6");
        assert_eq!(p("linux/riscv64"), "linux/riscv64");
        assert_eq!(p("windows/amd64"), "windows/amd64");
        assert_eq!(p("linux/i686"), "linux/386");
    }
    #[test]
    fn rejects() {
        for s in [
            "",
            "linux",
            "linux/",
            "/amd64",
            "a/b/c/d",
            "plan10/amd64",
            "linux/am d64",
            "linux/amd64/",
        ] {
            assert!(parse_platform(s).is_err(), "{s}");
        }
    }
}
