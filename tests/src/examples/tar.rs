//! Entry names of a tar stream (`docker export`): ustar, GNU long names (`L`) and pax `path`
//! records; data is skipped while streaming, so gigabyte images need no memory.

use std::io::Read;

/// One entry: normalised path (`/usr/bin/x`, no trailing slash; `/` for the root) and type flag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub path: String,
    pub kind: char,
    pub size: u64,
}

pub fn list<R: Read>(mut r: R) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut long_name: Option<String> = None;
    let mut block = [0u8; 512];
    loop {
        if !read_block(&mut r, &mut block)? {
            break;
        }
        if block.iter().all(|&b| b == 0) {
            break;
        }
        let size = parse_size(&block[124..136]);
        let kind = block[156] as char;
        let data_blocks = size.div_ceil(512);
        match kind {
            'L' | 'x' => {
                let mut data = vec![0u8; (data_blocks * 512) as usize];
                r.read_exact(&mut data)?;
                data.truncate(size as usize);
                if kind == 'L' {
                    long_name = Some(cstr(&data));
                } else if let Some(p) = pax_path(&data) {
                    long_name = Some(p);
                }
                continue;
            }
            'g' => {
                skip(&mut r, data_blocks * 512)?;
                continue;
            }
            _ => {}
        }
        let name = match long_name.take() {
            Some(n) => n,
            None => {
                let name = cstr(&block[0..100]);
                let prefix = if &block[257..262] == b"ustar" {
                    cstr(&block[345..500])
                } else {
                    String::new()
                };
                if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                }
            }
        };
        out.push(Entry {
            path: normalise(&name),
            kind,
            size,
        });
        // Hard links, symlinks, directories and devices carry no data.
        if matches!(kind, '0' | '\0' | '7') {
            skip(&mut r, data_blocks * 512)?;
        }
    }
    // Drain the rest (trailing zero blocks) so the writer does not see a broken pipe.
    std::io::copy(&mut r, &mut std::io::sink())?;
    Ok(out)
}

pub fn normalise(name: &str) -> String {
    let n = name
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    if n.is_empty() || n == "." {
        "/".to_string()
    } else {
        format!("/{n}")
    }
}

fn read_block<R: Read>(r: &mut R, block: &mut [u8; 512]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < 512 {
        let n = r.read(&mut block[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(false);
            }
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "truncated tar header",
            ));
        }
        got += n;
    }
    Ok(true)
}

fn skip<R: Read>(r: &mut R, n: u64) -> std::io::Result<()> {
    let copied = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    if copied != n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "truncated tar data",
        ));
    }
    Ok(())
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn parse_size(f: &[u8]) -> u64 {
    if f[0] & 0x80 != 0 {
        // base-256
        f[1..].iter().fold(0u64, |acc, &b| (acc << 8) | b as u64)
    } else {
        let s = cstr(f);
        u64::from_str_radix(s.trim().trim_matches(' '), 8).unwrap_or(0)
    }
}

fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    let mut path = None;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&c| c == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len == 0 || len > rest.len() {
            return path;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(v) = rec.strip_prefix(b"path=") {
            path = Some(String::from_utf8_lossy(v).into_owned());
        }
        rest = &rest[len..];
    }
    path
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_a_tar_made_by_tar() {
        let dir = std::env::temp_dir().join(format!("slipway-tar-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let deep = dir.join("src").join("a".repeat(60)).join("b".repeat(60));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("file.txt"), vec![b'x'; 1000]).unwrap();
        std::fs::write(dir.join("src/small"), b"hi").unwrap();
        let out = std::process::Command::new("tar")
            .args(["-C", dir.join("src").to_str().unwrap(), "-cf", "-", "."])
            .output()
            .unwrap();
        let mut names: Vec<String> = super::list(&out.stdout[..])
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        names.sort();
        let a = "a".repeat(60);
        let b = "b".repeat(60);
        assert_eq!(
            names,
            [
                "/".to_string(),
                format!("/{a}"),
                format!("/{a}/{b}"),
                format!("/{a}/{b}/file.txt"),
                "/small".into()
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
