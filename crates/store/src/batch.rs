//! Group commit for SQLite: durable writes from many requests share one transaction and one
//! fsync; the results are handed out only after the commit succeeded.
//!
//! SQLite has one writer at a time and a durable commit waits for the disk (milliseconds), so
//! one commit per request caps a server at a few hundred writes per second. PostgreSQL commits
//! concurrent transactions in groups by itself; there, jobs run in their own transactions.
//!
//! A batch first runs its jobs one after another with nothing between them: every statement is
//! a round trip to the connection's thread, and most batches have no failing job. When a job
//! fails, that transaction is rolled back and the batch runs again with each job in a savepoint,
//! so a failing job undoes only itself. A job is therefore a function of its state, which may
//! run twice; only the run that commits answers.

use crate::{Backend, Store, StoreError, StoreResult};
use sqlx::{Any, Transaction};
use std::any::Any as AnyValue;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

type Boxed = Box<dyn AnyValue + Send>;
type Tx = Transaction<'static, Any>;
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

impl BatchWriter {
    pub(crate) fn spawn(store: Store) -> Self {
        let (queue, mut waiting) = mpsc::channel::<Queued>(8192);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
                run_batch(&store, std::mem::take(&mut batch)).await;
            }
        });
        Self { queue }
    }
}

async fn run_batch(store: &Store, batch: Vec<Queued>) {
    let (jobs, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|q| (q.job, q.reply)).unzip();
    let outcomes = match run_straight(store, &jobs).await {
        Straight::Done(outcomes) => outcomes,
        Straight::Failed { error } if jobs.len() == 1 => vec![Err(error)],
        Straight::Failed { .. } => run_guarded(store, &jobs).await,
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
async fn run_straight(store: &Store, jobs: &[Box<dyn Job>]) -> Straight {
    let mut tx = match store.begin_write().await {
        Ok(tx) => tx,
        Err(e) => return Straight::Done(failed_all(jobs.len(), &e.to_string())),
    };
    let mut values = Vec::with_capacity(jobs.len());
    for job in jobs {
        match job.run(&mut tx).await {
            Ok(value) => values.push(value),
            Err(error) => {
                if let Err(e) = tx.rollback().await {
                    let detail = format!("the batch's transaction failed: {e}");
                    return Straight::Done(failed_all(jobs.len(), &detail));
                }
                return Straight::Failed { error };
            }
        }
    }
    Straight::Done(match tx.commit().await {
        Ok(()) => values.into_iter().map(Ok).collect(),
        Err(e) => failed_all(jobs.len(), &format!("the batch's commit failed: {e}")),
    })
}

/// Runs each job in a savepoint, so that a failing one undoes only itself.
async fn run_guarded(store: &Store, jobs: &[Box<dyn Job>]) -> Vec<StoreResult<Boxed>> {
    let mut tx = match store.begin_write().await {
        Ok(tx) => tx,
        Err(e) => return failed_all(jobs.len(), &e.to_string()),
    };
    // Each job's savepoint is released and the next one opened in one call (each call is a
    // round trip to the connection's thread); the last is released by the commit.
    let mut outcomes: Vec<StoreResult<Boxed>> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let between = match outcomes.last() {
            None => "SAVEPOINT job",
            Some(Ok(_)) => "RELEASE SAVEPOINT job; SAVEPOINT job",
            Some(Err(_)) => "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job; SAVEPOINT job",
        };
        if let Err(e) = sqlx::raw_sql(between).execute(&mut *tx).await {
            // The transaction's state is unknown: nothing of this batch is kept.
            return failed_all(jobs.len(), &format!("the batch's transaction failed: {e}"));
        }
        outcomes.push(job.run(&mut tx).await);
    }
    if let Some(Err(_)) = outcomes.last()
        && let Err(e) = sqlx::raw_sql("ROLLBACK TO SAVEPOINT job")
            .execute(&mut *tx)
            .await
    {
        return failed_all(jobs.len(), &format!("the batch's transaction failed: {e}"));
    }
    match tx.commit().await {
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
    pub async fn write<S, T, F>(&self, state: S, job: F) -> StoreResult<T>
    where
        S: Send + Sync + 'static,
        T: Send + 'static,
        F: for<'a> Fn(&'a mut Tx, &'a S) -> WriteFuture<'a, T> + Send + Sync + 'static,
    {
        match (self.backend(), self.batch_writer()) {
            (Backend::Sqlite, Some(writer)) => {
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
            _ => {
                let mut tx = self.begin_write().await?;
                let value = job(&mut tx, &state).await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    }
}
