//! OpenAPI schemas of domain values whose JSON is hand-written (money, quantities, rates): what
//! the API document shows for them. Only built with the `openapi` feature.

use utoipa::ToSchema;

/// An exact amount of money: the amount as a decimal string with the currency's minor digits.
#[derive(ToSchema)]
#[schema(as = Money)]
pub struct MoneySchema {
    #[schema(example = "2999.00")]
    pub amount: String,
    /// ISO 4217.
    #[schema(example = "USD")]
    pub currency: String,
}

/// A quantity with its unit (piece, kg, t, L, bottle, seat); the value as a decimal string.
#[derive(ToSchema)]
#[schema(as = Quantity)]
pub struct QuantitySchema {
    #[schema(example = "12.5")]
    pub value: String,
    #[schema(example = "kg")]
    pub unit: String,
}

/// 1 `base` = `rate` `quote`, with where the rate came from.
#[derive(ToSchema)]
#[schema(as = ExchangeRate)]
pub struct ExchangeRateSchema {
    #[schema(example = "USD")]
    pub base: String,
    #[schema(example = "CNY")]
    pub quote: String,
    #[schema(example = "7.1234")]
    pub rate: String,
    pub source: Option<String>,
}

/// A rule row a quote used: the row's id in its rule pack, where its facts come from, and how
/// far they were confirmed (H primary or agreeing sources, M one secondary source, L unconfirmed).
#[derive(ToSchema)]
#[schema(as = Rule)]
pub struct RuleSchema {
    #[schema(example = "cn-vat-general")]
    pub id: String,
    pub source: String,
    pub confidence: crate::landed_cost::Confidence,
}

/// One step of a quote's explanation: the order line it concerns (0-based, absent for the
/// order), its rule (a position in the quote's `rules`) and the step as text ending with the
/// rule's id.
#[derive(ToSchema)]
#[schema(as = Explanation)]
pub struct ExplanationSchema {
    pub line: Option<u32>,
    pub rule: Option<u32>,
    #[schema(
        example = "line 0: VAT 9.00 CNY = (customs value + duty + consumption tax) × 9% [cn-vat-09]"
    )]
    pub text: String,
}
