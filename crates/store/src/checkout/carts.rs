//! Carts: a buyer's chosen products for one destination and currency, held by a signed-in user
//! or by whoever has the cart's token.

use crate::quotes::{StoredQuote, insert_quotes, pack_quote};
use crate::sql::{self, Conn};
use crate::values::{date_text, parse_date, uuid};
use crate::{Store, StoreError, StoreResult, Timestamp};
use pavilion_domain::{Country, Currency};
use serde::Serialize;
use std::sync::Arc;
use time::Date;
use uuid::Uuid;

const T: &str = "carts";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CartLine {
    pub product_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub departure_date: Option<Date>,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cart {
    pub id: Uuid,
    #[serde(skip)]
    pub owner_user_id: Option<Uuid>,
    #[serde(skip)]
    pub token_hash: String,
    pub destination: Country,
    pub currency: Currency,
    pub lines: Vec<CartLine>,
    pub checked_out: bool,
    pub version: i64,
}

/// owner, token hash, destination, currency, checked out at, version
/// A cart's row joined with one of its lines (absent for a cart without lines).
type CartLineRow = (
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn bad(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(T, e)
}

impl Store {
    pub async fn create_cart(
        &self,
        owner: Option<Uuid>,
        token_hash: &str,
        destination: Country,
        currency: Currency,
    ) -> StoreResult<Cart> {
        let cart = Cart {
            id: Uuid::now_v7(),
            owner_user_id: owner,
            token_hash: token_hash.to_owned(),
            destination,
            currency,
            lines: Vec::new(),
            checked_out: false,
            version: 1,
        };
        self.write(cart, |tx, cart| {
            Box::pin(async move {
                let now = Timestamp::now().to_stored();
                sql::query(
                    "INSERT INTO carts (id, owner_user_id, token_hash, destination, currency, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
                )
                .bind(cart.id.to_string())
                .bind(cart.owner_user_id.map(|u| u.to_string()))
                .bind(cart.token_hash.clone())
                .bind(cart.destination.code())
                .bind(cart.currency.code())
                .bind(now)
                .execute(tx)
                .await?;
                Ok(cart.clone())
            })
        })
        .await
    }

    /// The cart and its lines, in one statement (the cart's columns repeat on each line).
    pub async fn cart(&self, id: Uuid) -> StoreResult<Cart> {
        let rows: Vec<CartLineRow> = sql::query_as(
            "SELECT c.owner_user_id, c.token_hash, c.destination, c.currency, c.checked_out_at, c.version, \
                    l.product_id, l.variant_sku, l.departure_date, l.quantity \
             FROM carts c LEFT JOIN cart_lines l ON l.cart_id = c.id \
             WHERE c.id = $1 \
             ORDER BY l.added_at, l.product_id, l.variant_sku, l.departure_date",
        )
        .bind(id.to_string())
        .fetch_all(&mut self.reader().await?)
        .await?;
        let (owner, token_hash, destination, currency, checked_out, version, ..) = rows
            .first()
            .cloned()
            .ok_or(StoreError::NotFound { entity: "cart" })?;
        let lines: Vec<(String, String, String, i64)> = rows
            .into_iter()
            .filter_map(|(.., product, sku, date, quantity)| {
                Some((product?, sku?, date?, quantity?))
            })
            .collect();
        Ok(Cart {
            id,
            owner_user_id: owner.map(|o| uuid(T, &o)).transpose()?,
            token_hash,
            destination: destination.parse().map_err(bad)?,
            currency: currency.parse().map_err(bad)?,
            lines: lines
                .into_iter()
                .map(|(p, sku, date, q)| {
                    Ok(CartLine {
                        product_id: uuid(T, &p)?,
                        variant_sku: (!sku.is_empty()).then_some(sku),
                        departure_date: if date.is_empty() {
                            None
                        } else {
                            Some(parse_date(T, &date)?)
                        },
                        quantity: u32::try_from(q).map_err(bad)?,
                    })
                })
                .collect::<StoreResult<_>>()?,
            checked_out: checked_out.is_some(),
            version,
        })
    }

    /// Sets a line's quantity (0 removes it) in `cart` as the caller read it, and returns the
    /// cart after the change. A checked-out cart no longer changes.
    pub async fn set_cart_line(&self, cart: &Cart, line: &CartLine) -> StoreResult<Cart> {
        Ok(self.set_cart_line_quoted(cart, line, None).await?.0)
    }

    /// [`Store::set_cart_line`], storing in the same transaction `quote`, made by the caller for
    /// the cart after the change ([`Cart::with_line`]), so that the change and its quote cost
    /// one commit. The quote is stored, and handed back, only if nobody changed the cart since
    /// the caller read it; otherwise the cart as it is now comes back alone, for a quote of its
    /// own.
    pub async fn set_cart_line_quoted(
        &self,
        cart: &Cart,
        line: &CartLine,
        quote: Option<StoredQuote>,
    ) -> StoreResult<(Cart, Option<StoredQuote>)> {
        let packed = quote.as_ref().map(pack_quote);
        // Shared with the job, and the caller's alone again once the writer answered.
        let quote = Arc::new(quote);
        let state = (cart.id, cart.version, line.clone(), quote.clone(), packed);
        let unchanged = self
            .write(state, |tx, (id, version, line, quote, packed)| {
                Box::pin(async move {
                    let unchanged = set_line_in(tx, *id, *version, line).await?;
                    if let (true, Some(quote), Some(packed)) = (unchanged, &**quote, packed) {
                        insert_quotes(
                            tx,
                            std::slice::from_ref(quote),
                            std::slice::from_ref(packed),
                        )
                        .await?;
                    }
                    Ok(unchanged)
                })
            })
            .await?;
        if !unchanged {
            // Someone else changed the cart since the caller read it: read what it is now.
            return Ok((self.cart(cart.id).await?, None));
        }
        let quote = Arc::try_unwrap(quote).unwrap_or_else(|q| (*q).clone());
        Ok((cart.with_line(line), quote))
    }
}

impl Cart {
    /// The cart after setting `line` (0 removes it), as [`Store::set_cart_line`] leaves it when
    /// nobody else changed it meanwhile.
    pub fn with_line(&self, line: &CartLine) -> Cart {
        let mut after = self.clone();
        after.version += 1;
        let same = |l: &CartLine| {
            l.product_id == line.product_id
                && l.variant_sku == line.variant_sku
                && l.departure_date == line.departure_date
        };
        match after.lines.iter().position(same) {
            Some(i) if line.quantity == 0 => {
                after.lines.remove(i);
            }
            Some(i) => after.lines[i].quantity = line.quantity,
            // Lines are listed in the order they were added.
            None if line.quantity > 0 => after.lines.push(line.clone()),
            None => {}
        }
        after
    }
}

/// Returns whether the cart was still at `version` (so that the caller knows the cart after
/// the change without reading it again).
async fn set_line_in(
    tx: &mut Conn,
    cart_id: Uuid,
    version: i64,
    line: &CartLine,
) -> StoreResult<bool> {
    let bumped: Option<(i64,)> = sql::query_as(
        "UPDATE carts SET version = version + 1, updated_at = $1 WHERE id = $2 AND checked_out_at IS NULL \
         RETURNING version",
    )
    .bind(Timestamp::now().to_stored())
    .bind(cart_id.to_string())
    .fetch_optional(tx)
    .await?;
    let Some((bumped_to,)) = bumped else {
        let exists: Option<(String,)> = sql::query_as("SELECT id FROM carts WHERE id = $1")
            .bind(cart_id.to_string())
            .fetch_optional(tx)
            .await?;
        return Err(match exists {
            None => StoreError::NotFound { entity: "cart" },
            Some(_) => StoreError::InvalidState {
                detail: "the cart is checked out; start a new one".into(),
            },
        });
    };
    let sku = line.variant_sku.clone().unwrap_or_default();
    let date = line.departure_date.map(date_text).unwrap_or_default();
    if line.quantity == 0 {
        sql::query(
            "DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2 AND variant_sku = $3 AND departure_date = $4",
        )
        .bind(cart_id.to_string())
        .bind(line.product_id.to_string())
        .bind(sku)
        .bind(date)
        .execute(tx)
        .await?;
    } else {
        sql::query(
            "INSERT INTO cart_lines (cart_id, product_id, variant_sku, departure_date, quantity, added_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (cart_id, product_id, variant_sku, departure_date) DO UPDATE SET quantity = excluded.quantity",
        )
        .bind(cart_id.to_string())
        .bind(line.product_id.to_string())
        .bind(sku)
        .bind(date)
        .bind(i64::from(line.quantity))
        .bind(Timestamp::now().to_stored())
        .execute(tx)
        .await
        .map_err(|e| {
            if e.is_foreign_key_violation() {
                StoreError::Rule {
                    field: "product_id",
                    detail: format!("there is no product {}", line.product_id),
                }
            } else {
                e
            }
        })?;
    }
    Ok(bumped_to == version + 1)
}
