use pavilion_domain::accounts::OrganisationKind;
use pavilion_domain::catalogue::{Locale, ProductDraft, ProductKind};
use pavilion_domain::checkout::OrderStatus;
use pavilion_domain::text::Name;
use pavilion_domain::{Currency, Money, Unit};
use pavilion_store::accounts::NewOrganisation;
use pavilion_store::audit::AuditContext;
use pavilion_store::checkout::idempotency::IdempotencyClaim;
use pavilion_store::checkout::orders::{NewOrder, NewOrderLine, PersonCharge, Placed};
use pavilion_store::testing::StoreFixture;
use pavilion_store::{Store, StoreError, Timestamp, on_both_backends};
use uuid::Uuid;

pub async fn product_with_stock(store: &Store, stock: u32) -> (Uuid, Uuid) {
    let ctx = AuditContext::default();
    let seller = store
        .create_organisation(
            &ctx,
            &NewOrganisation {
                kind: OrganisationKind::Seller,
                name: Name::parse(&format!("Seller {}", Uuid::now_v7())).unwrap(),
                country: "KH".parse().unwrap(),
            },
        )
        .await
        .unwrap();
    let draft = ProductDraft {
        kind: ProductKind::Goods,
        original_locale: Locale::En,
        titles: [(Locale::En, "Kampot pepper, 100 g".to_owned())].into(),
        descriptions: Default::default(),
        hs: "0904.11".parse().unwrap(),
        category: None,
        origin: "KH".parse().unwrap(),
        unit: Unit::Piece,
        weight_kg_per_unit: None,
        volume_l_per_unit: None,
        cold_chain: false,
        shelf_life_days: None,
        retail_price: Some(Money::parse("9.00", Currency::USD).unwrap()),
        wholesale: None,
        stock: Some(stock),
        departures: vec![],
        variants: vec![],
    };
    let product = store.create_product(&ctx, seller.id, &draft).await.unwrap();
    (product.id, seller.id)
}

pub fn order_for(
    product: Uuid,
    seller: Uuid,
    quantity: u32,
    person: Option<PersonCharge>,
) -> NewOrder {
    NewOrder {
        id: Uuid::now_v7(),
        cart_id: None,
        quote_id: None,
        buyer_user_id: None,
        token_hash: Uuid::now_v7().to_string(),
        buyer_name: "Li Na".into(),
        buyer_email: "li.na@example.test".into(),
        ship_to: serde_json::json!({"city": "Hangzhou"}),
        destination: "CN".parse().unwrap(),
        currency: Currency::CNY,
        regime: "cn_cbec_retail".into(),
        goods_minor: 6500,
        shipping_minor: 0,
        tax_minor: 0,
        total_minor: 6500,
        person,
        expires_at: Timestamp::now()
            .checked_add(time::Duration::minutes(15))
            .unwrap(),
        lines: vec![NewOrderLine {
            product_id: product,
            seller_id: seller,
            variant_sku: None,
            departure_date: None,
            quantity,
            title: "Kampot pepper".into(),
            hs: "09041100".into(),
            unit_price_minor: 6500,
            amount_minor: 6500,
            tax_minor: 0,
        }],
    }
}

pub fn render(order: &pavilion_store::checkout::orders::Order) -> String {
    serde_json::to_string(order).unwrap()
}

async fn place(
    store: &Store,
    claim: Option<&IdempotencyClaim>,
    order: NewOrder,
) -> Result<Placed, StoreError> {
    store.place_order(claim.cloned(), order).await
}

async fn stock_of(store: &Store, product: Uuid) -> u32 {
    store.product(product).await.unwrap().draft.stock.unwrap()
}

