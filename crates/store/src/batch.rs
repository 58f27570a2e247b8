//! Group commit for SQLite: durable writes from many requests share one transaction and one
//! fsync; the results are handed out only after the commit succeeded.
//!
//! SQLite has one writer at a time and a durable commit waits for the disk, so one commit per
//! request caps a server at a few hundred writes per second. PostgreSQL commits concurrent
//! transactions in groups by itself; there, jobs run in their own transactions.
//!
//! The writer is an OS thread that owns the one writing connection: a batch is handed to it once
//! and its jobs' statements run there in place (see `sql`; a SQLite job never waits, so the
//! thread polls it to the end at once). A batch first runs its jobs one after another with
//! nothing between them. When a job fails, that transaction is rolled back and the batch runs
//! again with each job in a savepoint, so a failing job undoes only itself. A job is therefore a
//! function of its state, which may run twice; only the run that commits answers.

use crate::sql::sqlite::{Checkpointer, Handle, Lease};
use crate::sql::{self, Conn};
use crate::{Store, StoreError, StoreResult};
use std::any::Any as AnyValue;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use tokio::sync::{mpsc, oneshot};

type Boxed = Box<dyn AnyValue + Send>;
type Tx = Conn;
type JobFuture<'a> = Pin<Box<dyn Future<Output = StoreResult<Boxed>> + Send + 'a>>;

/// What a write job returns: a future borrowing the transaction and the job's state.
pub type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// A job with its state, runnable more than once.
trait Job: Send + Sync {
    fn run<'a>(&'a self, tx: &'a mut Tx) -> JobFuture<'a>;
}

struct WithState<S, F> {
    state: S,
    job: F,
}

impl<S, T, F> Job for WithState<S, F>
where
    S: Send + Sync,
    T: Send + 'static,
    F: for<'a> Fn(&'a mut Tx, &'a S) -> WriteFuture<'a, T> + Send + Sync,
{
    fn run<'a>(&'a self, tx: &'a mut Tx) -> JobFuture<'a> {
        let run = (self.job)(tx, &self.state);
        Box::pin(async move { run.await.map(|v| Box::new(v) as Boxed) })
    }
}

struct Queued {
    job: Box<dyn Job>,
    reply: oneshot::Sender<StoreResult<Boxed>>,
}

/// The queue in front of the one SQLite writer.
#[derive(Clone)]
pub struct BatchWriter {
    queue: mpsc::Sender<Queued>,
}

const MAX_BATCH: usize = 512;

/// The least time between two checkpoints of the group commit's WAL. Short, so that the frames
/// left for the writer's own checkpoint (it alone can let the WAL start over) stay few: at 100 ms
/// that remainder, copied inside a commit while its batch waited, made the p99 of quotes 8 ms
/// against 4.5–5 ms at 5 ms, and checkouts ran 5–10% slower.
const CHECKPOINT_SPACING: std::time::Duration = std::time::Duration::from_millis(5);

impl BatchWriter {
    /// Starts the writer's thread on `connection`, and beside it the thread that checkpoints
    /// after its commits; both end when the last handle is dropped.
    pub(crate) fn spawn(connection: Handle, mut checkpointer: Checkpointer) -> StoreResult<Self> {
        let (queue, mut waiting) = mpsc::channel::<Queued>(8192);
        // One pending request at most: commits made while a checkpoint runs are taken up by the
        // next one.
        let (committed, commits) = std::sync::mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while commits.recv().is_ok() {
                    checkpointer.run();
                    // Commits in the meantime are taken up together.
                    std::thread::sleep(CHECKPOINT_SPACING);
                }
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("the SQLite checkpointer did not start: {e}"))
            })?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                let mut conn = Conn::Sqlite(Lease::owned(connection));
                let mut batch = Vec::with_capacity(MAX_BATCH);
                while let Some(first) = waiting.blocking_recv() {
                    batch.push(first);
                    while batch.len() < MAX_BATCH
                        && let Ok(next) = waiting.try_recv()
                    {
                        batch.push(next);
                    }
                    let jobs = std::mem::take(&mut batch);
                    // A panicking job fails its batch (its callers see the writer stop), not
                    // the writer: the transaction it left open is rolled back.
                    let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        run_batch(&mut conn, jobs);
                    }));
                    if run.is_err() {
                        let _ = control(&mut conn, "ROLLBACK");
                    }
                    let _ = committed.try_send(());
                }
            })
            .map_err(|e| {
                StoreError::Unavailable(format!("the SQLite writer did not start: {e}"))
            })?;
        Ok(Self { queue })
    }
}

/// Runs a future that cannot wait (a SQLite statement or job) to its end on this thread.
fn finish<T>(future: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(outcome) => outcome,
        Poll::Pending => Err(StoreError::Unavailable(
            "a write job waited on something other than SQLite".into(),
        )),
    }
}

