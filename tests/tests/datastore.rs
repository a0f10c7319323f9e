//! Datastore tests: the conformance suite on SQLite and PostgreSQL, backend-specific
//! behaviour (URLs, migrations, schema checks, errors) and a real Flask-Security database.

#[path = "datastore/flask_db.rs"]
mod flask_db;
#[path = "datastore/sql.rs"]
mod sql;

rampart_tests::datastore_conformance!(sqlite, rampart_tests::sqlite_store);
rampart_tests::datastore_conformance!(postgres, rampart_tests::postgres_store);
