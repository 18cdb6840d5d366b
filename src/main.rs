//! The `idnode` binary: parse the command line, set up logging, run.

use std::io::Write as _;

use clap::Parser;
use idnode::cli::{Cli, Command};
use idnode::config::Config;

/// mimalloc instead of glibc's malloc: the lookup path allocates small strings and RocksDB blocks at a high
/// rate, which costs glibc's allocator several times what it costs mimalloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// RocksDB's own allocations (block cache blocks, table readers) still go through glibc's malloc, which gives
/// each thread that allocates its own arena and never hands memory freed in one arena to another. With the REST
/// workers and the shared runtime both reading blocks, the block cache's memory ended up held twice, once per
/// arena, when load moved from one to the other (half as much memory again at peak). One arena
/// keeps it once; the Rust side allocates with mimalloc and is not affected. `MALLOC_ARENA_MAX` still decides.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a tunable; called before any other thread exists.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}

fn main() -> anyhow::Result<()> {
    one_malloc_arena();
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => {
            let cfg = Config::load(&config)?;
            cfg.validate()?;
            print!("{}", toml::to_string_pretty(&cfg)?);
            Ok(())
        }
        Command::Resolve(args) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let text = rt.block_on(idnode::cli::resolve::run(&args))?;
            // A closed pipe (`| head`) is not an error worth a panic.
            match writeln!(std::io::stdout(), "{text}") {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
        Command::Admin(args) => {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (text, ok) = rt.block_on(idnode::cli::admin::run(&args))?;
            println!("{text}");
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Keygen(args) => {
            println!("{}", idnode::cli::admin::keygen(&args)?);
            Ok(())
        }
        Command::Serve(args) => {
            let cfg = args.config()?;
            idnode::log::init(&cfg.log);
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async {
                // Registered before anything starts, so a signal during start-up also stops the node gracefully.
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = signal(SignalKind::terminate())?;
                let mut int = signal(SignalKind::interrupt())?;
                let shutdown = async move {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                };
                idnode::server::run(cfg, args.demo, shutdown).await
            })
        }
    }
}