fn control(conn: &mut Conn, statement: &str) -> StoreResult<()> {
    finish(sql::query(statement).execute(conn)).map(|_| ())
}

fn run_batch(conn: &mut Tx, batch: Vec<Queued>) {
    let (jobs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|q| (q.job, q.reply)).unzip();
    let outcomes = match run_straight(conn, &jobs) {
        Straight::Done(outcomes) => outcomes,
        Straight::Failed { error } if jobs.len() == 1 => vec![Err(error)],
        Straight::Failed { .. } => run_guarded(conn, &jobs),
    };
    // The jobs' states go before the answers, so that a caller gets back sole ownership of
    // anything it shared with its job.
    drop(jobs);
    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        let _ = reply.send(outcome);
    }
}

enum Straight {
    /// Committed (or failed as a whole): one outcome per job.
    Done(Vec<StoreResult<Boxed>>),
    /// A job failed and the transaction was rolled back.
    Failed { error: StoreError },
}

/// Runs the jobs back to back in one transaction and commits them if none fails.
fn run_straight(conn: &mut Tx, jobs: &[Box<dyn Job>]) -> Straight {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        return Straight::Done(failed_all(jobs.len(), &e.to_string()));
    }
    let mut values = Vec::with_capacity(jobs.len());
    for job in jobs {
        match finish(job.run(conn)) {
            Ok(value) => values.push(value),
            Err(error) => {
                if let Err(e) = control(conn, "ROLLBACK") {
                    let detail = format!("the batch's transaction failed: {e}");
                    return Straight::Done(failed_all(jobs.len(), &detail));
                }
                return Straight::Failed { error };
            }
        }
    }
    Straight::Done(match commit(conn) {
        Ok(()) => values.into_iter().map(Ok).collect(),
        Err(e) => failed_all(jobs.len(), &format!("the batch's commit failed: {e}")),
    })
}

/// Commits; a failed commit leaves no transaction open behind it.
fn commit(conn: &mut Conn) -> StoreResult<()> {
    control(conn, "COMMIT").inspect_err(|_| {
        let _ = control(conn, "ROLLBACK");
    })
}

/// Runs each job in a savepoint, so that a failing one undoes only itself.
fn run_guarded(conn: &mut Tx, jobs: &[Box<dyn Job>]) -> Vec<StoreResult<Boxed>> {
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        return failed_all(jobs.len(), &e.to_string());
    }
    let mut outcomes: Vec<StoreResult<Boxed>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let guarded = control(conn, "SAVEPOINT job").and_then(|()| {
            let outcome = finish(job.run(conn));
            let end = match outcome {
                Ok(_) => "RELEASE SAVEPOINT job",
                Err(_) => "ROLLBACK TO SAVEPOINT job",
            };
            control(conn, end)?;
            if outcome.is_err() {
                control(conn, "RELEASE SAVEPOINT job")?;
            }
            Ok(outcome)
        });
        match guarded {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                // The transaction's state is unknown: nothing of this batch is kept.
                let _ = control(conn, "ROLLBACK");
                return failed_all(jobs.len(), &format!("the batch's transaction failed: {e}"));
            }
        }
    }
    match commit(conn) {
        Ok(()) => outcomes,
        Err(e) => {
            let detail = format!("the batch's commit failed: {e}");
            outcomes
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(_) => Err(StoreError::Unavailable(detail.clone())),
                    Err(e) => Err(e),
                })
                .collect()
        }
    }
}

fn failed_all(jobs: usize, detail: &str) -> Vec<StoreResult<Boxed>> {
    (0..jobs)
        .map(|_| Err(StoreError::Unavailable(detail.to_owned())))
        .collect()
}

