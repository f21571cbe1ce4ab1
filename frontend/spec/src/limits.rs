//! Every budget that bounds Slipway's work and output, in one place
//! (documented in docs/spec.md, "Limits"). Each phase is linear in its
//! input and output; these bound the output, so that any spec the frontend
//! accepts compiles in well under 2 s and 512 MB, and any spec beyond them
//! is refused with a located `too-large` diagnostic in well under 100 ms.

/// Largest accepted input.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest accepted nesting of sequences/mappings.
pub const MAX_DEPTH: usize = 64;
/// Most nodes the YAML tree may hold once aliases are expanded.
pub const MAX_NODES: usize = 2_000_000;
/// Nodes that alias expansion may add (an alias bomb stops here, long before
/// memory is at risk).
pub const MAX_ALIAS_NODES: usize = 200_000;
/// Entries one mapping may receive through `<<` merge keys.
pub const MAX_MERGED_KEYS: usize = 100_000;
/// Keys written in one mapping (checked while the file is parsed, so that a
/// huge mapping is refused after ~20,000 keys, not after all of them).
pub const MAX_MAPPING_KEYS: usize = 20_000;

/// Most stages in a spec.
pub const MAX_STAGES: usize = 10_000;
/// Most steps in a spec, all stages together.
pub const MAX_STEPS: usize = 100_000;
/// Most members of all groups together.
pub const MAX_GROUP_MEMBERS: usize = 10_000;
/// Most `env` entries one stage may set (its own, not inherited).
pub const MAX_ENV_ENTRIES: usize = 1_000;

/// Longest value `${…}` interpolation may produce.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Most bytes interpolation may produce in a whole spec.
pub const MAX_EXPANDED_BYTES: usize = 16 * 1024 * 1024;

/// Most bytes of environment all `run` ops of a build carry together
/// (each carries its stage's whole env, so env size × steps).
pub const MAX_RUN_ENV_BYTES: usize = 64 * 1024 * 1024;
/// Most image-config history entries and env entries copied from a base
/// stage into the stages built on it, over a whole build (a long `from:`
/// chain copies nothing: a base used once is handed over).
pub const MAX_INHERITED_ENTRIES: usize = 4_000_000;

/// Edit-distance cells spent on "did you mean" hints in one spec; beyond,
/// hints are left out (the errors stay).
pub const MAX_HINT_WORK: usize = 2_000_000;
/// Names a "valid targets" or "stages" list in a hint shows.
pub const MAX_LISTED_NAMES: usize = 20;
/// Dependency cycles (stages, groups) reported for one spec.
pub const MAX_CYCLES_REPORTED: usize = 20;
/// Errors reported for one spec; the rest are counted in one last
/// `too-many-errors` diagnostic.
pub const MAX_ERRORS: usize = 200;
