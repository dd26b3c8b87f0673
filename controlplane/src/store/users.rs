//! Team mode's people: users with a [`Role`], their web password and API token, and the throttle on failed
//! sign-ins — in the same database as the plans, so several `peerplan serve` processes share them.
//!
//! - **Passwords** (web sign-in) are generated, shown once and stored as argon2id PHC strings (the `argon2`
//!   crate's defaults: 19 MiB, 2 passes, a random salt per user). Checking one runs on a blocking thread.
//!   A sign-in for a name that does not exist (or a user without a password: OpenID Connect, proxy) checks the
//!   password against a dummy hash all the same, so the answer takes as long as for a real user.
//! - **API tokens** (`Authorization: Bearer ppt_…`) are 32 random bytes, shown once and stored as their SHA-256.
//!   Not argon2: a slow hash protects guessable secrets (passwords); a 256-bit random token cannot be guessed
//!   whatever the hash, so SHA-256 gives the same protection if the database leaks, and it lets a request find
//!   its user by an indexed lookup of the hash (one query, no per-user scan) — where argon2 would cost 19 MiB and
//!   tens of milliseconds per request, which a flood of bogus tokens would turn against the server. The `/v1`
//!   API keys are stored the same way ([`super::hash_key`]).
//! - **Throttle**: failed sign-ins are counted per (name as typed, client IP address) in `sign_in_failures`;
//!   from the [`THROTTLE_AFTER`]th failure in a row (each within [`THROTTLE_WINDOW_MS`] of the one before) that
//!   name is refused from that address for [`THROTTLE_BASE_MS`], doubling with each further failure up to
//!   [`THROTTLE_MAX_MS`]. A successful sign-in clears the count. Names that do not exist are counted the same way.
//!
//! Every change is recorded in the audit trail in the same transaction: `user.change` (created, disabled,
//! reset), `role.change`, `auth.sign_in` and `auth.sign_in_failed` (why, never the password).

use std::sync::LazyLock;

use super::db::{self, Row};
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand::Rng;

use super::{conflict_on_unique, hash_key, new_id, Result, Store, WriteTx};
use crate::{
    audit::{Actor, AuditAction, NewEntry},
    error::{ApiError, ErrorCode},
};

/// Failures in a row after which a name is refused from an address for a while.
pub const THROTTLE_AFTER: i64 = 5;
/// Failures further apart than this start a new count.
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long the first refusal lasts; each further failure doubles it.
pub const THROTTLE_BASE_MS: i64 = 30 * 1000;
/// The longest refusal.
pub const THROTTLE_MAX_MS: i64 = 15 * 60 * 1000;
/// The longest user name.
pub const MAX_NAME: usize = 64;

/// What a user may do; each role may do everything the roles before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// List, open, trace, export plans.
    Viewer,
    /// And create, edit, import, rename, duplicate, delete, restore plans.
    Planner,
    /// And plan and apply against targets, see drift.
    Applier,
    /// And users, roles, targets, the audit trail.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Planner, Role::Applier, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Planner => "planner",
            Role::Applier => "applier",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidRole,
                format!("role {s:?} is not a role (one of viewer, planner, applier, admin)"),
            )
        })
    }
}

/// Where a user comes from: made with `peerplan user create` (`local`, signs in with a password), or first seen
/// at an OpenID Connect sign-in (`oidc`) or in a trusted proxy's header (`proxy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSource {
    Local,
    Oidc,
    Proxy,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::Local => "local",
            UserSource::Oidc => "oidc",
            UserSource::Proxy => "proxy",
        }
    }

    fn parse(s: &str) -> Option<UserSource> {
        [UserSource::Local, UserSource::Oidc, UserSource::Proxy]
            .into_iter()
            .find(|u| u.as_str() == s)
    }
}

/// A user (never with their secrets).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub source: UserSource,
    /// Unix ms.
    pub created_at: i64,
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl serde::Serialize for UserSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl User {
    /// This user acting from `address`.
    pub fn actor(&self, address: impl Into<String>) -> Actor {
        Actor {
            user: self.name.clone(),
            role: self.role.as_str().into(),
            address: address.into(),
        }
    }
}

