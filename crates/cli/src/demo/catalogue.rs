//! A few products of the demo's exporters, and exchange rates so that quotes work at once.
//! The rates are illustrative and say so; operators import published ones (`pavilion fx import`).

use super::parse;
use pavilion_domain::catalogue::{
    Departure, Locale, Localized, PriceTier, ProductDraft, ProductKind, Wholesale,
};
use pavilion_domain::fx::RateObservation;
use pavilion_domain::{Currency, Money, Unit};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn usd(amount: &str) -> anyhow::Result<Money> {
    parse(Money::parse(amount, Currency::USD))
}

fn titles(pairs: &[(Locale, &str)]) -> Localized {
    pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect()
}

struct Item {
    seller: &'static str,
    draft: ProductDraft,
}

fn goods(
    hs: &str,
    origin: &str,
    unit: Unit,
    title: Localized,
    retail: Option<Money>,
    stock: Option<u32>,
) -> anyhow::Result<ProductDraft> {
    Ok(ProductDraft {
        kind: ProductKind::Goods,
        original_locale: *title.keys().next().unwrap_or(&Locale::En),
        titles: title,
        descriptions: Localized::new(),
        hs: parse(hs.parse())?,
        origin: parse(origin.parse())?,
        unit,
        weight_kg_per_unit: None,
        volume_l_per_unit: None,
        cold_chain: false,
        shelf_life_days: None,
        retail_price: retail,
        wholesale: None,
        stock,
        departures: Vec::new(),
        category: None,
        variants: Vec::new(),
    })
}

pub async fn seed(
    store: &Store,
    ctx: &AuditContext,
    orgs: &HashMap<&'static str, Uuid>,
) -> anyhow::Result<()> {
    let today = OffsetDateTime::now_utc().date();
    let mut longan = goods(
        "0810.90.30",
        "KH",
        Unit::Piece,
        titles(&[
            (Locale::En, "Fresh Pailin longan, 5 kg box"),
            (Locale::ZhCn, "柬埔寨拜林新鲜龙眼 5公斤装"),
        ]),
        Some(usd("18.00")?),
        Some(400),
    )?;
    longan.original_locale = Locale::En;
    longan.weight_kg_per_unit = Some(Decimal::from(5));
    longan.cold_chain = true;
    longan.shelf_life_days = Some(21);
    longan.wholesale = Some(Wholesale {
        moq: Decimal::from(200),
        tiers: vec![
            PriceTier {
                min_quantity: Decimal::from(200),
                unit_price: usd("12.00")?,
            },
            PriceTier {
                min_quantity: Decimal::from(2000),
                unit_price: usd("10.50")?,
            },
        ],
    });
    let mut chili = goods(
        "0904.21",
        "RW",
        Unit::Tonne,
        titles(&[
            (Locale::En, "Dried bird's eye chili, bulk"),
            (Locale::ZhCn, "卢旺达干辣椒（散装）"),
            (Locale::Fr, "Piment oiseau séché, en vrac"),
        ]),
        None,
        None,
    )?;
    chili.kind = ProductKind::BulkCommodity;
    chili.wholesale = Some(Wholesale {
        moq: Decimal::from(20),
        tiers: vec![
            PriceTier {
                min_quantity: Decimal::from(20),
                unit_price: usd("2600.00")?,
            },
            PriceTier {
                min_quantity: Decimal::from(500),
                unit_price: usd("2350.00")?,
            },
        ],
    });
    let mut avocado = goods(
        "0804.40",
        "MX",
        Unit::Kilogram,
        titles(&[
            (Locale::Es, "Aguacate Hass de Michoacán"),
            (Locale::ZhCn, "墨西哥米却肯州哈斯牛油果"),
            (Locale::En, "Hass avocados from Michoacán"),
        ]),
        Some(usd("4.20")?),
        Some(3000),
    )?;
    avocado.original_locale = Locale::Es;
    avocado.cold_chain = true;
    let mut lobster = goods(
        "0306.32",
        "CA",
        Unit::Kilogram,
        titles(&[
            (Locale::En, "Live Nova Scotia lobster"),
            (Locale::Fr, "Homard vivant de la Nouvelle-Écosse"),
            (Locale::ZhCn, "加拿大新斯科舍活龙虾"),
        ]),
        Some(usd("38.00")?),
        Some(250),
    )?;
    lobster.cold_chain = true;
    lobster.shelf_life_days = Some(5);
    let mut trek = goods(
        "9999.00",
        "RW",
        Unit::Seat,
        titles(&[
            (Locale::En, "Gorilla trekking, 4 days from Kigali"),
            (Locale::ZhCn, "卢旺达大猩猩徒步四日游"),
        ]),
        Some(usd("2450.00")?),
        None,
    )?;
    trek.kind = ProductKind::TravelPackage;
    trek.departures = vec![
        Departure {
            date: today + Duration::days(30),
            seats: 8,
        },
        Departure {
            date: today + Duration::days(60),
            seats: 8,
        },
    ];
    let items = [
        Item {
            seller: "Pailin Longan Packers",
            draft: longan,
        },
        Item {
            seller: "Gakenke Chili Farm",
            draft: chili,
        },
        Item {
            seller: "Michoacán Avocado Growers",
            draft: avocado,
        },
        Item {
            seller: "Nova Scotia Lobster Co.",
            draft: lobster,
        },
        Item {
            seller: "Volcanoes Tours Rwanda",
            draft: trek,
        },
    ];
    for item in items {
        let seller = super::programmes::org(orgs, item.seller)?;
        pavilion_domain::catalogue::validate(&item.draft, today)
            .map_err(|e| anyhow::anyhow!("demo product of {}: {e:?}", item.seller))?;
        store.create_product(ctx, seller, &item.draft).await?;
    }

    // A week of illustrative euro rates, so that quotes in any demo currency work today.
    let per_euro = [
        ("USD", "1.08"),
        ("CNY", "7.70"),
        ("MXN", "20.10"),
        ("CAD", "1.48"),
        ("GBP", "0.85"),
        ("RWF", "1450"),
        ("KHR", "4400"),
    ];
    let mut rates = Vec::new();
    for day in 0..7 {
        for (code, rate) in per_euro {
            rates.push(RateObservation {
                date: today - Duration::days(day),
                base: Currency::EUR,
                quote: parse(code.parse())?,
                rate: parse(rate.parse::<Decimal>())?,
                source: "demo (illustrative, not published rates)".into(),
            });
        }
    }
    store.import_rates(ctx, &rates, |_| {}).await?;
    Ok(())
}
