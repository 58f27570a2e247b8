//! The category tree. Slugs are stable (products refer to them); a category's parent must exist
//! and the tree stays within the domain's depth limit.

use crate::audit::{self, AuditContext, Change};
use crate::sql::{self, Conn, row_struct};
use crate::values::uuid;
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::catalogue::Localized;
use pavilion_domain::catalogue::category::{CategoryDraft, MAX_DEPTH};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub id: Uuid,
    pub slug: String,
    pub parent: Option<String>,
    pub names: Localized,
    pub position: u32,
}

row_struct! {
    struct CategoryRow {
        id: String,
        slug: String,
        parent: Option<String>,
        names: String,
        position: i64,
    }
}

const T: &str = "categories";

impl TryFrom<CategoryRow> for Category {
    type Error = StoreError;
    fn try_from(r: CategoryRow) -> StoreResult<Self> {
        Ok(Category {
            id: uuid(T, &r.id)?,
            slug: r.slug,
            parent: r.parent,
            names: serde_json::from_str(&r.names).map_err(|e| StoreError::corrupt(T, e))?,
            position: u32::try_from(r.position).map_err(|e| StoreError::corrupt(T, e))?,
        })
    }
}

/// Every category, parents before children, siblings by position.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    pub categories: Vec<Category>,
    by_slug: HashMap<String, usize>,
}

impl CategoryTree {
    fn new(mut categories: Vec<Category>) -> Self {
        // Order: depth first from the roots, so a listing reads as the tree.
        let mut children: HashMap<Option<String>, Vec<Category>> = HashMap::new();
        for c in categories.drain(..) {
            children.entry(c.parent.clone()).or_default().push(c);
        }
        for list in children.values_mut() {
            list.sort_by(|a, b| (a.position, &a.slug).cmp(&(b.position, &b.slug)));
        }
        let mut ordered = Vec::new();
        let mut stack: Vec<Category> = children.remove(&None).unwrap_or_default();
        stack.reverse();
        while let Some(c) = stack.pop() {
            if let Some(mut kids) = children.remove(&Some(c.slug.clone())) {
                kids.reverse();
                stack.extend(kids);
            }
            ordered.push(c);
        }
        let by_slug = ordered
            .iter()
            .enumerate()
            .map(|(i, c)| (c.slug.clone(), i))
            .collect();
        CategoryTree {
            categories: ordered,
            by_slug,
        }
    }

    pub fn get(&self, slug: &str) -> Option<&Category> {
        self.by_slug.get(slug).map(|i| &self.categories[*i])
    }

    /// The category and its ancestors, root first (empty for an unknown slug).
    pub fn path(&self, slug: &str) -> Vec<&Category> {
        let mut path = Vec::new();
        let mut next = self.get(slug);
        while let Some(c) = next {
            if path.len() > MAX_DEPTH {
                break;
            }
            path.push(c);
            next = c.parent.as_deref().and_then(|p| self.get(p));
        }
        path.reverse();
        path
    }
}

impl Store {
    pub async fn create_category(
        &self,
        ctx: &AuditContext,
        draft: &CategoryDraft,
    ) -> StoreResult<Category> {
        self.write((ctx.clone(), draft.clone()), |tx, (ctx, draft)| {
            Box::pin(create_category_in(tx, ctx, draft))
        })
        .await
    }

    /// The whole tree (it is small: hundreds of nodes, read whole and cached by callers).
    pub async fn category_tree(&self) -> StoreResult<CategoryTree> {
        let rows: Vec<CategoryRow> = sql::query_as(
            "SELECT c.id, c.slug, p.slug AS parent, c.names, c.position \
             FROM categories c LEFT JOIN categories p ON p.id = c.parent_id",
        )
        .fetch_all(&mut self.reader().await?)
        .await?;
        let categories = rows
            .into_iter()
            .map(Category::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(CategoryTree::new(categories))
    }
}

/// How many ancestors the category `id` has, counting itself.
async fn ancestors(tx: &mut Conn, id: &str) -> StoreResult<usize> {
    let mut depth = 0;
    let mut next = Some(id.to_owned());
    while let Some(current) = next {
        depth += 1;
        if depth > MAX_DEPTH {
            break;
        }
        let row: Option<(Option<String>,)> =
            sql::query_as("SELECT parent_id FROM categories WHERE id = $1")
                .bind(current)
                .fetch_optional(tx)
                .await?;
        next = row.and_then(|(p,)| p);
    }
    Ok(depth)
}

async fn create_category_in(
    tx: &mut Conn,
    ctx: &AuditContext,
    draft: &CategoryDraft,
) -> StoreResult<Category> {
    let id = Uuid::now_v7();
    let mut parent_id = None;
    if let Some(parent) = &draft.parent {
        let row: Option<(String,)> = sql::query_as("SELECT id FROM categories WHERE slug = $1")
            .bind(parent)
            .fetch_optional(tx)
            .await?;
        let Some((pid,)) = row else {
            return Err(StoreError::Rule {
                field: "parent",
                detail: format!("there is no category {parent:?}"),
            });
        };
        let depth = ancestors(tx, &pid).await?;
        if depth + 1 >= MAX_DEPTH {
            return Err(StoreError::Rule {
                field: "parent",
                detail: format!("categories nest at most {MAX_DEPTH} deep"),
            });
        }
        parent_id = Some(pid);
    }
    let names = serde_json::to_string(&draft.names).map_err(|e| StoreError::corrupt(T, e))?;
    sql::query(
        "INSERT INTO categories (id, slug, parent_id, names, position, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(&draft.slug)
    .bind(parent_id)
    .bind(names)
    .bind(i64::from(draft.position))
    .bind(Timestamp::now().to_stored())
    .execute(tx)
    .await
    .map_err(StoreError::unique_as("slug"))?;
    let category = Category {
        id,
        slug: draft.slug.clone(),
        parent: draft.parent.clone(),
        names: draft.names.clone(),
        position: draft.position,
    };
    audit::record(
        tx,
        ctx,
        Change::created("category.create", "category", id.to_string(), &category),
    )
    .await?;
    Ok(category)
}
