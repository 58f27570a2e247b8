//! The demo platform: the organisations and people of the stories in DESIGN.md, so that a
//! newcomer signs in and finds a living platform. Later features add their data here.

mod catalogue;
mod generated;
mod programmes;

use anyhow::anyhow;
use pavilion_domain::accounts::{OrganisationKind, Role};
use pavilion_domain::text::{Email, Name, Password};
use pavilion_store::Store;
use pavilion_store::accounts::{Membership, NewOrganisation, NewUser};
use pavilion_store::audit::AuditContext;
use std::net::SocketAddr;

/// Every demo account signs in with this password.
pub const DEMO_PASSWORD: &str = "pavilion-demo";
const ADMIN_EMAIL: &str = "admin@pavilion.demo";

struct DemoOrganisation {
    kind: OrganisationKind,
    name: &'static str,
    country: &'static str,
    /// (e-mail, display name) of its members.
    members: &'static [(&'static str, &'static str)],
}

const ORGANISATIONS: &[DemoOrganisation] = &[
    DemoOrganisation {
        kind: OrganisationKind::Platform,
        name: "Pavilion Demo Operator",
        country: "SG",
        members: &[(ADMIN_EMAIL, "Demo Administrator")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Agency,
        name: "Ministry of Commerce of Cambodia",
        country: "KH",
        members: &[("officer@moc.kh.demo", "Sokha Chan")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Agency,
        name: "Rwanda Development Board",
        country: "RW",
        members: &[("officer@rdb.rw.demo", "Aline Uwase")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Agency,
        name: "Mexican Trade Promotion Office",
        country: "MX",
        members: &[("officer@trade.mx.demo", "Lucía Hernández")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Agency,
        name: "Trade Commissioner Service of Canada",
        country: "CA",
        members: &[("officer@tcs.ca.demo", "Émilie Tremblay")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Seller,
        name: "Pailin Longan Packers",
        country: "KH",
        members: &[("sales@pailin-longan.demo", "Dara Sok")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Seller,
        name: "Gakenke Chili Farm",
        country: "RW",
        members: &[("export@gakenke-chili.demo", "Jean Habimana")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Seller,
        name: "Michoacán Avocado Growers",
        country: "MX",
        members: &[("ventas@michoacan-aguacate.demo", "Javier Morales")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Seller,
        name: "Nova Scotia Lobster Co.",
        country: "CA",
        members: &[("export@ns-lobster.demo", "Claire MacDonald")],
    },
    DemoOrganisation {
        kind: OrganisationKind::Seller,
        name: "Volcanoes Tours Rwanda",
        country: "RW",
        members: &[("trips@volcanoes-tours.demo", "Eric Mugisha")],
    },
    DemoOrganisation {
        kind: OrganisationKind::BusinessBuyer,
        name: "Hangzhou Fresh Retail Chain",
        country: "CN",
        members: &[("buying@hz-fresh.demo", "Wang Fang")],
    },
];

const CONSUMERS: &[(&str, &str)] = &[("li.na@consumer.demo", "Li Na")];

fn parse<T, E: std::fmt::Display>(r: Result<T, E>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow!("demo data: {e}"))
}

/// Seeds the demo once; a data directory that already has it is left alone.
pub async fn seed(store: &Store) -> anyhow::Result<()> {
    let admin = parse(Email::parse(ADMIN_EMAIL))?;
    if store.find_credentials(&admin).await?.is_some() {
        tracing::info!("demo data already present");
        return Ok(());
    }
    let ctx = AuditContext {
        actor_user_id: None,
        request_id: Some("pavilion-demo".into()),
    };
    let password = parse(Password::parse(DEMO_PASSWORD.to_owned()))?;
    let hash = pavilion_server::auth::passwords::hash(password).await?;
    let mut organisations = std::collections::HashMap::new();
    for org in ORGANISATIONS {
        let mut membership = Membership::Found(NewOrganisation {
            kind: org.kind,
            name: parse(Name::parse(org.name))?,
            country: parse(org.country.parse())?,
        });
        for (email, name) in org.members {
            let account = store
                .create_user(
                    &ctx,
                    &NewUser {
                        email: parse(Email::parse(email))?,
                        password_hash: hash.clone(),
                        display_name: parse(Name::parse(name))?,
                        role: org.kind.member_role(),
                        membership: membership.clone(),
                    },
                )
                .await?;
            if let Some(created) = account.organisation {
                organisations.insert(org.name, created.id);
                membership = Membership::Existing(created.id);
            }
        }
    }
    for (email, name) in CONSUMERS {
        store
            .create_user(
                &ctx,
                &NewUser {
                    email: parse(Email::parse(email))?,
                    password_hash: hash.clone(),
                    display_name: parse(Name::parse(name))?,
                    role: Role::Consumer,
                    membership: Membership::None,
                },
            )
            .await?;
    }
    programmes::seed(store, &ctx, &organisations).await?;
    catalogue::seed(store, &ctx).await?;
    let access = pavilion_domain::market_access::parse_rules_csv(include_str!(
        "../../../../rules/market_access.csv"
    ))
    .map_err(|e| anyhow!("rules/market_access.csv: {e}"))?;
    store.upsert_access_rules(&ctx, &access).await?;
    tracing::info!("demo data seeded");
    Ok(())
}

/// Adds `n` generated products for load tests (see `generated`).
pub async fn add_generated_products(store: &Store, n: u64) -> anyhow::Result<()> {
    generated::add(store, n).await
}

pub fn print_welcome(listen: SocketAddr) {
    println!("Pavilion demo on http://{listen}");
    println!("  API reference: http://{listen}/api/docs");
    println!("  Country pavilions: http://{listen}/api/v1/pavilions");
    println!("  Sign in (POST /api/v1/auth/sign-in) with password {DEMO_PASSWORD:?} as:");
    for org in ORGANISATIONS {
        for (email, _) in org.members {
            println!(
                "    {:<16} {email}  ({})",
                org.kind.member_role().as_str(),
                org.name
            );
        }
    }
    for (email, _) in CONSUMERS {
        println!("    {:<16} {email}", "consumer");
    }
}
