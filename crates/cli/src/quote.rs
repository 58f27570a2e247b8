//! `pavilion quote` and `pavilion rules import`: the landed-cost engine from the command line.

use anyhow::{Context, anyhow};
use clap::Args;
use pavilion_domain::landed_cost::QuoteInput;
use pavilion_server::routes::quotes::compute;
use pavilion_server::rules::{self, FREIGHT_FILES, FREIGHT_PACK, PACK_FILES, Rules};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

#[derive(Args)]
pub struct QuoteArgs {
    /// The quote input as JSON (see docs/landed-cost.md); `-` reads standard input.
    pub file: String,
}

#[derive(Args)]
pub struct RulesImportArgs {
    /// The pack's name: a shipped one (cn, eu, uk, us, ca, mx, freight) or a new jurisdiction.
    #[arg(long)]
    pub pack: String,
    /// A folder holding some of the pack's files (regimes.toml, tariffs.csv, vat.csv,
    /// consumption_tax.csv, positive_list.csv; or rates.csv, insurance.csv for freight).
    pub dir: PathBuf,
}

fn read_input(file: &str) -> anyhow::Result<String> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))
    }
}

/// Prints the quote as the API returns it (without the id and expiry of a stored quote).
pub async fn quote(store: &Store, args: &QuoteArgs) -> anyhow::Result<()> {
    let text = read_input(&args.file)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let input: QuoteInput = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let (line, column) = (inner.line(), inner.column());
        // serde_json ends its message with the position, which this line already starts with.
        let message = inner.to_string();
        let message = message
            .strip_suffix(&format!(" at line {line} column {column}"))
            .unwrap_or(&message);
        anyhow!(
            "{}: line {line} column {column}: {}: {message}",
            args.file,
            e.path()
        )
    })?;
    let rules = Rules::load(store)
        .await
        .map_err(|e| anyhow!("rule packs: {e}"))?;
    let (_, quote) = compute(&rules.current(), input, store).await.map_err(|e| {
        let field = e.field.clone().unwrap_or_default();
        anyhow!("{}: {field}: {}", args.file, e.detail)
    })?;
    println!("{}", serde_json::to_string_pretty(&quote)?);
    Ok(())
}

/// Validates a pack's files against the whole rule book, then stores them; every server
/// process picks them up within seconds.
pub async fn import_rules(store: &Store, args: &RulesImportArgs) -> anyhow::Result<()> {
    let names: &[&str] = if args.pack == FREIGHT_PACK {
        &FREIGHT_FILES
    } else {
        &PACK_FILES
    };
    let mut files = BTreeMap::new();
    for name in names {
        let path = args.dir.join(name);
        if path.exists() {
            files.insert(
                (*name).to_owned(),
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
        }
    }
    if files.is_empty() {
        return Err(anyhow!(
            "{} holds none of the pack's files ({})",
            args.dir.display(),
            names.join(", ")
        ));
    }
    let (_, current) = store.imported_rule_packs().await?;
    rules::validate_import(&args.pack, &files, &current)
        .map_err(|e| anyhow!("nothing imported: {e}"))?;
    let ctx = AuditContext {
        actor_user_id: None,
        request_id: Some("pavilion rules import".into()),
    };
    let imported = store.import_rule_pack(&ctx, &args.pack, &files).await?;
    println!(
        "imported rule pack {} (version {}): {}",
        imported.pack,
        imported.version,
        imported
            .files
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
