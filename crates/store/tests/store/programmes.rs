use crate::catalogue_import::organisation;
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::programmes::{DateRange, Percent};
use pavilion_domain::{Currency, Money};
use pavilion_store::StoreError;
use pavilion_store::audit::AuditContext;
use pavilion_store::on_both_backends;
use pavilion_store::programmes::{NewProgramme, NewSponsorship};
use pavilion_store::testing::StoreFixture;
use time::macros::date;

fn sponsorship(budget_cents: i64, currency: Currency) -> NewSponsorship {
    NewSponsorship {
        name: "Ministry sponsorship".into(),
        percent: Percent::parse("50").unwrap(),
        currency,
        cap_per_seller: None,
        budget: Some(Money::from_minor(budget_cents, currency)),
    }
}

on_both_backends! {
    async fn the_database_holds_a_sponsorship_budget_above_what_was_spent(fx: StoreFixture) {
        let ctx = AuditContext::default();
        let agency = organisation(&fx.store, OrganisationKind::Agency, "Ministry of Commerce").await;
        let programme = fx.store.create_programme(&ctx, &NewProgramme {
            agency_id: agency,
            title: "Export readiness".into(),
            signed_on: None,
            initial_term: DateRange::new(date!(2026 - 01 - 01), date!(2026 - 12 - 31)).unwrap(),
            targets: vec![],
        }).await.unwrap();
        fx.store.set_sponsorship(&ctx, programme.id, &sponsorship(200_000, Currency::USD)).await.unwrap();
        // What invoices spent, written directly: the store's own check is bypassed on purpose.
        sqlx::query("UPDATE sponsorships SET spent_minor = 150000")
            .execute(fx.store.pool())
            .await
            .unwrap();

        let below = fx.store.set_sponsorship(&ctx, programme.id, &sponsorship(100_000, Currency::USD)).await;
        assert!(matches!(below, Err(StoreError::Conflict { field: "budget" })), "{below:?}");
        let other_currency = fx.store.set_sponsorship(&ctx, programme.id, &sponsorship(300_000, Currency::EUR)).await;
        assert!(matches!(other_currency, Err(StoreError::Conflict { field: "currency" })), "{other_currency:?}");
        let above = fx.store.set_sponsorship(&ctx, programme.id, &sponsorship(150_000, Currency::USD)).await.unwrap();
        assert_eq!(above.sponsorship.unwrap().budget, Some(Money::from_minor(150_000, Currency::USD)));
    }
}
