//! A 5-line landed-cost quote into China against rule packs padded to 20,000 tariff rows.
//! Target: under 2 µs per quote on one core (release). Measured with a plain USD → CNY rate and
//! with the ECB's rates, whose cross rate is the common case in a deployment; and the quote's JSON.

use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use pavilion_domain::landed_cost::{
    BuyerKind, Incoterm, Measures, QuoteInput, QuoteLine, RequestedRegime, RuleBook, parse, quote,
    shipped,
};
use pavilion_domain::money::ExchangeRate;
use pavilion_domain::{Country, Currency, HsCode, Money, Quantity, Unit};
use rust_decimal::Decimal;

const TARIFF_ROWS: usize = 20_000;

// The allocator of the `pavilion` binary, which serves quotes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The shipped packs with the Chinese tariff padded by synthetic national lines ("…99") that no
/// demo code falls under, so the index holds 20,000 rows but the quote's figures stay real.
fn padded_book() -> RuleBook {
    let mut packs: Vec<_> = shipped::PACKS
        .iter()
        .map(|texts| shipped::pack_from_texts(texts).expect("shipped pack"))
        .collect();
    let cn = &mut packs[0];
    let mut csv = String::from(
        "id,kind,hs_prefix,origins,agreement,measure,rate,proof_required,condition,valid_from,valid_to,source,confidence,note\n",
    );
    let chapters: Vec<u32> = (1..=97).filter(|c| *c != 77).collect();
    let mut i = 0;
    while cn.tariffs.len() + i < TARIFF_ROWS {
        let chapter = chapters[i % chapters.len()];
        let middle = i / chapters.len();
        csv.push_str(&format!(
            "syn-{i},mfn,{chapter:02}{middle:04}99,,,,0.05,,,2026-01-01,,synthetic,L,\n"
        ));
        i += 1;
    }
    cn.tariffs
        .extend(parse::parse_tariffs("synthetic.csv", &csv).expect("synthetic rows"));
    assert_eq!(cn.tariffs.len(), TARIFF_ROWS);
    let freight = shipped::freight_from_texts(shipped::FREIGHT_RATES, shipped::INSURANCE)
        .expect("freight tables");
    RuleBook::new(packs, freight).expect("rule book")
}

fn line(hs: &str, origin: &str, qty: &str, unit: Unit, usd: &str) -> QuoteLine {
    QuoteLine {
        hs: HsCode::from_str(hs).unwrap(),
        origin: Country::from_str(origin).unwrap(),
        quantity: Quantity::parse(qty, unit).unwrap(),
        unit_value: Money::parse(usd, Currency::USD).unwrap(),
        measures: Measures::default(),
        preferential_proof: true,
        over_quota: false,
    }
}

fn five_lines() -> QuoteInput {
    let mut tequila = line("2208.90.90", "MX", "12", Unit::Bottle, "35.00");
    tequila.measures.litres_per_unit = Some(Decimal::from_str("0.75").unwrap());
    QuoteInput {
        date: time::macros::date!(2026 - 09 - 01),
        destination: Country::from_str("CN").unwrap(),
        buyer: BuyerKind::Consumer,
        regime: RequestedRegime::Auto,
        incoterm: Incoterm::DAP,
        currency: Currency::USD,
        freight: Some(Money::parse("180.00", Currency::USD).unwrap()),
        insurance: None,
        transport: None,
        yearly_used: Some(Money::parse("1200.00", Currency::CNY).unwrap()),
        lines: vec![
            line("0810.90.30", "KH", "20", Unit::Kilogram, "4.20"),
            tequila,
            line("0306.32", "CA", "8", Unit::Kilogram, "28.00"),
            line("0901.11", "RW", "15", Unit::Kilogram, "9.50"),
            line("0810.60", "VN", "30", Unit::Kilogram, "6.80"),
        ],
        rates: vec![
            ExchangeRate::new(
                Currency::USD,
                Currency::CNY,
                Decimal::from_str("7.1234").unwrap(),
            )
            .unwrap(),
        ],
    }
}

/// The same quote at a rate crossed from the European Central Bank's reference rates, as a
/// deployment's store resolves it (1 EUR = 1.08 USD = 7.70 CNY): 28 significant digits, so the
/// customs values' products no longer fit in a `Decimal`.
fn five_lines_at_an_ecb_cross_rate() -> QuoteInput {
    let cross = Decimal::from_str("7.70").unwrap() / Decimal::from_str("1.08").unwrap();
    QuoteInput {
        rates: vec![ExchangeRate::new(Currency::USD, Currency::CNY, cross).unwrap()],
        ..five_lines()
    }
}

fn bench(c: &mut Criterion) {
    let book = padded_book();
    for (name, input) in [
        ("landed_cost/quote_5_lines_20k_tariff_rows", five_lines()),
        (
            "landed_cost/quote_5_lines_20k_tariff_rows_ecb_cross_rate",
            five_lines_at_an_ecb_cross_rate(),
        ),
    ] {
        let sample = quote(&book, &input).expect("the bench quote computes");
        assert_eq!(sample.lines.len(), 5);
        c.bench_function(name, |b| {
            b.iter(|| quote(black_box(&book), black_box(&input)))
        });
    }
    // What the API then does with it: the stored and answered JSON (explanations written out).
    let answer = quote(&book, &five_lines_at_an_ecb_cross_rate()).expect("the bench quote");
    c.bench_function("landed_cost/quote_5_lines_as_json", |b| {
        b.iter(|| serde_json::to_string(black_box(&answer)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
