//! Team mode's web sessions, in the database so several `peerplan serve` processes share them.
//!
//! A session is a random 256-bit value in the browser's cookie; the database holds only its SHA-256 (`id_hash`),
//! so a leaked database does not sign anyone in. A session lasts at most [`SESSION_LIFETIME_MS`] and ends after
//! [`SESSION_IDLE_MS`] without a request; `last_seen` is written at most once a minute per session (a read of a
//! page should not always write). Sign-in always makes a new session (no fixation); sign-out, disabling a user and
//! resetting their password delete theirs.

use super::db;
use rand::RngCore;

use super::{hash_key, users::User, Result, Store, WriteTx};
use crate::error::ApiError;

/// The longest a session lasts.
pub const SESSION_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
/// A session without a request for this long ends.
pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;
/// `last_seen` is written when older than this.
const TOUCH_AFTER_MS: i64 = 60 * 1000;

/// A new session: the cookie's value (secret, for the browser only) and when it ends at the latest (Unix ms).
#[derive(Clone, Debug)]
pub struct NewSession {
    pub cookie: String,
    pub expires_at: i64,
}

impl Store {
    pub(crate) async fn insert_session(&self, tx: &mut WriteTx, user_id: &str) -> Result<NewSession> {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        let cookie = hex::encode(b);
        let now = self.now();
        let expires_at = now + SESSION_LIFETIME_MS;
        db::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, expires_at, last_seen) VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(hash_key(&cookie))
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
        Ok(NewSession { cookie, expires_at })
    }

    /// A new session for the user of that id (single sign-on calls this once it knows who signed in; password
    /// sign-ins get theirs from [`Store::sign_in`]). Refuses a disabled user (403) and an unknown id (404).
    /// Records `auth.sign_in` as that user from `address`, with `how` (e.g. `oidc`) as the detail.
    pub async fn create_session(&self, user_id: &str, address: &str, how: &str) -> Result<NewSession> {
        let user = self.get_user_by_id(user_id).await?;
        if user.disabled {
            return Err(ApiError::Forbidden(format!(
                "the user {:?} is disabled",
                user.name
            )));
        }
        let mut tx = self.write_tx().await?;
        let session = self.insert_session(&mut tx, user_id).await?;
        let by = user.actor(address);
        self.audit_in(
            &mut tx,
            &crate::audit::NewEntry::ok(&by, crate::audit::AuditAction::SignIn, &user.name, None).detail(how),
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// The enabled user of a session cookie, or `None` (no such session, ended, idle too long, user disabled).
    /// An ended session's row is deleted.
    pub async fn session_user(&self, cookie: &str) -> Result<Option<User>> {
        let id_hash = hash_key(cookie);
        let sql = format!(
            "SELECT {}, sessions.expires_at, sessions.last_seen FROM sessions JOIN users ON users.id = \
             sessions.user_id WHERE sessions.id_hash = $1",
            super::users::USER_COLUMNS
        );
        let Some(row) = db::query(&sql).bind(&id_hash).fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        let user = super::users::user_from(&row)?;
        let (expires_at, last_seen): (i64, i64) = (row.try_get("expires_at")?, row.try_get("last_seen")?);
        let now = self.now();
        if now >= expires_at || now - last_seen >= SESSION_IDLE_MS {
            self.end_session(cookie).await?;
            return Ok(None);
        }
        if user.disabled {
            return Ok(None);
        }
        if now - last_seen >= TOUCH_AFTER_MS {
            self.write_one(
                db::query("UPDATE sessions SET last_seen = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(id_hash),
            )
            .await?;
        }
        Ok(Some(user))
    }

    /// Ends the session of that cookie (sign-out); nothing when there is none.
    pub async fn end_session(&self, cookie: &str) -> Result<()> {
        self.write_one(db::query("DELETE FROM sessions WHERE id_hash = $1").bind(hash_key(cookie)))
            .await?;
        Ok(())
    }

    /// Ends every session of a user inside a transaction; how many there were.
    pub(crate) async fn end_user_sessions(&self, tx: &mut WriteTx, user_id: &str) -> Result<u64> {
        Ok(db::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut **tx)
            .await?
            .rows_affected())
    }
}
