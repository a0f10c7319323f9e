//! The demo's seed data (demo-contract.md): created when missing, never duplicated.

use rampart::accounts::{AccountError, CreateUser};
use rampart::model::NewRole;

use crate::context::Context;
use crate::documents;

struct SeedUser {
    email: &'static str,
    password: &'static str,
    role: &'static str,
    active: bool,
}

const ROLES: &[(&str, &[&str])] = &[
    ("admin", &["admin-read", "admin-write"]),
    ("user", &["user-read"]),
];

const USERS: &[SeedUser] = &[
    SeedUser {
        email: "admin@example.com",
        password: "Adm1n-correct-horse-9",
        role: "admin",
        active: true,
    },
    SeedUser {
        email: "user@example.com",
        password: "Us3r-correct-horse-9",
        role: "user",
        active: true,
    },
    SeedUser {
        email: "inactive@example.com",
        password: "Inact1ve-correct-horse-9",
        role: "user",
        active: false,
    },
    SeedUser {
        email: "shortlived@example.com",
        password: "Sh0rt-lived-horse-9",
        role: "user",
        active: true,
    },
];

/// Creates the demo roles, users and documents that are missing; returns how many users were
/// created.
///
/// # Errors
/// Datastore failures. A concurrent start that created the same row first is not an error.
pub async fn seed(ctx: &Context) -> anyhow::Result<usize> {
    let created = seed_accounts(ctx).await?;
    let user = user_id(ctx, "user@example.com").await?;
    let admin = user_id(ctx, "admin@example.com").await?;
    documents::seed(
        &ctx.store,
        [
            (1, "User's first document", user),
            (2, "Admin's document", admin),
        ],
    )
    .await?;
    Ok(created)
}

async fn user_id(ctx: &Context, email: &str) -> anyhow::Result<i64> {
    ctx.accounts
        .store()
        .find_user_by_email(email)
        .await?
        .map(|u| u.id)
        .ok_or_else(|| anyhow::anyhow!("seed user {email} is missing"))
}

async fn seed_accounts(ctx: &Context) -> Result<usize, AccountError> {
    let store = ctx.accounts.store();
    for (name, perms) in ROLES {
        if store.find_role(name).await?.is_none() {
            let role = NewRole {
                name: (*name).to_owned(),
                description: None,
                permissions: perms.iter().map(|p| (*p).to_owned()).collect(),
            };
            ignore_exists(ctx.accounts.create_role(role).await.map(drop))?;
        }
    }
    let mut created = 0;
    for u in USERS {
        if store.find_user_by_email(u.email).await?.is_some() {
            continue;
        }
        let input = CreateUser {
            email: u.email.to_owned(),
            username: None,
            password: u.password.to_owned(),
            roles: vec![u.role.to_owned()],
            active: u.active,
            confirmed: true,
        };
        if ignore_exists(ctx.accounts.create_user(input).await.map(drop))? {
            created += 1;
        }
    }
    Ok(created)
}

/// `Ok(true)` when created, `Ok(false)` when another process created it first.
fn ignore_exists(r: Result<(), AccountError>) -> Result<bool, AccountError> {
    match r {
        Ok(()) => Ok(true),
        Err(AccountError::AlreadyExists(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
