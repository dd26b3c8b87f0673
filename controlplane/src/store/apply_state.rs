//! The apply engine's state for applies started in the planner, in the same database as everything else: a
//! journal (JSON lines, appended in order, each committed before the engine goes on) and named documents
//! (bindings, learnt account ids, the last applied plan), both per *state key* — one plan on one target.
//! The CLI keeps the same lines and documents as files in its data folder.

use sqlx::Row;

use super::{Result, Store};

impl Store {
    /// Appends one line to a state's journal (committed when this returns).
    pub async fn journal_append(&self, state: &str, line: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let next: i64 =
            sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM apply_journal WHERE state = $1")
                .bind(state)
                .fetch_one(&mut **tx)
                .await?
                .try_get("n")?;
        sqlx::query("INSERT INTO apply_journal (state, seq, line) VALUES ($1, $2, $3)")
            .bind(state)
            .bind(next)
            .bind(line)
            .execute(&mut **tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A state's journal, oldest line first.
    pub async fn journal_lines(&self, state: &str) -> Result<Vec<String>> {
        sqlx::query("SELECT line FROM apply_journal WHERE state = $1 ORDER BY seq")
            .bind(state)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(r.try_get("line")?))
            .collect()
    }

    /// A state's document, if saved.
    pub async fn document(&self, state: &str, name: &str) -> Result<Option<(String, i64)>> {
        let row = sqlx::query("SELECT body, saved_at FROM apply_documents WHERE state = $1 AND name = $2")
            .bind(state)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("body")?, r.try_get("saved_at")?)))
            .transpose()
    }

    /// Saves (replaces) a state's document.
    pub async fn save_document(&self, state: &str, name: &str, body: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO apply_documents (state, name, body, saved_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (state, name) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
        )
        .bind(state)
        .bind(name)
        .bind(body)
        .bind(self.now())
        .execute(&mut **tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
