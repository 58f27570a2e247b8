//! Pricing a cart: its goods go through the landed-cost engine (duties, taxes, freight and
//! insurance to the cart's destination, in its currency); travel seats cross no customs and are
//! priced at the seat price, converted at the day's rate.

use crate::problem::{ApiError, ApiResult};
use crate::routes::quotes::compute;
use crate::state::AppState;
use pavilion_domain::catalogue::ProductKind;
use pavilion_domain::landed_cost::{
    BuyerKind, Incoterm, Measures, Quote, QuoteInput, QuoteLine, RequestedRegime, Transport,
    TransportMode,
};
use pavilion_domain::money::RoundingRule;
use pavilion_domain::{Money, Quantity, Unit};
use pavilion_store::catalogue::Product;
use pavilion_store::checkout::carts::{Cart, CartLine};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// A cart line with its product, and the price of one unit (the variant's, if it has its own).
#[derive(Debug, Clone)]
pub struct PricedLine {
    pub index: usize,
    pub line: CartLine,
    pub product: Product,
    pub unit_price: Money,
}

impl PricedLine {
    pub fn is_seat(&self) -> bool {
        self.product.draft.kind == ProductKind::TravelPackage
    }

    /// The title in the seller's own language.
    pub fn title(&self) -> String {
        let d = &self.product.draft;
        d.titles
            .get(&d.original_locale)
            .or_else(|| d.titles.values().next())
            .cloned()
            .unwrap_or_default()
    }

    fn weight_kg(&self) -> Option<Decimal> {
        let q = Decimal::from(self.line.quantity);
        let d = &self.product.draft;
        match d.unit {
            Unit::Kilogram => Some(q),
            Unit::Tonne => Some(q * Decimal::from(1000)),
            _ => {
                let variant = self
                    .line
                    .variant_sku
                    .as_deref()
                    .and_then(|sku| d.variant(sku))
                    .and_then(|v| v.weight_kg_per_unit);
                variant.or(d.weight_kg_per_unit).map(|w| w * q)
            }
        }
    }
}

fn line_problem(index: usize, field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::invalid(format!("lines[{index}].{field}"), detail)
}

/// Checks that `line` may be bought by consumers: on sale, sold retail, with a known variant or
/// departure; returns it with its unit price.
pub fn resolve(index: usize, line: &CartLine, product: &Product) -> ApiResult<PricedLine> {
    let d = &product.draft;
    if product.archived {
        return Err(line_problem(index, "product_id", "the product is off sale"));
    }
    let Some(price) = d.retail_price else {
        return Err(line_problem(
            index,
            "product_id",
            "the product is sold wholesale only (ask for a quote or an RFQ instead)",
        ));
    };
    let mut unit_price = price;
    match (&line.variant_sku, d.variants.is_empty()) {
        (None, false) => {
            return Err(line_problem(
                index,
                "variant_sku",
                "the product comes in variants: choose one",
            ));
        }
        (Some(_), true) => {
            return Err(line_problem(
                index,
                "variant_sku",
                "the product has no variants",
            ));
        }
        (Some(sku), false) => {
            let variant = d.variant(sku).ok_or_else(|| {
                line_problem(
                    index,
                    "variant_sku",
                    format!("the product has no variant {sku:?}"),
                )
            })?;
            unit_price = variant.retail_price.unwrap_or(price);
        }
        (None, true) => {}
    }
    let seat = d.kind == ProductKind::TravelPackage;
    match (line.departure_date, seat) {
        (None, true) => {
            return Err(line_problem(index, "departure_date", "choose a departure"));
        }
        (Some(date), true) if !d.departures.iter().any(|dep| dep.date == date) => {
            return Err(line_problem(
                index,
                "departure_date",
                format!("the package has no departure on {date}"),
            ));
        }
        (Some(_), false) => {
            return Err(line_problem(
                index,
                "departure_date",
                "only travel packages have departures",
            ));
        }
        _ => {}
    }
    let priced = PricedLine {
        index,
        line: line.clone(),
        product: product.clone(),
        unit_price,
    };
    if !seat && priced.weight_kg().is_none() {
        return Err(line_problem(
            index,
            "product_id",
            "the seller has not given the product's weight, which freight needs",
        ));
    }
    Ok(priced)
}

