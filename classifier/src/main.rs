//! `x402-classifier`: classifies every x402 payment indexed in PostgreSQL.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tracing::{info, warn};

use x402_classifier::{
    checkpoint, connect, hex0x, import_labels, migrate, read_label_file, FileLabel, Follower,
    ImportMode, ImportReport, RuleConfig, Step,
};

#[derive(Parser)]
#[command(
    name = "x402-classifier",
    version,
    about = "Classifies every x402 payment with evidence"
)]
struct Cli {
    /// PostgreSQL URL of the indexer's database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/x402"
    )]
    database_url: String,
    /// Chain to classify (default: the only chain the indexer follows).
    #[arg(long, env = "CHAIN_ID")]
    chain_id: Option<i64>,
    /// TOML file overriding rule thresholds (keys of `RuleConfig`; see the crate README).
    #[arg(long, env = "CLASSIFIER_RULES")]
    rules: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies the schema's pending migrations (the one history every service applies).
    Migrate,
    /// Classifies once: incrementally from the last classified block, or everything.
    Classify {
        /// Reclassify every payment, replacing all stored verdicts.
        #[arg(long)]
        from_scratch: bool,
    },
    /// Follows the indexer, classifying new blocks as they are committed.
    Run {
        /// How often to poll the indexer checkpoint, in milliseconds.
        #[arg(long, default_value_t = 2000)]
        poll_ms: u64,
    },
    /// Manages the local labels file.
    Labels {
        #[command(subcommand)]
        command: LabelsCommand,
    },
}

#[derive(Subcommand)]
enum LabelsCommand {
    /// Imports a labels file (TOML, see classifier/labels.example.toml). By default it merges: the
    /// file's entries replace the earlier labels of the addresses it names, other addresses keep
    /// theirs. Prints what it added, replaced and removed. A change reclassifies everything on the
    /// next run.
    Import {
        /// The labels file.
        file: PathBuf,
        /// Make the file the whole imported label set of its chains: addresses it does not name
        /// lose their imported labels.
        #[arg(long)]
        replace: bool,
    },
}

fn print_import(file: &std::path::Path, mode: ImportMode, r: &ImportReport) {
    let line = |l: &FileLabel| {
        format!(
            "chain {} {} {}{} from block {}{}",
            l.chain_id,
            hex0x(&l.address),
            l.kind.as_str(),
            l.role
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
            l.from_block,
            if l.note.is_empty() {
                String::new()
            } else {
                format!(": {}", l.note)
            }
        )
    };
    println!(
        "{} {}: {} added, {} replaced, {} removed, {} unchanged",
        if mode == ImportMode::Replace {
            "replaced all imported labels with"
        } else {
            "merged"
        },
        file.display(),
        r.added.len(),
        r.replaced.len(),
        r.removed.len(),
        r.unchanged
    );
    for l in &r.added {
        println!("  added     {}", line(l));
    }
    for l in &r.replaced {
        println!("  replaced  {}", line(l));
    }
    for l in &r.removed {
        println!("  removed   {}", line(l));
    }
    if r.changed() {
        println!("the next classification reclassifies everything");
    } else {
        println!("nothing changed");
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx::query=error,sqlx::postgres::notice=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = RuleConfig::load(cli.rules.as_deref()).map_err(anyhow::Error::msg)?;
    match &cli.command {
        Command::Migrate => {
            let pool = connect(&cli.database_url).await?;
            migrate(&pool).await?;
            info!("migrations applied");
        }
        Command::Classify { from_scratch } => {
            let pool = connect(&cli.database_url).await?;
            migrate(&pool).await?;
            let mut f = Follower::new(pool, cfg, cli.chain_id);
            let t = Instant::now();
            let step = if *from_scratch {
                f.from_scratch("--from-scratch").await?
            } else {
                f.step().await?
            };
            step.log();
            info!(seconds = t.elapsed().as_secs_f64(), "done");
        }
        Command::Run { poll_ms } => {
            let pool = connect(&cli.database_url).await?;
            migrate(&pool).await?;
            let mut f = Follower::new(pool, cfg, cli.chain_id);
            let mut tick = tokio::time::interval(Duration::from_millis((*poll_ms).max(50)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut waiting = false;
            // SIGINT or SIGTERM: finish the current step, then stop (a second signal exits now).
            let stop = x402_service::shutdown::cancel_on_signals("the current classification step");
            loop {
                tokio::select! {
                    _ = stop.cancelled() => { info!("stopping"); break; }
                    _ = tick.tick() => {
                        match f.step().await {
                            // Say once that the indexer has not committed anything yet, not every tick.
                            Ok(Step::NoCheckpoint) => {
                                if !waiting { Step::NoCheckpoint.log() }
                                waiting = true;
                            }
                            Ok(step) => {
                                waiting = false;
                                if !matches!(step, Step::UpToDate { .. }) { step.log() }
                            }
                            // Transient database trouble: log and retry on the next tick.
                            Err(e) => warn!(error = %e, "classification step failed; retrying"),
                        }
                    }
                }
            }
        }
        Command::Labels {
            command: LabelsCommand::Import { file, replace },
        } => {
            let pool = connect(&cli.database_url).await?;
            migrate(&pool).await?;
            let chain = match cli.chain_id {
                Some(c) => c,
                None => checkpoint(&pool, None).await?.map(|c| c.chain_id).context(
                    "no --chain-id given and the indexer has no checkpoint: pass --chain-id for entries without chain_id",
                )?,
            };
            let labels = read_label_file(file, chain)?;
            let mode = if *replace {
                ImportMode::Replace
            } else {
                ImportMode::Merge
            };
            let r = import_labels(&pool, &labels, mode).await?;
            print_import(file, mode, &r);
        }
    }
    Ok(())
}