/// A new user's (or a reset user's) secrets, to be shown once: they are stored hashed only.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub user: User,
    pub password: String,
    pub token: String,
}

/// The answer to a sign-in with name and password.
#[derive(Clone, Debug)]
pub enum SignIn {
    /// Signed in: a new session (its cookie value is [`super::sessions::NewSession::cookie`]).
    Accepted {
        user: User,
        session: super::sessions::NewSession,
    },
    /// Wrong name or password, or a disabled user (the audit entry says which; the person is not told).
    Refused,
    /// Too many failures from this address for this name: try again in this many seconds.
    Throttled { retry_after_secs: i64 },
}

/// Checks a user name: 1 to [`MAX_NAME`] lower-case letters, digits and `. _ @ -`, starting with a letter or
/// digit (safe in URLs, logs and the audit trail; an e-mail address fits).
pub fn check_user_name(name: &str) -> Result<()> {
    if RESERVED_NAMES.contains(&name) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidUserName,
            format!(
                "user name {name:?} is reserved: the audit trail uses it for the server's own actors ({})",
                RESERVED_NAMES.join(", ")
            ),
        ));
    }
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '@' | '-'));
    if ok {
        return Ok(());
    }
    let shown: String = name.chars().take(80).collect();
    Err(ApiError::invalid(
        ErrorCode::InvalidUserName,
        format!(
            "user name {shown:?} is not valid: use 1 to {MAX_NAME} lower-case letters, digits and . _ @ - \
             (starting with a letter or digit)"
        ),
    ))
}

/// Names the audit trail uses for the server's own actors (`cli` for `peerplan user|target`, `local` without
/// sign-in, the single sign-on sources…): no user may take one.
pub const RESERVED_NAMES: &[&str] = &["cli", "local", "oidc", "proxy", "system", "unknown"];

/// Alphabet of generated passwords: letters and digits without the look-alikes (0 O o 1 l I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new password: 22 characters of [`PASSWORD_ALPHABET`] (over 128 bits).
fn new_password() -> String {
    let mut rng = rand::thread_rng();
    (0..22)
        .map(|_| PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())] as char)
        .collect()
}

/// A new API token: `ppt_` and 32 random bytes as hex.
fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    format!("ppt_{}", hex::encode(b))
}

/// The argon2id PHC string of a password (CPU- and memory-heavy: call on a blocking thread).
fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with its default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches the PHC string (a string that does not parse matches nothing).
fn password_matches(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// What unknown names are checked against, so they take as long as known ones.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_password(&new_password()));

/// The sign-ins (name as counted, address) being checked in this process right now.
static IN_FLIGHT: LazyLock<std::sync::Mutex<std::collections::HashSet<(String, String)>>> =
    LazyLock::new(Default::default);

/// A sign-in's turn for its name and address; given back when dropped.
struct InFlight((String, String));

impl InFlight {
    fn take(key: &str, ip: &str) -> Option<InFlight> {
        let entry = (key.to_string(), ip.to_string());
        let mut all = IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner());
        // A turn is made only when taken: one made and dropped here would lock the set again (a deadlock).
        if all.insert(entry.clone()) {
            Some(InFlight(entry))
        } else {
            None
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}

/// Password hashes computed at once (each takes 19 MiB and tens of milliseconds): a flood of sign-ins queues
/// here instead of exhausting memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(4));

/// Runs password hashing on a blocking thread, at most [`HASHING`] at once.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| ApiError::Corrupt(format!("password hashing is closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Corrupt(format!("password hashing failed: {e}")))
}

pub(crate) fn user_from(row: &Row) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: super::stored(row, "users.role", |s| s.parse().ok())?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        source: super::stored(row, "users.source", UserSource::parse)?,
        created_at: row.try_get("created_at")?,
    })
}

