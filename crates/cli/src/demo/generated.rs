//! `pavilion demo --products N`: generated products for load tests, believable enough to search
//! (titles in Chinese and the sellers' languages built from word lists, HS headings the rule
//! packs know, the demo's countries), written through the same bulk import as a CSV file.
//! Generation is deterministic: product `i` is always the same.

use anyhow::{Context, anyhow};
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::csv::ImportRow;
use pavilion_domain::catalogue::{
    Departure, Locale, Localized, PriceTier, ProductDraft, ProductKind, Variant, Wholesale,
    validate,
};
use pavilion_domain::{Country, Currency, Money, Unit};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};

/// A kind of product a country's exporters sell: its HS heading, how it is sold, and its name
/// in zh-CN, en, es and fr.
struct Template {
    hs: &'static str,
    kind: ProductKind,
    unit: Unit,
    /// Typical price in US cents per unit.
    cents: u64,
    cold_chain: bool,
    shelf_life_days: Option<u32>,
    names: [&'static str; 4],
    /// Pack sizes (zh-CN, en, es, fr) and their weight in kg; empty for bulk and tours.
    packs: &'static [([&'static str; 4], u32)],
}

const FRUIT_PACKS: &[([&str; 4], u32)] = &[
    (["5公斤装", "5 kg box", "caja de 5 kg", "caisse de 5 kg"], 5),
    (
        [
            "10公斤装",
            "10 kg carton",
            "caja de 10 kg",
            "carton de 10 kg",
        ],
        10,
    ),
    (
        [
            "2公斤礼盒",
            "2 kg gift box",
            "caja regalo de 2 kg",
            "coffret de 2 kg",
        ],
        2,
    ),
];
const MEAT_PACKS: &[([&str; 4], u32)] = &[
    (
        ["1公斤装", "1 kg pack", "paquete de 1 kg", "paquet de 1 kg"],
        1,
    ),
    (
        ["5公斤装", "5 kg case", "caja de 5 kg", "caisse de 5 kg"],
        5,
    ),
];
const BOTTLES: &[([&str; 4], u32)] = &[
    (
        [
            "750毫升",
            "750 ml bottle",
            "botella de 750 ml",
            "bouteille de 750 ml",
        ],
        1,
    ),
    (
        ["1升", "1 L bottle", "botella de 1 L", "bouteille de 1 L"],
        2,
    ),
];
const BAGS: &[([&str; 4], u32)] = &[
    (
        [
            "250克袋装",
            "250 g bag",
            "bolsa de 250 g",
            "sachet de 250 g",
        ],
        1,
    ),
    (["1公斤袋装", "1 kg bag", "bolsa de 1 kg", "sac de 1 kg"], 1),
];

