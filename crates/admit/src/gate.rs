//! `admit gate enrol | sync | run`: the gate terminal's commands (logic in `admit-gate`).

use admit_gate::places::{self, GateChoice};
use admit_gate::{LocalDb, ServerClient, Terminal, TerminalConfig};
use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum GateCommand {
    /// Enrol this terminal at a gate with an organiser's staff token; the server URL and the
    /// terminal's own token are kept in the local file.
    Enrol {
        /// The Admit server, e.g. https://tickets.example.com
        #[arg(long)]
        server: String,
        /// A staff token of the gate's organiser (used once, not stored).
        #[arg(long, env = "ADMIT_STAFF_TOKEN")]
        token: String,
        /// The gate, by name (or a unique part of it) or id. Left out on a terminal: the
        /// organiser's gates are listed to choose from by number.
        #[arg(long, value_name = "NAME|ID")]
        gate: Option<String>,
        /// A label staff will see, e.g. "North 2 handheld".
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Upload scans taken offline, then download keys, sessions and the ticket list (all the
    /// first time, then changes).
    Sync {
        #[command(flatten)]
        data: DataDir,
    },
    /// Check tickets: one code per line on standard input; verdicts on a full-screen display
    /// (or one line per scan with --plain or when output is not a terminal).
    Run(RunArgs),
}

#[derive(Args, Debug)]
pub struct DataDir {
    /// Folder of the terminal's local file (gate.db).
    #[arg(long = "data", default_value = "admit-gate", value_name = "DIR")]
    dir: PathBuf,
}

impl DataDir {
    fn file(&self) -> PathBuf {
        self.dir.join("gate.db")
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    data: DataDir,
    /// Admit only for this session (default: any session of this venue the ticket is for).
    #[arg(long)]
    session: Option<i64>,
    /// Ask the server for its atomic verdict first; decide offline if it is slow or down.
    #[arg(long)]
    online: bool,
    /// A terminal at an exit lane: every scan is an exit (the pass-out of a re-entry ticket,
    /// which may then enter again; other tickets are refused `no_reentry`).
    #[arg(long)]
    exit: bool,
    /// How long to wait for the server's verdict in online mode, in milliseconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    deadline_ms: u64,
    /// The gate's latitude, logged with every scan.
    #[arg(long, requires = "lon", allow_hyphen_values = true, value_parser = latitude)]
    lat: Option<f64>,
    /// The gate's longitude, logged with every scan.
    #[arg(long, requires = "lat", allow_hyphen_values = true, value_parser = longitude)]
    lon: Option<f64>,
    /// One plain line per scan instead of the full-screen display.
    #[arg(long)]
    plain: bool,
    /// Seconds between background uploads and syncs.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=3600))]
    refresh_secs: u64,
}

fn coordinate(s: &str, limit: f64, what: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() <= limit => Ok(v),
        _ => Err(format!("{what} must be a number between -{limit} and {limit}")),
    }
}

fn latitude(s: &str) -> Result<f64, String> {
    coordinate(s, 90.0, "latitude")
}

fn longitude(s: &str) -> Result<f64, String> {
    coordinate(s, 180.0, "longitude")
}

async fn open(file: &Path) -> anyhow::Result<LocalDb> {
    LocalDb::open(file).await.with_context(|| format!("cannot open the gate file {}", file.display()))
}

pub async fn run(command: GateCommand) -> anyhow::Result<()> {
    match command {
        GateCommand::Enrol { server, token, gate, name, data } => {
            let db = open(&data.file()).await?;
            let (_, pending) = db.scan_counts().await?;
            if pending > 0 {
                anyhow::bail!(
                    "{pending} scan(s) in {} still wait for upload under the current enrolment; run `admit gate \
                     run` (it uploads in the background) or `admit gate sync` with the network up first",
                    data.file().display()
                );
            }
            let gates = admit_gate::gate_choices(&server, &token)
                .await
                .with_context(|| format!("could not list the gates on {server}"))?;
            let gate = choose_gate(&gates, gate.as_deref())?;
            let enrolment = admit_gate::enrol(&server, &token, gate.id, name.as_deref())
                .await
                .with_context(|| format!("could not enrol at {gate} on {server}"))?;
            db.save_enrolment(&enrolment).await?;
            println!(
                "Enrolled as device {} (\"{}\") at {} (gate {}), {} (venue {}). Stored in {}.\nNext: admit gate sync \
                 --data {}",
                enrolment.device_id,
                enrolment.name,
                gate.name,
                enrolment.gate_id,
                gate.venue,
                enrolment.venue_id,
                data.file().display(),
                data.dir.display()
            );
            Ok(())
        }
        GateCommand::Sync { data } => sync(&data).await,
        GateCommand::Run(args) => run_terminal(args).await,
    }
}

/// The gate `--gate` names; without it, one staff choose by number when standard input is a
/// terminal.
fn choose_gate<'a>(gates: &'a [GateChoice], wanted: Option<&str>) -> anyhow::Result<&'a GateChoice> {
    if let Some(wanted) = wanted {
        return places::pick(gates, wanted).map_err(anyhow::Error::msg);
    }
    if gates.is_empty() {
        anyhow::bail!("the staff token's organiser has no gates to enrol at");
    }
    if !std::io::stdin().is_terminal() {
        let all: Vec<&GateChoice> = gates.iter().collect();
        anyhow::bail!("choose the gate with --gate NAME or --gate ID: {}", places::list(&all));
    }
    print!("Gates:\n{}", places::numbered(gates));
    let mut stdin = std::io::stdin().lock();
    loop {
        print!("Enrol at gate (1-{}): ", gates.len());
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if stdin.read_line(&mut answer)? == 0 {
            anyhow::bail!("no gate chosen");
        }
        match places::pick_numbered(gates, &answer) {
            Ok(gate) => return Ok(gate),
            Err(e) => println!("{e}"),
        }
    }
}