/// The columns of a user (without secrets), as [`user_from`] reads them.
pub(crate) const USER_COLUMNS: &str =
    "users.id, users.name, users.role, users.disabled, users.source, users.created_at";

/// The key a failed sign-in is counted under: the name as typed, trimmed, lower-cased and cut to the longest name.
fn throttle_name(name: &str) -> String {
    name.trim().to_lowercase().chars().take(MAX_NAME).collect()
}

/// How long a name is refused after `failures` failures in a row.
pub fn lock_ms(failures: i64) -> i64 {
    if failures < THROTTLE_AFTER {
        return 0;
    }
    let doublings = (failures - THROTTLE_AFTER).min(16) as u32;
    THROTTLE_BASE_MS
        .saturating_mul(1 << doublings)
        .min(THROTTLE_MAX_MS)
}

impl Store {
    /// The user of that name.
    pub async fn get_user(&self, name: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = db::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no user named {name:?}")))?;
        user_from(&row)
    }

    /// The user of that id.
    pub async fn get_user_by_id(&self, id: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = db::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no user with the id {id:?}")))?;
        user_from(&row)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        db::query(&sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from)
            .collect()
    }

    /// The provider account (`ISSUER SUB`) a single sign-on user is bound to; `None` when there is no such user or
    /// it is not bound yet.
    pub async fn user_subject(&self, name: &str) -> Result<Option<String>> {
        Ok(db::query("SELECT subject FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get::<Option<String>, _>("subject"))
            .transpose()?
            .flatten())
    }

    /// Binds a user to a provider account (`ISSUER SUB`) unless it is bound already; `true` when the user is bound
    /// to exactly that account now (two first sign-ins racing: only one account wins).
    pub async fn bind_subject(&self, user_id: &str, subject: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        db::query("UPDATE users SET subject = $1 WHERE id = $2 AND subject IS NULL")
            .bind(subject)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let bound: Option<String> = db::query("SELECT subject FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("subject")?;
        tx.commit().await?;
        Ok(bound.as_deref() == Some(subject))
    }

    /// How many users there are.
    pub async fn user_count(&self) -> Result<i64> {
        Ok(db::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// A new local user with a generated password and API token (returned once; stored hashed). Refuses a bad
    /// name (400 `INVALID_USER_NAME`) and a name already taken (409 `USER_EXISTS`).
    pub async fn create_user(&self, by: &Actor, name: &str, role: Role) -> Result<Credentials> {
        check_user_name(name)?;
        let password = new_password();
        let token = new_token();
        let password_hash = {
            let password = password.clone();
            blocking(move || hash_password(&password)).await?
        };
        let user = User {
            id: new_id("user"),
            name: name.to_string(),
            role,
            disabled: false,
            source: UserSource::Local,
            created_at: self.now(),
        };
        let mut tx = self.write_tx().await?;
        self.insert_user(&mut tx, &user, Some(&password_hash), Some(&hash_key(&token)))
            .await?;
        let detail = format!("created with the role {role}");
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::UserChange, name, None).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Credentials {
            user,
            password,
            token,
        })
    }

    async fn insert_user(
        &self,
        tx: &mut WriteTx,
        user: &User,
        password_hash: Option<&str>,
        token_hash: Option<&str>,
    ) -> Result<()> {
        db::query(
            "INSERT INTO users (id, name, role, password_hash, token_hash, disabled, source, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(token_hash)
        .bind(user.source.as_str())
        .bind(user.created_at)
        .execute(&mut **tx)
        .await
        .map_err(|e| {
            conflict_on_unique(
                e,
                ErrorCode::UserExists,
                format!("a user named {:?} already exists", user.name),
            )
        })?;
        Ok(())
    }

    /// Gives a user another role (their sessions and token carry it from their next request).
    pub async fn set_user_role(&self, by: &Actor, name: &str, role: Role) -> Result<User> {
        let mut tx = self.write_tx().await?;
        let mut user = self.user_in(&mut tx, name).await?;
        let before = user.role;
        db::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let detail = format!("{before} → {role}");
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::RoleChange, name, None).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        user.role = role;
        Ok(user)
    }

    /// Disables a user: their sessions end, their token and password stop working.
    pub async fn disable_user(&self, by: &Actor, name: &str) -> Result<User> {
        self.set_disabled(by, name, true).await
    }

    /// Enables a disabled user again: their password, token and single sign-on work again (`reset_user` gives new
    /// ones instead, when the old ones may be known to someone else).
    pub async fn enable_user(&self, by: &Actor, name: &str) -> Result<User> {
        self.set_disabled(by, name, false).await
    }

    async fn set_disabled(&self, by: &Actor, name: &str, disabled: bool) -> Result<User> {
        let mut tx = self.write_tx().await?;
        let mut user = self.user_in(&mut tx, name).await?;
        db::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let detail = if disabled {
            let ended = self.end_user_sessions(&mut tx, &user.id).await?;
            format!("disabled ({ended} session(s) ended)")
        } else {
            "enabled".to_string()
        };
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::UserChange, name, None).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        user.disabled = disabled;
        Ok(user)
    }

    /// A new password and API token for a user (returned once); the old ones stop working and their sessions end.
    pub async fn reset_user(&self, by: &Actor, name: &str) -> Result<Credentials> {
        let password = new_password();
        let token = new_token();
        let password_hash = {
            let password = password.clone();
            blocking(move || hash_password(&password)).await?
        };
        let mut tx = self.write_tx().await?;
        let user = self.user_in(&mut tx, name).await?;
        db::query("UPDATE users SET password_hash = $1, token_hash = $2 WHERE id = $3")
            .bind(&password_hash)
            .bind(hash_key(&token))
            .bind(&user.id)
            .execute(&mut *tx)
            .await?;
        let ended = self.end_user_sessions(&mut tx, &user.id).await?;
        let detail = format!("new password and token ({ended} session(s) ended)");
        self.audit_in(
            &mut tx,
            &NewEntry::ok(by, AuditAction::UserChange, name, None).detail(&detail),
        )
        .await?;
        tx.commit().await?;
        Ok(Credentials {
            user,
            password,
            token,
        })
    }

    /// The entry point of single sign-on (OpenID Connect, a trusted proxy's header): the user of that name,
    /// created with `role` and `source` when new (no password, no token), given `role` when it differs (an
    /// identity provider's group mapping decides). The name is lower-cased first (e-mail addresses differ only in
    /// case) and must then be a valid user name. A disabled user stays disabled: [`Store::create_session`]
    /// refuses them. Recorded as `user.change` / `role.change` by the actor named after the source (`oidc`,
    /// `proxy`). A user of that name from another source (a local user made with `peerplan user create`) is
    /// refused (409 `USER_EXISTS`): an identity provider does not take over a local account.
    pub async fn upsert_external_user(&self, name: &str, role: Role, source: UserSource) -> Result<User> {
        let name = name.trim().to_lowercase();
        check_user_name(&name)?;
        let by = Actor {
            user: source.as_str().into(),
            role: "system".into(),
            address: String::new(),
        };
        let mut tx = self.write_tx().await?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let found = db::query(&sql)
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| user_from(&r))
            .transpose()?;
        let user = match found {
            // A local user (or one of the other source) of that name is not taken over by single sign-on.
            Some(user) if user.source != source => {
                return Err(ApiError::conflict(
                    ErrorCode::UserExists,
                    format!(
                        "a user named {name:?} already exists and signs in through {}, not {}",
                        user.source.as_str(),
                        source.as_str()
                    ),
                ))
            }
            Some(mut user) if user.role != role => {
                db::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(&user.id)
                    .execute(&mut *tx)
                    .await?;
                let detail = format!("{} → {role} (from {})", user.role, source.as_str());
                self.audit_in(
                    &mut tx,
                    &NewEntry::ok(&by, AuditAction::RoleChange, &name, None).detail(&detail),
                )
                .await?;
                user.role = role;
                user
            }
            Some(user) => return Ok(user),
            None => {
                let user = User {
                    id: new_id("user"),
                    name: name.clone(),
                    role,
                    disabled: false,
                    source,
                    created_at: self.now(),
                };
                self.insert_user(&mut tx, &user, None, None).await?;
                let detail = format!(
                    "created with the role {role} (first sign-in through {})",
                    source.as_str()
                );
                self.audit_in(
                    &mut tx,
                    &NewEntry::ok(&by, AuditAction::UserChange, &name, None).detail(&detail),
                )
                .await?;
                user
            }
        };
        tx.commit().await?;
        Ok(user)
    }