fn templates(country: &str) -> &'static [Template] {
    match country {
        "KH" => &[
            Template {
                hs: "0810.90",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 1800,
                cold_chain: true,
                shelf_life_days: Some(21),
                names: ["龙眼", "longan", "longan", "longane"],
                packs: FRUIT_PACKS,
            },
            Template {
                hs: "0804.50",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 1500,
                cold_chain: true,
                shelf_life_days: Some(14),
                names: ["芒果", "mangoes", "mangos", "mangues"],
                packs: FRUIT_PACKS,
            },
            Template {
                hs: "0803.90",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 900,
                cold_chain: true,
                shelf_life_days: Some(18),
                names: ["香蕉", "bananas", "plátanos", "bananes"],
                packs: FRUIT_PACKS,
            },
            Template {
                hs: "0803.90",
                kind: ProductKind::BulkCommodity,
                unit: Unit::Tonne,
                cents: 62_000,
                cold_chain: true,
                shelf_life_days: Some(18),
                names: [
                    "散装香蕉",
                    "bananas in bulk",
                    "plátanos a granel",
                    "bananes en vrac",
                ],
                packs: &[],
            },
        ],
        "MX" => &[
            Template {
                hs: "0804.40",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 2100,
                cold_chain: true,
                shelf_life_days: Some(20),
                names: ["牛油果", "Hass avocados", "aguacates Hass", "avocats Hass"],
                packs: FRUIT_PACKS,
            },
            Template {
                hs: "2208.90",
                kind: ProductKind::Goods,
                unit: Unit::Bottle,
                cents: 4500,
                cold_chain: false,
                shelf_life_days: None,
                names: ["龙舌兰酒", "tequila", "tequila", "tequila"],
                packs: BOTTLES,
            },
            Template {
                hs: "2208.90",
                kind: ProductKind::Goods,
                unit: Unit::Bottle,
                cents: 5200,
                cold_chain: false,
                shelf_life_days: None,
                names: ["梅斯卡尔酒", "mezcal", "mezcal", "mezcal"],
                packs: BOTTLES,
            },
            Template {
                hs: "0905.10",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 2400,
                cold_chain: false,
                shelf_life_days: Some(720),
                names: [
                    "香草荚",
                    "vanilla pods",
                    "vainas de vainilla",
                    "gousses de vanille",
                ],
                packs: BAGS,
            },
            Template {
                hs: "0804.40",
                kind: ProductKind::BulkCommodity,
                unit: Unit::Tonne,
                cents: 210_000,
                cold_chain: true,
                shelf_life_days: Some(20),
                names: [
                    "散装牛油果",
                    "avocados in bulk",
                    "aguacates a granel",
                    "avocats en vrac",
                ],
                packs: &[],
            },
        ],
        "RW" => &[
            Template {
                hs: "0901.11",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 1400,
                cold_chain: false,
                shelf_life_days: Some(365),
                names: [
                    "咖啡生豆",
                    "green coffee beans",
                    "café verde en grano",
                    "café vert en grains",
                ],
                packs: BAGS,
            },
            Template {
                hs: "0901.21",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 1900,
                cold_chain: false,
                shelf_life_days: Some(270),
                names: [
                    "烘焙咖啡豆",
                    "roasted coffee",
                    "café tostado",
                    "café torréfié",
                ],
                packs: BAGS,
            },
            Template {
                hs: "0904.21",
                kind: ProductKind::BulkCommodity,
                unit: Unit::Tonne,
                cents: 260_000,
                cold_chain: false,
                shelf_life_days: Some(540),
                names: ["干辣椒", "dried chili", "chile seco", "piment séché"],
                packs: &[],
            },
            Template {
                hs: "0901.11",
                kind: ProductKind::BulkCommodity,
                unit: Unit::Tonne,
                cents: 520_000,
                cold_chain: false,
                shelf_life_days: Some(365),
                names: [
                    "散装咖啡生豆",
                    "green coffee in bulk",
                    "café verde a granel",
                    "café vert en vrac",
                ],
                packs: &[],
            },
            Template {
                hs: "9999.00",
                kind: ProductKind::TravelPackage,
                unit: Unit::Seat,
                cents: 180_000,
                cold_chain: false,
                shelf_life_days: None,
                names: [
                    "徒步之旅",
                    "trekking tour",
                    "excursión de senderismo",
                    "randonnée guidée",
                ],
                packs: &[],
            },
        ],
        "CA" => &[
            Template {
                hs: "0306.32",
                kind: ProductKind::Goods,
                unit: Unit::Kilogram,
                cents: 3800,
                cold_chain: true,
                shelf_life_days: Some(5),
                names: ["活龙虾", "live lobster", "langosta viva", "homard vivant"],
                packs: &[],
            },
            Template {
                hs: "0809.29",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 2600,
                cold_chain: true,
                shelf_life_days: Some(12),
                names: ["车厘子", "sweet cherries", "cerezas", "cerises"],
                packs: FRUIT_PACKS,
            },
            Template {
                hs: "0202.30",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 3100,
                cold_chain: true,
                shelf_life_days: Some(365),
                names: [
                    "冷冻去骨牛肉",
                    "frozen boneless beef",
                    "carne de res deshuesada congelada",
                    "bœuf désossé congelé",
                ],
                packs: MEAT_PACKS,
            },
            Template {
                hs: "0203.29",
                kind: ProductKind::Goods,
                unit: Unit::Piece,
                cents: 1700,
                cold_chain: true,
                shelf_life_days: Some(365),
                names: [
                    "冷冻猪肉",
                    "frozen pork cuts",
                    "cortes de cerdo congelados",
                    "découpes de porc congelées",
                ],
                packs: MEAT_PACKS,
            },
            Template {
                hs: "0306.32",
                kind: ProductKind::BulkCommodity,
                unit: Unit::Tonne,
                cents: 3_100_000,
                cold_chain: true,
                shelf_life_days: Some(5),
                names: [
                    "散装活龙虾",
                    "live lobster in bulk",
                    "langosta viva a granel",
                    "homard vivant en vrac",
                ],
                packs: &[],
            },
        ],
        _ => &[],
    }
}

/// Qualifiers (zh-CN, en, es, fr).
const QUALIFIERS: &[[&str; 4]] = &[
    ["精选", "Premium", "selectos", "de sélection"],
    ["有机", "Organic", "orgánicos", "bio"],
    ["新鲜", "Fresh", "frescos", "frais"],
    ["特级", "Grade A", "de primera", "de premier choix"],
    [
        "手工",
        "Hand-picked",
        "cosechados a mano",
        "cueillis à la main",
    ],
    ["公平贸易", "Fair-trade", "de comercio justo", "équitables"],
    [
        "家庭农场",
        "Family-farm",
        "de granja familiar",
        "de ferme familiale",
    ],
    ["高原", "Highland", "de altura", "d'altitude"],
];

