//! The allocator of both binaries (`slipway` and the image's
//! `slipway-frontend`): mimalloc. Its arenas are committed lazily by default
//! (`.cargo/config.toml`: `slipway compile` of the 1,000-stage benchmark spec
//! peaks at ~59 MB instead of ~78 MB); the frontend binary commits its arena
//! up front instead ([`commit_arena_eagerly`]).

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (`mimalloc.h`, `mi_option_e`).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// For the frontend: a fresh, short-lived process on every build, which
/// first-touches ~50 MB for a 1,000-stage spec and exits. Committed lazily,
/// every 4 KiB page of that is a page fault of its own (~12,000 per build, a
/// quarter of the process's CPU time); committed eagerly, mimalloc advises
/// transparent huge pages on the arena (`madvise(MADV_HUGEPAGE)`): ~150
/// faults, 17-20 ms less per 1,000-stage build, for a larger resident size
/// (2 MiB granules: ~75 MB instead of ~52 MB; docs/benchmarks.md, "Whole
/// process"). Where the kernel has THP off, only the faults' count stays.
///
/// Must run before the process's first allocation, which reserves the arena:
/// `slipway-frontend.rs` calls it from the executable's `.init_array`, before
/// `main` and before Rust's runtime setup (which allocates: its
/// stack-overflow handler's thread table). From `main` it is too late (tried:
/// the arena stayed lazy).
#[allow(dead_code)] // the `slipway` binary keeps mimalloc's lazy default
pub extern "C" fn commit_arena_eagerly() {
    // SAFETY: sets an integer in mimalloc's static option table; touches no
    // other memory, allocates nothing, valid before mimalloc's own init.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 1) }
}