impl Store {
    /// Runs `job` on `state` in a durable write transaction: on SQLite batched with other jobs
    /// (group commit, see the module; the job may run twice, only the committed run answers),
    /// on PostgreSQL once, in a transaction of its own.
    pub(crate) async fn write<S, T, F>(&self, state: S, job: F) -> StoreResult<T>
    where
        S: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a mut Tx, &'a S) -> WriteFuture<'a, T> + Send + Sync + 'static,
    {
        match self.batch_writer() {
            Some(writer) => {
                let (reply, answer) = oneshot::channel();
                let job = Box::new(WithState { state, job });
                writer
                    .queue
                    .send(Queued { job, reply })
                    .await
                    .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
                let boxed = answer
                    .await
                    .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))??;
                boxed.downcast::<T>().map(|b| *b).map_err(|_| {
                    StoreError::Unavailable("a job answered with the wrong type".into())
                })
            }
            None => {
                let mut tx = Conn::Tx(self.begin_write().await?);
                let value = job(&mut tx, &state).await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sql;
    use crate::testing::{StoreFixture, TestDatabase};
    use crate::{Backend, Store, StoreError, on_both_backends};

    /// Runs `statement` as one write job, with `body` bound to its `$1` when given.
    async fn write_one(store: &Store, statement: &'static str, body: Option<String>) {
        store
            .write(body, move |tx, body| {
                Box::pin(async move {
                    let mut query = sql::query(statement);
                    if let Some(body) = body {
                        query = query.bind(body.clone());
                    }
                    query.execute(tx).await?;
                    Ok(())
                })
            })
            .await
            .unwrap();
    }

    /// The thread beside the group commit's writer checkpoints after commits, so what is
    /// committed reaches the database file without waiting for the WAL to reach SQLite's own
    /// checkpoint (1,000 pages) or the store to close.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_reach_the_database_file_beside_the_writer() {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let store = db.store().await;
        let file = std::path::PathBuf::from(db.url.trim_start_matches("sqlite://"));
        let size = || std::fs::metadata(&file).unwrap().len();
        write_one(
            &store,
            "CREATE TABLE checkpoint_probe (body TEXT NOT NULL)",
            None,
        )
        .await;
        let before = size();
        // 100 rows of 8 KB: about 200 pages, far below the 1,000 of SQLite's own checkpoints.
        for n in 0..100 {
            let body = format!("{n:08}").repeat(1024);
            write_one(
                &store,
                "INSERT INTO checkpoint_probe (body) VALUES ($1)",
                Some(body),
            )
            .await;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while size() < before + 600_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {} bytes (from {before}): nothing was checkpointed",
                size()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Under writes that never pause, the WAL still starts over: the writer's own checkpoint,
    /// between its transactions, finishes what the thread beside it copied. (A checkpoint
    /// beside a busy writer alone is never complete when the next transaction starts, and the
    /// WAL grew without bound.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let store = db.store().await;
        let wal =
            std::path::PathBuf::from(format!("{}-wal", db.url.trim_start_matches("sqlite://")));
        write_one(&store, "CREATE TABLE wal_probe (body TEXT NOT NULL)", None).await;
        // 1,600 rows of 8 KB from 16 writers at once: about 3,200 pages, 13 MB, in a stream of
        // batches with no pause between them.
        let writers = (0..16).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..100 {
                    let body = format!("{w:04}{n:04}").repeat(1024);
                    write_one(
                        &store,
                        "INSERT INTO wal_probe (body) VALUES ($1)",
                        Some(body),
                    )
                    .await;
                }
            })
        });
        for writer in writers.collect::<Vec<_>>() {
            writer.await.unwrap();
        }
        let size = std::fs::metadata(&wal).unwrap().len();
        assert!(
            size < 9_000_000,
            "the WAL grew to {size} bytes for 13 MB written"
        );
    }

    on_both_backends! {
        /// Jobs written together share a transaction, but a failing job undoes only its own
        /// writes, wherever it falls in a batch (first, between others, or last); a job run again
        /// after another one failed leaves its writes once (the probe has no key to catch a
        /// second copy).
        async fn a_failing_write_job_undoes_only_itself(fx: StoreFixture) {
            sqlx::raw_sql("CREATE TABLE batch_probe (n BIGINT NOT NULL)")
                .execute(fx.store.pool())
                .await
                .unwrap();
            let jobs = (0..90_i64).map(|n| {
                let store = fx.store.clone();
                tokio::spawn(async move {
                    store
                        .write(n, |tx, &n| {
                            Box::pin(async move {
                                sql::query("INSERT INTO batch_probe (n) VALUES ($1)")
                                    .bind(n)
                                    .execute(tx)
                                    .await?;
                                if n % 3 == 0 {
                                    return Err(StoreError::Unavailable(format!("job {n} fails")));
                                }
                                Ok(n)
                            })
                        })
                        .await
                })
            });
            let mut kept = Vec::new();
            for (n, job) in jobs.collect::<Vec<_>>().into_iter().enumerate() {
                match job.await.unwrap() {
                    Ok(v) => kept.push(v),
                    Err(e) => assert_eq!(
                        e.to_string(),
                        StoreError::Unavailable(format!("job {n} fails")).to_string()
                    ),
                }
            }
            let expected: Vec<i64> = (0..90).filter(|n| n % 3 != 0).collect();
            assert_eq!(kept, expected);
            let stored: Vec<(i64,)> = sqlx::query_as("SELECT n FROM batch_probe ORDER BY n")
                .fetch_all(fx.store.pool())
                .await
                .unwrap();
            assert_eq!(stored.into_iter().map(|(n,)| n).collect::<Vec<_>>(), expected);
        }
    }
}
