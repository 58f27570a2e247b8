//! `pavilion fx import`: exchange rates from a file, all or nothing, with a progress bar.

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pavilion_domain::fx::{ParsedRates, parse_ecb_csv, parse_rates_csv};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RateFormat {
    /// The European Central Bank's reference-rate CSV (eurofxref.csv, eurofxref-hist.csv).
    Ecb,
    /// `date,base,quote,rate[,source]`.
    Simple,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The rate file.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "ecb")]
    pub format: RateFormat,
    /// Publisher named on rates of the simple format that do not name one.
    #[arg(long, default_value = "imported")]
    pub source: String,
}

/// Parses the whole file first (reporting every bad line), then writes it in one transaction.
pub async fn import(store: &Store, args: &ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let parsed: ParsedRates = match args.format {
        RateFormat::Ecb => parse_ecb_csv(&text),
        RateFormat::Simple => parse_rates_csv(&text, &args.source),
    }
    .map_err(|errors| anyhow::anyhow!("{}: nothing imported\n{errors}", args.file.display()))?;
    if !parsed.skipped_columns.is_empty() {
        eprintln!(
            "skipped columns without a current currency: {}",
            parsed.skipped_columns.join(", ")
        );
    }
    let bar = ProgressBar::new(parsed.rates.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rates {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ctx = AuditContext {
        actor_user_id: None,
        request_id: Some("pavilion fx import".into()),
    };
    let counting = bar.clone();
    let written = store
        .import_rates(&ctx, &parsed.rates, move |n| counting.inc(n as u64))
        .await?;
    bar.finish_and_clear();
    println!(
        "imported {written} exchange rates from {}",
        args.file.display()
    );
    Ok(())
}