    async fn user_in(&self, tx: &mut WriteTx, name: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        let row = db::query(&sql)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no user named {name:?}")))?;
        user_from(&row)
    }

    /// The enabled user whose API token this is (`None`: no such token, or its user is disabled). One indexed
    /// lookup of the token's SHA-256.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE token_hash = $1 AND disabled = 0");
        db::query(&sql)
            .bind(hash_key(token))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| user_from(&r))
            .transpose()
    }

    /// A sign-in with name and password from `ip` (the client's IP address, the throttle's key) — `actor_address`
    /// is what the audit trail records (the socket address). Throttled names are refused before anything is
    /// checked; otherwise the password is checked (against a dummy hash for unknown names and users without a
    /// password), and the outcome recorded: a new session and `auth.sign_in`, or a counted failure and
    /// `auth.sign_in_failed` naming why.
    pub async fn sign_in(&self, name: &str, password: &str, ip: &str, actor_address: &str) -> Result<SignIn> {
        let key = throttle_name(name);
        // One attempt per name and address at a time (in this server): attempts sent in parallel would all read
        // the count before any failure is added to it.
        let Some(_turn) = InFlight::take(&key, ip) else {
            return Ok(SignIn::Throttled { retry_after_secs: 1 });
        };
        let now = self.now();
        let locked: Option<i64> =
            db::query("SELECT locked_until FROM sign_in_failures WHERE name = $1 AND address = $2")
                .bind(&key)
                .bind(ip)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get("locked_until"))
                .transpose()?;
        if let Some(until) = locked.filter(|u| *u > now) {
            return Ok(SignIn::Throttled {
                retry_after_secs: ((until - now) + 999) / 1000,
            });
        }
        let row = db::query(&format!(
            "SELECT {USER_COLUMNS}, users.password_hash FROM users WHERE name = $1"
        ))
        // Names are lower case: `Dave` signs in as dave (and is counted as dave).
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        let (user, phc) = match &row {
            Some(r) => (
                Some(user_from(r)?),
                r.try_get::<Option<String>, _>("password_hash")?,
            ),
            None => (None, None),
        };
        let matches = {
            let password = password.to_string();
            let phc = phc.clone();
            blocking(move || match phc {
                Some(phc) => password_matches(&password, &phc),
                None => {
                    let _ = password_matches(&password, &DUMMY_HASH);
                    false
                }
            })
            .await?
        };
        let why = match &user {
            None => Some("no user of that name"),
            Some(_) if phc.is_none() => Some("the user has no password (signs in through single sign-on)"),
            Some(_) if !matches => Some("wrong password"),
            Some(u) if u.disabled => Some("the user is disabled"),
            Some(_) => None,
        };
        let mut tx = self.write_tx().await?;
        if let (None, Some(user)) = (why, &user) {
            db::query("DELETE FROM sign_in_failures WHERE name = $1 AND address = $2")
                .bind(&key)
                .bind(ip)
                .execute(&mut *tx)
                .await?;
            let session = self.insert_session(&mut tx, &user.id).await?;
            let by = user.actor(actor_address);
            self.audit_in(
                &mut tx,
                &NewEntry::ok(&by, AuditAction::SignIn, &user.name, None).detail("password"),
            )
            .await?;
            tx.commit().await?;
            return Ok(SignIn::Accepted {
                user: user.clone(),
                session,
            });
        }
        let why = why.unwrap_or("refused");
        let failures = self.count_failure(&mut tx, &key, ip, now).await?;
        let lock = lock_ms(failures);
        let detail = if lock > 0 {
            format!(
                "{why}; {failures} failures in a row from {ip}: refused for {} s",
                lock / 1000
            )
        } else {
            format!("{why}; {failures} failure(s) in a row from {ip}")
        };
        let by = Actor {
            user: key.chars().filter(|c| !c.is_control()).collect(),
            role: user.as_ref().map_or("none", |u| u.role.as_str()).into(),
            address: actor_address.into(),
        };
        let object = by.user.clone();
        self.audit_in(
            &mut tx,
            &NewEntry {
                actor: &by,
                action: AuditAction::SignInFailed,
                object: &object,
                version: None,
                result: "refused",
                detail: &detail,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(SignIn::Refused)
    }

    /// Counts one more failure of `name` from `ip` (a new count when the last one is older than the window) and
    /// sets the lock; returns the failures in a row. Also forgets counts idle for a day.
    async fn count_failure(&self, tx: &mut WriteTx, name: &str, ip: &str, now: i64) -> Result<i64> {
        db::query(
            "INSERT INTO sign_in_failures (name, address, failures, last_failure, locked_until)
             VALUES ($1, $2, 0, $3, 0) ON CONFLICT (name, address) DO NOTHING",
        )
        .bind(name)
        .bind(ip)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let lock = if self.postgres { " FOR UPDATE" } else { "" };
        let row = db::query(&format!(
            "SELECT failures, last_failure FROM sign_in_failures WHERE name = $1 AND address = $2{lock}"
        ))
        .bind(name)
        .bind(ip)
        .fetch_one(&mut **tx)
        .await?;
        let (before, last): (i64, i64) = (row.try_get("failures")?, row.try_get("last_failure")?);
        let failures = if now - last > THROTTLE_WINDOW_MS {
            1
        } else {
            before + 1
        };
        let locked_until = match lock_ms(failures) {
            0 => 0,
            ms => now + ms,
        };
        db::query(
            "UPDATE sign_in_failures SET failures = $1, last_failure = $2, locked_until = $3
             WHERE name = $4 AND address = $5",
        )
        .bind(failures)
        .bind(now)
        .bind(locked_until)
        .bind(name)
        .bind(ip)
        .execute(&mut **tx)
        .await?;
        db::query("DELETE FROM sign_in_failures WHERE last_failure < $1 AND locked_until < $2")
            .bind(now - 24 * 3600 * 1000)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_order_and_name_bad_values() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!(Role::Viewer < Role::Planner && Role::Planner < Role::Applier && Role::Applier < Role::Admin);
        let e = "root".parse::<Role>().unwrap_err().to_string();
        assert!(e.contains("\"root\"") && e.contains("viewer, planner"), "{e}");
    }

    #[test]
    fn user_names_are_checked() {
        for ok in ["alice", "bob.smith", "a", "ops-1", "carol@example.com", "x_y"] {
            check_user_name(ok).unwrap();
        }
        for bad in [
            "",
            "Alice",
            "-x",
            ".x",
            "a b",
            "<script>",
            "a\"b",
            "é",
            &"a".repeat(65),
        ] {
            let e = check_user_name(bad).unwrap_err().to_string();
            assert!(e.contains("is not valid"), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let pw = new_password();
        assert_eq!(pw.len(), 22);
        let phc = hash_password(&pw);
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(password_matches(&pw, &phc));
        assert!(!password_matches("wrong", &phc));
        assert!(!password_matches(&pw, "not a phc string"));
        let token = new_token();
        assert!(token.starts_with("ppt_") && token.len() == 68);
    }

    #[test]
    fn the_lock_grows_and_is_capped() {
        assert_eq!(lock_ms(4), 0);
        assert_eq!(lock_ms(5), 30_000);
        assert_eq!(lock_ms(6), 60_000);
        assert_eq!(lock_ms(7), 120_000);
        assert_eq!(lock_ms(100), THROTTLE_MAX_MS);
    }
}