/// Regions by country (zh-CN, and the name in the Latin alphabet).
fn regions(country: &str) -> &'static [(&'static str, &'static str)] {
    match country {
        "KH" => &[
            ("拜林", "Pailin"),
            ("马德望", "Battambang"),
            ("贡布", "Kampot"),
            ("磅湛", "Kampong Cham"),
            ("暹粒", "Siem Reap"),
        ],
        "MX" => &[
            ("米却肯", "Michoacán"),
            ("哈利斯科", "Jalisco"),
            ("瓦哈卡", "Oaxaca"),
            ("韦拉克鲁斯", "Veracruz"),
            ("普埃布拉", "Puebla"),
        ],
        "RW" => &[
            ("加肯凯", "Gakenke"),
            ("尼亚马谢凯", "Nyamasheke"),
            ("胡耶", "Huye"),
            ("穆桑泽", "Musanze"),
            ("鲁巴武", "Rubavu"),
        ],
        _ => &[
            ("新斯科舍", "Nova Scotia"),
            ("不列颠哥伦比亚", "British Columbia"),
            ("艾伯塔", "Alberta"),
            ("爱德华王子岛", "Prince Edward Island"),
            ("魁北克", "Québec"),
        ],
    }
}

fn country_zh(country: &str) -> &'static str {
    match country {
        "KH" => "柬埔寨",
        "MX" => "墨西哥",
        "RW" => "卢旺达",
        _ => "加拿大",
    }
}

/// The seller's own language besides English (the title's original locale half of the time).
fn home_locale(country: &str) -> Locale {
    match country {
        "MX" => Locale::Es,
        "RW" | "CA" => Locale::Fr,
        _ => Locale::En,
    }
}

/// SplitMix64: a small, deterministic source of variety (no need for a random-number crate).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

fn usd(cents: u64) -> Money {
    Money::from_minor(i64::try_from(cents).unwrap_or(i64::MAX), Currency::USD)
}

