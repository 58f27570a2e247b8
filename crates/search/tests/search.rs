//! Behaviour of the catalogue index, on in-memory and temporary on-disk indexes.

use pavilion_search::{
    Channel, Error, FacetCount, FacetField, Filters, IndexOptions, Locale, Localized, Position,
    ProductDocument, ProductKind, SearchIndex, SearchRequest, SearchResults, Sort,
};
use time::macros::datetime;

const LONGAN: &str = "0190a0b0-0000-7000-8000-000000000001";
const AVOCADO: &str = "0190a0b0-0000-7000-8000-000000000002";
const COFFEE: &str = "0190a0b0-0000-7000-8000-000000000003";
const CHILI: &str = "0190a0b0-0000-7000-8000-000000000004";
const TOUR: &str = "0190a0b0-0000-7000-8000-000000000005";
const LOBSTER: &str = "0190a0b0-0000-7000-8000-000000000006";

fn base(id: &str, seller: &str, origin: &str) -> ProductDocument {
    ProductDocument {
        product_id: id.into(),
        seller_id: format!("seller-{}", origin.to_lowercase()),
        seller_name: seller.into(),
        kind: ProductKind::Goods,
        titles: Localized::default(),
        descriptions: Localized::default(),
        category: Vec::new(),
        category_names: Vec::new(),
        pavilions: Vec::new(),
        origin: origin.into(),
        destinations: vec!["CN".into()],
        channels: vec![Channel::Retail],
        price_minor: None,
        hs_code: String::new(),
        created_at: datetime!(2024-01-01 0:00 UTC),
    }
}

fn catalogue() -> Vec<ProductDocument> {
    vec![
        ProductDocument {
            titles: Localized::default()
                .with(Locale::ZhCn, "柬埔寨拜林龙眼")
                .with(Locale::En, "Pailin premium longan"),
            descriptions: Localized::default().with(
                Locale::En,
                "Sweet longan from Pailin province, packed within a day.",
            ),
            category: vec!["Fresh fruit".into(), "Longan".into()],
            destinations: vec!["CN".into(), "th".into()],
            channels: vec![Channel::Wholesale, Channel::Retail],
            price_minor: Some(450),
            hs_code: "0810.90".into(),
            created_at: datetime!(2024-01-01 0:00 UTC),
            ..base(LONGAN, "Pailin Farms", "KH")
        },
        ProductDocument {
            titles: Localized::default()
                .with(Locale::Es, "Aguacates Hass de Michoacán")
                .with(Locale::En, "Hass avocados")
                .with(Locale::ZhCn, "墨西哥牛油果"),
            category: vec!["Fresh fruit".into(), "Avocado".into()],
            destinations: vec!["CN".into(), "US".into()],
            price_minor: Some(899),
            hs_code: "080440".into(),
            created_at: datetime!(2024-03-01 0:00 UTC),
            ..base(AVOCADO, "Huertos Uruapan", "MX")
        },
        ProductDocument {
            titles: Localized::default()
                .with(Locale::Fr, "Café du Rwanda, grains torréfiés")
                .with(Locale::En, "Rwandan coffee beans")
                .with(Locale::ZhCn, "卢旺达咖啡豆"),
            category: vec!["Coffee".into()],
            channels: vec![Channel::Wholesale, Channel::Retail],
            price_minor: Some(1500),
            hs_code: "090121".into(),
            created_at: datetime!(2024-02-01 0:00 UTC),
            ..base(COFFEE, "Huye Mountain Coffee", "RW")
        },
        ProductDocument {
            kind: ProductKind::BulkCommodity,
            titles: Localized::default()
                .with(Locale::En, "Dried chili")
                .with(Locale::ZhCn, "卢旺达干辣椒"),
            category: vec!["Spices".into(), "Chili".into()],
            channels: vec![Channel::Wholesale],
            hs_code: "090421".into(),
            created_at: datetime!(2023-12-01 0:00 UTC),
            ..base(CHILI, "Gashora Farm", "RW")
        },
        ProductDocument {
            kind: ProductKind::TravelPackage,
            titles: Localized::default()
                .with(Locale::En, "Angkor temples tour package")
                .with(Locale::ZhCn, "吴哥窟旅游套餐"),
            category: vec!["Travel".into()],
            destinations: Vec::new(),
            channels: vec![Channel::Travel],
            price_minor: Some(120_000),
            created_at: datetime!(2024-04-01 0:00 UTC),
            ..base(TOUR, "Siem Reap Tours", "KH")
        },
        ProductDocument {
            titles: Localized::default()
                .with(Locale::En, "Live Atlantic lobster")
                .with(Locale::Fr, "Homard vivant de l'Atlantique")
                .with(Locale::ZhCn, "加拿大活龙虾"),
            category: vec!["Seafood".into(), "Lobster".into()],
            price_minor: Some(3500),
            hs_code: "030632".into(),
            created_at: datetime!(2024-05-01 0:00 UTC),
            ..base(LOBSTER, "Nova Scotia Lobster Co.", "CA")
        },
    ]
}

