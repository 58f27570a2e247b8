//! Hand-worked figures from the published rules, on the shipped rule packs.

use std::str::FromStr;
use std::sync::OnceLock;

use rust_decimal::Decimal;
use time::Date;
use time::macros::date;

use super::*;
use crate::money::ExchangeRate;
use crate::{Country, Currency, HsCode, Money, Quantity, Unit};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn book() -> &'static RuleBook {
    static BOOK: OnceLock<RuleBook> = OnceLock::new();
    BOOK.get_or_init(|| shipped::rule_book().unwrap())
}

fn ccy(code: &str) -> Currency {
    code.parse().unwrap()
}

fn money(amount: &str, code: &str) -> Money {
    Money::parse(amount, ccy(code)).unwrap()
}

fn line(hs: &str, origin: &str, qty: &str, unit: Unit, value: &str, code: &str) -> QuoteLine {
    QuoteLine {
        hs: HsCode::from_str(hs).unwrap(),
        origin: Country::from_str(origin).unwrap(),
        quantity: Quantity::parse(qty, unit).unwrap(),
        unit_value: money(value, code),
        measures: Measures::default(),
        preferential_proof: false,
        over_quota: false,
    }
}

/// A quote with freight and insurance given as zero in the destination's tax currency.
fn input(dest: &str, date: Date, tax: &str, lines: Vec<QuoteLine>) -> QuoteInput {
    QuoteInput {
        date,
        destination: Country::from_str(dest).unwrap(),
        buyer: BuyerKind::Consumer,
        regime: RequestedRegime::Auto,
        incoterm: Incoterm::DAP,
        currency: ccy(tax),
        freight: Some(money("0", tax)),
        insurance: Some(money("0", tax)),
        transport: None,
        yearly_used: None,
        lines,
        rates: Vec::new(),
    }
}

fn cn(lines: Vec<QuoteLine>) -> QuoteInput {
    input("CN", date!(2026 - 09 - 01), "CNY", lines)
}

fn q(input: &QuoteInput) -> Quote {
    quote(book(), input).unwrap_or_else(|e| panic!("{e}"))
}

fn amount(m: Money) -> String {
    m.amount().to_string()
}

/// The id of the rule row a figure or step names.
fn rule_id(quote: &Quote, rule: Option<RuleIx>) -> &str {
    rule.and_then(|ix| quote.rule(ix)).map_or("", |r| r.id())
}

fn named(name: &str) -> RequestedRegime {
    RequestedRegime::Named(name.to_owned())
}

#[test]
fn cbec_effective_rates_come_out() {
    // (HS, measures, price, expected combined tax): 9.1 %, 6.3 %, 23.06 %, 17.89 %.
    let cases = [
        ("0901.21", None, "100.00", "9.10"),
        ("0901.11", None, "100.00", "6.30"),
        ("3304.99", Some(d("50")), "1000.00", "230.59"),
        ("2204.21", None, "100.00", "17.89"),
    ];
    for (hs, ml, price, expected) in cases {
        let mut l = line(hs, "FR", "1", Unit::Piece, price, "CNY");
        l.measures.ml_per_unit = ml;
        let quote = q(&cn(vec![l]));
        assert_eq!(quote.regime.name, "cbec_retail", "{hs}");
        assert_eq!(amount(quote.totals.duty), "0.00");
        assert_eq!(amount(quote.totals.total_tax), expected, "{hs}");
        assert_eq!(quote.totals.cross_border_tax, Some(quote.totals.total_tax));
        assert_eq!(quote.lines[0].tax_factor, Some(d("0.7")));
    }
    // Wine at CNY 100: consumption tax 100/0.9×10%×70% = 7.78, VAT 111.11×13%×70% = 10.11.
    let wine = q(&cn(vec![line(
        "2204.21",
        "FR",
        "1",
        Unit::Bottle,
        "100",
        "CNY",
    )]));
    assert_eq!(amount(wine.totals.consumption_tax), "7.78");
    assert_eq!(amount(wine.totals.vat), "10.11");
    assert_eq!(
        rule_id(&wine, wine.lines[0].consumption_tax.rule),
        "cn-ct-wine"
    );
    assert_eq!(rule_id(&wine, wine.lines[0].vat.rule), "cn-vat-general");
}

