//! `admit-bench`: load generators over real HTTP (keep-alive) and micro-benchmarks.
//! Each prints one JSON line; docs/PERFORMANCE.md records results with the exact command.

mod crowd;
mod fixture;
mod floor;
mod gate;
mod http;
mod onsale;
mod openloop;
mod stats;
mod verify;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "admit-bench", about = "Admit benchmarks; each prints one JSON line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The HTTP floor: the on-sale's buyers and connections, two trivial requests per order.
    Floor(floor::Args),
    /// C gates scan every sold ticket once, plus duplicates and forgeries; every verdict checked.
    Gate(gate::Args),
    /// N concurrent buyers race for M seats (or GA units): hold 1, pay, repeat until sold out;
    /// or, with `--rates`, buyers arriving at fixed rates (open loop).
    Onsale(onsale::Args),
    /// Offline credential verifications per second on one core.
    Verify(verify::Args),
}

/// mimalloc: the server allocates and frees many small buffers per request on every thread,
/// where glibc's allocator cost several per cent of the on-sale's CPU (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Floor(args) => floor::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Onsale(args) => onsale::run(args),
        Command::Verify(args) => verify::run(args),
    }
}
