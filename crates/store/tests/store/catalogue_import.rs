use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::csv::{ImportRow, parse_products_csv, products_to_csv};
use pavilion_domain::catalogue::{CategoryDraft, Locale, Localized};
use pavilion_domain::fx::RowError;
use pavilion_domain::text::Name;
use pavilion_store::accounts::NewOrganisation;
use pavilion_store::audit::AuditContext;
use pavilion_store::catalogue::PRODUCTS_IMPORTED;
use pavilion_store::catalogue_import::ImportError;
use pavilion_store::on_both_backends;
use pavilion_store::testing::StoreFixture;
use pavilion_store::{Store, StoreError};
use time::macros::date;
use uuid::Uuid;

pub(crate) async fn organisation(store: &Store, kind: OrganisationKind, name: &str) -> Uuid {
    let new = NewOrganisation {
        kind,
        name: Name::parse(name).unwrap(),
        country: "KH".parse().unwrap(),
    };
    store
        .create_organisation(&AuditContext::default(), &new)
        .await
        .unwrap()
        .id
}

async fn fruit(store: &Store) {
    let draft = CategoryDraft {
        slug: "fresh-fruit".into(),
        parent: None,
        names: Localized::from([(Locale::En, "Fresh fruit".to_owned())]),
        position: 0,
    };
    store
        .create_category(&AuditContext::default(), &draft)
        .await
        .unwrap();
}

pub(crate) const HEADER: &str = "seller_id,kind,original_locale,title_zh-CN,title_en,title_es,title_fr,description_zh-CN,description_en,description_es,description_fr,hs,category,origin,unit,weight_kg_per_unit,volume_l_per_unit,cold_chain,shelf_life_days,retail_price,currency,moq,tiers,stock,departures,variants";

/// A longan box, a tour with departures and a soap with variants, `copies` times each.
fn rows(seller: Uuid, copies: usize) -> Vec<ImportRow> {
    let mut text = String::from(HEADER);
    for i in 0..copies {
        text.push_str(&format!(
            "\n{seller},goods,en,柬埔寨拜林龙眼 {i},\"Fresh Pailin longan, box {i}\",,,,Hand-picked.,,,0810.90.30,fresh-fruit,KH,piece,5,,true,21,18.00,USD,100,100:12.00;1000:10.50,{i},,\
             \n{seller},travel_package,en,,Angkor sunrise tour {i},,,,,,,9999.00,,KH,seat,,,false,,150.00,USD,,,,2027-03-01:12;2027-04-05:8,\
             \n{seller},goods,es,,,Jabón {i},,,,,,3401.11,,KH,piece,0.1,,,,5.00,USD,,,,,SOAP-L|scent=lima|5.50|40|0.1;SOAP-M|scent=menta|5.00|{i}"
        ));
    }
    parse_products_csv(&text, date!(2026 - 11 - 23), None).unwrap()
}

async fn count(store: &Store, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await
        .unwrap();
    n
}