fn loaded() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index.upsert(&catalogue()).unwrap();
    index.commit_at(1).unwrap();
    index
}

fn ids(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.product_id.as_str()).collect()
}

fn sorted_ids(results: &SearchResults) -> Vec<&str> {
    let mut ids = ids(results);
    ids.sort();
    ids
}

fn text(index: &SearchIndex, text: &str) -> SearchResults {
    index.search(&SearchRequest::text(text)).unwrap()
}

fn filtered(index: &SearchIndex, filters: Filters) -> SearchResults {
    index
        .search(&SearchRequest {
            filters,
            ..SearchRequest::default()
        })
        .unwrap()
}

fn counts(values: &Option<Vec<FacetCount>>) -> Vec<(&str, u64)> {
    values
        .as_ref()
        .expect("facet asked for")
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect()
}

// --- languages -------------------------------------------------------------------------------

#[test]
fn chinese_word_finds_a_longer_title() {
    let index = loaded();
    let results = text(&index, "龙眼");
    assert_eq!(ids(&results), [LONGAN], "龙眼 must not match 龙虾");
    assert_eq!(results.total, 1);
    assert_eq!(ids(&text(&index, "龙虾")), [LOBSTER]);
    assert_eq!(ids(&text(&index, "牛油果")), [AVOCADO]);
}

#[test]
fn chinese_multi_word_queries_need_every_word() {
    let index = loaded();
    assert_eq!(ids(&text(&index, "柬埔寨龙眼")), [LONGAN]);
    assert_eq!(ids(&text(&index, "拜林 龙眼")), [LONGAN]);
    assert_eq!(ids(&text(&index, "卢旺达咖啡")), [COFFEE]);
    assert_eq!(sorted_ids(&text(&index, "卢旺达")), [COFFEE, CHILI]);
    assert!(text(&index, "柬埔寨咖啡").hits.is_empty());
}

#[test]
fn spanish_plural_and_singular_meet() {
    let index = loaded();
    assert_eq!(ids(&text(&index, "aguacate")), [AVOCADO]);
    assert_eq!(ids(&text(&index, "Aguacates")), [AVOCADO]);
    assert_eq!(ids(&text(&index, "michoacan")), [AVOCADO]);
}

#[test]
fn french_accents_fold() {
    let index = loaded();
    assert_eq!(ids(&text(&index, "cafe")), [COFFEE]);
    assert_eq!(ids(&text(&index, "café")), [COFFEE]);
    assert_eq!(ids(&text(&index, "CAFÉS torrefies")), [COFFEE]);
    assert_eq!(ids(&text(&index, "homards")), [LOBSTER]);
}

#[test]
fn english_stems() {
    let index = loaded();
    assert_eq!(ids(&text(&index, "avocado")), [AVOCADO]);
    assert_eq!(ids(&text(&index, "avocados")), [AVOCADO]);
    assert_eq!(ids(&text(&index, "lobsters")), [LOBSTER]);
    assert_eq!(ids(&text(&index, "temple tours")), [TOUR]);
}

