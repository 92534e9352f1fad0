//! `zorgpoort queue ls|show|retry`: the delivery queue and its dead letters,
//! read from the store directly (safe while the gateway runs).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use zorgpoort_audit::{Action, AuditEvent, Outcome};
use zorgpoort_handover::delivery::now_ms;
use zorgpoort_store::{Delivery, DeliveryState, Store};

/// Arguments of `zorgpoort queue`.
#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// Configuration file whose data directory to use.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Data directory (overrides the configuration).
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: QueueCommand,
}

#[derive(Debug, Subcommand)]
enum QueueCommand {
    /// List deliveries in a state (dead letters by default).
    Ls {
        /// pending, delivered, dead or withheld.
        #[arg(long, default_value = "dead")]
        state: String,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show a message and its deliveries.
    Show {
        /// The message id (from the 202 Location or `queue ls`).
        message: String,
    },
    /// Put a dead or withheld delivery back in the queue (consent is checked again).
    Retry {
        /// The delivery id (from `queue ls`).
        delivery: i64,
    },
}

fn line(d: &Delivery) -> String {
    format!(
        "{:>6}  {:<9}  {:<20}  attempts {:<3}  message {}  {}",
        d.id,
        d.state.as_str(),
        d.receiver,
        d.attempts,
        d.message_id,
        d.last_error.as_deref().unwrap_or("")
    )
}

/// Runs a queue command.
pub fn run(args: QueueArgs) -> Result<ExitCode> {
    let config = crate::serve::load_config(args.config.as_deref(), args.data_dir)?;
    let (store, runtime) = crate::serve::existing_store(&config)?;
    runtime.block_on(async {
        match args.command {
            QueueCommand::Ls { state, limit } => {
                let state = match state.as_str() {
                    "pending" => DeliveryState::Pending,
                    "delivered" => DeliveryState::Delivered,
                    "dead" => DeliveryState::Dead,
                    "withheld" => DeliveryState::Withheld,
                    other => bail!("--state {other:?}: use pending, delivered, dead or withheld"),
                };
                for delivery in store.deliveries(state, limit).await? {
                    outln!("{}", line(&delivery))?;
                }
            }
            QueueCommand::Show { message } => {
                let Some(record) = store.message(&message).await? else {
                    bail!("no message {message:?}")
                };
                outln!(
                    "message {}  from {}  control id {}  format {}",
                    record.id,
                    record.sender,
                    record.control_id,
                    record.format
                )?;
                for delivery in &record.deliveries {
                    outln!("{}", line(delivery))?;
                }
            }
            QueueCommand::Retry { delivery } => {
                if !store.retry(delivery, now_ms()).await? {
                    bail!("delivery {delivery} is neither dead nor withheld");
                }
                let mut audit = AuditEvent::new("admin-retry", Action::Execute, now_ms(), Outcome::Success);
                audit.who = Some(format!("operator: zorgpoort queue retry {delivery}"));
                store.audit(audit).await?;
                outln!("delivery {delivery} queued again")?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
