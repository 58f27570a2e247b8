//! Reading the catalogue a page at a time (exports, the search indexer): keyset pages within id
//! bounds, and the light reads the search index uses.

use crate::catalogue_import::{HEADER, organisation};
use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::csv::{ImportRow, parse_products_csv};
use pavilion_store::Store;
use pavilion_store::audit::AuditContext;
use pavilion_store::catalogue::{IdBounds, Product, ProductToIndex};
use pavilion_store::on_both_backends;
use pavilion_store::testing::StoreFixture;
use time::macros::date;
use uuid::Uuid;

async fn seller(store: &Store, name: &str) -> Uuid {
    organisation(store, OrganisationKind::Seller, name).await
}

/// Goods with retail and wholesale prices, a tour, and soap with variants, alternating between
/// two sellers.
fn rows(sellers: [Uuid; 2], copies: usize) -> Vec<ImportRow> {
    let mut text = String::from(HEADER);
    for i in 0..copies {
        let (a, b) = (sellers[i % 2], sellers[(i + 1) % 2]);
        text.push_str(&format!(
            "\n{a},goods,en,柬埔寨拜林龙眼 {i},\"Fresh Pailin longan, box {i}\",,,,Hand-picked.,,,0810.90.30,,KH,piece,5,,true,21,18.00,USD,100,100:12.00;1000:10.50,{i},,\
             \n{b},travel_package,en,,Angkor sunrise tour {i},,,,,,,9999.00,,KH,seat,,,false,,150.00,USD,,,,2027-03-01:12,\
             \n{a},bulk_commodity,es,,,Pimienta de Kampot {i},,,,,,0904.11,,KH,t,,,,,,USD,2,2:5000.00;20:4500.00,,,\
             \n{b},goods,es,,,Jabón {i},,,,,,3401.11,,KH,piece,0.1,,,,5.00,USD,,,,,SOAP-L|scent=lima|5.50|40|0.1;SOAP-M|scent=menta|5.00|{i}"
        ));
    }
    parse_products_csv(&text, date!(2026 - 11 - 23), None).unwrap()
}

async fn import(store: &Store, sellers: [Uuid; 2], copies: usize) -> (Uuid, Uuid) {
    let summary = store
        .import_products(&AuditContext::default(), rows(sellers, copies), |_| {})
        .await
        .unwrap();
    (summary.first_id.unwrap(), summary.last_id.unwrap())
}

/// Every product, read with pages of `limit`.
async fn all_pages(store: &Store, limit: u32) -> Vec<Product> {
    let (mut out, mut after) = (Vec::new(), None);
    loop {
        let page = store.products_page(after, limit).await.unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        out.extend(page);
    }
    out
}

/// The products within `bounds`, read for the index with pages of `limit`.
async fn to_index(store: &Store, bounds: IdBounds, limit: u32) -> Vec<ProductToIndex> {
    let (mut out, mut bounds) = (Vec::new(), bounds);
    loop {
        let page = store.products_to_index(bounds, limit).await.unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else { break };
        bounds = bounds.continuing_after(last.id);
        out.extend(page);
    }
    out
}

fn ids<'a>(it: impl IntoIterator<Item = &'a Uuid>) -> Vec<Uuid> {
    it.into_iter().copied().collect()
}

