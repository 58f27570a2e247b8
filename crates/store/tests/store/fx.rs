use pavilion_domain::Currency;
use pavilion_domain::fx::{RateObservation, parse_ecb_csv};
use pavilion_store::audit::AuditContext;
use pavilion_store::on_both_backends;
use pavilion_store::testing::StoreFixture;
use rust_decimal::Decimal;
use time::macros::date;

const ECB: &str = "Date, USD, CNY, MXN, \n2026-11-20, 1.0535, 7.6120, 19.80, \n2026-11-19, 1.0500, 7.6000, 19.75, \n";

on_both_backends! {
    async fn rates_import_resolve_and_replace(fx: StoreFixture) {
        let ctx = AuditContext::default();
        let parsed = parse_ecb_csv(ECB).unwrap();
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counting = seen.clone();
        let counted = move |n| { counting.fetch_add(n, std::sync::atomic::Ordering::Relaxed); };
        assert_eq!(fx.store.import_rates(&ctx, &parsed.rates, counted).await.unwrap(), 6);
        assert_eq!(seen.load(std::sync::atomic::Ordering::Relaxed), 6);
        let usd_cny = fx.store.exchange_rate(Currency::USD, Currency::CNY, date!(2026 - 11 - 22), 7).await.unwrap().unwrap();
        assert_eq!(usd_cny.rate(), "7.6120".parse::<Decimal>().unwrap() / "1.0535".parse::<Decimal>().unwrap());
        assert!(usd_cny.source().unwrap().contains("ECB 2026-11-20"));
        assert!(fx.store.exchange_rate(Currency::USD, Currency::JPY, date!(2026 - 11 - 22), 7).await.unwrap().is_err());

        // Importing the same day again replaces the rate instead of duplicating it.
        let corrected = parse_ecb_csv("Date, USD\n2026-11-20, 1.0600\n").unwrap();
        fx.store.import_rates(&ctx, &corrected.rates, |_| {}).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM fx_rates").fetch_one(fx.store.pool()).await.unwrap();
        assert_eq!(n, 6);
        let eur_usd = fx.store.exchange_rate(Currency::EUR, Currency::USD, date!(2026 - 11 - 20), 0).await.unwrap().unwrap();
        assert_eq!(eur_usd.rate(), "1.06".parse::<Decimal>().unwrap());
    }

    /// A row the database refuses rolls the whole import back: nothing is half-imported.
    async fn a_failing_import_writes_nothing(fx: StoreFixture) {
        let good = RateObservation { date: date!(2026 - 01 - 05), base: Currency::EUR, quote: Currency::USD, rate: Decimal::ONE, source: "t".into() };
        let mut rates: Vec<RateObservation> = (0..450)
            .map(|i| RateObservation { date: date!(2020 - 01 - 01) + time::Duration::days(i), ..good.clone() })
            .collect();
        rates.push(RateObservation { quote: Currency::EUR, ..good });
        assert!(fx.store.import_rates(&AuditContext::default(), &rates, |_| {}).await.is_err());
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM fx_rates").fetch_one(fx.store.pool()).await.unwrap();
        assert_eq!(n, 0);
    }
}
