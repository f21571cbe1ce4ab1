//! The frontend image's binary: `slipway frontend` and nothing else. The
//! offline commands (`compile`, `check`, `targets`, `outline`, `schema`,
//! `graph`, `convert`) and their argument parser are in the full `slipway`
//! binary; leaving them out keeps the image small (what every build pulls).
//! The image copies this binary as `/slipway`, entrypoint `/slipway frontend`.

use std::process::ExitCode;

#[path = "../allocator.rs"]
mod allocator;

/// Before `main` and before the first allocation (see
/// [`allocator::commit_arena_eagerly`]).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static COMMIT_ARENA_EAGERLY: extern "C" fn() = allocator::commit_arena_eagerly;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.len() == 1 && args[0] == "frontend" {
        return slipway_gateway::main_frontend();
    }
    eprintln!(
        "this is the frontend image's slipway: it only runs as a BuildKit frontend (`slipway frontend`); \
         `compile`, `check` and the other commands are in the full `slipway` binary (cargo build -p slipway)"
    );
    ExitCode::from(2)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The arena this process allocates from (mimalloc reserves 1 GiB at the
    /// first allocation) is mapped read-write and advised for huge pages:
    /// the option was in effect at that first allocation, not merely set.
    #[test]
    fn arena_is_committed_and_advised_for_huge_pages() {
        let _touch = vec![1u8; 1 << 20];
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        // (size, permissions, VmFlags) of each mapping.
        let mut maps: Vec<(u64, String, String)> = Vec::new();
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let range = words
                .next()
                .and_then(|w| w.split_once('-'))
                .and_then(|(a, b)| {
                    Some((
                        u64::from_str_radix(a, 16).ok()?,
                        u64::from_str_radix(b, 16).ok()?,
                    ))
                });
            if let Some((a, b)) = range {
                maps.push((b - a, words.next().unwrap_or("").into(), String::new()));
            } else if let (Some(flags), Some(m)) = (line.strip_prefix("VmFlags:"), maps.last_mut())
            {
                m.2 = flags.trim().into();
            }
        }
        let arenas: Vec<_> = maps.iter().filter(|m| m.0 == 1 << 30).collect();
        assert!(
            arenas
                .iter()
                .any(|(_, perms, flags)| perms == "rw-p" && flags.split(' ').any(|f| f == "hg")),
            "no 1 GiB read-write mapping advised for huge pages (mimalloc's arena, committed \
             eagerly); the 1 GiB mappings: {arenas:?}"
        );
    }
}
