//! The agency stories: a ministry's longan programme, a trade body's wholesale pavilion still
//! recruiting (24 of 100), a development board's renewed three-year partnership with its
//! fellowship and travel pavilion, live retail pavilions, and membership plans with a past
//! half-price promotion paid for in part by the agencies.

use super::parse;
use anyhow::Context;
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::programmes::{
    ApplicationStatus, Channel, DateRange, Metric, Percent, Promotion, TargetPeriod, TermKind,
};
use pavilion_domain::text::Name;
use pavilion_domain::{Currency, Money};
use pavilion_store::Store;
use pavilion_store::accounts::NewOrganisation;
use pavilion_store::applications::{Certificate, NewApplication};
use pavilion_store::audit::AuditContext;
use pavilion_store::membership::NewPlan;
use pavilion_store::pavilions::NewPavilion;
use pavilion_store::programmes::{NewProgramme, NewSponsorship, NewTarget, StoredTerm};
use pavilion_store::training::NewEnrollment;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use time::Date;
use time::macros::date;
use uuid::Uuid;

fn usd(amount: &str) -> anyhow::Result<Money> {
    parse(Money::parse(amount, Currency::USD))
}

fn pct(p: &str) -> anyhow::Result<Percent> {
    parse(Percent::parse(p))
}

fn target(
    metric: Metric,
    value: u32,
    period: TargetPeriod,
    hs: Option<&str>,
    label: &str,
) -> NewTarget {
    let unit = match metric {
        Metric::ApprovedExporters => "exporter",
        Metric::Trainees => "trainee",
        Metric::TradeWeight => "t",
        Metric::TradeValue => "USD",
    };
    NewTarget {
        metric,
        target: Decimal::from(value),
        unit: unit.into(),
        period,
        hs_prefix: hs.map(str::to_owned),
        label: label.into(),
    }
}

fn story(en: &str, zh: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("en".to_owned(), en.to_owned()),
        ("zh-CN".to_owned(), zh.to_owned()),
    ])
}

struct Onboarding<'a> {
    store: &'a Store,
    ctx: &'a AuditContext,
    plan: Uuid,
}

impl Onboarding<'_> {
    /// Applies, verifies and approves an exporter on `approved_on`, issuing its invoice.
    async fn approve(
        &self,
        programme: Uuid,
        seller: Uuid,
        channels: &[Channel],
        certificates: &[(&str, &str)],
        approved_on: Date,
    ) -> anyhow::Result<()> {
        let application = self
            .store
            .apply(
                self.ctx,
                &NewApplication {
                    programme_id: programme,
                    seller_id: seller,
                    plan_id: self.plan,
                    registration_number: format!("REG-{}", &seller.simple().to_string()[24..]),
                    address: "Registered office on file".into(),
                    categories: vec!["food and agriculture".into()],
                    certificates: certificates
                        .iter()
                        .map(|(kind, number)| Certificate {
                            kind: (*kind).into(),
                            number: (*number).into(),
                        })
                        .collect(),
                    channels: channels.to_vec(),
                },
            )
            .await?;
        for (status, reason) in [
            (
                ApplicationStatus::Verified,
                "registration and certificates checked",
            ),
            (
                ApplicationStatus::Approved,
                "meets the programme's criteria",
            ),
        ] {
            self.store
                .decide_application(self.ctx, application.id, status, reason, approved_on)
                .await?;
        }
        Ok(())
    }
}

/// A seller organisation without members (the demo signs in as the first of each country).
async fn new_seller(
    store: &Store,
    ctx: &AuditContext,
    name: &str,
    country: &str,
) -> anyhow::Result<Uuid> {
    let seller = store
        .create_organisation(
            ctx,
            &NewOrganisation {
                kind: OrganisationKind::Seller,
                name: parse(Name::parse(name))?,
                country: parse(country.parse())?,
            },
        )
        .await?;
    Ok(seller.id)
}

pub(super) fn org(orgs: &HashMap<&'static str, Uuid>, name: &str) -> anyhow::Result<Uuid> {
    orgs.get(name)
        .copied()
        .with_context(|| format!("demo organisation {name} missing"))
}

