//! `pavilion import products` and `pavilion export products`: the catalogue as CSV, all or
//! nothing on the way in, streamed page by page on the way out.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pavilion_domain::catalogue::csv::{ProductCsvWriter, ProductRows};
use pavilion_domain::fx::FileErrors;
use pavilion_server::catalogue_index::ImportIndexing;
use pavilion_store::audit::AuditContext;
use pavilion_store::catalogue_import::ImportError;
use pavilion_store::{Backend, Store};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;
use uuid::Uuid;

#[derive(Args)]
pub struct ImportArgs {
    /// The product file (CSV, see docs/catalogue-import.md), or - for standard input.
    pub file: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Only this seller organisation's products.
    #[arg(long)]
    pub seller: Option<Uuid>,
    /// Where to write the CSV; - (the default) for standard output.
    #[arg(default_value = "-")]
    pub file: PathBuf,
}

fn is_stdio(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// A progress bar on an interactive terminal; nothing in CI or when stderr is redirected.
fn progress_bar(len: u64, template: &str) -> ProgressBar {
    if std::env::var_os("CI").is_some() || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Prints every bad row as `FILE:LINE: field: message` and fails.
fn refuse(label: &str, errors: &FileErrors) -> anyhow::Error {
    let mut stderr = std::io::stderr().lock();
    for e in &errors.0 {
        let _ = writeln!(stderr, "{label}:{}: {}: {}", e.line, e.field, e.message);
    }
    let rows = errors
        .0
        .iter()
        .map(|e| e.line)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    anyhow::anyhow!(
        "{label}: {rows} bad row(s), {} problem(s); nothing imported",
        errors.0.len()
    )
}

/// Reads the file and writes it in one transaction as it is read: every bad row is listed, and
/// a file with any is not imported at all.
///
/// When no server holds this configuration's search index (`search_dir`), the products are
/// indexed while they are written (see `ImportIndexing`), so that a server started afterwards
/// finds them searchable; otherwise the server running on it indexes them. With PostgreSQL, only
/// an index directory that exists is used (servers elsewhere have their own).
pub async fn import(
    store: &Store,
    args: &ImportArgs,
    search_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (label, input, size): (String, Box<dyn Read + Send>, Option<u64>) = if is_stdio(&args.file)
    {
        ("<stdin>".to_owned(), Box::new(std::io::stdin()), None)
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?;
        let size = file.metadata().ok().map(|m| m.len());
        (args.file.display().to_string(), Box::new(file), size)
    };
    let bar = match size {
        Some(size) => progress_bar(
            size,
            "{bar:40} {bytes}/{total_bytes} read, {msg} products written {elapsed} (eta {eta})",
        ),
        None => progress_bar(
            0,
            "{spinner} {bytes} read, {msg} products written {elapsed}",
        ),
    };
    let today = time::OffsetDateTime::now_utc().date();
    let rows = ProductRows::new(bar.wrap_read(input), today, None)
        .map_err(|errors| refuse(&label, &errors))?;

    // An embedded database's data directory belongs to one instance, whose server uses this
    // index; with PostgreSQL, only an index a server of this configuration already made.
    let embedded = store.backend() == Backend::Sqlite;
    let mut indexing = match search_dir.filter(|dir| embedded || dir.is_dir()) {
        Some(dir) => match ImportIndexing::start(store, &dir).await {
            Ok(indexing) => indexing.map(|i| (i, dir)),
            Err(e) => {
                eprintln!(
                    "warning: not indexing the import for search ({e}); the server will index it"
                );
                None
            }
        },
        None => None,
    };
    let observer = indexing.as_mut().and_then(|(i, _)| i.observer());

    let ctx = AuditContext {
        actor_user_id: None,
        request_id: Some("pavilion import products".into()),
    };
    let mut written = 0u64;
    let summary = store
        .import_rows(
            &ctx,
            rows,
            |n| {
                written += n as u64;
                bar.set_message(written.to_string());
            },
            observer,
        )
        .await;
    bar.finish_and_clear();
    let summary = match summary {
        Ok(s) => s,
        Err(e) => {
            if let Some((indexing, _)) = indexing {
                let _ = indexing.abandon().await;
            }
            return match e {
                ImportError::Rows(errors) => Err(refuse(&label, &errors)),
                ImportError::Store(e) => Err(e).context("nothing imported"),
            };
        }
    };
    let committed = started.elapsed();
    let rate = |d: std::time::Duration| summary.imported as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "imported {} products from {label} in {:.2} s ({:.0} products/s)",
        summary.imported,
        committed.as_secs_f64(),
        rate(committed),
    );
    if let (Some((indexing, dir)), Some(seq)) = (indexing, summary.outbox_seq) {
        match indexing.finish(store, seq).await {
            Ok(n) => println!(
                "indexed {n} products for search in {} ({:.2} s after they were written; \
                 {:.0} products/s including indexing)",
                dir.display(),
                (started.elapsed() - committed).as_secs_f64(),
                rate(started.elapsed()),
            ),
            Err(e) => eprintln!(
                "warning: the search index did not take the import ({e}); the server will index it"
            ),
        }
    }
    Ok(())
}

const EXPORT_PAGE: u32 = 1000;

/// Writes the catalogue (or one seller's part of it) a page at a time; archived products are
/// left out, since importing them would put them back on sale.
pub async fn export(store: &Store, args: &ExportArgs) -> anyhow::Result<()> {
    let out: Box<dyn Write> = if is_stdio(&args.file) {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            std::fs::File::create(&args.file)
                .with_context(|| format!("creating {}", args.file.display()))?,
        )
    };
    let mut writer = ProductCsvWriter::new(std::io::BufWriter::with_capacity(1 << 20, out))?;
    let mut after = None;
    let mut count = 0u64;
    loop {
        let page = match args.seller {
            Some(seller) => store.products_of(seller, after, EXPORT_PAGE).await?,
            None => store.products_page(after, EXPORT_PAGE).await?,
        };
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for p in page.iter().filter(|p| !p.archived) {
            writer.write(p.seller_id, &p.draft)?;
            count += 1;
        }
    }
    writer.finish()?.flush()?;
    if !is_stdio(&args.file) {
        println!("exported {count} products to {}", args.file.display());
    }
    Ok(())
}