#[test]
fn cbec_per_order_limit_edges() {
    // Exactly CNY 5,000 of goods + freight + insurance is inside the limit.
    let mut at_limit = cn(vec![line(
        "0901.11",
        "RW",
        "10",
        Unit::Kilogram,
        "498.00",
        "CNY",
    )]);
    at_limit.freight = Some(money("15.00", "CNY"));
    at_limit.insurance = Some(money("5.00", "CNY"));
    let quote = q(&at_limit);
    assert_eq!(quote.regime.name, "cbec_retail");
    assert_eq!(amount(quote.totals.vat), "315.00"); // 5000 × 9 % × 70 %
    // One fen over: several items, so no longer CBEC.
    let mut over = at_limit.clone();
    over.insurance = Some(money("5.01", "CNY"));
    let quote = q(&over);
    assert_eq!(quote.regime.name, "general_trade");
    assert_eq!(
        quote.regime.refusals[0].reason,
        RefusalReason::MultiItemOverLimit
    );
    over.regime = named("cbec_retail");
    let err = quote_err(&over);
    assert!(
        matches!(
            err,
            QuoteError::RegimeRefused {
                reason: RefusalReason::MultiItemOverLimit,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("multi_item_over_limit"), "{err}");
}

fn quote_err(input: &QuoteInput) -> QuoteError {
    quote(book(), input).unwrap_err()
}

#[test]
fn single_indivisible_item_over_the_limit_pays_general_rates_and_counts_yearly() {
    let mut input = cn(vec![line(
        "0901.21",
        "RW",
        "1",
        Unit::Piece,
        "6000.00",
        "CNY",
    )]);
    input.yearly_used = Some(money("1000", "CNY"));
    let quote = q(&input);
    assert_eq!(quote.regime.name, "cbec_retail");
    assert!(quote.regime.full_rates);
    // No proof of origin: MFN 15 %. Duty 900.00; VAT (6000 + 900) × 13 % = 897.00.
    assert_eq!(amount(quote.totals.duty), "900.00");
    assert_eq!(amount(quote.totals.vat), "897.00");
    assert_eq!(quote.lines[0].tax_factor, None);
    let yearly = quote.yearly.unwrap();
    assert_eq!(amount(yearly.used_after), "7000.00");
    // With proof of Rwandan origin the LDC zero rate applies.
    input.lines[0].preferential_proof = true;
    let quote = q(&input);
    assert_eq!(amount(quote.totals.duty), "0.00");
    let applied: Vec<_> = quote.lines[0]
        .duty
        .components
        .iter()
        .filter(|c| c.applied)
        .collect();
    assert_eq!(rule_id(&quote, Some(applied[0].rule)), "cn-ldc-090121");
}

#[test]
fn yearly_limit_edges() {
    let mut input = cn(vec![line(
        "0901.11",
        "RW",
        "1",
        Unit::Piece,
        "5000.00",
        "CNY",
    )]);
    input.yearly_used = Some(money("21000.00", "CNY"));
    let quote = q(&input);
    assert_eq!(quote.regime.name, "cbec_retail");
    let yearly = quote.yearly.clone().unwrap();
    assert_eq!(amount(yearly.used_before), "21000.00");
    assert_eq!(amount(yearly.used_after), "26000.00");
    assert!(!yearly.assumed_zero);
    input.yearly_used = Some(money("21000.01", "CNY"));
    let quote = q(&input);
    assert_eq!(quote.regime.name, "general_trade");
    assert_eq!(quote.regime.refusals[0].reason, RefusalReason::YearlyLimit);
    // Under general trade the allowance is unchanged.
    assert_eq!(amount(quote.yearly.unwrap().used_after), "21000.01");
    input.regime = named("cbec_retail");
    assert!(matches!(
        quote_err(&input),
        QuoteError::RegimeRefused {
            reason: RefusalReason::YearlyLimit,
            ..
        }
    ));
}

#[test]
fn positive_list_and_buyer_kind_decide_cbec() {
    let longan = cn(vec![line(
        "0810.90.30",
        "KH",
        "5",
        Unit::Kilogram,
        "40",
        "CNY",
    )]);
    let quote = q(&longan);
    assert_eq!(quote.regime.name, "general_trade");
    assert_eq!(
        quote.regime.refusals[0].reason,
        RefusalReason::NotOnPositiveList
    );
    let mut business = cn(vec![line(
        "0901.11",
        "RW",
        "1",
        Unit::Kilogram,
        "100",
        "CNY",
    )]);
    business.buyer = BuyerKind::Business;
    assert_eq!(
        q(&business).regime.refusals[0].reason,
        RefusalReason::BuyerNotEligible
    );
}

fn lobster_rate(on: Date) -> Decimal {
    let mut input = cn(vec![line(
        "0306.32",
        "CA",
        "10",
        Unit::Kilogram,
        "100",
        "CNY",
    )]);
    input.date = on;
    q(&input).lines[0].duty.rate.unwrap()
}

#[test]
fn lobster_additional_duty_suspension_date_edges() {
    assert_eq!(lobster_rate(date!(2026 - 02 - 28)), d("0.32"));
    assert_eq!(lobster_rate(date!(2026 - 03 - 01)), d("0.07"));
    assert_eq!(lobster_rate(date!(2026 - 12 - 31)), d("0.07"));
    assert_eq!(lobster_rate(date!(2027 - 01 - 01)), d("0.32"));
}

#[test]
fn beef_safeguard_only_over_quota_and_avocado_provisional_rate() {
    let mut beef = cn(vec![line(
        "0202.30",
        "CA",
        "10",
        Unit::Kilogram,
        "100",
        "CNY",
    )]);
    assert_eq!(q(&beef).lines[0].duty.rate, Some(d("0.12")));
    beef.lines[0].over_quota = true;
    assert_eq!(q(&beef).lines[0].duty.rate, Some(d("0.67")));
    let avocado = cn(vec![line(
        "0804.40",
        "MX",
        "10",
        Unit::Kilogram,
        "100",
        "CNY",
    )]);
    let quote = q(&avocado);
    assert_eq!(quote.lines[0].duty.rate, Some(d("0.07")));
    // 1000 × 7 % = 70.00; VAT (1070) × 9 % = 96.30.
    assert_eq!(amount(quote.totals.duty), "70.00");
    assert_eq!(amount(quote.totals.vat), "96.30");
}

#[test]
fn spirits_compound_consumption_tax_needs_litres() {
    let tequila = line("2208.90.90", "MX", "12", Unit::Bottle, "80", "CNY");
    let mut input = cn(vec![tequila]);
    input.freight = Some(money("40", "CNY"));
    input.regime = RequestedRegime::GeneralTrade;
    let err = quote_err(&input);
    assert_eq!(err.field(), "lines[0].measures.litres_per_unit");
    assert!(err.to_string().contains("cn-ct-spirits"), "{err}");
    input.lines[0].measures.litres_per_unit = Some(d("0.75"));
    let quote = q(&input);
    // CIF 1000; duty 100; Q×s = 9 L × 0.912 = 8.208;
    // CT = (1100 + 8.208) / 0.8 × 0.2 + 8.208 = 285.26; VAT = (1100 + 285.26) × 13 % = 180.0838.
    assert_eq!(amount(quote.totals.duty), "100.00");
    assert_eq!(amount(quote.totals.consumption_tax), "285.26");
    assert_eq!(amount(quote.totals.vat), "180.08");
    assert_eq!(quote.lines[0].consumption_tax.litres, Some(d("9.00")));
    assert_eq!(amount(quote.totals.total_tax), "565.34");
}

#[test]
fn high_end_cosmetics_threshold_per_ml_g_and_piece() {
    let cosmetic = |price: &str, ml: Option<&str>, g: Option<&str>, unit: Unit| {
        let mut l = line("3304.99", "FR", "1", unit, price, "CNY");
        l.measures.ml_per_unit = ml.map(d);
        l.measures.grams_per_unit = g.map(d);
        let mut input = cn(vec![l]);
        input.regime = RequestedRegime::GeneralTrade;
        input.buyer = BuyerKind::Business;
        quote(book(), &input)
    };
    let no_tariff = cosmetic("499.50", Some("50"), None, Unit::Piece).unwrap_err();
    // Cosmetics have no shipped tariff row: general trade needs one, and says so.
    assert!(
        matches!(
            no_tariff,
            QuoteError::NoRule {
                what: "tariff (MFN)",
                ..
            }
        ),
        "{no_tariff}"
    );
    // Through CBEC instead (no tariff needed), threshold 10 per ml.
    let cbec = |price: &str, ml: Option<&str>, g: Option<&str>, unit: Unit| {
        let mut l = line("3304.99", "FR", "1", unit, price, "CNY");
        l.measures.ml_per_unit = ml.map(d);
        l.measures.grams_per_unit = g.map(d);
        quote(book(), &cn(vec![l]))
    };
    let below = cbec("499.50", Some("50"), None, Unit::Piece).unwrap();
    assert_eq!(amount(below.totals.consumption_tax), "0.00");
    assert!(
        !below.lines[0]
            .consumption_tax
            .threshold
            .as_ref()
            .unwrap()
            .met
    );
    let at = cbec("500.00", Some("50"), None, Unit::Piece).unwrap();
    let t = at.lines[0].consumption_tax.threshold.clone().unwrap();
    assert!(t.met && t.per == "ml");
    // 500 / 0.85 × 15 % × 70 % = 61.764…
    assert_eq!(amount(at.totals.consumption_tax), "61.76");
    let grams = cbec("99.99", None, Some("10"), Unit::Piece).unwrap();
    assert_eq!(
        grams.lines[0]
            .consumption_tax
            .threshold
            .as_ref()
            .unwrap()
            .per,
        "g"
    );
    assert_eq!(amount(grams.totals.consumption_tax), "0.00");
    let piece_below = cbec("14.99", None, None, Unit::Piece).unwrap();
    assert_eq!(amount(piece_below.totals.consumption_tax), "0.00");
    let piece_at = cbec("15.00", None, None, Unit::Piece).unwrap();
    assert!(
        piece_at.lines[0]
            .consumption_tax
            .threshold
            .as_ref()
            .unwrap()
            .met
    );
    let err = cbec("100", None, None, Unit::Kilogram).unwrap_err();
    assert_eq!(err.field(), "lines[0].measures.ml_per_unit");
}

fn eu(dest: &str, on: Date, lines: Vec<QuoteLine>) -> QuoteInput {
    let mut input = input(dest, on, "EUR", lines);
    input.regime = named("ioss");
    input
}

#[test]
fn eu_ioss_limit_and_flat_duty_per_subheading() {
    let one = |price: &str| line("6109.10", "CN", "1", Unit::Piece, price, "EUR");
    let at = q(&eu("DE", date!(2026 - 06 - 30), vec![one("150.00")]));
    assert_eq!(at.regime.name, "ioss");
    assert_eq!(amount(at.totals.duty), "0.00");
    assert_eq!(amount(at.totals.vat), "28.50"); // 19 %
    let err = quote_err(&eu("DE", date!(2026 - 06 - 30), vec![one("150.01")]));
    assert!(
        matches!(
            err,
            QuoteError::RegimeRefused {
                reason: RefusalReason::PerOrderLimit,
                ..
            }
        ),
        "{err}"
    );
    // From 2026-07-01: EUR 3 per distinct subheading (two lines of 6109.10 and one of 6110.20).
    let lines = vec![
        one("40"),
        one("30"),
        line("6110.20", "CN", "1", Unit::Piece, "50", "EUR"),
    ];
    let july = q(&eu("FR", date!(2026 - 07 - 01), lines.clone()));
    assert_eq!(amount(july.totals.duty), "6.00");
    assert_eq!(rule_id(&july, july.lines[0].duty.rule), "eu-ioss-2026");
    // VAT 20 % on 120 + 6 duty = 25.20.
    assert_eq!(amount(july.totals.vat), "25.20");
    let june = q(&eu("FR", date!(2026 - 06 - 30), lines));
    assert_eq!(amount(june.totals.duty), "0.00");
}

#[test]
fn uk_low_value_up_to_135() {
    let mut input = input(
        "GB",
        date!(2026 - 09 - 01),
        "GBP",
        vec![line("6109.10", "CN", "1", Unit::Piece, "135.00", "GBP")],
    );
    let quote = q(&input);
    assert_eq!(quote.regime.name, "low_value");
    assert_eq!(amount(quote.totals.vat), "27.00");
    assert_eq!(amount(quote.totals.duty), "0.00");
    input.lines[0].unit_value = money("135.01", "GBP");
    input.regime = named("low_value");
    assert!(matches!(
        quote_err(&input),
        QuoteError::RegimeRefused {
            reason: RefusalReason::PerOrderLimit,
            ..
        }
    ));
}

#[test]
fn us_de_minimis_suspended_since_2025_08_29() {
    let mut input = input(
        "US",
        date!(2025 - 08 - 28),
        "USD",
        vec![line("6109.10", "CN", "1", Unit::Piece, "100", "USD")],
    );
    input.regime = named("de_minimis");
    let before = q(&input);
    assert_eq!(before.regime.name, "de_minimis");
    assert_eq!(amount(before.totals.total_tax), "0.00");
    input.date = date!(2025 - 08 - 29);
    let err = quote_err(&input);
    assert!(
        matches!(
            err,
            QuoteError::RegimeRefused {
                reason: RefusalReason::Suspended,
                ..
            }
        ),
        "{err}"
    );
}

fn canada(origin: &str, mode: TransportMode, value: &str) -> Result<Quote, QuoteError> {
    let mut input = input(
        "CA",
        date!(2026 - 09 - 01),
        "CAD",
        vec![line("6109.10", origin, "1", Unit::Piece, value, "CAD")],
    );
    input.regime = named("low_value");
    input.transport = Some(Transport {
        mode,
        origin: None,
        actual_weight_kg: d("0.5"),
        volume_cm3: None,
        cold_chain: false,
    });
    quote(book(), &input)
}

#[test]
fn canada_low_value_by_origin_and_carrier() {
    let post = canada("CN", TransportMode::Post, "20.00").unwrap();
    assert_eq!(rule_id(&post, post.regime.rule), "ca-low-value-20");
    assert_eq!(amount(post.totals.total_tax), "0.00");
    assert!(matches!(
        canada("CN", TransportMode::Post, "20.01"),
        Err(QuoteError::RegimeRefused {
            reason: RefusalReason::PerOrderLimit,
            ..
        })
    ));
    let free = canada("US", TransportMode::Courier, "40.00").unwrap();
    assert_eq!(rule_id(&free, free.regime.rule), "ca-cusma-courier-40");
    let taxed = canada("US", TransportMode::Courier, "100.00").unwrap();
    assert_eq!(rule_id(&taxed, taxed.regime.rule), "ca-cusma-courier-150");
    assert_eq!(amount(taxed.totals.duty), "0.00");
    assert_eq!(amount(taxed.totals.vat), "5.00"); // GST 5 %
    let err = canada("US", TransportMode::Post, "30.00").unwrap_err();
    assert!(
        matches!(
            err,
            QuoteError::RegimeRefused {
                reason: RefusalReason::TransportNotEligible,
                ..
            }
        ),
        "{err}"
    );
    assert!(canada("US", TransportMode::Courier, "150.01").is_err());
}

#[test]
fn mexico_courier_rates() {
    let mexico = |origin: &str, usd: &str| {
        let mut input = input(
            "MX",
            date!(2026 - 09 - 01),
            "MXN",
            vec![line("6109.10", origin, "1", Unit::Piece, usd, "USD")],
        );
        input.freight = Some(money("0", "USD"));
        input.insurance = Some(money("0", "USD"));
        input.regime = named("courier");
        input.transport = Some(Transport {
            mode: TransportMode::Courier,
            origin: None,
            actual_weight_kg: d("1"),
            volume_cm3: None,
            cold_chain: false,
        });
        input.rates = vec![ExchangeRate::new(Currency::USD, Currency::MXN, d("18")).unwrap()];
        q(&input)
    };
    let global = mexico("CN", "100.00");
    assert_eq!(
        rule_id(&global, global.regime.rule),
        "mx-courier-global-2025"
    );
    assert_eq!(amount(global.totals.flat_rate_tax), "603.00"); // 1800 × 33.5 %
    assert_eq!(amount(global.totals.total_tax), "603.00");
    assert_eq!(amount(mexico("US", "50.00").totals.total_tax), "0.00");
    assert_eq!(amount(mexico("US", "100.00").totals.total_tax), "306.00"); // 17 %
    assert_eq!(amount(mexico("CA", "200.00").totals.total_tax), "684.00"); // 19 %
    assert_eq!(global.rates.len(), 1);
}

#[test]
fn incoterms_decide_what_the_buyer_pays() {
    let mut input = cn(vec![line(
        "0810.90",
        "KH",
        "100",
        Unit::Kilogram,
        "20",
        "CNY",
    )]);
    input.freight = Some(money("300", "CNY"));
    input.insurance = Some(money("10", "CNY"));
    let landed = |term: Incoterm| {
        let mut i = input.clone();
        i.incoterm = term;
        let quote = q(&i);
        (amount(quote.totals.landed), amount(quote.totals.total_tax))
    };
    // CIF 2310; no proof: MFN 12 % = 277.20; VAT (2587.20) × 9 % = 232.848 → 232.85; tax 510.05.
    assert_eq!(landed(Incoterm::EXW), ("2820.05".into(), "510.05".into()));
    assert_eq!(landed(Incoterm::FOB), ("2820.05".into(), "510.05".into()));
    assert_eq!(landed(Incoterm::CFR).0, "2520.05");
    assert_eq!(landed(Incoterm::CIF).0, "2510.05");
    assert_eq!(landed(Incoterm::DAP).0, "2510.05");
    assert_eq!(landed(Incoterm::DDP).0, "2000.00");
}

#[test]
fn freight_from_rate_tables_with_chargeable_weight_and_cold_chain() {
    let mut input = cn(vec![line(
        "0810.90",
        "KH",
        "10",
        Unit::Kilogram,
        "20",
        "USD",
    )]);
    input.freight = None;
    input.insurance = None;
    input.currency = Currency::USD;
    input.rates = vec![ExchangeRate::new(Currency::USD, Currency::CNY, d("7.1")).unwrap()];
    input.transport = Some(Transport {
        mode: TransportMode::Air,
        origin: None,
        actual_weight_kg: d("10"),
        volume_cm3: Some(d("96000")),
        cold_chain: true,
    });
    let quote = q(&input);
    // 16 kg chargeable × 4.50 = 72.00, +30 % cold chain = 93.60 USD.
    assert_eq!(amount(quote.totals.freight), "93.60");
    // Insurance 3 ‰ of (200 + 93.60) USD in CNY: 2084.56 × 0.003 = 6.25368 → 6.25 CNY → 0.88 USD.
    assert_eq!(amount(quote.totals.insurance), "0.88");
    let freight_step = quote
        .explanation
        .iter()
        .find(|e| matches!(e.step, Step::Freight { .. }))
        .unwrap();
    assert_eq!(rule_id(&quote, freight_step.rule), "fr-kh-cn-air-0");
    // 50 kg falls in the 45 kg break: 50 × 3.80 = 190.00.
    input.transport.as_mut().unwrap().actual_weight_kg = d("50");
    input.transport.as_mut().unwrap().cold_chain = false;
    assert_eq!(amount(q(&input).totals.freight), "190.00");
}

#[test]
fn currency_conversion_only_through_given_rates() {
    let mut input = cn(vec![line(
        "0901.11",
        "RW",
        "10",
        Unit::Kilogram,
        "10",
        "USD",
    )]);
    let err = quote_err(&input);
    assert_eq!(
        err,
        QuoteError::MissingRate {
            from: Currency::USD,
            to: Currency::CNY
        }
    );
    input.rates = vec![
        ExchangeRate::new(Currency::USD, Currency::CNY, d("7.2"))
            .unwrap()
            .with_source("PBOC 2026-09-01"),
    ];
    input.currency = Currency::USD;
    let quote = q(&input);
    // 720 CNY × 6.3 % = 45.36 CNY assessed → 6.30 USD shown.
    assert_eq!(amount(quote.assessed.total_tax), "45.36");
    assert_eq!(amount(quote.totals.total_tax), "6.30");
    assert_eq!(quote.rates[0].source(), Some("PBOC 2026-09-01"));
}

#[test]
fn bad_input_names_the_field() {
    let good = cn(vec![line(
        "0901.11",
        "RW",
        "1",
        Unit::Kilogram,
        "10",
        "CNY",
    )]);
    let mut negative = good.clone();
    negative.lines[0].unit_value = money("-1", "CNY");
    assert_eq!(quote_err(&negative).field(), "lines[0].unit_value");
    let mut japan = good.clone();
    japan.destination = Country::from_str("JP").unwrap();
    assert_eq!(
        quote_err(&japan).to_string(),
        "destination: no rule pack covers JP"
    );
    let mut early = good.clone();
    early.date = date!(2015 - 01 - 01);
    assert_eq!(quote_err(&early).field(), "date");
    let mut unknown = good.clone();
    unknown.regime = named("postal");
    let err = quote_err(&unknown);
    assert!(
        err.to_string()
            .contains("known: cbec_retail, general_trade"),
        "{err}"
    );
    let mut empty = good.clone();
    empty.lines.clear();
    assert_eq!(quote_err(&empty).field(), "lines");
    let mut no_freight = good;
    no_freight.freight = None;
    assert_eq!(quote_err(&no_freight).field(), "freight");
    let bad_json =
        r#"{"date":"2026-09-01","destination":"CN","incoterm":"XYZ","currency":"CNY","lines":[]}"#;
    assert!(
        serde_json::from_str::<QuoteInput>(bad_json)
            .unwrap_err()
            .to_string()
            .contains("unknown variant")
    );
}

#[test]
fn json_input_and_output_shapes() {
    let json = r#"{
        "date": "2026-09-01", "destination": "CN", "buyer": "consumer", "regime": "auto",
        "incoterm": "DDP", "currency": "CNY",
        "freight": {"amount": "20.00", "currency": "CNY"},
        "insurance": {"amount": "0.00", "currency": "CNY"},
        "yearly_used": {"amount": "1000.00", "currency": "CNY"},
        "lines": [{"hs": "0901.21", "origin": "RW", "quantity": {"value": "2", "unit": "kg"},
                   "unit_value": {"amount": "90.00", "currency": "CNY"},
                   "measures": {}, "preferential_proof": true}]
    }"#;
    let input: QuoteInput = serde_json::from_str(json).unwrap();
    let quote = q(&input);
    let out = serde_json::to_value(&quote).unwrap();
    assert_eq!(out["regime"]["name"], "cbec_retail");
    assert_eq!(out["totals"]["total_tax"]["amount"], "18.20"); // 200 × 9.1 %
    for key in [
        "duty",
        "consumption_tax",
        "vat",
        "total_tax",
        "freight",
        "insurance",
        "landed",
    ] {
        assert!(out["totals"][key]["currency"].is_string(), "{key}");
    }
    assert_eq!(out["yearly"]["used_after"]["amount"], "1200.00");
    // Figures name their rule by its position in `rules`, where each row is listed once.
    let vat_rule = &out["rules"][out["lines"][0]["vat"]["rule"].as_u64().unwrap() as usize];
    assert_eq!(vat_rule["id"], "cn-vat-090121");
    assert_eq!(vat_rule["confidence"], "M");
    assert!(vat_rule["source"].is_string());
    let ids: Vec<&str> = out["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    let texts: Vec<&str> = out["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("70% of the statutory amount")),
        "{texts:#?}"
    );
    assert!(texts.iter().any(|t| t.starts_with("DDP")), "{texts:#?}");
}

