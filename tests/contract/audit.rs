//! The audit log contract, run against SQLite and MongoDB (FerretDB): one chain however many
//! writers append, filters and pages newest first, and a verify that names the first event
//! that was edited or removed behind the log's back.

use std::collections::BTreeSet;
use std::sync::Arc;

use mongodb::bson::doc;
use rookery::audit::mongo::MongoAudit;
use rookery::audit::sqlite::SqliteAudit;
use rookery::audit::{chain, AuditOutcome, AuditQuery, AuditStore, AuditType, NewEvent};

fn event(kind: AuditType, actor: &str, target: Option<&str>, at: u64) -> NewEvent {
    let mut e = NewEvent::new(kind, AuditOutcome::Ok).actor(actor);
    e.target = target.map(str::to_owned);
    e.at = at;
    e.text("reason", "because")
}

async fn keeps_one_chain_across_writers(store: Arc<dyn AuditStore>) {
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for batch in 0..5 {
                    let events: Vec<NewEvent> = (0..7)
                        .map(|i| {
                            event(
                                AuditType::Login,
                                &format!("w{w}"),
                                None,
                                1_000 + batch * 10 + i,
                            )
                        })
                        .collect();
                    chain::append(store.as_ref(), &events)
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let all = store.scan(0, 1000).await.expect("scan");
    let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=140).collect::<Vec<_>>(),
        "consecutive ids, none lost, none twice"
    );
    let verified = chain::verify(store.as_ref()).await.expect("verify");
    assert!(verified.ok, "{verified:?}");
    assert_eq!(verified.checked, 140);
}

async fn searches_newest_first_with_filters_and_pages(store: Arc<dyn AuditStore>) {
    let events = vec![
        event(AuditType::Register, "alice", None, 100),
        event(AuditType::RoleChanged, "alice", Some("bob"), 200),
        event(AuditType::Ban, "bob", Some("eve"), 300),
        event(AuditType::LoginFailed, "eve", None, 400),
        event(AuditType::Ban, "bob", Some("mallory"), 500),
    ];
    chain::append(store.as_ref(), &events)
        .await
        .expect("append");
    let search = |q: AuditQuery| {
        let store = store.clone();
        async move {
            let found = store.search(&q).await.expect("search");
            found.into_iter().map(|e| e.at).collect::<Vec<_>>()
        }
    };
    let all = AuditQuery {
        limit: 50,
        ..Default::default()
    };
    assert_eq!(search(all.clone()).await, [500, 400, 300, 200, 100]);
    let cases: Vec<(&str, AuditQuery, Vec<u64>)> = vec![
        (
            "by type",
            AuditQuery {
                kind: Some(AuditType::Ban),
                ..all.clone()
            },
            vec![500, 300],
        ),
        (
            "by actor",
            AuditQuery {
                actor: Some("alice".into()),
                ..all.clone()
            },
            vec![200, 100],
        ),
        (
            "by target",
            AuditQuery {
                target: Some("eve".into()),
                ..all.clone()
            },
            vec![300],
        ),
        (
            "since",
            AuditQuery {
                since: Some(300),
                ..all.clone()
            },
            vec![500, 400, 300],
        ),
        (
            "until",
            AuditQuery {
                until: Some(300),
                ..all.clone()
            },
            vec![200, 100],
        ),
        (
            "type and actor",
            AuditQuery {
                kind: Some(AuditType::Ban),
                actor: Some("alice".into()),
                ..all.clone()
            },
            vec![],
        ),
    ];
    for (case, query, expected) in cases {
        assert_eq!(search(query).await, expected, "{case}");
    }
    // Pages: two at a time, each page's last id is the next page's `before`.
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .search(&AuditQuery {
                limit: 2,
                before,
                ..Default::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        before = page.last().map(|e| e.id);
        pages.push(page.into_iter().map(|e| e.at).collect::<Vec<_>>());
    }
    assert_eq!(pages, [vec![500, 400], vec![300, 200], vec![100]]);
    let stored = store.search(&all).await.expect("search");
    let ban = stored.iter().find(|e| e.at == 300).expect("the ban");
    assert_eq!(
        (ban.actor.as_deref(), ban.target.as_deref()),
        (Some("bob"), Some("eve"))
    );
    assert_eq!(
        ban.details["reason"],
        rookery::audit::Detail::Text("because".into())
    );
}

async fn survives_retention_with_its_anchor(store: Arc<dyn AuditStore>) {
    let events: Vec<NewEvent> = (1..=6)
        .map(|i| event(AuditType::Login, "a", None, i * 100))
        .collect();
    chain::append(store.as_ref(), &events)
        .await
        .expect("append");
    assert_eq!(store.purge_before(350).await.expect("purge"), 3);
    assert_eq!(store.anchor().await.expect("anchor").map(|a| a.0), Some(3));
    let verified = chain::verify(store.as_ref()).await.expect("verify");
    assert!(verified.ok && verified.checked == 3, "{verified:?}");
    chain::append(store.as_ref(), &[event(AuditType::Logout, "a", None, 700)])
        .await
        .expect("append after purge");
    let ids: BTreeSet<u64> = store
        .scan(0, 100)
        .await
        .expect("scan")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, (4..=7).collect());
    assert!(chain::verify(store.as_ref()).await.expect("verify").ok);
}

