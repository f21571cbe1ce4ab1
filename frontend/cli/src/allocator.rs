//! The allocator of both binaries (`slipway` and the image's
//! `slipway-frontend`): mimalloc, with its arena committed up front.
//!
//! A frontend is a fresh, short-lived process on every build: it touches
//! ~50 MB for a 1,000-stage spec once and exits. With mimalloc's default
//! (the arena is reserved and committed piece by piece) every 4 KiB page of
//! that is a page fault of its own, ~12,000 per build, a quarter of the
//! process's CPU time. Committed eagerly, mimalloc asks the kernel for
//! transparent huge pages on the arena (`madvise(MADV_HUGEPAGE)`): ~150
//! faults, 17-20 ms less per 1,000-stage build (docs/benchmarks.md,
//! "Whole process"), for a larger resident size (2 MiB granules: ~75 MB
//! instead of ~52 MB). Where the kernel has THP off, nothing changes.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (`mimalloc.h`, `mi_option_e`).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs from the executable's `.init_array`, before `main` and before
/// Rust's runtime setup (which allocates: its stack-overflow handler's
/// thread table), so the option is set when the first allocation reserves
/// the arena. Setting it in `main` is too late (tried: the arena was lazy).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_AT_LOAD: extern "C" fn() = tune;

#[cfg(target_os = "linux")]
extern "C" fn tune() {
    // SAFETY: sets an integer in mimalloc's static option table; touches no
    // other memory, allocates nothing, valid before mimalloc's own init.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 1) }
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
