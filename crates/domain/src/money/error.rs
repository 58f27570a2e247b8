//! The one error type of the money module. Messages are shown to API users, so each names the
//! offending value and what would have been accepted.

use rust_decimal::Decimal;

use super::Currency;

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error(
        "{input:?} is not an ISO 4217 currency code: expected three uppercase letters such as CNY"
    )]
    UnknownCurrency { input: String },

    #[error(
        "{code} has no minor unit in ISO 4217 (metals, fund units and testing codes) and cannot be used for money amounts"
    )]
    NotMonetary { code: &'static str },

    #[error(
        "{input:?} is not a decimal amount: expected digits with an optional leading minus and decimal point, such as \"123.45\""
    )]
    InvalidAmount { input: String },

    #[error("amount {amount} has more decimal places than {currency} allows ({allowed})")]
    OverPrecise {
        amount: Decimal,
        currency: Currency,
        allowed: u32,
    },

    #[error("amount {amount} is too large for a {currency} amount")]
    OutOfRange { amount: Decimal, currency: Currency },

    #[error("{operation} in {currency} overflowed the range of a money amount")]
    Overflow {
        operation: &'static str,
        currency: Currency,
    },

    #[error("{amount} is too large to express as a 64-bit count of minor units")]
    MinorUnitsOverflow { amount: super::Money },

    #[error("cannot combine {left} with {right}: convert one of them with an exchange rate first")]
    CurrencyMismatch { left: Currency, right: Currency },

    #[error("an exchange rate must be greater than zero, got {rate}")]
    RateNotPositive { rate: Decimal },

    #[error("an exchange rate needs two different currencies, got {currency} for both")]
    SameCurrencyRate { currency: Currency },

    #[error("this {base}→{quote} rate converts {base} amounts, not {found}")]
    RateCurrencyMismatch {
        base: Currency,
        quote: Currency,
        found: Currency,
    },

    #[error("the inverse of the {base}→{quote} rate {rate} cannot be represented")]
    RateNotInvertible {
        base: Currency,
        quote: Currency,
        rate: Decimal,
    },

    #[error("cannot allocate over an empty list of weights")]
    NoWeights,

    #[error("weight at index {index} is negative ({weight}); weights must be zero or more")]
    NegativeWeight { index: usize, weight: Decimal },

    #[error("all weights are zero; at least one must be positive")]
    ZeroWeights,

    #[error("cannot split an amount into zero parts")]
    NoParts,

    #[error("cannot split an amount into {parts} parts; at most {max} are allowed")]
    TooManyParts { parts: usize, max: usize },

    #[error("the weights are too large or too precise to allocate {amount} exactly")]
    WeightsTooLarge { amount: super::Money },
}

/// Cuts user input short for an error message, so that a pasted megabyte stays out of logs.
pub(crate) fn shorten(input: &str) -> String {
    const MAX_CHARS: usize = 32;
    let mut shown: String = input.chars().take(MAX_CHARS).collect();
    if input.chars().nth(MAX_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_input_and_cuts_long_input() {
        assert_eq!(shorten("usd"), "usd");
        assert_eq!(shorten(""), "");
        let cut = shorten(&"x".repeat(100));
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().count(), 33);
    }
}