#[test]
fn every_shipped_file_parses_and_every_demo_product_quotes_into_china() {
    let book = book();
    assert_eq!(book.packs().len(), 6);
    let cn_pack = &book.packs()[0];
    assert!(cn_pack.tariffs.len() > 30 && cn_pack.positive_list.len() >= 10);
    // (HS, origin, unit, litres per unit, expected regime)
    let demo = [
        ("0810.90.30", "KH", Unit::Kilogram, None, "general_trade"),
        ("0804.50", "KH", Unit::Kilogram, None, "general_trade"),
        ("0803.90", "KH", Unit::Kilogram, None, "general_trade"),
        ("0804.40", "MX", Unit::Kilogram, None, "general_trade"),
        (
            "2208.90.90",
            "MX",
            Unit::Bottle,
            Some("0.75"),
            "cbec_retail",
        ),
        ("0901.11", "RW", Unit::Kilogram, None, "cbec_retail"),
        ("0901.21", "RW", Unit::Kilogram, None, "cbec_retail"),
        ("0904.21", "RW", Unit::Kilogram, None, "cbec_retail"),
        ("0306.32", "CA", Unit::Kilogram, None, "general_trade"),
        ("0202.30", "CA", Unit::Kilogram, None, "general_trade"),
        ("0203.29", "CA", Unit::Kilogram, None, "general_trade"),
        ("0809.29", "CA", Unit::Kilogram, None, "general_trade"),
        ("0810.60", "VN", Unit::Kilogram, None, "general_trade"),
        ("0905.10", "ID", Unit::Kilogram, None, "cbec_retail"),
    ];
    for (hs, origin, unit, litres, regime) in demo {
        for buyer in [BuyerKind::Consumer, BuyerKind::Business] {
            let mut l = line(hs, origin, "2", unit, "150", "USD");
            l.measures.litres_per_unit = litres.map(d);
            l.preferential_proof = true;
            let mut input = cn(vec![l]);
            input.buyer = buyer;
            input.currency = Currency::USD;
            input.freight = None;
            input.insurance = None;
            input.transport = Some(Transport {
                mode: TransportMode::Air,
                origin: None,
                actual_weight_kg: d("3"),
                volume_cm3: None,
                cold_chain: unit == Unit::Kilogram,
            });
            input.rates = vec![ExchangeRate::new(Currency::USD, Currency::CNY, d("7.1")).unwrap()];
            let quote = quote(book, &input).unwrap_or_else(|e| panic!("{hs} {origin}: {e}"));
            let expected = if buyer == BuyerKind::Business {
                "general_trade"
            } else {
                regime
            };
            assert_eq!(quote.regime.name, expected, "{hs}");
            assert!(quote.totals.landed.is_positive());
            assert!(quote.lines[0].vat.rule.is_some(), "{hs}");
        }
    }
}

