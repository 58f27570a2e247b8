use pavilion_domain::accounts::{OrganisationKind, Role};
use pavilion_domain::text::{Email, Name};
use pavilion_store::accounts::{Membership, NewOrganisation, NewUser, OrganisationChanges};
use pavilion_store::audit::{AuditContext, AuditFilter};
use pavilion_store::testing::StoreFixture;
use pavilion_store::{StoreError, on_both_backends};

fn seller(email: &str, org_name: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        display_name: Name::parse("Seller").unwrap(),
        role: Role::Seller,
        membership: Membership::Found(NewOrganisation {
            kind: OrganisationKind::Seller,
            name: Name::parse(org_name).unwrap(),
            country: "KH".parse().unwrap(),
        }),
    }
}

async fn count(fx: &StoreFixture, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(fx.store.pool())
        .await
        .unwrap();
    n
}

on_both_backends! {
    async fn migrations_can_run_again(fx: StoreFixture) {
        fx.store.migrate().await.unwrap();
        fx.db.store().await.migrate().await.unwrap();
    }

    /// Two processes racing to register one e-mail: the database lets exactly one win, and the
    /// loser leaves nothing behind (no organisation, no audit entry).
    async fn concurrent_sign_ups_with_one_email_create_one_account(fx: StoreFixture) {
        let other_process = fx.db.store().await;
        let ctx = AuditContext::default();
        let (first, second) = (seller("race@x.test", "First Exports"), seller("race@x.test", "Second Exports"));
        let (a, b) = tokio::join!(
            fx.store.create_user(&ctx, &first),
            other_process.create_user(&ctx, &second),
        );
        let results = [a, b];
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict { field: "email" }))));
        assert_eq!(count(&fx, "SELECT COUNT(*) FROM users").await, 1);
        assert_eq!(count(&fx, "SELECT COUNT(*) FROM organisations").await, 1);
        assert_eq!(count(&fx, "SELECT COUNT(*) FROM audit_log").await, 2);
    }

    /// Many writers holding the same ETag: exactly one update lands, across two processes.
    async fn concurrent_updates_with_one_version_let_exactly_one_win(fx: StoreFixture) {
        let other_process = fx.db.store().await;
        let ctx = AuditContext::default();
        let account = fx.store.create_user(&ctx, &seller("v@x.test", "Versioned")).await.unwrap();
        let id = account.organisation.unwrap().id;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = if i % 2 == 0 { fx.store.clone() } else { other_process.clone() };
            let ctx = ctx.clone();
            tasks.push(tokio::spawn(async move {
                let changes = OrganisationChanges {
                    name: Some(Name::parse(&format!("Writer {i}")).unwrap()),
                    country: None,
                };
                store.update_organisation(&ctx, id, Some(1), &changes).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(org) => {
                    won += 1;
                    assert_eq!(org.version, 2);
                }
                Err(StoreError::VersionMismatch { .. }) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(fx.store.organisation(id).await.unwrap().version, 2);
        let updates = fx.store
            .list_audit(&AuditFilter { entity_type: Some("organisation".into()), ..Default::default() }, None, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "organisation.update")
            .count();
        assert_eq!(updates, 1);
    }

    async fn consumers_cannot_belong_to_an_organisation(fx: StoreFixture) {
        // The schema's CHECK holds even if application code forgot the rule.
        let ctx = AuditContext::default();
        let org = fx.store.create_user(&ctx, &seller("o@x.test", "Org")).await.unwrap().organisation.unwrap();
        let bad = NewUser { role: Role::Consumer, membership: Membership::Existing(org.id), ..seller("c@x.test", "x") };
        assert!(matches!(fx.store.create_user(&ctx, &bad).await, Err(StoreError::Database(_) | StoreError::Sqlite(_))));
    }
}