pub async fn seed(
    store: &Store,
    ctx: &AuditContext,
    orgs: &HashMap<&'static str, Uuid>,
) -> anyhow::Result<()> {
    let wholesale = store
        .create_plan(
            ctx,
            &NewPlan {
                tier: "wholesale-gold".into(),
                name: "Wholesale Gold membership".into(),
                annual_fee: usd("2999.00")?,
                listing_limit: Some(500),
                wholesale_access: true,
            },
        )
        .await?;
    store
        .add_promotion(
            ctx,
            wholesale.id,
            &Promotion {
                name: "Half price for five months".into(),
                percent_off: pct("50")?,
                window: parse(DateRange::new(date!(2025 - 11 - 01), date!(2026 - 03 - 31)))?,
            },
        )
        .await?;
    let retail = store
        .create_plan(
            ctx,
            &NewPlan {
                tier: "retail-basic".into(),
                name: "Cross-border retail membership".into(),
                annual_fee: usd("999.00")?,
                listing_limit: Some(100),
                wholesale_access: false,
            },
        )
        .await?;

    // Cambodia: the longan story, and a live retail pavilion.
    let moc = org(orgs, "Ministry of Commerce of Cambodia")?;
    let kh = store
        .create_programme(
            ctx,
            &NewProgramme {
                agency_id: moc,
                title: "Cambodian fruit to China".into(),
                signed_on: Some(date!(2024 - 05 - 20)),
                initial_term: parse(DateRange::new(date!(2024 - 06 - 01), date!(2027 - 05 - 31)))?,
                targets: vec![
                    target(
                        Metric::TradeWeight,
                        20_000,
                        TargetPeriod::Year,
                        Some("0810"),
                        "Fresh longan to China",
                    ),
                    target(
                        Metric::ApprovedExporters,
                        30,
                        TargetPeriod::Programme,
                        None,
                        "Fruit exporters approved",
                    ),
                    target(
                        Metric::Trainees,
                        60,
                        TargetPeriod::Programme,
                        None,
                        "Netpreneurs trained",
                    ),
                ],
            },
        )
        .await?;
    store
        .set_sponsorship(
            ctx,
            kh.id,
            &NewSponsorship {
                name: "Ministry co-funding".into(),
                percent: pct("50")?,
                currency: Currency::USD,
                cap_per_seller: Some(usd("500.00")?),
                budget: Some(usd("15000.00")?),
            },
        )
        .await?;
    store
        .create_pavilion(ctx, &NewPavilion {
            country: parse("KH".parse())?,
            channel: Channel::Retail,
            title: "Cambodia Pavilion".into(),
            story: story(
                "Fresh longan from Pailin, mangoes and bananas, cleared for direct export to China.",
                "来自拜林的新鲜龙眼、芒果和香蕉，已获准直接出口中国。",
            ),
            threshold: 1,
        })
        .await?;
    let retail_onboarding = Onboarding {
        store,
        ctx,
        plan: retail.id,
    };
    retail_onboarding
        .approve(
            kh.id,
            org(orgs, "Pailin Longan Packers")?,
            &[Channel::Retail, Channel::Wholesale],
            &[
                ("registered_packhouse", "KH-PH-2022-014"),
                ("orchard_code", "KH-PL-0381"),
            ],
            date!(2024 - 07 - 10),
        )
        .await?;
    let course = store
        .create_course(
            ctx,
            moc,
            "Netpreneur course",
            "Selling fresh produce online across the border",
        )
        .await?;
    let cohort = store
        .create_cohort(
            ctx,
            course.id,
            kh.id,
            "Phnom Penh 2026",
            parse(DateRange::new(date!(2026 - 02 - 02), date!(2026 - 03 - 27)))?,
            30,
        )
        .await?;
    for i in 1..=12 {
        let enrollment = store
            .enroll(
                ctx,
                cohort.id,
                &NewEnrollment {
                    participant_name: format!("Netpreneur {i}"),
                    participant_email: format!("netpreneur{i}@kh.demo"),
                    seller_id: None,
                },
            )
            .await?;
        if i <= 9 {
            store.complete_enrollment(ctx, enrollment.id).await?;
        }
    }

    // Mexico: a trade body signing exporters up as paying members; the wholesale pavilion
    // launches only at 100, and 24 are approved so far — during the half-price months, with the
    // agency paying the rest of the fee.
    let mx_agency = org(orgs, "Mexican Trade Promotion Office")?;
    let mx = store
        .create_programme(
            ctx,
            &NewProgramme {
                agency_id: mx_agency,
                title: "Mexican exporters on the wholesale platform".into(),
                signed_on: Some(date!(2025 - 10 - 15)),
                initial_term: parse(DateRange::new(date!(2025 - 11 - 01), date!(2027 - 10 - 31)))?,
                targets: vec![target(
                    Metric::ApprovedExporters,
                    100,
                    TargetPeriod::Programme,
                    None,
                    "Exporters approved",
                )],
            },
        )
        .await?;
    store
        .set_sponsorship(
            ctx,
            mx.id,
            &NewSponsorship {
                name: "Trade office pays the rest of the fee".into(),
                percent: pct("100")?,
                currency: Currency::USD,
                cap_per_seller: None,
                budget: Some(usd("40000.00")?),
            },
        )
        .await?;
    store
        .create_pavilion(
            ctx,
            &NewPavilion {
                country: parse("MX".parse())?,
                channel: Channel::Wholesale,
                title: "Mexico Pavilion".into(),
                story: story(
                    "Avocados, tequila, mezcal, leather boots and more from Mexican exporters.",
                    "来自墨西哥出口商的牛油果、龙舌兰酒、梅斯卡尔酒、皮靴等。",
                ),
                threshold: 100,
            },
        )
        .await?;
    let wholesale_onboarding = Onboarding {
        store,
        ctx,
        plan: wholesale.id,
    };
    let mut mexican_sellers = vec![org(orgs, "Michoacán Avocado Growers")?];
    const MX_NAMES: [&str; 23] = [
        "Tequilera Los Altos",
        "Mezcal de Oaxaca",
        "Botas Piel de León",
        "Nopal Gourmet",
        "Jabones de Aguacate",
        "Chiles de Puebla",
        "Café de Chiapas",
        "Miel Maya",
        "Cacao de Tabasco",
        "Vainilla de Papantla",
        "Limones de Colima",
        "Mangos de Sinaloa",
        "Berries de Jalisco",
        "Artesanías de Talavera",
        "Plata de Taxco",
        "Textiles de Chiapas",
        "Salsas de Yucatán",
        "Tortillas del Bajío",
        "Cerveza Artesanal Baja",
        "Agave Azul",
        "Papaya de Veracruz",
        "Nuez de Chihuahua",
        "Sal de Colima",
    ];
    for name in MX_NAMES {
        let seller = store
            .create_organisation(
                ctx,
                &NewOrganisation {
                    kind: OrganisationKind::Seller,
                    name: parse(Name::parse(name))?,
                    country: parse("MX".parse())?,
                },
            )
            .await?;
        mexican_sellers.push(seller.id);
    }
    for (i, seller) in mexican_sellers.iter().enumerate() {
        let day = date!(2025 - 11 - 03) + time::Duration::days(i64::try_from(i).unwrap_or(0) * 5);
        wholesale_onboarding
            .approve(mx.id, *seller, &[Channel::Wholesale], &[], day)
            .await?;
    }

    // Rwanda: a three-year partnership renewed for three more, the dried chili supplier, a
    // fellowship of 40 entrepreneurs, and a travel pavilion selling tour packages.
    let rdb = org(orgs, "Rwanda Development Board")?;
    let rw = store
        .create_programme(
            ctx,
            &NewProgramme {
                agency_id: rdb,
                title: "Rwanda–China e-commerce partnership".into(),
                signed_on: Some(date!(2022 - 11 - 28)),
                initial_term: parse(DateRange::new(date!(2023 - 01 - 01), date!(2025 - 12 - 31)))?,
                targets: vec![
                    target(
                        Metric::TradeWeight,
                        50_000,
                        TargetPeriod::Year,
                        Some("0904"),
                        "Dried chili supplied",
                    ),
                    target(
                        Metric::Trainees,
                        40,
                        TargetPeriod::Programme,
                        None,
                        "Entrepreneurs trained",
                    ),
                ],
            },
        )
        .await?;
    let renewed = store
        .add_term(
            ctx,
            rw.id,
            StoredTerm {
                kind: TermKind::Renewal,
                starts_on: date!(2026 - 01 - 01),
                ends_on: date!(2028 - 12 - 31),
                note: Some("Three-year renewal signed in December 2025".into()),
            },
        )
        .await?;
    parse(renewed)?;
    store
        .create_pavilion(
            ctx,
            &NewPavilion {
                country: parse("RW".parse())?,
                channel: Channel::Travel,
                title: "Visit Rwanda".into(),
                story: story(
                    "Gorilla trekking and volcano tours.",
                    "大猩猩徒步和火山之旅。",
                ),
                threshold: 1,
            },
        )
        .await?;
    wholesale_onboarding
        .approve(
            rw.id,
            org(orgs, "Gakenke Chili Farm")?,
            &[Channel::Wholesale],
            &[("phytosanitary", "RW-PC-2021-77")],
            date!(2023 - 03 - 01),
        )
        .await?;
    retail_onboarding
        .approve(
            rw.id,
            org(orgs, "Volcanoes Tours Rwanda")?,
            &[Channel::Travel],
            &[],
            date!(2023 - 04 - 12),
        )
        .await?;
    let coffee = new_seller(store, ctx, "Huye Mountain Coffee", "RW").await?;
    wholesale_onboarding
        .approve(
            rw.id,
            coffee,
            &[Channel::Wholesale, Channel::Retail],
            &[("phytosanitary", "RW-PC-2023-12")],
            date!(2023 - 06 - 20),
        )
        .await?;
    let fellowship = store
        .create_course(
            ctx,
            rdb,
            "Entrepreneurs' fellowship",
            "Cross-border e-commerce for Rwandan SMEs",
        )
        .await?;
    let cohort = store
        .create_cohort(
            ctx,
            fellowship.id,
            rw.id,
            "Kigali 2024",
            parse(DateRange::new(date!(2024 - 03 - 04), date!(2024 - 06 - 28)))?,
            40,
        )
        .await?;
    for i in 1..=40 {
        let enrollment = store
            .enroll(
                ctx,
                cohort.id,
                &NewEnrollment {
                    participant_name: format!("Fellow {i}"),
                    participant_email: format!("fellow{i}@rw.demo"),
                    seller_id: None,
                },
            )
            .await?;
        store.complete_enrollment(ctx, enrollment.id).await?;
    }

    // Canada: a live retail pavilion (lobster, cherries, beef).
    let tcs = org(orgs, "Trade Commissioner Service of Canada")?;
    let ca = store
        .create_programme(
            ctx,
            &NewProgramme {
                agency_id: tcs,
                title: "Canadian food on cross-border retail".into(),
                signed_on: Some(date!(2025 - 01 - 10)),
                initial_term: parse(DateRange::new(date!(2025 - 02 - 01), date!(2028 - 01 - 31)))?,
                targets: vec![target(
                    Metric::ApprovedExporters,
                    20,
                    TargetPeriod::Programme,
                    None,
                    "Exporters approved",
                )],
            },
        )
        .await?;
    store
        .create_pavilion(
            ctx,
            &NewPavilion {
                country: parse("CA".parse())?,
                channel: Channel::Retail,
                title: "Canada Pavilion".into(),
                story: story(
                    "Live lobster, cherries, beef, pork and outerwear from Canada.",
                    "来自加拿大的活龙虾、樱桃、牛肉、猪肉和户外服装。",
                ),
                threshold: 1,
            },
        )
        .await?;
    retail_onboarding
        .approve(
            ca.id,
            org(orgs, "Nova Scotia Lobster Co.")?,
            &[Channel::Retail],
            &[],
            date!(2025 - 03 - 02),
        )
        .await?;
    for (i, (name, channels)) in [
        ("Okanagan Orchards", &[Channel::Retail][..]),
        ("Prairie Gold Beef", &[Channel::Retail][..]),
        ("Ferme Porcine du Québec", &[Channel::Retail][..]),
        ("Laurentian Outerwear", &[Channel::Retail][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let seller = new_seller(store, ctx, name, "CA").await?;
        let day = date!(2025 - 04 - 01) + time::Duration::days(i64::try_from(i)? * 9);
        retail_onboarding
            .approve(ca.id, seller, channels, &[], day)
            .await?;
    }
    Ok(())
}
