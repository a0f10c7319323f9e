//! The demo application's own data: documents owned by users (demo-contract.md), in a table
//! beside Flask-Security's, on the same SQLite or PostgreSQL database.

use anyhow::Context as _;
use rampart::sql::SqlDatastore;

const CREATE: &str = "CREATE TABLE IF NOT EXISTS document (
    id INTEGER PRIMARY KEY,
    title VARCHAR(255) NOT NULL,
    owner_id INTEGER NOT NULL REFERENCES \"user\" (id) ON DELETE CASCADE
)";
const INSERT: &str =
    "INSERT INTO document (id, title, owner_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";

/// Creates the `document` table and the seed documents when missing: id 1 owned by
/// `user@example.com`, id 2 owned by `admin@example.com`.
///
/// # Errors
/// Database failures, or a missing seed owner.
pub async fn seed(store: &SqlDatastore, owners: [(i64, &str, i64); 2]) -> anyhow::Result<()> {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(CREATE)
            .execute(pool)
            .await
            .context("create table document")?;
        for (id, title, owner) in owners {
            sqlx::query(INSERT)
                .bind(id)
                .bind(title)
                .bind(owner)
                .execute(pool)
                .await?;
        }
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query(CREATE)
            .execute(pool)
            .await
            .context("create table document")?;
        for (id, title, owner) in owners {
            let (id, owner) = (i32::try_from(id)?, i32::try_from(owner)?);
            sqlx::query(INSERT)
                .bind(id)
                .bind(title)
                .bind(owner)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}
