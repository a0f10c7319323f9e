//! `rampart users …` and `rampart roles …`: Flask-Security's `flask users` / `flask roles`.

use std::io::BufRead;

use anyhow::{Context as _, bail};
use rampart::accounts::{AccountError, CreateUser, FieldError};
use rampart::model::{NewRole, User};

use crate::cli::{RolesCommand, UsersCommand};
use crate::context::Context;

/// Runs a `users` command.
///
/// # Errors
/// [`AccountError`]s (mapped to exit codes by `main`) and I/O errors.
pub async fn users(ctx: &Context, cmd: UsersCommand) -> anyhow::Result<()> {
    let acc = &ctx.accounts;
    match cmd {
        UsersCommand::Create(a) => {
            let password = read_password(a.password_stdin)?;
            let user = acc
                .create_user(CreateUser {
                    email: a.email,
                    username: a.username,
                    password,
                    roles: a.roles,
                    active: !a.inactive,
                    confirmed: a.confirmed,
                })
                .await?;
            println!("User created successfully: {} (id {})", user.email, user.id);
        }
        UsersCommand::List => {
            for u in acc.store().list_users().await? {
                print_user(ctx, &u).await?;
            }
        }
        UsersCommand::Activate(i) => set_active(ctx, &i.identity, true).await?,
        UsersCommand::Deactivate(i) => set_active(ctx, &i.identity, false).await?,
        UsersCommand::ChangePassword(a) => {
            let user = acc.find(&a.identity).await?;
            let password = read_password(a.password_stdin)?;
            acc.change_password(&user, &password).await?;
            println!(
                "Password changed for {}; all sessions and tokens are revoked",
                user.email
            );
        }
        UsersCommand::ResetAccess(i) => {
            let user = acc.find(&i.identity).await?;
            acc.reset_access(&user).await?;
            println!("Access reset for {}", user.email);
        }
    }
    Ok(())
}

async fn set_active(ctx: &Context, identity: &str, active: bool) -> anyhow::Result<()> {
    let user = ctx.accounts.find(identity).await?;
    let changed = ctx.accounts.set_active(&user, active).await?;
    let state = if active { "activated" } else { "deactivated" };
    if changed {
        println!("User {} has been {state}", user.email);
    } else {
        println!("User {} was already {state}", user.email);
    }
    Ok(())
}

async fn print_user(ctx: &Context, u: &User) -> anyhow::Result<()> {
    let roles: Vec<String> = ctx
        .accounts
        .store()
        .roles_of(u.id)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    println!(
        "{}\t{}\t{}\t{}\t{}\troles={}",
        u.id,
        u.email,
        u.username.as_deref().unwrap_or("-"),
        if u.active { "active" } else { "inactive" },
        if u.is_confirmed() {
            "confirmed"
        } else {
            "unconfirmed"
        },
        roles.join(",")
    );
    Ok(())
}

/// Runs a `roles` command.
///
/// # Errors
/// [`AccountError`]s (mapped to exit codes by `main`).
pub async fn roles(ctx: &Context, cmd: RolesCommand) -> anyhow::Result<()> {
    let acc = &ctx.accounts;
    let store = acc.store();
    match cmd {
        RolesCommand::Create {
            name,
            description,
            permissions,
        } => {
            let role = acc
                .create_role(NewRole {
                    name,
                    description,
                    permissions,
                })
                .await?;
            println!("Role created successfully: {}", role.name);
        }
        RolesCommand::List => {
            for r in store.list_roles().await? {
                println!(
                    "{}\t{}\t{}",
                    r.name,
                    r.permissions.join(","),
                    r.description.unwrap_or_default()
                );
            }
        }
        RolesCommand::Add { user, role } => {
            let u = acc.find(&user).await?;
            known_role(ctx, &role).await?;
            if store.add_role_to_user(u.id, &role).await? {
                println!("Role {role} added to user {}", u.email);
            } else {
                println!("User {} already has role {role}", u.email);
            }
        }
        RolesCommand::Remove { user, role } => {
            let u = acc.find(&user).await?;
            known_role(ctx, &role).await?;
            if store.remove_role_from_user(u.id, &role).await? {
                println!("Role {role} removed from user {}", u.email);
            } else {
                println!("User {} does not have role {role}", u.email);
            }
        }
        RolesCommand::AddPermissions { role, permissions } => {
            let role = acc.edit_permissions(&role, &permissions, &[]).await?;
            println!(
                "Role {} now has permissions: {}",
                role.name,
                role.permissions.join(",")
            );
        }
        RolesCommand::RemovePermissions { role, permissions } => {
            let role = acc.edit_permissions(&role, &[], &permissions).await?;
            println!(
                "Role {} now has permissions: {}",
                role.name,
                role.permissions.join(",")
            );
        }
    }
    Ok(())
}

async fn known_role(ctx: &Context, name: &str) -> Result<(), AccountError> {
    match ctx.accounts.store().find_role(name).await? {
        Some(_) => Ok(()),
        None => Err(AccountError::UnknownRole(name.to_owned())),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        bail!(AccountError::Invalid(vec![FieldError::new(
            "password",
            "PASSWORD_NOT_PROVIDED",
            "A password is required: pass --password-stdin and write it to standard input",
        )]));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
