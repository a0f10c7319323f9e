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

/// A document row.
#[derive(Debug, Clone)]
pub struct Document {
    /// Id.
    pub id: i64,
    /// Owning user's id.
    pub owner_id: i64,
}

const SELECT: &str = "SELECT id, owner_id FROM document WHERE id = $1";
const UPDATE: &str = "UPDATE document SET title = $1 WHERE id = $2";

/// Finds a document.
///
/// # Errors
/// Database failures.
pub async fn find(store: &SqlDatastore, id: i64) -> anyhow::Result<Option<Document>> {
    if let Some(pool) = store.sqlite_pool() {
        let row: Option<(i64, i64)> = sqlx::query_as(SELECT).bind(id).fetch_optional(pool).await?;
        return Ok(row.map(|(id, owner_id)| Document { id, owner_id }));
    }
    let Some(pool) = store.postgres_pool() else {
        return Ok(None);
    };
    let Ok(id) = i32::try_from(id) else {
        return Ok(None);
    };
    let row: Option<(i32, i32)> = sqlx::query_as(SELECT).bind(id).fetch_optional(pool).await?;
    Ok(row.map(|(id, owner_id)| Document {
        id: i64::from(id),
        owner_id: i64::from(owner_id),
    }))
}

/// Sets a document's title.
///
/// # Errors
/// Database failures.
pub async fn set_title(store: &SqlDatastore, id: i64, title: &str) -> anyhow::Result<()> {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query(UPDATE)
            .bind(title)
            .bind(id)
            .execute(pool)
            .await?;
    } else if let Some(pool) = store.postgres_pool() {
        sqlx::query(UPDATE)
            .bind(title)
            .bind(i32::try_from(id)?)
            .execute(pool)
            .await?;
    }
    Ok(())
}
