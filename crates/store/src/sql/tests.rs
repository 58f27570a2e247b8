use super::{Conn, query, query_as};
use crate::testing::StoreFixture;
use crate::{Backend, StoreError, on_both_backends};

async fn probe_table(fx: &StoreFixture) {
    sqlx::raw_sql(
        "CREATE TABLE sql_parent (id BIGINT PRIMARY KEY); \
         CREATE TABLE sql_probe (id BIGINT PRIMARY KEY, n BIGINT, t TEXT, b BOOLEAN, \
         parent BIGINT REFERENCES sql_parent (id))",
    )
    .execute(fx.store.pool())
    .await
    .unwrap();
}

async fn insert(conn: &mut Conn, id: i64, parent: Option<i64>) -> Result<(), StoreError> {
    query("INSERT INTO sql_probe (id, n, t, b, parent) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(None::<i64>)
        .bind(None::<&str>)
        .bind(Some(true))
        .bind(parent)
        .execute(conn)
        .await
        .map(|_| ())
}

on_both_backends! {
    /// `$n` is the n-th argument wherever it appears, as with sqlx (SQLite alone would number
    /// named parameters by first appearance).
    async fn placeholders_bind_by_number(fx: StoreFixture) {
        let mut conn = fx.store.reader().await.unwrap();
        let (joined, n): (String, i64) = query_as("SELECT $2 || '-' || $1, $3 + $3")
            .bind("a")
            .bind("b")
            .bind(20_i64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((joined.as_str(), n), ("b-a", 40));
    }

    /// NULLs of each kind are accepted by PostgreSQL's typed columns and read back as `None`;
    /// booleans round-trip on both backends.
    async fn nulls_and_booleans_round_trip(fx: StoreFixture) {
        probe_table(&fx).await;
        fx.store
            .write((), |tx, ()| Box::pin(insert(tx, 1, None)))
            .await
            .unwrap();
        let mut conn = fx.store.reader().await.unwrap();
        let row: (Option<i64>, Option<String>, bool, Option<i64>) =
            query_as("SELECT n, t, b, parent FROM sql_probe WHERE id = $1")
                .bind(1_i64)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(row, (None, None, true, None));
        let missing = query("SELECT n FROM sql_probe WHERE id = $1")
            .bind(2_i64)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        assert!(missing.is_none());
    }

    /// Constraint violations are recognised the same way on both backends, and a failed job
    /// leaves nothing behind.
    async fn constraint_violations_are_recognised(fx: StoreFixture) {
        probe_table(&fx).await;
        fx.store
            .write((), |tx, ()| Box::pin(insert(tx, 1, None)))
            .await
            .unwrap();
        let twice = fx.store.write((), |tx, ()| Box::pin(insert(tx, 1, None))).await;
        assert!(twice.as_ref().is_err_and(StoreError::is_unique_violation), "{twice:?}");
        assert!(matches!(
            twice.map_err(StoreError::unique_as("id")),
            Err(StoreError::Conflict { field: "id" })
        ));
        let orphan = fx.store.write((), |tx, ()| Box::pin(insert(tx, 2, Some(99)))).await;
        assert!(orphan.as_ref().is_err_and(StoreError::is_foreign_key_violation), "{orphan:?}");
        let (count,): (i64,) = query_as("SELECT COUNT(*) FROM sql_probe")
            .fetch_one(&mut fx.store.reader().await.unwrap())
            .await
            .unwrap();
        assert_eq!(count, 1);
    }

    /// On SQLite a reader cannot write (it would take the lock from the group commit), and a
    /// job that waits on anything but SQLite is refused instead of stalling the writer.
    async fn sqlite_readers_and_jobs_keep_to_their_place(fx: StoreFixture) {
        probe_table(&fx).await;
        let mut reader = fx.store.reader().await.unwrap();
        let written = insert(&mut reader, 1, None).await;
        let waited = fx
            .store
            .write((), |_, ()| {
                Box::pin(async {
                    tokio::task::yield_now().await;
                    Ok(())
                })
            })
            .await;
        if fx.store.backend() == Backend::Sqlite {
            assert!(written.is_err());
            assert!(matches!(waited, Err(StoreError::Unavailable(_))), "{waited:?}");
        } else {
            assert!(written.is_ok());
            assert!(waited.is_ok());
        }
    }
}
