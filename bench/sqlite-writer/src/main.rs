//! The SQLite group-commit writer three ways: through sqlx's Any driver (as the store does), through
//! sqlx's native SQLite connection (both hand every statement to the connection's own thread and
//! wait for the answer), and through a rusqlite connection owned by the writer thread (statements
//! run where the job runs). 64 producers; each job is 4 statements, like an order placement;
//! batches of up to 256 jobs per durable commit (WAL, synchronous=FULL).
//!
//! `cargo run --release -- {sqlx|sqlx-native|rusqlite} [seconds]`
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

const SCHEMA: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, stock INTEGER NOT NULL CHECK (stock >= 0));
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, product INTEGER NOT NULL, qty INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS order_events (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, status TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS order_events_order ON order_events(order_id);
CREATE TABLE IF NOT EXISTS idem (scope TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (scope, key));";

struct Job {
    n: u64,
    reply: oneshot::Sender<bool>,
}

fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

/// The writer over one sqlx connection type: every statement goes to the connection's thread.
macro_rules! sqlx_writer {
    ($name:ident, $connection:ty) => {
        async fn $name(url: String, mut rx: mpsc::Receiver<Job>) {
            use sqlx::Connection;
            let mut conn = <$connection>::connect(&url).await.unwrap();
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 256).await > 0 {
                let mut tx = conn.begin().await.unwrap();
                let mut oks = Vec::with_capacity(batch.len());
                for j in &batch {
                    let n = j.n as i64;
                    let took =
                        sqlx::query("UPDATE products SET stock = stock - 1 WHERE id = $1 AND stock >= 1")
                            .bind(n % 200)
                            .execute(&mut *tx)
                            .await
                            .unwrap()
                            .rows_affected();
                    let id = format!("o{n}");
                    sqlx::query("INSERT INTO orders (id, product, qty, body) VALUES ($1, $2, 1, $3)")
                        .bind(id.clone())
                        .bind(n % 200)
                        .bind("{\"lines\":[1]}")
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    sqlx::query("INSERT INTO order_events (order_id, status, at) VALUES ($1, 'placed', '2026-12-04')")
                        .bind(id.clone()).execute(&mut *tx).await.unwrap();
                    sqlx::query(
                        "INSERT INTO idem (scope, key, body) VALUES ('s', $1, '{}') ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    oks.push(took == 1);
                }
                tx.commit().await.unwrap();
                for (j, ok) in batch.drain(..).zip(oks) {
                    let _ = j.reply.send(ok);
                }
            }
        }
    };
}

sqlx_writer!(sqlx_any_writer, sqlx::AnyConnection);
sqlx_writer!(sqlx_native_writer, sqlx::SqliteConnection);

fn rusqlite_writer(path: String, rx: std::sync::mpsc::Receiver<Job>) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        .unwrap();
    let mut batch = Vec::new();
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let tx = conn.transaction().unwrap();
        let mut oks = Vec::with_capacity(batch.len());
        for j in &batch {
            let n = j.n as i64;
            let took = tx
                .prepare_cached(
                    "UPDATE products SET stock = stock - 1 WHERE id = ?1 AND stock >= 1",
                )
                .unwrap()
                .execute((n % 200,))
                .unwrap();
            let id = format!("o{n}");
            tx.prepare_cached("INSERT INTO orders (id, product, qty, body) VALUES (?1, ?2, 1, ?3)")
                .unwrap()
                .execute((&id, n % 200, "{\"lines\":[1]}"))
                .unwrap();
            tx.prepare_cached("INSERT INTO order_events (order_id, status, at) VALUES (?1, 'placed', '2026-12-04')").unwrap()
                .execute((&id,)).unwrap();
            tx.prepare_cached(
                "INSERT INTO idem (scope, key, body) VALUES ('s', ?1, '{}') ON CONFLICT DO NOTHING",
            )
            .unwrap()
            .execute((&id,))
            .unwrap();
            oks.push(took == 1);
        }
        tx.commit().unwrap();
        for (j, ok) in batch.drain(..).zip(oks) {
            let _ = j.reply.send(ok);
        }
    }
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or("sqlx".into());
    let secs: u64 = std::env::args().nth(2).map_or(10, |s| s.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("spike-{mode}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite").display().to_string();
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA).unwrap();
        for i in 0..200 {
            c.execute(
                "INSERT INTO products (id, stock) VALUES (?1, 100000000)",
                (i,),
            )
            .unwrap();
        }
    }
    let submit: Arc<dyn Fn(Job) + Send + Sync> = if mode == "sqlx-native" {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(sqlx_native_writer(format!("sqlite://{path}"), rx));
        Arc::new(move |j| {
            let _ = tx.try_send(j);
        })
    } else if mode == "sqlx" {
        let (tx, rx) = mpsc::channel(1024);
        sqlx::any::install_default_drivers();
        tokio::spawn(sqlx_any_writer(format!("sqlite://{path}"), rx));
        Arc::new(move |j| {
            let _ = tx.try_send(j);
        })
    } else {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || rusqlite_writer(path, rx));
        let tx = std::sync::Mutex::new(tx);
        Arc::new(move |j| {
            let _ = tx.lock().unwrap().send(j);
        })
    };
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let (c0, t0) = (cpu(), Instant::now());
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (done, count, next, submit) =
            (done.clone(), count.clone(), next.clone(), submit.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let (reply, rx) = oneshot::channel();
                let t = Instant::now();
                submit(Job {
                    n: next.fetch_add(1, Ordering::Relaxed),
                    reply,
                });
                if rx.await.unwrap() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    done.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let (el, c) = (t0.elapsed().as_secs_f64(), cpu() - c0);
    lat.sort();
    let n = count.load(Ordering::Relaxed) as f64;
    println!(
        "{mode}: {:.0} jobs/s (4 statements each), p50 {:.2} ms, p99 {:.2} ms, CPU {:.2} cores, {:.1} µs CPU per job",
        n / el,
        lat[lat.len() / 2].as_secs_f64() * 1e3,
        lat[lat.len() * 99 / 100].as_secs_f64() * 1e3,
        c / el,
        c / n * 1e6
    );
    let _ = std::fs::remove_dir_all(dir);
}