async fn sync(data: &DataDir) -> anyhow::Result<()> {
    let db = open(&data.file()).await?;
    let enrolment = db.enrolment().await?;
    let client = ServerClient::new(&enrolment)?;
    // A refused upload must not keep the terminal from pulling changes: say so and sync.
    let upload_failed = match admit_gate::upload::upload_pending(&db, &client).await {
        Ok(uploaded) => {
            if uploaded.uploaded > 0 {
                println!(
                    "Uploaded {} scan(s) in {} request(s); {} conflict(s) reported by the server.",
                    uploaded.uploaded, uploaded.batches, uploaded.conflicts
                );
            }
            None
        }
        Err(e) => {
            let pending = db.pending_count().await.unwrap_or(0);
            eprintln!(
                "Could not upload to {}: {e}. {pending} scan(s) stay in the local log; syncing anyway.",
                enrolment.server
            );
            Some((e, pending))
        }
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} syncing tickets {bar:40} {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = admit_gate::sync::sync(&db, &client, |received, total| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(received);
    })
    .await
    .with_context(|| format!("could not sync with {}", enrolment.server))?;
    bar.finish_and_clear();
    println!("{summary}");
    match upload_failed {
        Some((e, pending)) => {
            Err(anyhow::Error::new(e).context(format!("synced, but {pending} scan(s) could not be uploaded")))
        }
        None => Ok(()),
    }
}

async fn run_terminal(args: RunArgs) -> anyhow::Result<()> {
    let db = open(&args.data.file()).await?;
    let (cursor, _) = db.sync_state().await?;
    if cursor.is_none() {
        eprintln!("Not synced yet: every ticket is refused until the first sync (running in the background now).");
    }
    let config = TerminalConfig {
        session: args.session,
        online: args.online,
        direction: if args.exit { admit_domain::Direction::Exit } else { admit_domain::Direction::Entry },
        online_deadline: Duration::from_millis(args.deadline_ms),
        latitude: args.lat,
        longitude: args.lon,
        refresh_every: Duration::from_secs(args.refresh_secs),
    };
    let terminal = Arc::new(Terminal::open(db, config).await?);
    admit_gate::run::run(terminal, args.plain).await?;
    Ok(())
}