/// The cart's lines with their products, in cart order; `known` are products the caller has
/// just read (not read again).
pub async fn lines_of(
    state: &AppState,
    cart: &Cart,
    known: Option<Product>,
) -> ApiResult<Vec<PricedLine>> {
    let mut products: HashMap<_, _> = known.into_iter().map(|p| (p.id, p)).collect();
    let ids: Vec<_> = cart
        .lines
        .iter()
        .map(|l| l.product_id)
        .filter(|id| !products.contains_key(id))
        .collect();
    if !ids.is_empty() {
        products.extend(
            state
                .store
                .products_by_ids(&ids)
                .await?
                .into_iter()
                .map(|p| (p.id, p)),
        );
    }
    cart.lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let product = products
                .get(&line.product_id)
                .ok_or_else(|| line_problem(i, "product_id", "no such product"))?;
            resolve(i, line, product)
        })
        .collect()
}

/// The landed-cost input for the cart's goods (none for a cart of seats only), sold
/// to a consumer who pays carriage, insurance and import taxes on top of the goods (FCA, as
/// cross-border retail platforms charge them at checkout): `yearly_used` is the buyer's amount already used this year, when known.
pub fn quote_input(
    cart: &Cart,
    goods: &[&PricedLine],
    today: time::Date,
    yearly_used: Option<Money>,
    mode: TransportMode,
) -> ApiResult<Option<QuoteInput>> {
    let Some(first) = goods.first() else {
        return Ok(None);
    };
    let origin = first.product.draft.origin;
    let mut lines = Vec::with_capacity(goods.len());
    let mut weight = Decimal::ZERO;
    for g in goods {
        let d = &g.product.draft;
        if d.origin != origin {
            return Err(line_problem(
                g.index,
                "product_id",
                format!(
                    "this cart ships from {origin}; goods from {} go in a cart of their own",
                    d.origin
                ),
            ));
        }
        weight += g.weight_kg().unwrap_or_default();
        let quantity = Quantity::new(Decimal::from(g.line.quantity), d.unit)
            .map_err(|e| line_problem(g.index, "quantity", e.to_string()))?;
        lines.push(QuoteLine {
            hs: d.hs,
            origin,
            quantity,
            unit_value: g.unit_price,
            measures: Measures {
                litres_per_unit: d.volume_l_per_unit,
                ..Measures::default()
            },
            preferential_proof: false,
            over_quota: false,
        });
    }
    Ok(Some(QuoteInput {
        date: today,
        destination: cart.destination,
        buyer: BuyerKind::Consumer,
        regime: RequestedRegime::Auto,
        incoterm: Incoterm::FCA,
        currency: cart.currency,
        freight: None,
        insurance: None,
        transport: Some(Transport {
            mode,
            origin: Some(origin),
            actual_weight_kg: weight,
            volume_cm3: None,
            cold_chain: goods.iter().any(|g| g.product.draft.cold_chain),
        }),
        yearly_used,
        lines,
        rates: Vec::new(),
    }))
}

/// Quotes the cart's goods: by courier where the lane has a courier rate, else by air (and by
/// air always for the cold chain).
pub async fn quote_goods(
    state: &AppState,
    cart: &Cart,
    goods: &[&PricedLine],
    today: time::Date,
    yearly_used: Option<Money>,
) -> ApiResult<Option<(QuoteInput, Quote)>> {
    let book = state.rules.current();
    let cold = goods.iter().any(|g| g.product.draft.cold_chain);
    let modes: &[TransportMode] = if cold {
        &[TransportMode::Air]
    } else {
        &[TransportMode::Courier, TransportMode::Air]
    };
    let mut last_error = None;
    for mode in modes {
        let Some(input) = quote_input(cart, goods, today, yearly_used, *mode)? else {
            return Ok(None);
        };
        match compute(&book, input, state).await {
            Ok(done) => return Ok(Some(done)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ApiError::invalid("lines", "nothing to quote")))
}

/// The seats' total in the cart's currency, at the day's rate.
pub async fn seats_total(
    state: &AppState,
    cart: &Cart,
    seats: &[&PricedLine],
    today: time::Date,
) -> ApiResult<Vec<Money>> {
    let mut out = Vec::with_capacity(seats.len());
    for s in seats {
        let line_total = s
            .unit_price
            .mul_rounded(Decimal::from(s.line.quantity), RoundingRule::HalfUp)
            .map_err(|e| line_problem(s.index, "quantity", e.to_string()))?;
        let converted = if line_total.currency() == cart.currency {
            line_total
        } else {
            let rate = state
                .fx_rate(line_total.currency(), cart.currency, today, 7)
                .await?
                .map_err(|e| ApiError::invalid("currency", e.to_string()))?;
            rate.convert(&line_total, RoundingRule::HalfUp)
                .map_err(|e| ApiError::invalid("currency", e.to_string()))?
        };
        out.push(converted);
    }
    Ok(out)
}
