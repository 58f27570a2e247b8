//! The `pavilion` command.

mod bench;
mod catalogue_io;
mod demo;
mod fx;
mod quote;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use pavilion_domain::accounts::{OrganisationKind, Role};
use pavilion_domain::text::{Email, Name, Password};
use pavilion_server::app::{open_store, shutdown_signal};
use pavilion_server::{Config, Server, observability};
use pavilion_store::accounts::{Membership, NewOrganisation, NewUser};
use pavilion_store::audit::AuditContext;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pavilion",
    version,
    about = "Pavilion: an open electronic world trade platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application and the API (migrates the database first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(ConfigArgs),
    /// Seed a demo platform into its own data directory and serve it.
    Demo(DemoArgs),
    /// Create a platform administrator; the password is read from PAVILION_ADMIN_PASSWORD or stdin.
    CreateAdmin(CreateAdminArgs),
    /// Exchange rates.
    #[command(subcommand)]
    Fx(FxCommand),
    /// Bulk import from CSV (validated first; all or nothing).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Bulk export as CSV.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Quote the landed cost of an order given as JSON (a file, or - for standard input).
    Quote {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        quote: quote::QuoteArgs,
    },
    /// Rebuild this machine's search index from the catalogue (stop `pavilion serve` first: one
    /// writer per index).
    Reindex(ConfigArgs),
    /// Landed-cost rule packs.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Load scenarios (release builds): `bench checkout` drives full guest checkouts.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Seed a catalogue, serve it, and drive full checkouts (cart, quote, order, sandbox payment,
    /// capture) from concurrent clients on loopback; prints orders/s, latency and errors.
    Checkout(bench::CheckoutBenchArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Import a rule pack's files over the shipped ones (validated first; all or nothing).
    Import {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        import: quote::RulesImportArgs,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import products from a CSV file (see docs/catalogue-import.md); every bad row is listed
    /// as FILE:LINE: field: message and nothing is written.
    Products {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        import: catalogue_io::ImportArgs,
    },
}

#[derive(Subcommand)]
enum ExportCommand {
    /// Export products as CSV, in the format `import products` reads.
    Products {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        export: catalogue_io::ExportArgs,
    },
}

#[derive(Subcommand)]
enum FxCommand {
    /// Import rates from a CSV file (all or nothing; bad lines are listed with their numbers).
    Import {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        import: fx::ImportArgs,
    },
}

#[derive(Args)]
struct ConfigArgs {
    /// TOML configuration file (PAVILION_* variables override it).
    #[arg(long, env = "PAVILION_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory for the embedded database.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<SocketAddr>,
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Also add this many generated products (for load tests), through the bulk import.
    #[arg(long, value_name = "N")]
    products: Option<u64>,
}

#[derive(Args)]
struct CreateAdminArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[arg(long)]
    email: String,
    #[arg(long, default_value = "Platform administrator")]
    name: String,
    /// Country of the operator, for the platform organisation if it does not exist yet.
    #[arg(long)]
    country: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config =
            Config::load(self.config.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

impl ServeArgs {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = self.config.load()?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        Ok(config)
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Version => {
            println!("pavilion {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Bench(BenchCommand::Checkout(args)) => bench::run(args).await,
        Command::Migrate(args) => {
            let config = args.load()?;
            observability::init_tracing(config.log);
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating")?;
            println!("database at {} is up to date", store.backend().name());
            Ok(())
        }
        Command::Serve(args) => serve(args.load()?).await,
        Command::Demo(DemoArgs {
            serve: mut args,
            products,
        }) => {
            if args.config.data_dir.is_none() {
                args.config.data_dir = Some(PathBuf::from("pavilion-demo"));
            }
            let config = args.load()?;
            observability::init_tracing(config.log);
            let stop = shutdown_signal();
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating")?;
            demo::seed(&store).await.context("seeding the demo")?;
            if let Some(n) = products {
                demo::add_generated_products(&store, n)
                    .await
                    .context("adding generated products")?;
            }
            demo::print_welcome(config.listen);
            let server = Server::with_store(config, store).await?;
            server.run(stop).await.context("serving")
        }
        Command::CreateAdmin(args) => create_admin(args).await,
        Command::Reindex(args) => {
            let config = args.load()?;
            let store = open_migrated(&config).await?;
            let dir = config.search_dir();
            let index = pavilion_search::SearchIndex::open_or_create(&dir)
                .map_err(|e| anyhow::anyhow!("search index in {}: {e}", dir.display()))?;
            let index = std::sync::Arc::new(index);
            let count = pavilion_server::catalogue_index::rebuild(&store, &index).await?;
            println!("indexed {count} products in {}", dir.display());
            Ok(())
        }
        Command::Quote { config, quote } => {
            let store = open_migrated(&config.load()?).await?;
            quote::quote(&store, &quote).await
        }
        Command::Rules(RulesCommand::Import { config, import }) => {
            let store = open_migrated(&config.load()?).await?;
            quote::import_rules(&store, &import).await
        }
        Command::Import(ImportCommand::Products { config, import }) => {
            let config = config.load()?;
            let store = open_migrated(&config).await?;
            catalogue_io::import(&store, &import, Some(config.search_dir())).await
        }
        Command::Export(ExportCommand::Products { config, export }) => {
            let store = open_migrated(&config.load()?).await?;
            catalogue_io::export(&store, &export).await
        }
        Command::Fx(FxCommand::Import { config, import }) => {
            let config = config.load()?;
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating")?;
            fx::import(&store, &import).await
        }
    }
}

async fn open_migrated(config: &Config) -> anyhow::Result<pavilion_store::Store> {
    let store = open_store(config).await?;
    store.migrate().await.context("migrating")?;
    Ok(store)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    observability::init_tracing(config.log);
    let stop = shutdown_signal();
    let server = Server::build(config).await?;
    tracing::info!(addr = %server.local_addr(), "pavilion is ready");
    server.run(stop).await.context("serving")
}

async fn create_admin(args: CreateAdminArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let email = Email::parse(&args.email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = Name::parse(&args.name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let raw = match std::env::var("PAVILION_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = Password::parse(raw).map_err(|e| anyhow::anyhow!("password {e}"))?;
    let store = open_store(&config).await?;
    store.migrate().await?;
    let platform = store
        .list_organisations(Some(OrganisationKind::Platform), None, None, 1)
        .await?
        .into_iter()
        .next();
    let membership = match platform {
        Some(org) => Membership::Existing(org.id),
        None => {
            let country = args.country.as_deref().context(
                "no platform organisation exists yet: give --country (ISO 3166-1 alpha-2) for it",
            )?;
            Membership::Found(NewOrganisation {
                kind: OrganisationKind::Platform,
                name: Name::parse("Platform operator").map_err(|e| anyhow::anyhow!("{e}"))?,
                country: country
                    .parse()
                    .map_err(|e| anyhow::anyhow!("--country {e}"))?,
            })
        }
    };
    let password_hash = pavilion_server::auth::passwords::hash(password).await?;
    let account = store
        .create_user(
            &AuditContext::default(),
            &NewUser {
                email,
                password_hash,
                display_name: name,
                role: Role::Admin,
                membership,
            },
        )
        .await?;
    println!(
        "created administrator {} ({})",
        account.user.email, account.user.id
    );
    Ok(())
}
