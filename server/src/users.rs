//! `peerplan user …`: the people who sign in to `peerplan serve --auth` (team mode), managed from the server's
//! machine. Every change is recorded in the audit trail as the actor `cli` (an admin, address `local`).
//! Passwords and tokens are printed once, when made (`create`, `reset`), and stored hashed only.

use controlplane::{
    audit::Actor,
    store::users::{Credentials, User},
};

use crate::cli::{Format, UserCommand};

/// Who `peerplan user …` and `peerplan target …` act as in the audit trail.
pub(crate) fn cli_actor() -> Actor {
    Actor {
        user: "cli".into(),
        role: "admin".into(),
        address: "local".into(),
    }
}

/// A user as `user list --format json` and the other commands print it.
#[derive(serde::Serialize)]
struct UserJson<'a> {
    user_id: &'a str,
    name: &'a str,
    role: &'a str,
    disabled: bool,
    source: &'a str,
    created_at: i64,
}

fn user_json(u: &User) -> UserJson<'_> {
    UserJson {
        user_id: &u.id,
        name: &u.name,
        role: u.role.as_str(),
        disabled: u.disabled,
        source: u.source.as_str(),
        created_at: u.created_at,
    }
}

/// `{"user_id", "name", "role", "password", "token"}`, in that order.
#[derive(serde::Serialize)]
struct CredentialsJson<'a> {
    user_id: &'a str,
    name: &'a str,
    role: &'a str,
    password: &'a str,
    token: &'a str,
}

fn print_credentials(c: &Credentials, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string(&CredentialsJson {
                user_id: &c.user.id,
                name: &c.user.name,
                role: c.user.role.as_str(),
                password: &c.password,
                token: &c.token,
            })?
        ),
        Format::Text => {
            println!("user_id:  {}", c.user.id);
            println!("name:     {}", c.user.name);
            println!("role:     {}", c.user.role);
            println!("password: {}", c.password);
            println!("token:    {}", c.token);
            eprintln!(
                "The password (for signing in at /login) and the API token (Authorization: Bearer …) are shown \
                 only once; store them now."
            );
        }
    }
    Ok(())
}

fn print_user(u: &User, format: Format, what: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(&user_json(u))?),
        Format::Text => println!("{what}: {} ({})", u.name, u.role),
    }
    Ok(())
}

/// Runs a `peerplan user …` command.
pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    let by = cli_actor();
    // Only `create` may start a database: the other commands act on users that exist, so a mistyped --data
    // is an error naming the folder rather than a new, empty database ("no users yet").
    let open_existing = |db: &crate::cli::DatabaseArgs| {
        let data = db.data.clone();
        let url = db.database_url.clone();
        async move {
            if url.is_none() && !data.join("controlplane.db").is_file() {
                anyhow::bail!(
                    "no Peerplan database in {} (no controlplane.db there): pass the --data folder that \
                     `peerplan serve` uses, or its --database-url",
                    data.display()
                );
            }
            crate::control::open(&data, url.as_deref()).await
        }
    };
    let refused = |e: controlplane::error::ApiError| anyhow::anyhow!("{e}");
    match command {
        UserCommand::Create {
            name,
            role,
            db,
            format,
        } => {
            let store = crate::control::open(&db.data, db.database_url.as_deref()).await?;
            let made = store.create_user(&by, &name, role).await.map_err(refused)?;
            print_credentials(&made, format)
        }
        UserCommand::List { db, format } => {
            let store = open_existing(&db).await?;
            let users = store.list_users().await.map_err(refused)?;
            match format {
                Format::Json => {
                    let list: Vec<UserJson<'_>> = users.iter().map(user_json).collect();
                    println!("{}", serde_json::to_string(&list)?);
                }
                Format::Text => {
                    if users.is_empty() {
                        println!("no users yet: create one with `peerplan user create NAME --role admin`");
                    }
                    for u in &users {
                        println!(
                            "{:<24} {:<8} {:<6} {}",
                            u.name,
                            u.role.as_str(),
                            u.source.as_str(),
                            if u.disabled { "disabled" } else { "" }
                        );
                    }
                }
            }
            Ok(())
        }
        UserCommand::SetRole {
            name,
            role,
            db,
            format,
        } => {
            let store = open_existing(&db).await?;
            let user = store.set_user_role(&by, &name, role).await.map_err(refused)?;
            print_user(&user, format, "role set")
        }
        UserCommand::Disable { name, db, format } => {
            let store = open_existing(&db).await?;
            let user = store.disable_user(&by, &name).await.map_err(refused)?;
            print_user(&user, format, "disabled")
        }
        UserCommand::Enable { name, db, format } => {
            let store = open_existing(&db).await?;
            let user = store.enable_user(&by, &name).await.map_err(refused)?;
            print_user(&user, format, "enabled")
        }
        UserCommand::Reset { name, db, format } => {
            let store = open_existing(&db).await?;
            let made = store.reset_user(&by, &name).await.map_err(refused)?;
            print_credentials(&made, format)
        }
    }
}
