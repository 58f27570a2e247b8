//! The demo's catalogue: a category tree, and what the seeded exporters sell — Cambodia's fruit,
//! Mexico's avocados, spirits, boots, nopal and soaps, Rwanda's coffee, chili and tours, Canada's
//! lobster, cherries, beef, pork and outerwear — titled in Chinese and the sellers' languages.
//! Exchange rates follow so that quotes work at once; they are illustrative and say so
//! (operators import published ones with `pavilion fx import`).

use super::parse;
use anyhow::{Context, anyhow};
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::{
    CategoryDraft, Departure, Locale, Localized, PriceTier, ProductDraft, ProductKind, Variant,
    Wholesale,
};
use pavilion_domain::fx::RateObservation;
use pavilion_domain::{Country, Currency, Money, Unit};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use Locale::{En, Es, Fr, ZhCn};

/// (slug, parent, English, Chinese, Spanish, French)
type CategoryRow = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// (SKU, [(attribute, value)], price, stock)
type VariantRow = (
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    u32,
);

const CATEGORIES: &[CategoryRow] = &[
    ("food", None, "Food", "食品", "Alimentos", "Alimentation"),
    (
        "fresh-fruit",
        Some("food"),
        "Fresh fruit",
        "新鲜水果",
        "Fruta fresca",
        "Fruits frais",
    ),
    (
        "seafood",
        Some("food"),
        "Seafood",
        "海鲜水产",
        "Mariscos",
        "Fruits de mer",
    ),
    ("meat", Some("food"), "Meat", "肉类", "Carne", "Viande"),
    ("coffee", Some("food"), "Coffee", "咖啡", "Café", "Café"),
    (
        "spices",
        Some("food"),
        "Spices",
        "香料调味",
        "Especias",
        "Épices",
    ),
    (
        "pantry",
        Some("food"),
        "Pantry",
        "厨房食材",
        "Despensa",
        "Épicerie",
    ),
    ("drinks", None, "Drinks", "酒水饮料", "Bebidas", "Boissons"),
    (
        "spirits",
        Some("drinks"),
        "Spirits",
        "烈酒",
        "Destilados",
        "Spiritueux",
    ),
    ("fashion", None, "Fashion", "服饰鞋包", "Moda", "Mode"),
    (
        "footwear",
        Some("fashion"),
        "Footwear",
        "鞋靴",
        "Calzado",
        "Chaussures",
    ),
    (
        "outerwear",
        Some("fashion"),
        "Outerwear",
        "外套",
        "Ropa de abrigo",
        "Vêtements d'extérieur",
    ),
    (
        "beauty",
        None,
        "Beauty and care",
        "美妆个护",
        "Belleza y cuidado",
        "Beauté et soins",
    ),
    ("soap", Some("beauty"), "Soap", "香皂", "Jabón", "Savon"),
    ("travel", None, "Travel", "旅游出行", "Viajes", "Voyages"),
    (
        "tours",
        Some("travel"),
        "Tours",
        "跟团游",
        "Tours",
        "Circuits",
    ),
];

/// One demo product, written compactly; [`Spec::draft`] makes the domain's draft of it.
struct Spec {
    seller: (&'static str, &'static str),
    category: &'static str,
    hs: &'static str,
    kind: ProductKind,
    unit: Unit,
    original: Locale,
    titles: &'static [(Locale, &'static str)],
    descriptions: &'static [(Locale, &'static str)],
    retail: Option<&'static str>,
    stock: Option<u32>,
    /// (MOQ, [(from quantity, unit price)])
    wholesale: Option<(u32, &'static [(u32, &'static str)])>,
    weight_kg: Option<&'static str>,
    volume_l: Option<&'static str>,
    cold_chain: bool,
    shelf_life_days: Option<u32>,
    variants: &'static [VariantRow],
    /// (days from today, seats)
    departures: &'static [(i64, u32)],
}

const BASE: Spec = Spec {
    seller: ("", ""),
    category: "",
    hs: "",
    kind: ProductKind::Goods,
    unit: Unit::Piece,
    original: En,
    titles: &[],
    descriptions: &[],
    retail: None,
    stock: None,
    wholesale: None,
    weight_kg: None,
    volume_l: None,
    cold_chain: false,
    shelf_life_days: None,
    variants: &[],
    departures: &[],
};

fn usd(amount: &str) -> anyhow::Result<Money> {
    parse(Money::parse(amount, Currency::USD))
}

fn texts(pairs: &[(Locale, &str)]) -> Localized {
    pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect()
}

