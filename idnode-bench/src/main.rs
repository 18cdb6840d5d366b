//! The `idnode-bench` binary.

use clap::Parser;
use idnode_bench::cli::{self, Cli, Command};

/// The allocator the node uses, so that a client and a server measured side by side allocate alike.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            println!("{}", rt.block_on(cli::run(&args))?);
        }
        Command::LoadDataset(args) => println!("{}", cli::load(&args)?),
        Command::Register(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            println!("{}", rt.block_on(idnode_bench::register::run(&args))?);
        }
    }
    Ok(())
}