/// Product `i` of a seller in `country`, or `None` for a country the generator has no words for.
pub fn product(i: u64, country: Country, today: Date) -> Option<ProductDraft> {
    let code = country.code();
    let mut mix = Mix(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
    let t = mix.pick(templates(code))?;
    let q = mix.pick(QUALIFIERS)?;
    let (region_zh, region) = *mix.pick(regions(code))?;
    let pack = mix.pick(t.packs);
    let [noun_zh, noun_en, noun_es, noun_fr] = t.names;
    let (pack_zh, pack_en, pack_es, pack_fr) = match pack {
        Some((p, _)) => (
            format!(" {}", p[0]),
            format!(", {}", p[1]),
            format!(", {}", p[2]),
            format!(", {}", p[3]),
        ),
        None => Default::default(),
    };
    // A batch number keeps titles apart the way real listings differ (lot, harvest).
    let lot = 1 + i % 997;
    let titles = Localized::from([
        (
            Locale::ZhCn,
            format!(
                "{}{region_zh}{}{noun_zh}{pack_zh} 第{lot}批",
                country_zh(code),
                q[0]
            ),
        ),
        (
            Locale::En,
            format!("{} {noun_en} from {region}{pack_en}, lot {lot}", q[1]),
        ),
        (
            Locale::Es,
            format!("{noun_es} {} de {region}{pack_es}, lote {lot}", q[2]),
        ),
        (
            Locale::Fr,
            format!("{noun_fr} {} de {region}{pack_fr}, lot {lot}", q[3]),
        ),
    ]);
    let descriptions = Localized::from([(
        Locale::En,
        format!(
            "{} {noun_en} grown in {region} and packed for export{}.",
            q[1],
            if t.cold_chain {
                ", shipped in the cold chain"
            } else {
                ""
            }
        ),
    )]);
    let original_locale = if mix.below(2) == 0 {
        home_locale(code)
    } else {
        Locale::En
    };
    let base = t.cents * (80 + mix.below(70) as u64) / 100;
    let mut draft = ProductDraft {
        kind: t.kind,
        original_locale,
        titles,
        descriptions,
        hs: t.hs.parse().ok()?,
        category: None,
        origin: country,
        unit: t.unit,
        weight_kg_per_unit: pack.map(|(_, kg)| Decimal::from(*kg)),
        volume_l_per_unit: None,
        cold_chain: t.cold_chain,
        shelf_life_days: t.shelf_life_days,
        retail_price: None,
        wholesale: None,
        stock: None,
        departures: Vec::new(),
        variants: Vec::new(),
    };
    match t.kind {
        ProductKind::Goods => {
            draft.retail_price = Some(usd(base.max(1)));
            draft.stock = Some(mix.below(5000) as u32);
            if mix.below(3) == 0 {
                let moq = Decimal::from(50 * (1 + mix.below(10)));
                draft.wholesale = Some(Wholesale {
                    moq,
                    tiers: vec![
                        PriceTier {
                            min_quantity: moq,
                            unit_price: usd((base * 70 / 100).max(1)),
                        },
                        PriceTier {
                            min_quantity: moq * Decimal::from(10),
                            unit_price: usd((base * 60 / 100).max(1)),
                        },
                    ],
                });
            }
            if mix.below(20) == 0 {
                // Graded like fruit and coffee are; stock is then kept per grade.
                draft.stock = None;
                draft.variants = ["A", "B"]
                    .iter()
                    .enumerate()
                    .map(|(g, grade)| Variant {
                        sku: format!("GEN-{i}-{grade}"),
                        attributes: BTreeMap::from([("grade".to_owned(), (*grade).to_owned())]),
                        retail_price: (g == 1).then(|| usd((base * 85 / 100).max(1))),
                        stock: Some(mix.below(2000) as u32),
                        weight_kg_per_unit: None,
                    })
                    .collect();
            }
        }
        ProductKind::BulkCommodity => {
            let moq = Decimal::from(1 + mix.below(20));
            draft.wholesale = Some(Wholesale {
                moq,
                tiers: vec![
                    PriceTier {
                        min_quantity: moq,
                        unit_price: usd(base.max(1)),
                    },
                    PriceTier {
                        min_quantity: moq * Decimal::from(25),
                        unit_price: usd((base * 90 / 100).max(1)),
                    },
                ],
            });
        }
        ProductKind::TravelPackage => {
            draft.retail_price = Some(usd(base.max(1)));
            let first = 14 + mix.below(60) as i64;
            draft.departures = (0..1 + mix.below(4) as i64)
                .map(|k| Departure {
                    date: today + Duration::days(first + 21 * k),
                    seats: 6 + mix.below(14) as u32,
                })
                .collect();
        }
    }
    Some(draft)
}

/// Adds `n` generated products, spread over the demo's seller organisations in KH, MX, RW and
/// CA, in one bulk import (all or nothing).
pub async fn add(store: &Store, n: u64) -> anyhow::Result<()> {
    let mut sellers = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_organisations(Some(OrganisationKind::Seller), None, after, 100)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        sellers.extend(
            page.into_iter()
                .filter(|o| !templates(o.country.code()).is_empty())
                .map(|o| (o.id, o.country)),
        );
    }
    if sellers.is_empty() {
        return Err(anyhow!(
            "no seller organisation in KH, MX, RW or CA to give products to"
        ));
    }
    let today = OffsetDateTime::now_utc().date();
    // Continue the numbering after earlier runs so that titles do not repeat exactly.
    let start = u64::try_from(store.product_count().await?).unwrap_or(0);
    let mut rows = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for k in 0..n {
        let i = start + k;
        let (seller, country) = sellers[(i % sellers.len() as u64) as usize];
        let draft = product(i, country, today).context("generating a product")?;
        validate(&draft, today).map_err(|e| anyhow!("generated product {i}: {e:?}"))?;
        rows.push(ImportRow {
            line: k + 1,
            seller,
            draft,
        });
    }
    let ctx = AuditContext {
        actor_user_id: None,
        request_id: Some("pavilion demo --products".into()),
    };
    let started = std::time::Instant::now();
    let summary = store
        .import_products(&ctx, rows, |_| {})
        .await
        .map_err(|e| anyhow!("{e}"))?;
    tracing::info!(
        products = summary.imported,
        seconds = started.elapsed().as_secs_f64(),
        "generated products added"
    );
    println!("added {} generated products", summary.imported);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn every_generated_product_is_valid_and_they_vary() {
        let today = date!(2026 - 11 - 23);
        let mut titles = std::collections::BTreeSet::new();
        for country in ["KH", "MX", "RW", "CA"] {
            for i in 0..500 {
                let d = product(i, country.parse().unwrap(), today).unwrap();
                assert_eq!(validate(&d, today), Ok(()), "{d:?}");
                titles.insert(d.titles[&Locale::En].clone());
            }
        }
        assert!(titles.len() > 1900, "{}", titles.len());
        assert!(product(1, "SG".parse().unwrap(), today).is_none());
    }
}