on_both_backends! {
    /// 64 buyers race for 10 units: exactly 10 orders, every other one refused by name.
    async fn concurrent_buyers_never_oversell(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 10).await;
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let store = fx.store.clone();
                tokio::spawn(async move { place(&store, None, order_for(product, seller, 1, None)).await })
            })
            .collect();
        let (mut sold, mut refused) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(Placed::New(_)) => sold += 1,
                Err(StoreError::Exhausted { field, .. }) => {
                    assert_eq!(field, "lines[0].quantity");
                    refused += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!((sold, refused), (10, 54));
        assert_eq!(stock_of(&fx.store, product).await, 0);
    }

    /// Two concurrent orders whose sum passes the yearly limit: one of them succeeds.
    async fn a_persons_yearly_limit_holds_under_concurrency(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 100).await;
        let charge = |amount| PersonCharge {
            hash: "person-a".into(),
            last4: "002X".into(),
            year: 2026,
            currency: Currency::CNY,
            amount_minor: amount,
            limit_minor: 2_600_000,
        };
        let first = place(&fx.store, None, order_for(product, seller, 1, Some(charge(2_000_000)))).await.unwrap();
        let Placed::New(first) = first else { panic!() };
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let store = fx.store.clone();
                let order = order_for(product, seller, 1, Some(charge(400_000)));
                tokio::spawn(async move { place(&store, None, order).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Exhausted { field, detail }) => {
                    assert_eq!(field, "buyer.national_id");
                    assert!(detail.contains("26000.00 CNY") || detail.contains("CNY"), "{detail}");
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(fx.store.person_year_used("person-a", 2026).await.unwrap(), Some(2_400_000));
        // Cancelling gives the limit and the stock back.
        let cancelled = fx.store.cancel_order(first.id, "changed my mind", None).await.unwrap();
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(fx.store.person_year_used("person-a", 2026).await.unwrap(), Some(400_000));
        assert_eq!(stock_of(&fx.store, product).await, 99);
        let again = fx.store.cancel_order(first.id, "twice", None).await.unwrap_err();
        assert!(matches!(again, StoreError::InvalidState { .. }), "{again}");
    }

    /// A retried request with its key gets the first answer; another request with the key, 422.
    async fn idempotency_keys_answer_retries_and_refuse_reuse(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 5).await;
        let claim = IdempotencyClaim { scope: "buyer-1".into(), key: "k-1".into(), request_hash: "h-1".into() };
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = fx.store.clone();
                let claim = claim.clone();
                tokio::spawn(async move { place(&store, Some(&claim), order_for(product, seller, 1, None)).await })
            })
            .collect();
        let (mut new, mut replays, mut bodies) = (0, 0, Vec::new());
        for t in tasks {
            match t.await.unwrap().unwrap() {
                Placed::New(order) => { new += 1; bodies.push(render(&order)); }
                Placed::Replay(r) => { replays += 1; assert_eq!(r.status, 201); bodies.push(r.body); }
            }
        }
        assert_eq!((new, replays), (1, 7));
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(stock_of(&fx.store, product).await, 4);
        let other = IdempotencyClaim { request_hash: "h-2".into(), ..claim };
        let err = place(&fx.store, Some(&other), order_for(product, seller, 1, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::IdempotencyMismatch));
    }

    /// Unpaid orders expire and give their stock back; paid ones are left alone.
    async fn unpaid_orders_expire(fx: StoreFixture) {
        let (product, seller) = product_with_stock(&fx.store, 3).await;
        let mut order = order_for(product, seller, 2, None);
        order.expires_at = Timestamp::now();
        let Placed::New(placed) = place(&fx.store, None, order).await.unwrap() else { panic!() };
        assert_eq!(stock_of(&fx.store, product).await, 1);
        let later = Timestamp::now().checked_add(time::Duration::seconds(1)).unwrap();
        assert_eq!(fx.store.expire_orders(later, 100).await.unwrap(), 1);
        assert_eq!(fx.store.order(placed.id).await.unwrap().status, OrderStatus::Expired);
        assert_eq!(stock_of(&fx.store, product).await, 3);
        assert_eq!(fx.store.expire_orders(later, 100).await.unwrap(), 0);
    }
}

on_both_backends! {
    /// A line set on the cart as read gives the cart as stored; on a cart someone changed
    /// since, it gives the cart as it is now, both changes included.
    async fn a_cart_line_set_on_a_stale_cart_answers_the_cart_as_stored(fx: StoreFixture) {
        use pavilion_store::checkout::carts::CartLine;
        let (first, _) = product_with_stock(&fx.store, 10).await;
        let (second, _) = product_with_stock(&fx.store, 10).await;
        let line = |product_id, quantity| CartLine { product_id, variant_sku: None, departure_date: None, quantity };
        let cart = fx.store.create_cart(None, "hash", "CN".parse().unwrap(), Currency::CNY).await.unwrap();
        let after = fx.store.set_cart_line(&cart, &line(first, 2)).await.unwrap();
        assert_eq!(after, fx.store.cart(cart.id).await.unwrap());
        let after = fx.store.set_cart_line(&after, &line(first, 3)).await.unwrap();
        assert_eq!(after, fx.store.cart(cart.id).await.unwrap());
        // `cart` is stale now: it does not have the first line.
        let stale = fx.store.set_cart_line(&cart, &line(second, 1)).await.unwrap();
        let stored = fx.store.cart(cart.id).await.unwrap();
        assert_eq!(stale, stored);
        assert_eq!(stored.lines.iter().map(|l| (l.product_id, l.quantity)).collect::<Vec<_>>(), vec![(first, 3), (second, 1)]);
        let removed = fx.store.set_cart_line(&stored, &line(first, 0)).await.unwrap();
        assert_eq!(removed, fx.store.cart(cart.id).await.unwrap());
        assert_eq!(removed.lines.len(), 1);
    }

    /// A line and its quote are stored together; on a cart someone changed since, the line is
    /// set but the quote (made for a cart that never was) is not stored.
    async fn a_cart_line_keeps_its_quote_only_on_the_cart_it_was_made_for(fx: StoreFixture) {
        use pavilion_store::checkout::carts::CartLine;
        use pavilion_store::quotes::StoredQuote;
        let (first, _) = product_with_stock(&fx.store, 10).await;
        let (second, _) = product_with_stock(&fx.store, 10).await;
        let line = |product_id, quantity| CartLine { product_id, variant_sku: None, departure_date: None, quantity };
        let quote = || {
            let expires = Timestamp::now().checked_add(time::Duration::minutes(30)).unwrap();
            StoredQuote::new(None, expires, "{}".to_owned(), r#"{"totals":{}}"#.to_owned())
        };
        let cart = fx.store.create_cart(None, "hash", "CN".parse().unwrap(), Currency::CNY).await.unwrap();
        let made = quote();
        let (after, stored) = fx.store.set_cart_line_quoted(&cart, &line(first, 2), Some(made.clone())).await.unwrap();
        assert_eq!(after, cart.with_line(&line(first, 2)));
        assert_eq!(after, fx.store.cart(cart.id).await.unwrap());
        assert_eq!(stored.as_ref(), Some(&made));
        assert_eq!(fx.store.quote(made.id).await.unwrap(), made);
        // `cart` is stale now.
        let lost = quote();
        let (now, stored) = fx.store.set_cart_line_quoted(&cart, &line(second, 1), Some(lost.clone())).await.unwrap();
        assert_eq!(stored, None);
        assert_eq!(now, fx.store.cart(cart.id).await.unwrap());
        assert_ne!(now, cart.with_line(&line(second, 1)));
        assert_eq!(now.lines.len(), 2);
        assert!(matches!(fx.store.quote(lost.id).await, Err(StoreError::NotFound { .. })));
    }
}
