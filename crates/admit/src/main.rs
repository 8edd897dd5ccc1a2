//! `admit`: the single binary. `admit demo` seeds and serves a demo; `admit serve` serves an
//! existing data folder; `admit token` creates staff tokens; `admit gate …` runs a gate terminal.

mod config;
mod demo;
mod gate;

use admit_payments::CardSimulator;
use admit_server::{AppState, auth};
use admit_store::{PgStore, SqliteStore, StaffRole, Store, StoreError};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides, Secret};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(name = "admit", version, about = "Admit mobile ticketing: sell, deliver and check tickets")]
struct Cli {
    /// Optional TOML configuration file (ADMIT_* environment variables override it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API from a data folder.
    Serve(ServeArgs),
    /// Seed demo events (once) and serve them, printing URLs, staff tokens and a phone link.
    Demo(DemoArgs),
    /// Create a staff token for an organiser (printed once; only its hash is stored).
    Token {
        #[arg(long, default_value = ".")]
        data_dir: PathBuf,
        /// `postgres://…` when the deployment runs on PostgreSQL.
        #[arg(long, env = "ADMIT_DATABASE")]
        database: Option<Secret>,
        #[arg(long)]
        organiser: i64,
        /// admin (everything) or gate (manifests and scans)
        #[arg(long, default_value = "gate", value_parser = ["admin", "gate"])]
        role: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// The gate terminal: enrol it, sync it, run it (offline verification, scan log, upload).
    Gate {
        #[command(subcommand)]
        command: gate::GateCommand,
    },
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Buy one seat of the phone demo event (test card) and print its one-time login link.
    #[arg(long, env = "ADMIT_DEMO_PHONE_TICKET", default_value_t = true, action = clap::ArgAction::Set)]
    phone_ticket: bool,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind.
    #[arg(long)]
    host: Option<String>,
    /// Folder for the database files (default: the current folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seconds a hold keeps its seats before they return to sale (default 600).
    #[arg(long)]
    hold_ttl_secs: Option<u64>,
    /// `postgres://user@host/db` to run on PostgreSQL (several nodes may share it);
    /// default: SQLite in the data folder.
    #[arg(long, value_name = "URL")]
    database: Option<Secret>,
}

/// mimalloc: the server allocates and frees many small buffers per request on every thread,
/// where glibc's allocator cost several per cent of the on-sale's CPU (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // A gate terminal's standard output is its display: its logs go to standard error, and
    // only errors unless RUST_LOG asks for more.
    let gate = matches!(cli.command, Command::Gate { .. });
    let default_filter = if gate { "error" } else { "info,sqlx=warn,tower_http=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into());
    // Colour codes only for a person at a terminal, never into a file or a log collector.
    if gate {
        let ansi = std::io::stderr().is_terminal();
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(std::io::stdout().is_terminal()).init();
    }
    match cli.command {
        Command::Serve(args) => run(cli.config, args, None).await,
        Command::Demo(args) => run(cli.config, args.serve, Some(args.phone_ticket)).await,
        Command::Token { data_dir, database, organiser, role, label } => {
            let store = open_store(&data_dir, database.as_ref().map(Secret::expose), 2).await?;
            let role = StaffRole::parse(&role).context("role must be admin or gate")?;
            let token =
                match auth::issue_staff_token(store.as_ref(), admit_domain::OrganiserId(organiser), role, &label).await
                {
                    Err(StoreError::NotFound(_)) => anyhow::bail!("there is no organiser {organiser}"),
                    other => other.with_context(|| format!("could not create a token for organiser {organiser}"))?,
                };
            println!("{token}");
            Ok(())
        }
        Command::Gate { command } => gate::run(command).await,
    }
}

/// SQLite in `dir` by default, or PostgreSQL when `database` is a `postgres://` URL.
async fn open_store(dir: &std::path::Path, database: Option<&str>, pool: u32) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create data folder {}", dir.display()))?;
    match database {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = PgStore::connect_with(url, pool.max(1))
                .await
                .with_context(|| format!("cannot open PostgreSQL database {}", redact(url)))?;
            Ok(Arc::new(store))
        }
        Some(other) => anyhow::bail!(
            "--database must be a postgres:// URL (got {:?}); leave it out to use SQLite in the data folder",
            redact(other)
        ),
        None => {
            let path = dir.join("admit.db");
            let store =
                SqliteStore::open(&path).await.with_context(|| format!("cannot open database {}", path.display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Serves; `demo` (with whether to buy a phone demo ticket) seeds the demo first.
async fn run(config_file: Option<PathBuf>, args: ServeArgs, demo: Option<bool>) -> anyhow::Result<()> {
    let overrides = Overrides {
        host: args.host,
        port: args.port,
        data_dir: args.data_dir,
        hold_ttl_secs: args.hold_ttl_secs,
        database: args.database,
    };
    let config = Config::load(config_file.as_deref(), overrides).context("invalid configuration")?;
    let store =
        open_store(&config.data_dir, config.database.as_ref().map(Secret::expose), config.database_pool).await?;
    let sim_path = config.simulator_ledger();
    let gateway = CardSimulator::open(&sim_path, Duration::from_millis(config.simulator_hang_ms))
        .await
        .with_context(|| format!("cannot open the card simulator ledger {}", sim_path.display()))?;
    let addr = format!("{}:{}", config.host, config.port);
    let listener = admit_server::listen::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let state = AppState::new(store.clone(), Arc::new(gateway), config.settings());
    if let Some(phone_ticket) = demo {
        let seeded = demo::seed(store.as_ref()).await.context("seeding the demo failed")?;
        let phone = match phone_ticket {
            true => {
                demo::phone_order(&state).await.inspect_err(|e| tracing::warn!(error = %e, "no phone demo ticket")).ok()
            }
            false => None,
        };
        demo::print_welcome(&seeded, local, &config.data_dir, phone.as_deref());
    }
    let backend = if config.database.is_some() { "postgres" } else { "sqlite" };
    tracing::info!(address = %local, data_dir = %config.data_dir.display(), backend, "admit is serving");
    admit_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("admit stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_override_the_defaults() {
        let cfg = Config::load(None, Overrides { port: Some(9999), ..Overrides::default() }).unwrap();
        assert_eq!(cfg.port, 9999);
        assert_eq!(cfg.hold_ttl_secs, 600);
    }

    #[test]
    fn passwords_are_hidden_in_database_urls() {
        assert_eq!(redact("postgres://admit:s3cret@db:5432/admit"), "postgres://admit:***@db:5432/admit");
        assert_eq!(redact("postgres://127.0.0.1/test"), "postgres://127.0.0.1/test");
    }

    #[test]
    fn trusted_proxies_default_to_loopback_and_are_read_as_addresses_or_blocks() {
        let defaults = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(defaults.settings().trusted_proxies, admit_server::state::LOOPBACK.to_vec());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admit.toml");
        std::fs::write(&file, "trust_forwarded_for = true\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7/32\"]\n")
            .unwrap();
        let settings = Config::load(Some(&file), Overrides::default()).unwrap().settings();
        assert!(settings.limits.trust_forwarded_for);
        let proxies: Vec<String> = settings.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7/32"]);
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/33\"]\n").unwrap();
        assert!(Config::load(Some(&file), Overrides::default()).is_err(), "a malformed block is refused");
    }

    #[test]
    fn cookies_are_secure_unless_served_on_a_loopback_address_or_set_explicitly() {
        let load = |host: &str, secure: Option<bool>| {
            let mut config = Config::load(None, Overrides { host: Some(host.into()), ..Overrides::default() }).unwrap();
            config.secure_cookies = secure.or(config.secure_cookies);
            config.settings().secure_cookies
        };
        assert!(!load("127.0.0.1", None));
        assert!(!load("localhost", None));
        assert!(!load("::1", None));
        assert!(load("0.0.0.0", None));
        assert!(load("tickets.example", None));
        assert!(load("127.0.0.1", Some(true)));
        assert!(!load("0.0.0.0", Some(false)));
    }

    #[test]
    fn debug_output_never_shows_the_database_url() {
        let url = "postgres://admit:s3cret@db:5432/admit";
        let cli = Cli::try_parse_from(["admit", "token", "--organiser", "1", "--database", url]).unwrap();
        let config =
            Config::load(None, Overrides { database: Some(url.parse().unwrap()), ..Overrides::default() }).unwrap();
        for shown in [format!("{cli:?}"), format!("{config:?}")] {
            assert!(!shown.contains("s3cret") && !shown.contains("postgres://"), "{shown}");
        }
        assert_eq!(config.database.as_ref().map(Secret::expose), Some(url), "the value itself is kept");
    }

    #[test]
    fn a_missing_config_file_is_a_clear_error() {
        let err =
            Config::load(Some(std::path::Path::new("/nonexistent/admit.toml")), Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("admit.toml"), "{err}");
    }
}
