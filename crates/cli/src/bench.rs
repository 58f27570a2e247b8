//! `pavilion bench checkout`: the headline load scenario. Seeds a catalogue in a fresh data
//! directory (or a given PostgreSQL database), serves it in this process, and drives full guest
//! checkouts — cart, landed-cost quote, order, sandbox payment, capture — from concurrent clients
//! on loopback. Prints orders per second, latency percentiles, errors, and checks that no unit
//! was oversold.

use anyhow::{Context, anyhow, bail};
use clap::Args;
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::{Locale, ProductDraft, ProductKind};
use pavilion_domain::fx::RateObservation;
use pavilion_domain::text::Name;
use pavilion_domain::{Currency, Money, Unit};
use pavilion_server::{Config, Server};
use pavilion_store::Store;
use pavilion_store::accounts::NewOrganisation;
use pavilion_store::audit::AuditContext;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Args)]
pub struct CheckoutBenchArgs {
    /// Concurrent buyers.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// How long to drive checkouts.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Products in the catalogue (each checkout buys one unit of a random one).
    #[arg(long, default_value_t = 200)]
    products: usize,
    /// Units in stock per product.
    #[arg(long, default_value_t = 1_000_000)]
    stock: u32,
    /// A PostgreSQL database to use instead of embedded SQLite (it should be empty).
    #[arg(long)]
    database_url: Option<String>,
    /// Where the embedded database goes (default: a fresh temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Stop each checkout at the order (no payment): to measure the steps before it alone.
    #[arg(long)]
    without_payment: bool,
}