fn decimal(text: &str) -> anyhow::Result<Decimal> {
    parse(text.parse::<Decimal>())
}

impl Spec {
    fn draft(&self, origin: Country, today: time::Date) -> anyhow::Result<ProductDraft> {
        let wholesale = match self.wholesale {
            None => None,
            Some((moq, tiers)) => Some(Wholesale {
                moq: Decimal::from(moq),
                tiers: tiers
                    .iter()
                    .map(|(q, price)| {
                        Ok(PriceTier {
                            min_quantity: Decimal::from(*q),
                            unit_price: usd(price)?,
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
            }),
        };
        let variants = self
            .variants
            .iter()
            .map(|(sku, attributes, price, stock)| {
                Ok(Variant {
                    sku: (*sku).into(),
                    attributes: attributes
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect::<BTreeMap<_, _>>(),
                    retail_price: price.map(usd).transpose()?,
                    stock: Some(*stock),
                    weight_kg_per_unit: None,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(ProductDraft {
            kind: self.kind,
            original_locale: self.original,
            titles: texts(self.titles),
            descriptions: texts(self.descriptions),
            hs: parse(self.hs.parse())?,
            category: Some(self.category.into()),
            origin,
            unit: self.unit,
            weight_kg_per_unit: self.weight_kg.map(decimal).transpose()?,
            volume_l_per_unit: self.volume_l.map(decimal).transpose()?,
            cold_chain: self.cold_chain,
            shelf_life_days: self.shelf_life_days,
            retail_price: self.retail.map(usd).transpose()?,
            wholesale,
            stock: self.stock,
            departures: self
                .departures
                .iter()
                .map(|(days, seats)| Departure {
                    date: today + Duration::days(*days),
                    seats: *seats,
                })
                .collect(),
            variants,
        })
    }
}

const PRODUCTS: &[Spec] = &[
    // Cambodia: fresh fruit cleared for China, from Pailin.
    Spec {
        seller: ("KH", "Pailin Longan Packers"),
        category: "fresh-fruit",
        hs: "0810.90.30",
        titles: &[(En, "Fresh Pailin longan"), (ZhCn, "柬埔寨拜林新鲜龙眼")],
        descriptions: &[
            (
                En,
                "Hand-picked in Pailin's red-soil orchards, packed in a registered packhouse and shipped cold within 48 hours.",
            ),
            (
                ZhCn,
                "产自拜林红土果园，人工采摘，注册包装厂包装，48小时内冷链发运。",
            ),
        ],
        retail: Some("18.00"),
        wholesale: Some((200, &[(200, "12.00"), (2000, "10.50")])),
        weight_kg: Some("5"),
        cold_chain: true,
        shelf_life_days: Some(21),
        variants: &[
            ("KH-LG-5", &[("pack", "5 kg box")], None, 400),
            ("KH-LG-10", &[("pack", "10 kg box")], Some("33.00"), 150),
        ],
        ..BASE
    },
    Spec {
        seller: ("KH", "Pailin Longan Packers"),
        category: "fresh-fruit",
        hs: "0804.50",
        titles: &[
            (En, "Keo Romeat mangoes, 5 kg box"),
            (ZhCn, "柬埔寨Keo Romeat芒果 5公斤装"),
        ],
        descriptions: &[
            (
                En,
                "Sweet, fibre-free mangoes given vapour-heat treatment as China's protocol requires.",
            ),
            (ZhCn, "香甜无纤维，按中国议定书要求经蒸热处理。"),
        ],
        retail: Some("21.00"),
        stock: Some(300),
        wholesale: Some((300, &[(300, "13.50"), (3000, "12.20")])),
        weight_kg: Some("5"),
        cold_chain: true,
        shelf_life_days: Some(14),
        ..BASE
    },
    Spec {
        seller: ("KH", "Pailin Longan Packers"),
        category: "fresh-fruit",
        hs: "0803.90",
        kind: ProductKind::Goods,
        unit: Unit::Kilogram,
        titles: &[
            (En, "Cavendish bananas, export grade"),
            (ZhCn, "柬埔寨香蕉（出口级）"),
        ],
        descriptions: &[(
            En,
            "Green-shipped Cavendish bananas from registered plantations, ripened on arrival.",
        )],
        wholesale: Some((10_000, &[(10_000, "0.62"), (50_000, "0.55")])),
        cold_chain: true,
        shelf_life_days: Some(28),
        ..BASE
    },
    // Mexico: avocados, spirits, boots, nopal, soap.
    Spec {
        seller: ("MX", "Michoacán Avocado Growers"),
        category: "fresh-fruit",
        hs: "0804.40",
        unit: Unit::Kilogram,
        original: Es,
        titles: &[
            (Es, "Aguacate Hass de Michoacán"),
            (ZhCn, "墨西哥米却肯州哈斯牛油果"),
            (En, "Hass avocados from Michoacán"),
        ],
        descriptions: &[
            (
                Es,
                "Aguacates Hass de huertos certificados, cosechados en su punto y enviados en cadena de frío.",
            ),
            (ZhCn, "来自认证果园的哈斯牛油果，适时采收，全程冷链运输。"),
        ],
        retail: Some("4.20"),
        stock: Some(3000),
        wholesale: Some((1000, &[(1000, "2.90"), (10_000, "2.60")])),
        cold_chain: true,
        shelf_life_days: Some(21),
        ..BASE
    },
    Spec {
        seller: ("MX", "Tequilera Los Altos"),
        category: "spirits",
        hs: "2208.90",
        unit: Unit::Bottle,
        original: Es,
        titles: &[
            (Es, "Tequila blanco 100% agave, 750 ml"),
            (ZhCn, "100%蓝色龙舌兰银标特基拉酒 750毫升"),
            (En, "Blanco tequila, 100% blue agave, 750 ml"),
        ],
        descriptions: &[(
            Es,
            "Destilado en Los Altos de Jalisco de agave azul cocido en horno de piedra.",
        )],
        retail: Some("32.00"),
        stock: Some(1200),
        wholesale: Some((120, &[(120, "19.00"), (1200, "17.00")])),
        weight_kg: Some("1.3"),
        volume_l: Some("0.75"),
        ..BASE
    },
    Spec {
        seller: ("MX", "Mezcal de Oaxaca"),
        category: "spirits",
        hs: "2208.90",
        unit: Unit::Bottle,
        original: Es,
        titles: &[
            (Es, "Mezcal espadín artesanal, 700 ml"),
            (ZhCn, "瓦哈卡手工梅斯卡尔酒 700毫升"),
            (En, "Artisanal espadín mezcal, 700 ml"),
        ],
        descriptions: &[(
            Es,
            "Agave espadín cocido en horno de tierra y destilado en alambique de cobre.",
        )],
        retail: Some("45.00"),
        stock: Some(600),
        wholesale: Some((60, &[(60, "27.00"), (600, "24.50")])),
        weight_kg: Some("1.25"),
        volume_l: Some("0.7"),
        ..BASE
    },
    Spec {
        seller: ("MX", "Botas Piel de León"),
        category: "footwear",
        hs: "6403.91",
        original: Es,
        titles: &[
            (Es, "Botas vaqueras de piel, hechas a mano en León"),
            (ZhCn, "莱昂手工真皮牛仔靴"),
            (En, "Handmade leather cowboy boots from León"),
        ],
        descriptions: &[(
            Es,
            "Piel de res curtida al vegetal, suela de cuero cosida, horma tradicional.",
        )],
        retail: Some("180.00"),
        wholesale: Some((24, &[(24, "110.00"), (240, "98.00")])),
        weight_kg: Some("1.8"),
        variants: &[
            ("BPL-VQ-25", &[("size", "25 MX / 39 EU")], None, 30),
            ("BPL-VQ-26", &[("size", "26 MX / 41 EU")], None, 40),
            ("BPL-VQ-27", &[("size", "27 MX / 42 EU")], None, 40),
            ("BPL-VQ-28", &[("size", "28 MX / 43 EU")], None, 25),
        ],
        ..BASE
    },
    Spec {
        seller: ("MX", "Nopal Gourmet"),
        category: "pantry",
        hs: "2001.90",
        original: Es,
        titles: &[
            (Es, "Nopalitos en salmuera, frasco de 500 g"),
            (ZhCn, "墨西哥腌仙人掌嫩茎 500克"),
            (En, "Nopal cactus strips in brine, 500 g jar"),
        ],
        descriptions: &[(
            Es,
            "Nopal tierno cortado en tiras, listo para tacos, ensaladas y huevos a la mexicana.",
        )],
        retail: Some("6.50"),
        stock: Some(2400),
        wholesale: Some((240, &[(240, "3.40"), (2400, "2.95")])),
        weight_kg: Some("0.75"),
        shelf_life_days: Some(540),
        ..BASE
    },
    Spec {
        seller: ("MX", "Jabones de Aguacate"),
        category: "soap",
        hs: "3401.11",
        original: Es,
        titles: &[
            (Es, "Jabón artesanal de aceite de aguacate"),
            (ZhCn, "手工牛油果油香皂"),
            (En, "Handmade avocado-oil soap"),
        ],
        descriptions: &[(
            Es,
            "Elaborado en frío con aceite de aguacate de Michoacán; sin fragancias sintéticas.",
        )],
        retail: Some("7.00"),
        wholesale: Some((200, &[(200, "3.10"), (2000, "2.70")])),
        weight_kg: Some("0.12"),
        shelf_life_days: Some(720),
        variants: &[
            ("JA-NAT", &[("scent", "natural")], None, 800),
            ("JA-LAV", &[("scent", "lavender")], Some("7.50"), 500),
        ],
        ..BASE
    },
    // Rwanda: coffee, dried chili, tours.
    Spec {
        seller: ("RW", "Huye Mountain Coffee"),
        category: "coffee",
        hs: "0901.21",
        titles: &[
            (En, "Huye Mountain roasted coffee beans, 250 g"),
            (ZhCn, "卢旺达胡耶山烘焙咖啡豆 250克"),
            (Fr, "Café en grains torréfié de Huye, 250 g"),
        ],
        descriptions: &[(
            En,
            "Red Bourbon, fully washed at 1,900 m; notes of red berries and black tea.",
        )],
        retail: Some("14.00"),
        stock: Some(900),
        weight_kg: Some("0.25"),
        shelf_life_days: Some(365),
        ..BASE
    },
    Spec {
        seller: ("RW", "Huye Mountain Coffee"),
        category: "coffee",
        hs: "0901.11",
        kind: ProductKind::BulkCommodity,
        unit: Unit::Kilogram,
        titles: &[
            (En, "Green coffee, Red Bourbon, fully washed"),
            (ZhCn, "卢旺达水洗红波旁咖啡生豆"),
            (Fr, "Café vert Bourbon rouge, lavé"),
        ],
        wholesale: Some((600, &[(600, "7.80"), (6000, "7.10")])),
        ..BASE
    },
    Spec {
        seller: ("RW", "Gakenke Chili Farm"),
        category: "spices",
        hs: "0904.21",
        kind: ProductKind::BulkCommodity,
        unit: Unit::Tonne,
        titles: &[
            (En, "Dried bird's eye chili, bulk"),
            (ZhCn, "卢旺达干辣椒（散装）"),
            (Fr, "Piment oiseau séché, en vrac"),
        ],
        descriptions: &[(
            En,
            "Sun-dried Akabanga-type chili from Gakenke, sorted and sealed at a registered processor.",
        )],
        wholesale: Some((20, &[(20, "2600.00"), (500, "2350.00")])),
        ..BASE
    },
    Spec {
        seller: ("RW", "Volcanoes Tours Rwanda"),
        category: "tours",
        hs: "9999.00",
        kind: ProductKind::TravelPackage,
        unit: Unit::Seat,
        titles: &[
            (En, "Gorilla trekking, 4 days from Kigali"),
            (ZhCn, "卢旺达大猩猩徒步四日游"),
            (Fr, "Trek des gorilles, 4 jours depuis Kigali"),
        ],
        descriptions: &[(
            En,
            "Permit, lodge in Musanze, guides and transfers; one hour with a habituated family.",
        )],
        retail: Some("2450.00"),
        departures: &[(30, 8), (60, 8), (90, 8)],
        ..BASE
    },
    Spec {
        seller: ("RW", "Volcanoes Tours Rwanda"),
        category: "tours",
        hs: "9999.00",
        kind: ProductKind::TravelPackage,
        unit: Unit::Seat,
        titles: &[
            (En, "Lake Kivu and Nyungwe forest, 6 days"),
            (ZhCn, "基伍湖与纽恩威森林六日游"),
            (Fr, "Lac Kivu et forêt de Nyungwe, 6 jours"),
        ],
        descriptions: &[(
            En,
            "Canopy walk, chimpanzee tracking, a coffee-washing station and two nights on the lake.",
        )],
        retail: Some("1680.00"),
        departures: &[(45, 12), (75, 12)],
        ..BASE
    },
    // Canada: lobster, cherries, beef, pork, outerwear.
    Spec {
        seller: ("CA", "Nova Scotia Lobster Co."),
        category: "seafood",
        hs: "0306.32",
        unit: Unit::Kilogram,
        titles: &[
            (En, "Live Nova Scotia lobster"),
            (Fr, "Homard vivant de la Nouvelle-Écosse"),
            (ZhCn, "加拿大新斯科舍活龙虾"),
        ],
        descriptions: &[(
            En,
            "Hard-shell lobster from the Atlantic, held in cold seawater and flown live.",
        )],
        retail: Some("38.00"),
        stock: Some(250),
        cold_chain: true,
        shelf_life_days: Some(5),
        ..BASE
    },
    Spec {
        seller: ("CA", "Okanagan Orchards"),
        category: "fresh-fruit",
        hs: "0809.29",
        titles: &[
            (En, "Okanagan sweet cherries, 2 kg"),
            (Fr, "Cerises douces de l'Okanagan, 2 kg"),
            (ZhCn, "加拿大奥肯那根车厘子 2公斤装"),
        ],
        descriptions: &[(
            En,
            "Late-season Staccato and Sweetheart cherries, cold-treated for China.",
        )],
        retail: Some("29.00"),
        stock: Some(500),
        weight_kg: Some("2"),
        cold_chain: true,
        shelf_life_days: Some(14),
        ..BASE
    },
    Spec {
        seller: ("CA", "Prairie Gold Beef"),
        category: "meat",
        hs: "0202.30",
        unit: Unit::Kilogram,
        titles: &[
            (En, "Frozen boneless Alberta beef striploin"),
            (Fr, "Contre-filet de bœuf de l'Alberta, désossé, congelé"),
            (ZhCn, "加拿大阿尔伯塔冷冻去骨西冷牛排"),
        ],
        retail: Some("26.00"),
        stock: Some(800),
        cold_chain: true,
        shelf_life_days: Some(365),
        ..BASE
    },
    Spec {
        seller: ("CA", "Ferme Porcine du Québec"),
        category: "meat",
        hs: "0203.29",
        unit: Unit::Kilogram,
        original: Fr,
        titles: &[
            (Fr, "Longe de porc du Québec, congelée"),
            (En, "Frozen Québec pork loin"),
            (ZhCn, "加拿大魁北克冷冻猪里脊"),
        ],
        retail: Some("9.50"),
        stock: Some(1500),
        cold_chain: true,
        shelf_life_days: Some(365),
        ..BASE
    },
    Spec {
        seller: ("CA", "Laurentian Outerwear"),
        category: "outerwear",
        hs: "6201.40",
        titles: &[
            (En, "Insulated winter parka"),
            (Fr, "Parka d'hiver isolée"),
            (ZhCn, "加拿大保暖冬季派克大衣"),
        ],
        descriptions: &[(
            En,
            "Rated to −30 °C, recycled insulation, made in Montréal.",
        )],
        retail: Some("420.00"),
        weight_kg: Some("1.6"),
        variants: &[
            ("LO-PK-S", &[("size", "S")], None, 40),
            ("LO-PK-M", &[("size", "M")], None, 60),
            ("LO-PK-L", &[("size", "L")], None, 50),
            ("LO-PK-XL", &[("size", "XL")], Some("440.00"), 25),
        ],
        ..BASE
    },
];

/// The seller of that name in that country.
async fn seller(store: &Store, country: Country, name: &str) -> anyhow::Result<Uuid> {
    let mut after = None;
    loop {
        let page = store
            .list_organisations(Some(OrganisationKind::Seller), Some(country), after, 100)
            .await?;
        if let Some(found) = page.iter().find(|o| o.name.as_str() == name) {
            return Ok(found.id);
        }
        match page.last() {
            Some(last) => after = Some(last.id),
            None => return Err(anyhow!("demo data: no seller {name:?} in {country}")),
        }
    }
}

pub async fn seed(store: &Store, ctx: &AuditContext) -> anyhow::Result<()> {
    let today = OffsetDateTime::now_utc().date();
    for (slug, parent, en, zh, es, fr) in CATEGORIES {
        let draft = CategoryDraft {
            slug: (*slug).into(),
            parent: parent.map(Into::into),
            names: texts(&[(En, en), (ZhCn, zh), (Es, es), (Fr, fr)]),
            position: 0,
        };
        store.create_category(ctx, &draft).await?;
    }
    for spec in PRODUCTS {
        let (country, name) = spec.seller;
        let origin: Country = parse(country.parse())?;
        let draft = spec.draft(origin, today)?;
        pavilion_domain::catalogue::validate(&draft, today)
            .map_err(|e| anyhow!("demo product {:?}: {e:?}", spec.titles))?;
        let seller = seller(store, origin, name).await?;
        store
            .create_product(ctx, seller, &draft)
            .await
            .with_context(|| format!("demo product {:?}", spec.titles))?;
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