on_both_backends! {
    async fn imported_products_read_back_equal_with_one_event(fx: StoreFixture) {
        let seller = organisation(&fx.store, OrganisationKind::Seller, "Pailin Longan Packers").await;
        fruit(&fx.store).await;
        // Enough rows for several batches of products and of child rows.
        let input = rows(seller, 2100);
        let mut seen = 0;
        let summary = fx.store.import_products(&AuditContext::default(), input.clone(), |n| seen += n).await.unwrap();
        assert_eq!((summary.imported, seen), (6300, 6300));

        let mut back = Vec::new();
        let mut after = None;
        loop {
            let page = fx.store.products_page(after, 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            back.extend(page);
        }
        assert_eq!(back.len(), input.len());
        assert_eq!(back.first().map(|p| p.id), summary.first_id);
        assert_eq!(back.last().map(|p| p.id), summary.last_id);
        for (product, row) in back.iter().zip(&input) {
            assert_eq!(product.seller_id, seller);
            assert_eq!(product.draft, row.draft);
            assert_eq!(product.version, 1);
        }
        assert_eq!(back[1].departure_seats[0].seats_left, 12);

        // One outbox entry for the whole range, none per product.
        let outbox = fx.store.outbox_after(&[PRODUCTS_IMPORTED, "product.changed"], 0, 100).await.unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].kind, PRODUCTS_IMPORTED);
        let events = fx.store.events_about("product_range", &outbox[0].subject_id).await.unwrap();
        assert_eq!(events[0].payload["count"], 6300);
        assert_eq!(events[0].payload["first"], serde_json::json!(summary.first_id));

        // The export of what was imported is the file that was imported.
        let exported = products_to_csv(back.iter().map(|p| (p.seller_id, &p.draft))).unwrap();
        let again = parse_products_csv(&exported, date!(2026 - 11 - 23), None).unwrap();
        assert_eq!(again.into_iter().map(|r| r.draft).collect::<Vec<_>>(),
                   input.into_iter().map(|r| r.draft).collect::<Vec<_>>());
    }

    async fn a_bad_row_writes_nothing(fx: StoreFixture) {
        let seller = organisation(&fx.store, OrganisationKind::Seller, "Pailin Longan Packers").await;
        let buyer = organisation(&fx.store, OrganisationKind::BusinessBuyer, "Hangzhou Fresh").await;
        // No category "fresh-fruit" exists, and two rows name sellers that are not sellers.
        let mut input = rows(seller, 2);
        input[1].seller = buyer;
        input[4].seller = Uuid::now_v7();
        input[2].draft.category = None;
        let err = fx.store.import_products(&AuditContext::default(), input, |_| {}).await.unwrap_err();
        let ImportError::Rows(errors) = err else { panic!("{err}") };
        let found: Vec<(u64, &str)> = errors.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(found, [(2, "category"), (3, "seller_id"), (5, "category"), (6, "seller_id")]);
        assert!(errors.0[1].message.contains("not a seller"), "{}", errors.0[1].message);
        assert_eq!(count(&fx.store, "products").await, 0);

        // A row the database itself refuses (a SKU twice) rolls back the rows before it.
        fruit(&fx.store).await;
        let mut input = rows(seller, 3000);
        let last = input.len() - 1;
        let repeated = input[last].draft.variants[0].sku.clone();
        input[last].draft.variants[1].sku = repeated;
        let err = fx.store.import_products(&AuditContext::default(), input, |_| {}).await.unwrap_err();
        assert!(matches!(err, ImportError::Store(StoreError::Rule { field: "row", .. })), "{err}");
        assert_eq!(count(&fx.store, "products").await, 0);
        assert_eq!(count(&fx.store, "product_variants").await, 0);
        assert_eq!(count(&fx.store, "outbox").await, 0);
    }

    async fn bad_rows_anywhere_in_a_streamed_file_are_all_reported_and_nothing_is_written(fx: StoreFixture) {
        let seller = organisation(&fx.store, OrganisationKind::Seller, "Pailin Longan Packers").await;
        fruit(&fx.store).await;
        // Rows are written batch by batch while the file is read: a bad row after several
        // batches were written rolls them back, and the rows after it are still checked.
        let input = rows(seller, 2000);
        let (bad_line, stranger_line) = (input[4500].line, input[5100].line);
        let streamed = input.into_iter().enumerate().map(move |(i, mut row)| match i {
            4500 => Err(vec![RowError { line: row.line, field: "hs".into(), message: "not an HS code".into() }]),
            5100 => {
                row.seller = Uuid::now_v7();
                Ok(row)
            }
            _ => Ok(row),
        });
        let mut written = 0;
        let err = fx.store.import_rows(&AuditContext::default(), streamed, |n| written += n, None).await.unwrap_err();
        let ImportError::Rows(errors) = err else { panic!("{err}") };
        let found: Vec<(u64, &str)> = errors.0.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(found, [(bad_line, "hs"), (stranger_line, "seller_id")]);
        assert!(written >= 4000, "batches were written before the bad row: {written}");
        assert_eq!(count(&fx.store, "products").await, 0);
        assert_eq!(count(&fx.store, "departures").await, 0);
        assert_eq!(count(&fx.store, "outbox").await, 0);

        // A file with a header and no rows imports nothing, and says so.
        let summary = fx.store.import_rows(&AuditContext::default(), std::iter::empty(), |_| {}, None).await.unwrap();
        assert_eq!((summary.imported, summary.first_id, summary.outbox_seq), (0, None, None));
        assert_eq!(count(&fx.store, "outbox").await, 0);
    }
}