/// A valid Resident Identity Card number for buyer `n`: every order is a different person, so
/// no yearly allowance runs out during the run.
fn national_id(n: u64) -> String {
    let day = n / 1000;
    let (year, rest) = (1950 + day / 336, day % 336);
    let (month, dom) = (1 + rest / 28, 1 + rest % 28);
    let first17 = format!("110105{year:04}{month:02}{dom:02}{:03}", n % 1000);
    let check = pavilion_domain::checkout::NationalId::check_character(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

async fn seed(store: &Store, products: usize, stock: u32) -> anyhow::Result<Vec<Uuid>> {
    let ctx = AuditContext::default();
    let today = time::OffsetDateTime::now_utc().date();
    let rates = [("USD", "1.08"), ("CNY", "7.70")]
        .into_iter()
        .map(|(code, rate)| {
            Ok(RateObservation {
                date: today,
                base: Currency::EUR,
                quote: code.parse().map_err(|e| anyhow!("{e}"))?,
                rate: rate.parse::<Decimal>()?,
                source: "bench (illustrative)".into(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    store.import_rates(&ctx, &rates, |_| {}).await?;
    let access = pavilion_domain::market_access::parse_rules_csv(include_str!(
        "../../../rules/market_access.csv"
    ))
    .map_err(|e| anyhow!("rules/market_access.csv: {e}"))?;
    store.upsert_access_rules(&ctx, &access).await?;
    let seller = store
        .create_organisation(
            &ctx,
            &NewOrganisation {
                kind: OrganisationKind::Seller,
                name: Name::parse("Huye Mountain Coffee (bench)").map_err(|e| anyhow!("{e}"))?,
                country: "RW".parse().map_err(|e| anyhow!("{e}"))?,
            },
        )
        .await?;
    let mut ids = Vec::with_capacity(products);
    for i in 0..products {
        let draft = ProductDraft {
            kind: ProductKind::Goods,
            original_locale: Locale::En,
            titles: [(Locale::En, format!("Huye roasted coffee no. {i}, 250 g"))].into(),
            descriptions: Default::default(),
            hs: "0901.21".parse().map_err(|e| anyhow!("{e}"))?,
            category: None,
            origin: "RW".parse().map_err(|e| anyhow!("{e}"))?,
            unit: Unit::Piece,
            weight_kg_per_unit: Some(Decimal::new(25, 2)),
            volume_l_per_unit: None,
            cold_chain: false,
            shelf_life_days: Some(365),
            retail_price: Some(Money::parse("14.00", Currency::USD).map_err(|e| anyhow!("{e}"))?),
            wholesale: None,
            stock: Some(stock),
            departures: vec![],
            variants: vec![],
        };
        ids.push(store.create_product(&ctx, seller.id, &draft).await?.id);
    }
    Ok(ids)
}

/// The requests of a checkout, in order: where its time goes is printed per step.
const STEPS: [&str; 5] = ["cart", "quote", "order", "payment", "capture"];

/// Each step's latencies, for one client and then for all.
#[derive(Default)]
struct StepTimes([Vec<Duration>; STEPS.len()]);

impl StepTimes {
    fn extend(&mut self, other: StepTimes) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            mine.extend(theirs);
        }
    }

    /// "cart 1.2 / 4.0 ms, quote …" (p50 / p99 of each step).
    fn summary(mut self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        STEPS
            .iter()
            .zip(self.0.iter_mut())
            .map(|(step, times)| {
                times.sort();
                format!(
                    "{step} {:.1} / {:.1}",
                    ms(percentile(times, 50.0)),
                    ms(percentile(times, 99.0))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    times: StepTimes,
}

impl Client {
    /// Sends step `step` (an index in [`STEPS`]) and times it.
    async fn send(&mut self, req: reqwest::RequestBuilder, step: usize) -> anyhow::Result<Value> {
        let name = STEPS.get(step).copied().unwrap_or("step");
        let started = Instant::now();
        let res = req.send().await.with_context(|| name.to_owned())?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{name}: {status} {body}");
        }
        if let Some(times) = self.times.0.get_mut(step) {
            times.push(started.elapsed());
        }
        Ok(body)
    }

    /// One guest's whole checkout.
    async fn checkout(&mut self, product: Uuid, buyer: u64, pay: bool) -> anyhow::Result<()> {
        let b = self.base.clone();
        let cart = self
            .send(
                self.http
                    .post(format!("{b}/carts"))
                    .json(&json!({"destination": "CN", "currency": "CNY"})),
                0,
            )
            .await?;
        let (cart_id, token) = (
            cart["id"].as_str().unwrap_or_default().to_owned(),
            cart["token"].as_str().unwrap_or_default().to_owned(),
        );
        let cart = self
            .send(
                self.http
                    .put(format!("{b}/carts/{cart_id}/lines"))
                    .header("x-cart-token", &token)
                    .json(&json!({"product_id": product, "quantity": 1})),
                1,
            )
            .await?;
        let order = self
            .send(
                self.http
                    .post(format!("{b}/orders"))
                    .header("x-cart-token", &token)
                    .header("idempotency-key", Uuid::now_v7().to_string())
                    .json(&json!({
                        "cart_id": cart_id, "quote_id": cart["quote"]["id"],
                        "buyer": {"name": "Bench Buyer", "email": "buyer@bench.test", "national_id": national_id(buyer),
                                  "ship_to": {"name": "Bench Buyer", "line1": "1 Test Road", "city": "Hangzhou", "country": "CN"}}
                    })),
                2,
            )
            .await?;
        let (order_id, order_token) = (
            order["id"].as_str().unwrap_or_default().to_owned(),
            order["order_token"].as_str().unwrap_or_default().to_owned(),
        );
        if !pay {
            return Ok(());
        }
        let payment = self
            .send(
                self.http
                    .post(format!("{b}/orders/{order_id}/payments"))
                    .header("x-order-token", &order_token)
                    .header("idempotency-key", Uuid::now_v7().to_string())
                    .json(&json!({"provider": "sandbox", "payment_method": "sandbox_card_ok"})),
                3,
            )
            .await?;
        let payment_id = payment["id"].as_str().unwrap_or_default();
        self.send(
            self.http
                .post(format!(
                    "{b}/orders/{order_id}/payments/{payment_id}/capture"
                ))
                .header("x-order-token", &order_token)
                .header("idempotency-key", Uuid::now_v7().to_string())
                .json(&json!({})),
            4,
        )
        .await?;
        Ok(())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub async fn run(args: CheckoutBenchArgs) -> anyhow::Result<()> {
    // Logs cost time the benchmark measures: only when asked for (e.g. `sqlx::query=debug`
    // to count a checkout's statements).
    if std::env::var_os("RUST_LOG").is_some() {
        pavilion_server::observability::init_tracing(pavilion_server::config::LogFormat::Text);
    }
    let temp;
    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: data_dir.clone(),
        database_url: args.database_url.clone(),
        // PostgreSQL: a connection per two clients (SQLite keeps its default, see the config).
        database_max_connections: args
            .database_url
            .as_ref()
            .and(std::num::NonZeroU32::new(32)),
        ..Config::default()
    };
    let server = Server::build(config).await?;
    let store = server.store().clone();
    println!(
        "seeding {} products with {} units each…",
        args.products, args.stock
    );
    let products = seed(&store, args.products, args.stock).await?;
    let running = server.spawn();
    let base = format!("http://{}/api/v1", running.addr);
    println!(
        "serving on {base}; {} clients for {} s",
        args.clients, args.seconds
    );

    let done = Arc::new(AtomicBool::new(false));
    let buyers = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(args.clients);
    let started = Instant::now();
    let pay = !args.without_payment;
    for c in 0..args.clients {
        let (done, buyers, products) = (done.clone(), buyers.clone(), products.clone());
        let mut client = Client {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?,
            base: base.clone(),
            times: StepTimes::default(),
        };
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), Vec::new());
            let mut n = c;
            while !done.load(Ordering::Relaxed) {
                let buyer = buyers.fetch_add(1, Ordering::Relaxed);
                let product = products[n % products.len()];
                n = n.wrapping_mul(2_654_435_761).wrapping_add(1);
                let t = Instant::now();
                match client.checkout(product, buyer, pay).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (latencies, errors, client.times)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    done.store(true, Ordering::Relaxed);
    let (mut latencies, mut errors, mut steps) = (Vec::new(), Vec::new(), StepTimes::default());
    for t in tasks {
        let (l, e, s) = t.await?;
        latencies.extend(l);
        errors.extend(e);
        steps.extend(s);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let orders = latencies.len();
    println!(
        "{orders} checkouts in {:.1} s: {:.0} orders/s; latency of a whole checkout p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} errors",
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 50.0).as_secs_f64() * 1e3,
        percentile(&latencies, 90.0).as_secs_f64() * 1e3,
        percentile(&latencies, 99.0).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        errors.len()
    );
    println!("each step p50 / p99, ms: {}", steps.summary());
    for e in errors.iter().take(5) {
        println!("  error: {e}");
    }
    // No unit oversold: what the products lost is what the orders hold.
    let (held, left) = store.stock_ledger().await?;
    let initial = i64::from(args.stock) * i64::try_from(products.len())?;
    let reconciled = initial - held == left;
    println!(
        "stock: {initial} initial − {held} held by orders = {} expected, {left} in the database ({}); orders by state: {:?}",
        initial - held,
        if reconciled {
            "no unit oversold"
        } else {
            "MISMATCH"
        },
        store.orders_by_status().await?
    );
    running.stop().await?;
    if !reconciled {
        bail!("stock does not reconcile");
    }
    Ok(())
}
