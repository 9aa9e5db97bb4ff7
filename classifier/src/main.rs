//! `x402-classifier`: classifies every x402 payment indexed in PostgreSQL.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use tracing::{info, warn};

use x402_classifier::config::RuleConfig;
use x402_classifier::db::write::{ImportMode, ImportReport};
use x402_classifier::db::{self, seed};
use x402_classifier::gen::{generate, GenConfig};
use x402_classifier::incremental::{Follower, Step};
use x402_classifier::labels::{read_label_file, FileLabel};
use x402_classifier::types::hex0x;

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
    /// Applies the classifier's migrations (and, with --indexer-schema, the indexer's).
    Migrate {
        /// Also apply the indexer's schema (for a fresh database).
        #[arg(long)]
        indexer_schema: bool,
    },
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
    /// Writes a synthetic ecosystem into a fresh database's indexer tables (then classifies it).
    GenBenchData {
        /// Number of payments.
        #[arg(long, default_value_t = 1_000_000)]
        payments: usize,
        /// Number of payers.
        #[arg(long, default_value_t = 50_000)]
        payers: usize,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Skip the settlement plumbing transfers (payer -> settlement -> payee).
        #[arg(long)]
        no_plumbing: bool,
        /// Do not classify after generating.
        #[arg(long)]
        no_classify: bool,
    },
    /// Creates a fresh database, generates the dataset, and times a from-scratch classification.
    Bench {
        /// Number of payments.
        #[arg(long, default_value_t = 1_000_000)]
        payments: usize,
        /// Number of payers.
        #[arg(long, default_value_t = 50_000)]
        payers: usize,
        /// Keep the benchmark database afterwards (its name is printed).
        #[arg(long)]
        keep: bool,
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

fn rules(cli: &Cli) -> Result<RuleConfig> {
    match &cli.rules {
        None => Ok(RuleConfig::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rules file {}", p.display()))?;
            RuleConfig::from_toml(&text)
                .map_err(|e| anyhow::anyhow!("rules file {}: {e}", p.display()))
        }
    }
}

fn report(step: &Step) {
    match step {
        Step::NoCheckpoint => warn!("the indexer has no checkpoint yet; nothing to classify"),
        Step::UpToDate { block } => info!(block, "up to date"),
        Step::Full {
            block,
            reason,
            payments,
        } => info!(
            block,
            payments,
            reason = reason.as_str(),
            "classified everything"
        ),
        Step::Incremental {
            from,
            to,
            payers,
            payments,
        } => {
            info!(from, to, payers, payments, "classified new blocks")
        }
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
    let cfg = rules(&cli)?;
    match &cli.command {
        Command::Migrate { indexer_schema } => {
            let pool = db::connect(&cli.database_url).await?;
            if *indexer_schema {
                seed::indexer_migrator()
                    .run(&pool)
                    .await
                    .context("applying the indexer schema")?;
            }
            db::migrate(&pool).await?;
            info!("migrations applied");
        }
        Command::Classify { from_scratch } => {
            let pool = db::connect(&cli.database_url).await?;
            db::migrate(&pool).await?;
            let mut f = Follower::new(pool, cfg, cli.chain_id);
            let t = Instant::now();
            let step = if *from_scratch {
                f.from_scratch("--from-scratch").await?
            } else {
                f.step().await?
            };
            report(&step);
            info!(seconds = t.elapsed().as_secs_f64(), "done");
        }
        Command::Run { poll_ms } => {
            let pool = db::connect(&cli.database_url).await?;
            db::migrate(&pool).await?;
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
                                if !waiting { report(&Step::NoCheckpoint) }
                                waiting = true;
                            }
                            Ok(step) => {
                                waiting = false;
                                if !matches!(step, Step::UpToDate { .. }) { report(&step) }
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
            let pool = db::connect(&cli.database_url).await?;
            db::migrate(&pool).await?;
            let chain = match cli.chain_id {
                Some(c) => c,
                None => db::load::checkpoint(&pool, None).await?.map(|c| c.chain_id).context(
                    "no --chain-id given and the indexer has no checkpoint: pass --chain-id for entries without chain_id",
                )?,
            };
            let labels = read_label_file(file, chain)?;
            let mode = if *replace {
                ImportMode::Replace
            } else {
                ImportMode::Merge
            };
            let r = db::write::import_labels(&pool, &labels, mode).await?;
            print_import(file, mode, &r);
        }
        Command::GenBenchData {
            payments,
            payers,
            seed: s,
            no_plumbing,
            no_classify,
        } => {
            let pool = db::connect(&cli.database_url).await?;
            gen_data(
                &pool,
                cli.chain_id.unwrap_or(31337),
                *payments,
                *payers,
                *s,
                !no_plumbing,
            )
            .await?;
            if !no_classify {
                let t = Instant::now();
                let step = Follower::new(pool, cfg, cli.chain_id)
                    .from_scratch("benchmark data")
                    .await?;
                report(&step);
                println!("classified in {:.2} s", t.elapsed().as_secs_f64());
            }
        }
        Command::Bench {
            payments,
            payers,
            keep,
        } => {
            let admin: PgConnectOptions = PgConnectOptions::from_str(&cli.database_url)?;
            let name = format!("x402_bench_{}", std::process::id());
            let mut conn = admin.clone().database("postgres").connect().await?;
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await?;
            let url_opts = admin.database(&name);
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .connect_with(url_opts)
                .await?;
            let result = async {
                gen_data(
                    &pool,
                    cli.chain_id.unwrap_or(31337),
                    *payments,
                    *payers,
                    42,
                    true,
                )
                .await?;
                sqlx::query("vacuum analyze").execute(&pool).await?;
                let t = Instant::now();
                let step = Follower::new(pool.clone(), cfg, cli.chain_id)
                    .from_scratch("benchmark")
                    .await?;
                let secs = t.elapsed().as_secs_f64();
                report(&step);
                let Step::Full { payments: n, .. } = step else {
                    bail!("benchmark did not classify")
                };
                let classes: Vec<(String, i64)> = sqlx::query_as(
                    "select class, count(*) from payment_classes group by class order by class",
                )
                .fetch_all(&pool)
                .await?;
                for (c, k) in classes {
                    println!("  {c:16} {k}");
                }
                println!("classified {n} payments from {payers} payers");
                println!("BENCH classify_1m_seconds {secs:.2} s");
                anyhow::Ok(())
            }
            .await;
            pool.close().await;
            if *keep {
                println!("kept database {name}");
            } else {
                // `with (force)`: a session the pool left behind must not keep the database alive.
                sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut conn)
                    .await?;
            }
            result?;
        }
    }
    Ok(())
}

async fn gen_data(
    pool: &sqlx::PgPool,
    chain_id: i64,
    payments: usize,
    payers: usize,
    seed_: u64,
    plumbing: bool,
) -> Result<()> {
    if payers == 0 || payments < payers {
        bail!("--payments must be at least --payers (and --payers at least 1), got {payments} payments for {payers} payers");
    }
    seed::indexer_migrator()
        .run(pool)
        .await
        .context("applying the indexer schema")?;
    db::migrate(pool).await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from payments where chain_id = $1")
        .bind(chain_id)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        bail!("chain {chain_id} already has {existing} payments in this database; use a fresh database");
    }
    let t = Instant::now();
    let g = generate(&GenConfig {
        chain_id,
        payments,
        payers,
        seed: seed_,
        plumbing,
    });
    info!(
        seconds = t.elapsed().as_secs_f64(),
        payments = g.seed.payments.len(),
        transfers = g.seed.transfers.len(),
        "generated"
    );
    let t = Instant::now();
    seed::write(pool, &g.seed).await?;
    db::write::import_file_labels(pool, &g.file_labels).await?;
    seed::set_checkpoint(pool, chain_id, g.last_block, &g.settlement, &g.registry).await?;
    println!(
        "wrote {} payments, {} transfers, {} registry events, {} declarations for chain {chain_id} in {:.1} s (checkpoint block {})",
        g.seed.payments.len(),
        g.seed.transfers.len(),
        g.seed.registry.len(),
        g.seed.declarations.len(),
        t.elapsed().as_secs_f64(),
        g.last_block
    );
    Ok(())
}