#[test]
fn seller_category_and_hs_code_are_searched() {
    let index = loaded();
    assert_eq!(ids(&text(&index, "Huertos")), [AVOCADO]);
    assert_eq!(ids(&text(&index, "seafood")), [LOBSTER]);
    assert_eq!(sorted_ids(&text(&index, "fresh fruit")), [LONGAN, AVOCADO]);
    assert_eq!(ids(&text(&index, "080440")), [AVOCADO]);
    assert_eq!(sorted_ids(&text(&index, "0904")), [CHILI]);
}

#[test]
fn title_match_outranks_description_match() {
    let index = SearchIndex::in_memory().unwrap();
    let in_title = ProductDocument {
        titles: Localized::default().with(Locale::En, "Keitt mango"),
        ..base("title", "A", "KH")
    };
    let in_description = ProductDocument {
        titles: Localized::default().with(Locale::En, "Tropical fruit box"),
        descriptions: Localized::default().with(Locale::En, "Papaya, banana and mango."),
        ..base("description", "B", "KH")
    };
    index.upsert(&[in_description, in_title]).unwrap();
    index.commit().unwrap();
    let results = text(&index, "mangoes");
    assert_eq!(ids(&results), ["title", "description"]);
    let scores: Vec<f32> = results.hits.iter().map(|h| h.score.unwrap()).collect();
    assert!(scores[0] > scores[1], "{scores:?}");
}

#[test]
fn punctuation_only_text_browses() {
    let index = loaded();
    assert_eq!(text(&index, " ,!? ").total, 6);
    assert_eq!(text(&index, "").total, 6);
    assert!(text(&index, "nothing-like-this").hits.is_empty());
}

// --- result cards ----------------------------------------------------------------------------

#[test]
fn hits_carry_a_result_card_in_the_requested_locale_with_fallback() {
    let index = loaded();
    let search = |locale| {
        index
            .search(&SearchRequest {
                locale,
                ..SearchRequest::text("longan")
            })
            .unwrap()
            .hits
            .remove(0)
    };
    let zh = search(Locale::ZhCn);
    assert_eq!(
        (zh.title.as_str(), zh.title_locale),
        ("柬埔寨拜林龙眼", Locale::ZhCn)
    );
    let fr = search(Locale::Fr);
    assert_eq!(
        (fr.title.as_str(), fr.title_locale),
        ("Pailin premium longan", Locale::En)
    );
    assert_eq!(fr.seller_name, "Pailin Farms");
    assert_eq!(fr.seller_id, "seller-kh");
    assert_eq!(fr.origin, "KH");
    assert_eq!(fr.kind, ProductKind::Goods);
    assert_eq!(fr.price_minor, Some(450));
    assert!(fr.score.is_some());
}

// --- filters and facets ----------------------------------------------------------------------

#[test]
fn filters_narrow_the_hits() {
    let index = loaded();
    let f = |filters| sorted_ids(&filtered(&index, filters)).join(",");
    assert_eq!(
        f(Filters {
            origins: vec!["rw".into()],
            ..Filters::default()
        }),
        [COFFEE, CHILI].join(",")
    );
    assert_eq!(
        f(Filters {
            origins: vec!["KH".into(), "CA".into()],
            ..Filters::default()
        }),
        [LONGAN, TOUR, LOBSTER].join(",")
    );
    assert_eq!(
        f(Filters {
            destination: Some("US".into()),
            ..Filters::default()
        }),
        AVOCADO
    );
    assert_eq!(
        f(Filters {
            destination: Some("TH".into()),
            ..Filters::default()
        }),
        LONGAN
    );
    assert_eq!(
        f(Filters {
            channels: vec![Channel::Travel],
            ..Filters::default()
        }),
        TOUR
    );
    assert_eq!(
        f(Filters {
            kinds: vec![ProductKind::BulkCommodity],
            ..Filters::default()
        }),
        CHILI
    );
    assert_eq!(
        f(Filters {
            category: vec!["Fresh fruit".into()],
            ..Filters::default()
        }),
        [LONGAN, AVOCADO].join(",")
    );
    assert_eq!(
        f(Filters {
            category: vec!["Fresh fruit".into(), "Longan".into()],
            ..Filters::default()
        }),
        LONGAN
    );
    assert_eq!(
        f(Filters {
            price_min: Some(500),
            price_max: Some(3500),
            ..Filters::default()
        }),
        [AVOCADO, COFFEE, LOBSTER].join(",")
    );
    assert_eq!(
        f(Filters {
            price_max: Some(450),
            ..Filters::default()
        }),
        LONGAN
    );
    assert_eq!(
        f(Filters {
            seller_id: Some("seller-mx".into()),
            ..Filters::default()
        }),
        AVOCADO
    );
    assert_eq!(
        f(Filters {
            hs_prefix: Some("0810".into()),
            ..Filters::default()
        }),
        LONGAN
    );
    // Text and filters together.
    let results = index
        .search(&SearchRequest {
            filters: Filters {
                origins: vec!["RW".into()],
                channels: vec![Channel::Retail],
                ..Filters::default()
            },
            ..SearchRequest::text("卢旺达")
        })
        .unwrap();
    assert_eq!(ids(&results), [COFFEE]);
}

