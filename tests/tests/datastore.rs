//! Datastore tests: the conformance suite on SQLite and PostgreSQL, backend-specific
//! behaviour (URLs, migrations, schema checks, errors) and a real Flask-Security database.

#[path = "datastore/flask_db.rs"]
mod flask_db;
#[path = "datastore/sql.rs"]
mod sql;

rampart_tests::datastore_conformance!(sqlite, rampart_tests::sqlite_store);
rampart_tests::datastore_conformance!(postgres, rampart_tests::postgres_store);

/// The read cache must not change any datastore behaviour seen through it.
async fn cached_sqlite_store() -> (
    rampart_core::cache::CachedDatastore,
    rampart_tests::StoreGuard,
) {
    let (store, guard) = rampart_tests::sqlite_store().await;
    let cached = rampart_core::cache::CachedDatastore::new(
        std::sync::Arc::new(store),
        std::time::Duration::from_secs(60),
    );
    (cached, guard)
}
rampart_tests::datastore_conformance!(cached_sqlite, crate::cached_sqlite_store);