#[test]
fn rule_pack_files_with_bad_rows_are_refused_whole_with_every_line() {
    let text = "id,kind,hs_prefix,origins,agreement,measure,rate,proof_required,condition,valid_from,valid_to,source,confidence,note\n\
        ok-1,mfn,0810,,,,0.1,,,2026-01-01,,src,H,\n\
        bad-2,mfn,081,,,,0.1,,,2026-01-01,,src,H,\n\
        bad-3,mfn,0810,,,,13,,,2026-13-01,,src,X,\n\
        ok-1,additional,0810,CA,,,0.25,,,2026-01-01,2025-01-01,src,H,\n";
    let err = parse::parse_tariffs("rules/cn/tariffs.csv", text).unwrap_err();
    let found: Vec<(u64, &str)> = err
        .problems
        .iter()
        .map(|p| (p.line, p.field.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (3, "hs_prefix"),
            (4, "valid_from"),
            (4, "confidence"),
            (4, "rate"),
            (5, "id"),
            (5, "valid_to"),
            (5, "measure")
        ]
    );
    let message = err.to_string();
    assert!(
        message.starts_with("rules/cn/tariffs.csv: refused, 7 problem(s); line 3, hs_prefix:"),
        "{message}"
    );
    let short = "id,hs_prefix,countries,rate,valid_from,valid_to,source,confidence,note\nv1,*,,0.13,2026-01-01\n";
    let err = parse::parse_vat("vat.csv", short).unwrap_err();
    assert_eq!(err.problems[0].line, 2);
    // Optional columns may be left out; required ones may not.
    let optional_left_out =
        "id,hs_prefix,rate,valid_from,source,confidence\nv1,*,0.13,2026-01-01,s,H\n";
    assert_eq!(
        parse::parse_vat("vat.csv", optional_left_out)
            .unwrap()
            .len(),
        1
    );
    let missing_column = "id,hs_prefix,rate,valid_from,confidence\nv1,*,0.13,2026-01-01,H\n";
    let err = parse::parse_vat("vat.csv", missing_column).unwrap_err();
    assert!(err.problems[0].message.contains("source"), "{err}");
    let toml = "[jurisdiction]\nid = \"x\"\nname = \"X\"\ncountries = [\"CN\"]\ntax_currency = \"CNY\"\nrounding = \"half_up\"\ncustoms_value = \"cif\"\nvalid_from = 2026-01-01\nsource = \"s\"\nconfidence = \"H\"\n\n[[regime]]\nid = \"r\"\nname = \"cbec_retail\"\nper_order_limit = 5000\nduty = \"none\"\ntaxes = \"none\"\nvalid_from = 2026-01-01\nsource = \"s\"\nconfidence = \"H\"\n";
    let err = parse::parse_regimes("regimes.toml", toml).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(err.problems[0].line >= 12, "{err}");
    let fixed = toml.replace("5000", "\"5000\"");
    let err = parse::parse_regimes("regimes.toml", &fixed).unwrap_err();
    assert_eq!(
        (err.problems[0].line, err.problems[0].field.as_str()),
        (12, "limit_currency")
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const PRODUCTS: [(&str, &str, Option<&str>, Option<&str>); 7] = [
        ("0810.90", "KH", None, None),
        ("0901.11", "RW", None, None),
        ("0901.21", "RW", None, None),
        ("2208.90", "MX", Some("0.75"), None),
        ("0306.32", "CA", None, None),
        ("0905.10", "ID", None, None),
        ("0202.30", "CA", None, None),
    ];

    fn arb_input() -> impl Strategy<Value = QuoteInput> {
        let arb_line = (0..PRODUCTS.len(), 1_u32..20, 0_i64..400_000, any::<bool>());
        (
            proptest::collection::vec(arb_line, 1..5),
            0_i64..50_000,
            0_i64..3_000_000,
            any::<bool>(),
            prop_oneof![Just(Currency::CNY), Just(Currency::USD)],
        )
            .prop_map(|(lines, freight, used, business, wanted)| {
                let lines = lines
                    .into_iter()
                    .map(|(p, qty, cents, proof)| {
                        let (hs, origin, litres, ml) = PRODUCTS[p % PRODUCTS.len()];
                        let mut l = line(hs, origin, &qty.to_string(), Unit::Piece, "1", "CNY");
                        l.unit_value = Money::from_minor(cents, Currency::CNY);
                        l.measures.litres_per_unit = litres.map(d);
                        l.measures.ml_per_unit = ml.map(d);
                        l.preferential_proof = proof;
                        l
                    })
                    .collect();
                let mut input = cn(lines);
                input.freight = Some(Money::from_minor(freight, Currency::CNY));
                input.insurance = None;
                input.yearly_used = Some(Money::from_minor(used, Currency::CNY));
                input.buyer = if business {
                    BuyerKind::Business
                } else {
                    BuyerKind::Consumer
                };
                input.currency = wanted;
                input.rates =
                    vec![ExchangeRate::new(Currency::USD, Currency::CNY, d("7.1234")).unwrap()];
                input
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn taxes_are_never_negative_and_lines_add_up_to_the_totals(input in arb_input()) {
            let quote = quote(book(), &input).unwrap();
            let t = &quote.totals;
            for figure in [t.duty, t.consumption_tax, t.vat, t.flat_rate_tax, t.total_tax] {
                prop_assert!(!figure.is_negative());
            }
            let sum = |f: fn(&LineQuote) -> Money| Money::sum(input.currency, quote.lines.iter().map(f)).unwrap();
            prop_assert_eq!(sum(|l| l.total_tax), t.total_tax);
            prop_assert_eq!(sum(|l| l.duty.amount), t.duty);
            prop_assert_eq!(sum(|l| l.vat.amount), t.vat);
            prop_assert_eq!(sum(|l| l.consumption_tax.amount), t.consumption_tax);
            prop_assert_eq!(t.duty.checked_add(t.consumption_tax).unwrap().checked_add(t.vat).unwrap().checked_add(t.flat_rate_tax).unwrap(), t.total_tax);
            for line in &quote.lines {
                prop_assert!(!line.total_tax.is_negative() && !line.total_tax_assessed.is_negative());
            }
        }

        #[test]
        fn a_quote_is_deterministic(input in arb_input()) {
            let first = quote(book(), &input).unwrap();
            let second = quote(book(), &input.clone()).unwrap();
            prop_assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap());
            prop_assert_eq!(first, second);
        }

        #[test]
        fn quoting_in_another_currency_and_back_is_within_one_minor_unit(input in arb_input()) {
            let mut in_cny = input.clone();
            in_cny.currency = Currency::CNY;
            let mut in_usd = input;
            in_usd.currency = Currency::USD;
            let cny = quote(book(), &in_cny).unwrap();
            let usd = quote(book(), &in_usd).unwrap();
            // The assessed (tax-currency) figures do not depend on the display currency …
            prop_assert_eq!(&cny.assessed, &usd.assessed);
            // … and each USD figure is the assessed one converted once per tax (up to four
            // half-cent roundings); the exact one-minor-unit round trip is fx.rs's property.
            for (c, u) in cny.lines.iter().zip(&usd.lines) {
                let back = u.total_tax.amount() * d("7.1234");
                let diff = (back - c.total_tax.amount()).abs();
                prop_assert!(diff <= d("0.15"), "{} vs {}", c.total_tax, u.total_tax);
            }
        }
    }
}

#[test]
fn huge_values_are_refused_not_overflowed() {
    let mut input = cn(vec![line(
        "0810.90",
        "KH",
        "1000000",
        Unit::Kilogram,
        "1",
        "CNY",
    )]);
    input.lines[0].unit_value = Money::from_minor(i64::MAX, Currency::CNY);
    assert_eq!(quote_err(&input).field(), "lines[0].unit_value");
    let mut heavy = cn(vec![line("0810.90", "KH", "1", Unit::Kilogram, "1", "CNY")]);
    heavy.lines[0].quantity = Quantity::parse("10000000000000", Unit::Kilogram).unwrap();
    assert_eq!(quote_err(&heavy).field(), "lines[0].quantity");
    let mut freight = cn(vec![line("0810.90", "KH", "1", Unit::Kilogram, "1", "CNY")]);
    freight.freight = Some(Money::from_minor(i64::MAX, Currency::CNY));
    assert_eq!(quote_err(&freight).field(), "freight");
}

#[test]
fn a_customs_value_exactly_on_a_half_fen_rounds_up_whatever_the_rates_digits() {
    // Goods 1.00 EUR and freight 1.00 USD at rates whose digits cancel: goods + freight is
    // exactly 15.005 CNY, while g × (goods + freight) has more than 28 digits.
    let mut input = cn(vec![line("0901.21", "RW", "1", Unit::Piece, "1.00", "EUR")]);
    input.freight = Some(money("1.00", "USD"));
    input.rates = vec![
        ExchangeRate::new(
            Currency::EUR,
            Currency::CNY,
            d("7.912345678901234567905961"),
        )
        .unwrap(),
        ExchangeRate::new(
            Currency::USD,
            Currency::CNY,
            d("7.092654321098765432094039"),
        )
        .unwrap(),
    ];
    let quote = q(&input);
    assert_eq!(amount(quote.lines[0].customs_value.amount), "15.01");
}