on_both_backends! {
    async fn pages_within_bounds_read_each_product_once_in_id_order(fx: StoreFixture) {
        let sellers = [seller(&fx.store, "Pailin Longan Packers").await, seller(&fx.store, "Kampot Pepper Farm").await];
        let (first_a, last_a) = import(&fx.store, sellers, 13).await;
        let (first_b, last_b) = import(&fx.store, sellers, 9).await;
        let (first_c, last_c) = import(&fx.store, sellers, 5).await;
        let archived = fx.store.products_page(Some(first_b), 3).await.unwrap()[1].id;
        fx.store.archive_product(&AuditContext::default(), archived).await.unwrap();

        let all = all_pages(&fx.store, 1000).await;
        assert_eq!(all.len(), 4 * (13 + 9 + 5));
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        // Any page size gives the same products: pages that end on a bound, one product a page,
        // a page larger than what is left.
        for limit in [1, 4, 7, 52, 53] {
            assert_eq!(ids(all_pages(&fx.store, limit).await.iter().map(|p| &p.id)), ids(all.iter().map(|p| &p.id)));
        }
        let ids_only = {
            let (mut out, mut after) = (Vec::new(), None);
            loop {
                let page = fx.store.product_ids_after(after, 10).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some(*last);
                out.extend(page);
            }
            out
        };
        assert_eq!(ids_only, ids(all.iter().map(|p| &p.id)));

        // The light reads give what the index needs of each product read whole, archived ones
        // included.
        let whole: Vec<ProductToIndex> = all.iter().map(ProductToIndex::of).collect();
        assert_eq!(to_index(&fx.store, IdBounds::default(), 1000).await, whole);
        assert_eq!(to_index(&fx.store, IdBounds::default(), 6).await, whole);
        assert!(whole.iter().any(|p| p.archived && p.id == archived));
        assert!(whole.iter().any(|p| p.wholesale && p.retail_price.is_some()));
        assert!(whole.iter().any(|p| p.wholesale && p.retail_price.is_none()));
        assert!(whole.iter().any(|p| !p.wholesale));

        // An import's range, both ends included, and nothing of the imports around it.
        for (first, last, n) in [(first_a, last_a, 52), (first_b, last_b, 36), (first_c, last_c, 20)] {
            for limit in [1, 5, 36, 1000] {
                let range = to_index(&fx.store, IdBounds::between(first, last), limit).await;
                assert_eq!(range.len(), n);
                assert_eq!((range[0].id, range[n - 1].id), (first, last));
                let whole_range = fx.store.products_in_range(Some(Uuid::from_u128(first.as_u128() - 1)), Some(last), 1000).await.unwrap();
                assert_eq!(ids(range.iter().map(|p| &p.id)), ids(whole_range.iter().map(|p| &p.id)));
            }
        }
        // Bounds with nothing inside.
        assert!(fx.store.products_to_index(IdBounds::between(last_a, first_a), 10).await.unwrap().is_empty());
        assert!(fx.store.products_to_index(IdBounds::after(Some(last_c)), 10).await.unwrap().is_empty());
        assert!(fx.store.products_page(Some(last_c), 10).await.unwrap().is_empty());
    }

    async fn a_sellers_pages_and_products_by_id_for_the_index(fx: StoreFixture) {
        let sellers = [seller(&fx.store, "Pailin Longan Packers").await, seller(&fx.store, "Kampot Pepper Farm").await];
        import(&fx.store, sellers, 11).await;
        let all = all_pages(&fx.store, 1000).await;
        for s in sellers {
            let expected: Vec<ProductToIndex> =
                all.iter().filter(|p| p.seller_id == s).map(ProductToIndex::of).collect();
            assert_eq!(expected.len(), 22);
            for limit in [1, 3, 22, 100] {
                let (mut got, mut after) = (Vec::new(), None);
                loop {
                    let page = fx.store.seller_products_to_index(s, after, limit).await.unwrap();
                    let Some(last) = page.last() else { break };
                    after = Some(last.id);
                    got.extend(page);
                }
                assert_eq!(got, expected);
                let mut whole = Vec::new();
                let mut after = None;
                loop {
                    let page = fx.store.products_of(s, after, limit).await.unwrap();
                    let Some(last) = page.last() else { break };
                    after = Some(last.id);
                    whole.extend(page);
                }
                assert_eq!(whole.iter().map(ProductToIndex::of).collect::<Vec<_>>(), expected);
            }
        }
        // By id: the ones that exist, in id order.
        let wanted = [all[7].id, Uuid::now_v7(), all[2].id, all[40].id];
        let got = fx.store.products_to_index_by_ids(&wanted).await.unwrap();
        assert_eq!(got, vec![ProductToIndex::of(&all[2]), ProductToIndex::of(&all[7]), ProductToIndex::of(&all[40])]);
    }
}
