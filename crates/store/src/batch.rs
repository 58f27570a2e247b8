//! Group commit for SQLite: durable writes from many requests share one transaction and one
//! fsync. Each job runs inside a savepoint, so one job's failure undoes only that job; the
//! results are handed out only after the commit succeeded.
//!
//! SQLite has one writer at a time and a durable commit waits for the disk (milliseconds), so
//! one commit per request caps a server at a few hundred writes per second. PostgreSQL commits
//! concurrent transactions in groups by itself; there, jobs run in their own transactions.

use crate::{Backend, Store, StoreError, StoreResult};
use sqlx::{Any, Transaction};
use std::any::Any as AnyValue;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

type Boxed = Box<dyn AnyValue + Send>;
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = StoreResult<Boxed>> + Send + 'a>>;
type Job = Box<dyn for<'a> FnOnce(&'a mut Transaction<'static, Any>) -> JobFuture<'a> + Send>;

struct Queued {
    job: Job,
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
    let mut tx = match store.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            let detail = e.to_string();
            for q in batch {
                let _ = q.reply.send(Err(StoreError::Unavailable(detail.clone())));
            }
            return;
        }
    };
    // Each job's savepoint is released and the next one opened in one call (each call is a
    // round trip to the connection's thread); the last is released by the commit.
    let mut outcomes: Vec<(oneshot::Sender<StoreResult<Boxed>>, StoreResult<Boxed>)> =
        Vec::with_capacity(batch.len());
    let mut batch = batch.into_iter();
    while let Some(q) = batch.next() {
        let between = match outcomes.last() {
            None => "SAVEPOINT job",
            Some((_, Ok(_))) => "RELEASE SAVEPOINT job; SAVEPOINT job",
            Some((_, Err(_))) => "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job; SAVEPOINT job",
        };
        if let Err(e) = sqlx::raw_sql(between).execute(&mut *tx).await {
            // The transaction's state is unknown: nothing of this batch is kept.
            let detail = format!("the batch's transaction failed: {e}");
            fail_all(outcomes.into_iter().map(|(reply, _)| reply), &detail);
            fail_all(
                std::iter::once(q.reply).chain(batch.map(|q| q.reply)),
                &detail,
            );
            return;
        }
        let result = (q.job)(&mut tx).await;
        outcomes.push((q.reply, result));
    }
    if let Some((_, Err(_))) = outcomes.last()
        && let Err(e) = sqlx::raw_sql("ROLLBACK TO SAVEPOINT job")
            .execute(&mut *tx)
            .await
    {
        let detail = format!("the batch's transaction failed: {e}");
        fail_all(outcomes.into_iter().map(|(reply, _)| reply), &detail);
        return;
    }
    match tx.commit().await {
        Ok(()) => {
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            let detail = e.to_string();
            for (reply, outcome) in outcomes {
                let _ = reply.send(match outcome {
                    Ok(_) => Err(StoreError::Unavailable(format!(
                        "the batch's commit failed: {detail}"
                    ))),
                    Err(e) => Err(e),
                });
            }
        }
    }
}

fn fail_all(replies: impl Iterator<Item = oneshot::Sender<StoreResult<Boxed>>>, detail: &str) {
    for reply in replies {
        let _ = reply.send(Err(StoreError::Unavailable(detail.to_owned())));
    }
}

impl Store {
    /// Runs `job` in a durable write transaction: on SQLite batched with other jobs (group
    /// commit, see the module), on PostgreSQL in a transaction of its own.
    pub async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(
                &'a mut Transaction<'static, Any>,
            ) -> Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>
            + Send
            + 'static,
    {
        match (self.backend(), self.batch_writer()) {
            (Backend::Sqlite, Some(writer)) => {
                let (reply, answer) = oneshot::channel();
                let job: Job = Box::new(move |tx| {
                    Box::pin(async move { job(tx).await.map(|v| Box::new(v) as Boxed) })
                });
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
                let value = job(&mut tx).await?;
                tx.commit().await?;
                Ok(value)
            }
        }
    }
}
