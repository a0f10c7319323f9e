//! Command-line definitions: `rampart serve`, `rampart users …`, `rampart roles …`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Rampart: the demo server and the admin CLI for users and roles.
///
/// The database comes from DATABASE_URL (`sqlite://PATH` or `postgres://…`), else
/// DATABASE_PATH (a SQLite file), else `sqlite://rampart-demo.db`. Settings use Flask-Security's
/// `SECURITY_*` names, from the environment and the optional --config TOML file.
///
/// Exit codes: 0 success, 1 failure (database, configuration, I/O), 2 usage error,
/// 3 unknown user or role, 4 already exists, 5 invalid input (weak password, bad email),
/// 6 `check` found something unsafe for production.
#[derive(Debug, Parser)]
#[command(name = "rampart", version)]
pub struct Cli {
    /// TOML file with `SECURITY_*` settings (the environment overrides it).
    #[arg(long, global = true, env = "RAMPART_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the demo server (see PORT, HOST, DATABASE_URL, SECRET_KEY, PROFILE …).
    Serve,
    /// Report what in the configuration (environment and --config) is unsafe for production;
    /// exit code 6 when something is.
    Check {
        /// Fail (exit 6) on warnings too, not only on unsafe findings.
        #[arg(long)]
        strict: bool,
    },
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage roles.
    #[command(subcommand)]
    Roles(RolesCommand),
}

/// `rampart users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (the password is validated like a registration).
    Create(CreateUserArgs),
    /// List users.
    List,
    /// Allow a user to sign in.
    Activate(Identity),
    /// Stop a user from signing in.
    Deactivate(Identity),
    /// Set a new password (read from standard input); signs the user out everywhere.
    ChangePassword(ChangePasswordArgs),
    /// Rotate identities and remove two-factor, unified sign-in, WebAuthn and recovery secrets.
    ResetAccess(Identity),
}

/// Arguments of `users create`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Email address.
    pub email: String,
    /// Username.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Grant a role (repeatable).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Create the account inactive.
    #[arg(long)]
    pub inactive: bool,
    /// Mark the email address as confirmed.
    #[arg(long)]
    pub confirmed: bool,
}

/// A user named by email or username.
#[derive(Debug, Args)]
pub struct Identity {
    /// Email or username.
    pub identity: String,
}

/// Arguments of `users change-password`.
#[derive(Debug, Args)]
pub struct ChangePasswordArgs {
    /// Email or username.
    pub identity: String,
    /// Read the password from the first line of standard input (required).
    #[arg(long)]
    pub password_stdin: bool,
}

/// `rampart roles …`
#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Create a role.
    Create {
        /// Role name.
        name: String,
        /// Description.
        #[arg(short, long)]
        description: Option<String>,
        /// Comma-separated permissions.
        #[arg(short, long, value_delimiter = ',')]
        permissions: Vec<String>,
    },
    /// List roles with their permissions.
    List,
    /// Grant a role to a user.
    Add {
        /// Email or username.
        user: String,
        /// Role name.
        role: String,
    },
    /// Revoke a role from a user.
    Remove {
        /// Email or username.
        user: String,
        /// Role name.
        role: String,
    },
    /// Add permissions to a role.
    AddPermissions {
        /// Role name.
        role: String,
        /// Comma-separated permissions.
        #[arg(value_delimiter = ',')]
        permissions: Vec<String>,
    },
    /// Remove permissions from a role.
    RemovePermissions {
        /// Role name.
        role: String,
        /// Comma-separated permissions.
        #[arg(value_delimiter = ',')]
        permissions: Vec<String>,
    },
}
