//! Stored quotes and imported rule packs. The store keeps them as JSON documents: the engine in
//! the domain crate owns their shape.

use crate::audit::{self, AuditContext, Change};
use crate::values::uuid;
use crate::{Store, StoreError, StoreResult, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredQuote {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub created_by: Option<Uuid>,
    pub input: serde_json::Value,
    pub output: serde_json::Value,
}

/// A rule pack's files (file name → text) as an administrator imported them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedPack {
    pub pack: String,
    pub files: BTreeMap<String, String>,
    pub version: i64,
    pub imported_at: Timestamp,
}

impl Store {
    pub async fn save_quote(
        &self,
        created_by: Option<Uuid>,
        expires_at: Timestamp,
        input: &serde_json::Value,
        output: &serde_json::Value,
    ) -> StoreResult<StoredQuote> {
        let quote = StoredQuote {
            id: Uuid::now_v7(),
            created_at: Timestamp::now(),
            expires_at,
            created_by,
            input: input.clone(),
            output: output.clone(),
        };
        // A quote lost in a machine crash is asked for again; nothing is charged from it alone.
        let mut tx = self.begin_ephemeral().await?;
        sqlx::query(
            "INSERT INTO quotes (id, created_at, expires_at, created_by, input, output) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(quote.id.to_string())
        .bind(quote.created_at.to_stored())
        .bind(quote.expires_at.to_stored())
        .bind(created_by.map(|u| u.to_string()))
        .bind(input.to_string())
        .bind(output.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(quote)
    }

    pub async fn quote(&self, id: Uuid) -> StoreResult<StoredQuote> {
        let row: Option<(String, String, String, Option<String>, String, String)> = sqlx::query_as(
            "SELECT id, created_at, expires_at, created_by, input, output FROM quotes WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?;
        let (id, created_at, expires_at, created_by, input, output) =
            row.ok_or(StoreError::NotFound { entity: "quote" })?;
        let bad = |e: &dyn std::fmt::Display| StoreError::corrupt("quotes", e);
        Ok(StoredQuote {
            id: uuid("quotes", &id)?,
            created_at: Timestamp::from_stored(&created_at).map_err(|e| bad(&e))?,
            expires_at: Timestamp::from_stored(&expires_at).map_err(|e| bad(&e))?,
            created_by: created_by.map(|u| uuid("quotes", &u)).transpose()?,
            input: serde_json::from_str(&input).map_err(|e| bad(&e))?,
            output: serde_json::from_str(&output).map_err(|e| bad(&e))?,
        })
    }

    /// Replaces a rule pack's imported files (already validated by the caller) and bumps its version.
    pub async fn import_rule_pack(
        &self,
        ctx: &AuditContext,
        pack: &str,
        files: &BTreeMap<String, String>,
    ) -> StoreResult<ImportedPack> {
        let mut tx = self.begin_write().await?;
        let (version,): (i64,) =
            sqlx::query_as("SELECT COALESCE(MAX(version), 0) + 1 FROM rule_packs")
                .fetch_one(&mut *tx)
                .await?;
        let imported = ImportedPack {
            pack: pack.to_owned(),
            files: files.clone(),
            version,
            imported_at: Timestamp::now(),
        };
        sqlx::query(
            "INSERT INTO rule_packs (pack, files, version, imported_at, imported_by) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (pack) DO UPDATE SET files = excluded.files, version = excluded.version, \
             imported_at = excluded.imported_at, imported_by = excluded.imported_by",
        )
        .bind(pack.to_owned())
        .bind(serde_json::to_string(files).map_err(|e| StoreError::corrupt("rule_packs", e))?)
        .bind(version)
        .bind(imported.imported_at.to_stored())
        .bind(ctx.actor_user_id.map(|u| u.to_string()))
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, ctx, Change {
            action: "rule_pack.import",
            entity_type: "rule_pack",
            entity_id: pack.to_owned(),
            before: None,
            after: Some(&serde_json::json!({"version": version, "files": files.keys().collect::<Vec<_>>()})),
        })
        .await?;
        tx.commit().await?;
        Ok(imported)
    }

    /// Every imported pack, and the highest version (0 when none): servers compare it to reload.
    pub async fn imported_rule_packs(&self) -> StoreResult<(i64, Vec<ImportedPack>)> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT pack, files, version, imported_at FROM rule_packs ORDER BY pack",
        )
        .fetch_all(self.pool())
        .await?;
        let mut max = 0;
        let packs = rows
            .into_iter()
            .map(|(pack, files, version, at)| {
                max = max.max(version);
                Ok(ImportedPack {
                    pack,
                    files: serde_json::from_str(&files)
                        .map_err(|e| StoreError::corrupt("rule_packs", e))?,
                    version,
                    imported_at: Timestamp::from_stored(&at)
                        .map_err(|e| StoreError::corrupt("rule_packs", e))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((max, packs))
    }

    /// The highest imported rule-pack version, cheap enough to poll.
    pub async fn rule_packs_version(&self) -> StoreResult<i64> {
        let (v,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM rule_packs")
            .fetch_one(self.pool())
            .await?;
        Ok(v)
    }
}