#[test]
fn facets_count_by_origin_category_kind_and_channel() {
    let index = loaded();
    let all = [
        FacetField::Origin,
        FacetField::Category,
        FacetField::Kind,
        FacetField::Channel,
    ];
    let results = index
        .search(&SearchRequest {
            facets: all.to_vec(),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(results.total, 6);
    assert_eq!(
        counts(&results.facets.origin),
        [("KH", 2), ("RW", 2), ("CA", 1), ("MX", 1)]
    );
    assert_eq!(
        counts(&results.facets.category),
        [
            ("Fresh fruit", 2),
            ("Coffee", 1),
            ("Seafood", 1),
            ("Spices", 1),
            ("Travel", 1)
        ]
    );
    assert_eq!(
        counts(&results.facets.kind),
        [("goods", 4), ("bulk_commodity", 1), ("travel_package", 1)]
    );
    assert_eq!(
        counts(&results.facets.channel),
        [("retail", 4), ("wholesale", 3), ("travel", 1)]
    );

    // A facet's own filter does not narrow its counts; the other filters do. Category counts
    // are those of the children of the category filter.
    let results = index
        .search(&SearchRequest {
            facets: all.to_vec(),
            filters: Filters {
                origins: vec!["RW".into()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(results.total, 2);
    assert_eq!(
        counts(&results.facets.origin),
        [("KH", 2), ("RW", 2), ("CA", 1), ("MX", 1)]
    );
    assert_eq!(
        counts(&results.facets.kind),
        [("bulk_commodity", 1), ("goods", 1)]
    );
    assert_eq!(
        counts(&results.facets.category),
        [("Coffee", 1), ("Spices", 1)]
    );

    let results = index
        .search(&SearchRequest {
            facets: vec![FacetField::Category, FacetField::Origin],
            filters: Filters {
                category: vec!["Fresh fruit".into()],
                ..Filters::default()
            },
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(
        counts(&results.facets.category),
        [("Avocado", 1), ("Longan", 1)]
    );
    assert_eq!(counts(&results.facets.origin), [("KH", 1), ("MX", 1)]);
    assert_eq!(results.facets.kind, None, "not asked for");

    // Facets follow the text too.
    let results = index
        .search(&SearchRequest {
            facets: vec![FacetField::Origin],
            ..SearchRequest::text("卢旺达")
        })
        .unwrap();
    assert_eq!(counts(&results.facets.origin), [("RW", 2)]);
}

// --- sorting and paging ----------------------------------------------------------------------

#[test]
fn sorts_by_price_and_newest_with_unpriced_last() {
    let index = loaded();
    let sorted = |sort| {
        index
            .search(&SearchRequest {
                sort,
                ..SearchRequest::default()
            })
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.product_id)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sorted(Sort::PriceAsc),
        [LONGAN, AVOCADO, COFFEE, LOBSTER, TOUR, CHILI]
    );
    assert_eq!(
        sorted(Sort::PriceDesc),
        [TOUR, LOBSTER, COFFEE, AVOCADO, LONGAN, CHILI]
    );
    let newest = [LOBSTER, TOUR, AVOCADO, COFFEE, LONGAN, CHILI];
    assert_eq!(sorted(Sort::Newest), newest);
    assert_eq!(sorted(Sort::Relevance), newest, "browsing: newest first");

    let fruit_by_price = index
        .search(&SearchRequest {
            sort: Sort::PriceDesc,
            ..SearchRequest::text("fresh fruit")
        })
        .unwrap();
    assert_eq!(ids(&fruit_by_price), [AVOCADO, LONGAN]);
    assert!(fruit_by_price.hits.iter().all(|h| h.score.is_none()));
}

#[test]
fn pages_with_limit_and_offset() {
    let index = loaded();
    let page = |offset| {
        index
            .search(&SearchRequest {
                sort: Sort::Newest,
                limit: 4,
                offset,
                ..SearchRequest::default()
            })
            .unwrap()
    };
    let first = page(0);
    assert_eq!(first.total, 6);
    assert_eq!(ids(&first), [LOBSTER, TOUR, AVOCADO, COFFEE]);
    assert_eq!(first.next_offset, Some(4));
    let second = page(4);
    assert_eq!(ids(&second), [LONGAN, CHILI]);
    assert_eq!(second.next_offset, None);
    let beyond = page(10);
    assert!(beyond.hits.is_empty());
    assert_eq!((beyond.total, beyond.next_offset), (6, None));
}

// --- writes ----------------------------------------------------------------------------------

#[test]
fn upsert_replaces_by_product_id_and_is_visible_after_commit() {
    let index = loaded();
    let mut longan = catalogue().remove(0);
    longan.titles.set(Locale::En, "Pailin longan, new harvest");
    longan.price_minor = Some(520);
    index.upsert(std::slice::from_ref(&longan)).unwrap();
    assert!(text(&index, "harvest").hits.is_empty(), "not before commit");
    index.commit().unwrap();
    let results = text(&index, "harvest");
    assert_eq!(ids(&results), [LONGAN]);
    assert_eq!(results.hits[0].price_minor, Some(520));
    assert!(text(&index, "premium").hits.is_empty());
    assert_eq!(index.num_docs(), 6);

    // Twice the same id in one batch, and the same batch again: the last version wins once.
    let mut v2 = longan.clone();
    v2.titles.set(Locale::En, "Pailin longan, second grade");
    index.upsert(&[longan, v2.clone()]).unwrap();
    index.upsert(&[v2]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 6);
    assert_eq!(ids(&text(&index, "grade")), [LONGAN]);
    assert!(text(&index, "harvest").hits.is_empty());
}

#[test]
fn new_products_upserted_repeatedly_before_a_commit_stay_single() {
    let index = SearchIndex::in_memory().unwrap();
    let mut v1 = catalogue().remove(1);
    let mut v2 = v1.clone();
    v1.titles.set(Locale::En, "first version");
    v2.titles.set(Locale::En, "second version");
    index.upsert(std::slice::from_ref(&v1)).unwrap();
    index.upsert(&[v1.clone(), v2.clone()]).unwrap();
    index.upsert(std::slice::from_ref(&v2)).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(ids(&text(&index, "second")), [AVOCADO]);
    assert!(text(&index, "first").hits.is_empty());

    // After a rollback, and after a delete, the product is added once again.
    index.upsert(std::slice::from_ref(&v1)).unwrap();
    index.rollback().unwrap();
    index.delete([AVOCADO]).unwrap();
    index.upsert(std::slice::from_ref(&v1)).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 1);
    assert_eq!(ids(&text(&index, "first")), [AVOCADO]);
}

#[test]
fn delete_removes_and_is_idempotent() {
    let index = loaded();
    index.delete([AVOCADO, "no-such-product"]).unwrap();
    index.commit().unwrap();
    assert!(text(&index, "aguacate").hits.is_empty());
    assert_eq!(index.num_docs(), 5);
    index.delete(vec![AVOCADO.to_string()]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 5);
}

#[test]
fn rollback_drops_uncommitted_changes() {
    let index = loaded();
    index.delete([LONGAN]).unwrap();
    index.rollback().unwrap();
    index.commit().unwrap();
    assert_eq!(ids(&text(&index, "龙眼")), [LONGAN]);
}

#[test]
fn rebuild_replaces_everything_or_nothing() {
    let index = loaded();
    let kept: Vec<ProductDocument> = catalogue()
        .into_iter()
        .filter(|d| d.product_id == COFFEE || d.product_id == CHILI)
        .collect();
    assert_eq!(index.rebuild(kept, 10).unwrap(), 2);
    assert_eq!(index.num_docs(), 2);
    assert_eq!(index.last_applied(), Some(10));
    assert!(text(&index, "龙眼").hits.is_empty());
    assert_eq!(sorted_ids(&text(&index, "卢旺达")), [COFFEE, CHILI]);

    // An invalid document aborts the rebuild: the old index stays, and so does its position.
    let mut bad = catalogue();
    bad[3].origin = "Rwanda".into();
    let err = index.rebuild(bad, 11).unwrap_err();
    assert_eq!(err.field(), Some("origin"), "{err}");
    assert_eq!(index.num_docs(), 2);
    assert_eq!(index.last_applied(), Some(10));

    // So does a failing source.
    let source = catalogue()
        .into_iter()
        .map(Ok)
        .chain([Err(std::io::Error::other("connection reset"))]);
    let err = index.try_rebuild(source, 12).unwrap_err();
    assert!(matches!(err, Error::Source(_)), "{err}");
    assert_eq!(index.num_docs(), 2);
    assert_eq!(index.last_applied(), Some(10));

    // The index still works after the aborted rebuilds.
    assert_eq!(index.rebuild(catalogue(), 13).unwrap(), 6);
    assert_eq!(ids(&text(&index, "龙眼")), [LONGAN]);
}

#[test]
fn an_invalid_document_in_a_batch_adds_nothing() {
    let index = SearchIndex::in_memory().unwrap();
    let mut docs = catalogue();
    docs[1].hs_code = "08A".into();
    let err = index.upsert(&docs).unwrap_err();
    assert_eq!(err.field(), Some("hs_code"), "{err}");
    assert!(matches!(&err, Error::InvalidDocument { product_id, .. } if product_id == AVOCADO));
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 0);

    let mut untitled = catalogue().remove(0);
    untitled.titles = Localized::default().with(Locale::En, "   ");
    assert_eq!(untitled.validate().unwrap_err().field(), Some("titles"));
    let mut bad_destination = catalogue().remove(0);
    bad_destination.destinations.push("CHN".into());
    assert_eq!(
        bad_destination.validate().unwrap_err().field(),
        Some("destinations")
    );
}

// --- on disk ---------------------------------------------------------------------------------

#[test]
fn outbox_position_survives_reopening_an_on_disk_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    {
        let index = SearchIndex::open_or_create(&path).unwrap();
        assert_eq!(index.last_applied(), None, "new index: rebuild needed");
        assert_eq!(index.path(), Some(path.as_path()));
        index.upsert(&catalogue()).unwrap();
        index.commit_at(7).unwrap();
        // Uncommitted work is lost in a crash, and so is not recorded in the position.
        index.delete([LONGAN]).unwrap();

        // One writer per directory: a second process gets a clear error.
        let err = SearchIndex::open_or_create(&path).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
    }
    let index = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(index.last_applied(), Some(7));
    assert_eq!(index.num_docs(), 6);
    assert_eq!(
        ids(&text(&index, "龙眼")),
        [LONGAN],
        "analysers re-registered"
    );
    index.delete([LONGAN]).unwrap();
    index.commit().unwrap();
    assert_eq!(index.last_applied(), Some(7), "commit keeps the position");
    // The entries applied in the window below the head are kept with it.
    let position = Position {
        head: 8,
        applied_below: vec![5, 8],
    };
    index.commit_at(position.clone()).unwrap();
    drop(index);
    let index = SearchIndex::open_or_create(&path).unwrap();
    assert_eq!(index.last_applied(), Some(8));
    assert_eq!(index.position(), Some(position));
    assert_eq!(index.num_docs(), 5);
}

#[test]
fn an_index_with_another_schema_is_recreated_empty() {
    use tantivy::schema::{STORED, Schema, TEXT};
    let dir = tempfile::tempdir().unwrap();
    {
        let mut schema = Schema::builder();
        let title = schema.add_text_field("title", TEXT | STORED);
        let old = tantivy::Index::create_in_dir(dir.path(), schema.build()).unwrap();
        let mut writer: tantivy::IndexWriter = old.writer_with_num_threads(1, 15_000_000).unwrap();
        writer
            .add_document(tantivy::doc!(title => "old product"))
            .unwrap();
        writer.commit().unwrap();
    }
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(index.num_docs(), 0);
    assert_eq!(index.last_applied(), None);
    index.rebuild(catalogue(), 3).unwrap();
    drop(index);
    let index = SearchIndex::open_or_create(dir.path()).unwrap();
    assert_eq!((index.num_docs(), index.last_applied()), (6, Some(3)));
}

#[test]
fn writer_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let options = IndexOptions {
        writer_memory_bytes: 1_000_000,
        writer_threads: 2,
    };
    let err = SearchIndex::open_or_create_with(dir.path(), &options).unwrap_err();
    assert_eq!(err.field(), Some("writer_memory_bytes"));
    let options = IndexOptions {
        writer_threads: 0,
        ..IndexOptions::default()
    };
    let err = SearchIndex::open_or_create_with(dir.path(), &options).unwrap_err();
    assert_eq!(err.field(), Some("writer_threads"));
}

// --- bad requests ----------------------------------------------------------------------------

#[test]
fn bad_requests_name_the_field() {
    let index = loaded();
    let field = |request: SearchRequest| {
        let err = index.search(&request).unwrap_err();
        assert!(err.is_bad_input(), "{err}");
        assert!(err.to_string().contains(err.field().unwrap()), "{err}");
        err.field().unwrap()
    };
    let d = SearchRequest::default;
    assert_eq!(field(SearchRequest { limit: 0, ..d() }), "limit");
    assert_eq!(field(SearchRequest { limit: 101, ..d() }), "limit");
    assert_eq!(
        field(SearchRequest {
            offset: 10_001,
            ..d()
        }),
        "offset"
    );
    assert_eq!(
        field(SearchRequest {
            filters: Filters {
                price_min: Some(900),
                price_max: Some(100),
                ..Filters::default()
            },
            ..d()
        }),
        "filters.price_min"
    );
    assert_eq!(
        field(SearchRequest {
            filters: Filters {
                origins: vec!["Cambodia".into()],
                ..Filters::default()
            },
            ..d()
        }),
        "filters.origins"
    );
    assert_eq!(
        field(SearchRequest {
            filters: Filters {
                destination: Some("C1".into()),
                ..Filters::default()
            },
            ..d()
        }),
        "filters.destination"
    );
    assert_eq!(
        field(SearchRequest {
            filters: Filters {
                hs_prefix: Some("08x".into()),
                ..Filters::default()
            },
            ..d()
        }),
        "filters.hs_prefix"
    );
    assert_eq!(
        field(SearchRequest {
            filters: Filters {
                category: vec!["Fresh fruit".into(), " ".into()],
                ..Filters::default()
            },
            ..d()
        }),
        "filters.category"
    );
    assert_eq!(
        field(SearchRequest::text(
            (0..33).map(|i| format!("w{i} ")).collect::<String>()
        )),
        "text"
    );
    assert_eq!(field(SearchRequest::text("x".repeat(501))), "text");

    // Locales: tags parse by their primary subtag; anything else names `locale`.
    assert_eq!("zh-CN".parse::<Locale>().unwrap(), Locale::ZhCn);
    assert_eq!("zh-Hans".parse::<Locale>().unwrap(), Locale::ZhCn);
    assert_eq!("es-MX".parse::<Locale>().unwrap(), Locale::Es);
    assert_eq!("FR".parse::<Locale>().unwrap(), Locale::Fr);
    let err = "de".parse::<Locale>().unwrap_err();
    assert_eq!(err.field(), Some("locale"));
    assert!(err.to_string().contains("\"de\""), "{err}");
    let err =
        serde_json::from_str::<SearchRequest>(r#"{"text": "x", "locale": "pt-BR"}"#).unwrap_err();
    assert!(err.to_string().contains("locale"), "{err}");
}

#[test]
fn requests_and_results_round_trip_as_json() {
    let request: SearchRequest = serde_json::from_str(
        r#"{"text": "龙眼", "locale": "zh-CN", "sort": "price_asc", "limit": 5,
            "facets": ["origin", "channel"],
            "filters": {"origins": ["KH"], "channels": ["retail"], "kinds": ["goods"], "price_max": 1000}}"#,
    )
    .unwrap();
    assert_eq!(request.locale, Locale::ZhCn);
    assert_eq!(request.sort, Sort::PriceAsc);
    assert_eq!(request.offset, 0);
    let index = loaded();
    let results = index.search(&request).unwrap();
    assert_eq!(ids(&results), [LONGAN]);
    let json = serde_json::to_value(&results).unwrap();
    assert_eq!(json["hits"][0]["title_locale"], "zh-CN");
    assert_eq!(json["hits"][0]["kind"], "goods");
    assert_eq!(json["facets"]["origin"][0]["value"], "KH");
    assert!(json["facets"].get("kind").is_none());
    let back: SearchResults = serde_json::from_value(json).unwrap();
    assert_eq!(back, results);
}

#[test]
fn odd_text_never_panics() {
    let index = loaded();
    let odd = [
        "🥭🥭 mango!!",
        "\u{200b}\u{0301}e\u{0301}",
        "龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼龙眼",
        &"a".repeat(450),
        "0810.90 / 08 - 9",
        "ﾛﾝｶﾞﾝ 「龍眼」、ＡＢＣ",
        "\t\n\r",
        "AND OR NOT \"\" ( ) [ ] : *",
    ];
    for (i, text) in odd.iter().enumerate() {
        index.search(&SearchRequest::text(*text)).unwrap();
        let doc = ProductDocument {
            titles: Localized::default()
                .with(Locale::ZhCn, *text)
                .with(Locale::Fr, *text)
                .with(Locale::En, "odd"),
            descriptions: Localized::default().with(Locale::En, text.repeat(100)),
            category: vec![text.trim().chars().take(50).collect::<String>() + "x"],
            ..base(
                &format!("odd-{i}"),
                &text.chars().take(100).collect::<String>(),
                "KH",
            )
        };
        index.upsert(&[doc]).unwrap();
    }
    index.commit().unwrap();
    assert_eq!(index.num_docs(), 6 + odd.len() as u64);
    assert!(!text(&index, "mango").hits.is_empty());
}

#[test]
fn category_names_are_searched_and_pavilions_filter_their_listing() {
    let index = SearchIndex::in_memory().unwrap();
    let fruit = ProductDocument {
        titles: Localized::default().with(Locale::En, "Pailin longan"),
        category: vec!["food".into(), "fresh-fruit".into()],
        category_names: vec![
            "Fresh fruit".into(),
            "新鲜水果".into(),
            "Fruta fresca".into(),
        ],
        pavilions: vec!["pav-kh-retail".into()],
        ..base("p1", "Pailin Longan Co", "KH")
    };
    let other = ProductDocument {
        titles: Localized::default().with(Locale::En, "Kampot pepper"),
        ..base("p2", "Kampot Spice", "KH")
    };
    index.upsert(&[fruit, other]).unwrap();
    index.commit().unwrap();
    for words in ["水果", "fruta", "fresh fruit"] {
        let hits = text(&index, words).hits;
        assert_eq!(hits.len(), 1, "{words}");
        assert_eq!(hits[0].product_id, "p1");
    }
    let mut listing = SearchRequest::default();
    listing.filters.pavilion = Some("pav-kh-retail".into());
    let found = index.search(&listing).unwrap();
    assert_eq!(found.total, 1);
    listing.filters.pavilion = Some("bad id".into());
    assert_eq!(
        index.search(&listing).unwrap_err().field(),
        Some("filters.pavilion")
    );
}