async fn filled(store: Arc<dyn AuditStore>) -> Arc<dyn AuditStore> {
    let events: Vec<NewEvent> = (1..=5)
        .map(|i| event(AuditType::Ban, "mod", Some("x"), i))
        .collect();
    chain::append(store.as_ref(), &events)
        .await
        .expect("append");
    assert!(chain::verify(store.as_ref()).await.expect("verify").ok);
    store
}

fn first_bad(verified: rookery::audit::chain::Verified) -> Option<u64> {
    assert!(!verified.ok, "{verified:?}");
    verified.first_bad
}

#[tokio::test]
async fn the_sqlite_audit_log_keeps_the_contract() {
    let dir = tempfile::tempdir().expect("temp dir");
    let open = |name: &str| -> Arc<dyn AuditStore> {
        Arc::new(SqliteAudit::open(&dir.path().join(name)).expect("open"))
    };
    keeps_one_chain_across_writers(open("chain.sqlite3")).await;
    searches_newest_first_with_filters_and_pages(open("search.sqlite3")).await;
    survives_retention_with_its_anchor(open("retention.sqlite3")).await;

    let edited = SqliteAudit::open(&dir.path().join("edited.sqlite3")).expect("open");
    filled(Arc::new(edited.clone())).await;
    edited
        .execute("UPDATE audit SET target = 'y' WHERE id = 3")
        .await
        .expect("tamper");
    assert_eq!(
        first_bad(chain::verify(&edited).await.expect("verify")),
        Some(3)
    );

    let removed = SqliteAudit::open(&dir.path().join("removed.sqlite3")).expect("open");
    filled(Arc::new(removed.clone())).await;
    removed
        .execute("DELETE FROM audit WHERE id = 2")
        .await
        .expect("tamper");
    assert_eq!(
        first_bad(chain::verify(&removed).await.expect("verify")),
        Some(3)
    );
}

#[tokio::test]
async fn the_mongodb_audit_log_keeps_the_contract() {
    let uri = &crate::servers::shared().mongodb_uri;
    let open = |name: String| async move {
        let audit = MongoAudit::connect(uri, &name).await.expect("connect");
        audit.ensure_indexes().await.expect("indexes");
        audit
    };
    let db = |what: &str| crate::servers::unique(&format!("audit_{what}_"));
    keeps_one_chain_across_writers(Arc::new(open(db("chain")).await)).await;
    searches_newest_first_with_filters_and_pages(Arc::new(open(db("search")).await)).await;
    survives_retention_with_its_anchor(Arc::new(open(db("retention")).await)).await;

    let edited = open(db("edited")).await;
    filled(Arc::new(edited.clone())).await;
    edited
        .events()
        .update_one(
            doc! {"_id": 3_i64},
            doc! {"$set": {"details.reason": "nothing to see"}},
        )
        .await
        .expect("tamper");
    assert_eq!(
        first_bad(chain::verify(&edited).await.expect("verify")),
        Some(3)
    );

    let removed = open(db("removed")).await;
    filled(Arc::new(removed.clone())).await;
    removed
        .events()
        .delete_one(doc! {"_id": 2_i64})
        .await
        .expect("tamper");
    assert_eq!(
        first_bad(chain::verify(&removed).await.expect("verify")),
        Some(3)
    );
}
