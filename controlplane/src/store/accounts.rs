//! Storage of accounts and their API keys (stored hashed).

use super::db;
use rand::RngCore;

use super::{hash_key, new_id, Result, Store};
use crate::{
    error::{ApiError, ErrorCode},
    wire,
};

impl Store {
    /// Creates an account and its first key; the key is returned once and stored hashed.
    pub async fn create_account(&self, name: &str) -> Result<wire::NewAccount> {
        if name.trim().is_empty() {
            return Err(ApiError::invalid(
                ErrorCode::InvalidName,
                "an account needs a name",
            ));
        }
        let id = new_id("account");
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let api_key = format!("ppk_{}", hex::encode(key));
        let mut tx = self.write_tx().await?;
        db::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(name)
            .bind(self.now())
            .execute(&mut *tx)
            .await?;
        db::query("INSERT INTO api_keys (key_hash, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(hash_key(&api_key))
            .bind(&id)
            .bind(self.now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(wire::NewAccount {
            account_id: id,
            api_key,
        })
    }

    /// How many accounts exist.
    pub async fn account_count(&self) -> Result<i64> {
        Ok(db::query("SELECT COUNT(*) AS n FROM accounts")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// The account a key belongs to.
    pub async fn account_for_key(&self, key: &str) -> Result<Option<String>> {
        self.account_for_hash(&hash_key(key)).await
    }

    /// The account of a stored key hash.
    pub async fn account_for_hash(&self, hash: &str) -> Result<Option<String>> {
        let row = db::query("SELECT account_id FROM api_keys WHERE key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("account_id")).transpose()?)
    }
}
