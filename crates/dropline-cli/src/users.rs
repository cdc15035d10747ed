//! `dropline users add|list`: the people who sign in to the dashboard. Run by the operator,
//! so every store is reached; the password is read from standard input, never from a flag
//! (a flag would show in the process list and the shell's history).

use crate::config::Settings;
use crate::database::Database;
use crate::output;
use anyhow::Context;
use clap::Subcommand;
use dropline_app::accounts::{Accounts, NewUser};
use dropline_app::{App, AppError};
use dropline_domain::account::{Caller, Role, User};
use dropline_domain::ids::StoreId;
use serde_json::json;
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List the users of every store, and the operators
    List,
    /// Add a user; the password is read from standard input
    Add {
        /// The email address the user signs in with
        #[arg(long)]
        email: String,
        /// The name shown in the dashboard
        #[arg(long)]
        name: String,
        /// operator (every store), seller (own store) or staff (own store, no settings)
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The store of a seller or staff
        #[arg(long, value_name = "ID", value_parser = parse_store_id)]
        store: Option<StoreId>,
        /// Read the password from standard input (its first line); required
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(Role::as_str).collect();
        format!("'{text}' is not a role (one of {})", names.join(", "))
    })
}

fn parse_store_id(text: &str) -> Result<StoreId, String> {
    text.trim().parse().map_err(|_| format!("'{text}' is not a store id"))
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("while reading the password from standard input")?;
    let password = input.lines().next().unwrap_or_default().to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

/// What scripts see of a user: never the password hash.
fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "store_id": user.store_id,
        "disabled": user.disabled,
        "created_at": user.created_at.to_string(),
    })
}

pub async fn run(settings: &Settings, command: UsersCommand, json: bool) -> anyhow::Result<ExitCode> {
    let accounts = Accounts::new(App::new(Database::from_settings(settings)?.open().await?));
    match command {
        UsersCommand::List => {
            let users = accounts
                .list_users(Caller::operator())
                .await
                .context("while listing users")?;
            if json {
                output::print_json(&users.iter().map(user_json).collect::<Vec<_>>())?;
            } else if users.is_empty() {
                println!("no users");
            } else {
                let mut table = output::table(["ID", "EMAIL", "NAME", "ROLE", "STORE", "STATUS"]);
                for user in &users {
                    table.add_row([
                        user.id.to_string(),
                        user.email.to_string(),
                        user.name.clone(),
                        user.role.to_string(),
                        user.store_id.map(|id| id.to_string()).unwrap_or_else(|| "all".into()),
                        if user.disabled { "disabled" } else { "active" }.to_string(),
                    ]);
                }
                println!("{table}");
            }
        }
        UsersCommand::Add {
            email,
            name,
            role,
            store,
            password_stdin: _,
        } => {
            let new = NewUser {
                email,
                name,
                role,
                store_id: store,
                password: read_password()?,
            };
            let user = match accounts.create_user(Caller::operator(), new).await {
                Ok(user) => user,
                Err(AppError::Invalid(fields)) => {
                    let reasons: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
                    anyhow::bail!("the user was not created: {}", reasons.join("; "))
                }
                Err(AppError::Conflict(what)) => anyhow::bail!("the user was not created: {what}"),
                Err(err) => return Err(err).context("while creating the user"),
            };
            if json {
                output::print_json(&user_json(&user))?;
            } else {
                println!("user {} ({}) created: {}", user.email, user.role, user.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
