//! The frontend image's binary: `slipway frontend` and nothing else. The
//! offline commands (`compile`, `check`, `targets`, `outline`, `schema`,
//! `graph`, `convert`) and their argument parser are in the full `slipway`
//! binary; leaving them out keeps the image small (what every build pulls).
//! The image copies this binary as `/slipway`, entrypoint `/slipway frontend`.

use std::process::ExitCode;

#[path = "../allocator.rs"]
mod allocator;

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
