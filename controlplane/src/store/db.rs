//! The one seam every query of the store goes through: PostgreSQL through sqlx (its pool, as before), SQLite
//! through rusqlite, called on the request's own thread.
//!
//! The API has the shape of the sqlx calls the store makes — [`query`]`(sql).bind(v)…` then `.execute`,
//! `.fetch_one`, `.fetch_optional` or `.fetch_all` on the [`Db`] (the pool) or on a [`Conn`] (a write
//! transaction, or a connection from [`Db::acquire`]); rows answer [`Row::try_get`] by column name. Errors are
//! `sqlx::Error`s on both databases (a SQLite error is a `sqlx::Error::Database`, a unique violation still says
//! `is_unique_violation`), so everything above this module handles them as before.
//!
//! One SQL text for both databases, in PostgreSQL's `$1…$n` dialect. SQLite numbers `$N` parameters by their
//! first appearance in the text, not by N, so a statement's parameters are bound here by NAME: `$3` gets the 3rd
//! value, whatever its position, and a repeated `$2` is one parameter.
//!
//! On SQLite: one writer connection behind a tokio mutex (this process's writer turn, held by a
//! [`super::WriteTx`] across awaits; `BEGIN IMMEDIATE` … `COMMIT`, rolled back when dropped uncommitted), and a
//! few reader connections kept idle in a list (WAL lets them read while the writer writes; each statement reads
//! committed data only). `execute` on the [`Db`] itself takes the writer turn too, so a task holding a write
//! transaction runs its writes on the transaction, never on the `Db` (it would wait for itself). Statements are
//! prepared once per connection (`prepare_cached`). A thread of its own checkpoints the WAL into the database
//! file shortly after writes, so no request pays for that copy and its fsync.
//!
//! Each call runs to its end on the calling thread, without a hand-off to a connection thread: that is what makes
//! a statement cost microseconds instead of two thread switches. The trade: a long statement holds the thread (a
//! tokio worker) while it runs; the statements here are small, indexed and take microseconds. A writer that finds
//! the file's write lock held by another process (`peerplan user …` while serving, a second server on the file)
//! does not wait in SQLite's busy handler on its worker: it retries after asynchronous pauses for up to 10 s
//! ([`LOCK_WAIT`]); readers never wait in WAL mode.
//! No std mutex is held across an `.await` (the reader list is locked only to take or give back a connection).

use std::{
    borrow::Cow,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use rusqlite::types::ValueRef;
use sqlx::{
    any::{AnyArguments, AnyPoolOptions, AnyRow},
    error::{DatabaseError, ErrorKind},
    Any, AnyPool,
};

type DbResult<T> = std::result::Result<T, sqlx::Error>;

/// Reader connections kept idle for the next read (more are opened when more threads read at once; each
/// thread runs one statement at a time, so the count stays at most the number of threads reading).
const IDLE_READERS: usize = 8;

/// WAL pages after which SQLite's writer checkpoints by itself (its default is 1,000): only when the checkpointer
/// thread falls that far behind.
const WRITER_CHECKPOINT: u32 = 20_000;

/// How often the checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Prepared statements kept per SQLite connection (the store has about 150 different ones).
const STATEMENT_CACHE: usize = 256;

/// The database: PostgreSQL's sqlx pool, or SQLite's writer and readers.
#[derive(Clone)]
pub struct Db(Kind);

#[derive(Clone)]
enum Kind {
    Pg(AnyPool),
    Lite(Arc<Lite>),
}

struct Lite {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<rusqlite::Connection>>,
    readers: Mutex<Vec<rusqlite::Connection>>,
    /// Commits so far (the checkpointer's cue).
    commits: Arc<AtomicU64>,
}

impl Db {
    /// Opens PostgreSQL (`postgres://…`) or a SQLite file (`sqlite://path`, created if missing unless the URL
    /// says `mode=`), and runs the migrations — through sqlx on both, so the migration table (`_sqlx_migrations`)
    /// of every existing file is the one it always was. On SQLite the migrating connection is closed afterwards.
    pub(crate) async fn open(url: &str) -> DbResult<Db> {
        sqlx::any::install_default_drivers();
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if postgres {
            let pool = AnyPoolOptions::new().max_connections(16).connect(url).await?;
            sqlx::migrate!("./migrations").run(&pool).await?;
            return Ok(Db(Kind::Pg(pool)));
        }
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(sqlx::Error::Configuration(
                format!(
                    "{url:?}: an in-memory SQLite database is not supported; give a file (sqlite://PATH)"
                )
                .into(),
            ));
        }
        let url = if url.contains('?') {
            url.to_string()
        } else {
            format!("{url}?mode=rwc")
        };
        let path = {
            use std::str::FromStr;
            sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                .get_filename()
                .to_path_buf()
        };
        {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::AnyConnection::connect(&url).await?;
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA busy_timeout = 10000").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            sqlx::migrate!("./migrations").run(&mut conn).await?;
            conn.close().await?;
        }
        let writer = open_sqlite(&path).map_err(from_sqlite)?;
        // The checkpointer copies the WAL into the file; the writer does it itself only if that falls far behind.
        writer
            .query_row(
                &format!("PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT}"),
                [],
                |_| Ok(()),
            )
            .map_err(from_sqlite)?;
        let checkpointer = open_sqlite(&path).map_err(from_sqlite)?;
        let lite = Arc::new(Lite {
            path,
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            readers: Mutex::new(Vec::new()),
            commits: Arc::new(AtomicU64::new(0)),
        });
        Lite::checkpoint_in_background(&lite, checkpointer)?;
        Ok(Db(Kind::Lite(lite)))
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Kind::Pg(_))
    }

    /// PostgreSQL's pool (for what only PostgreSQL has, such as a session's advisory locks).
    pub(crate) fn pg_pool(&self) -> Option<&AnyPool> {
        match &self.0 {
            Kind::Pg(pool) => Some(pool),
            Kind::Lite(_) => None,
        }
    }

    /// A connection for several reads in a row (PostgreSQL: one of the pool; SQLite: a reader).
    pub async fn acquire(&self) -> DbResult<Conn> {
        Ok(Conn(match &self.0 {
            Kind::Pg(pool) => ConnKind::Pg(pool.acquire().await?),
            Kind::Lite(lite) => ConnKind::Reader(Lite::reader(lite)?),
        }))
    }

    /// A write transaction: PostgreSQL's `BEGIN`; on SQLite this process's writer turn (waiting in order behind
    /// the other writers of this process), then `BEGIN IMMEDIATE`, which takes the file's write lock up front.
    pub(crate) async fn begin_write(&self) -> DbResult<Conn> {
        match &self.0 {
            Kind::Pg(pool) => Ok(Conn(ConnKind::PgTx(pool.begin().await?))),
            Kind::Lite(lite) => {
                let turn = lite.writer.clone().lock_owned().await;
                let mut writer = Writer(turn, lite.commits.clone());
                run_taking_lock(&mut writer.0, "BEGIN IMMEDIATE", &[], Want::Execute).await?;
                Ok(Conn(ConnKind::Writer(writer)))
            }
        }
    }
}

impl Lite {
    /// Starts the thread that checkpoints the WAL (copies its pages into the database file, and syncs it) a
    /// moment after writes, off the requests' threads: left to the writer, every ~1,000 pages one commit paid
    /// for the copy and its fsync (milliseconds, the long tail of the write times). A PASSIVE checkpoint waits
    /// for no reader or writer. The thread ends soon after the database is closed.
    fn checkpoint_in_background(lite: &Arc<Lite>, conn: rusqlite::Connection) -> DbResult<()> {
        let commits = lite.commits.clone();
        let alive = Arc::downgrade(lite);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut seen = 0;
                while alive.strong_count() > 0 {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    let now = commits.load(Ordering::Relaxed);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "SQLite checkpoint failed (the writer checkpoints if it must)");
                    }
                }
            })
            .map(drop)
            .map_err(sqlx::Error::Io)
    }

    /// An idle reader, or a new one.
    fn reader(lite: &Arc<Lite>) -> DbResult<Reader> {
        let idle = lite.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_sqlite(&lite.path).map_err(from_sqlite)?,
        };
        Ok(Reader {
            conn: Some(conn),
            lite: lite.clone(),
        })
    }
}

/// SQLite's own wait for a lock another process holds (readers, and statements inside a write transaction).
const BUSY_TIMEOUT: Duration = Duration::from_millis(10_000);

/// A SQLite connection with the store's settings.
fn open_sqlite(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A connection held for several statements: a write transaction's, or one from [`Db::acquire`].
pub struct Conn(ConnKind);

enum ConnKind {
    PgTx(sqlx::Transaction<'static, Any>),
    Pg(sqlx::pool::PoolConnection<Any>),
    Writer(Writer),
    Reader(Reader),
}

impl Conn {
    /// Commits a write transaction (a connection that is none has nothing to commit: an error).
    pub(crate) async fn commit(self) -> DbResult<()> {
        match self.0 {
            ConnKind::PgTx(tx) => tx.commit().await,
            ConnKind::Writer(w) => {
                run_sqlite(&w.0, "COMMIT", &[], Want::Execute)?;
                w.1.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            ConnKind::Pg(_) | ConnKind::Reader(_) => Err(sqlx::Error::Protocol(
                "commit on a connection outside a transaction".into(),
            )),
        }
    }
}

/// SQLite's writer connection, in this process's writer turn. Dropped inside a transaction (not committed: an
/// error, or the request's future dropped), it rolls the transaction back before the next writer's turn.
struct Writer(tokio::sync::OwnedMutexGuard<rusqlite::Connection>, Arc<AtomicU64>);

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            if let Err(e) = self.0.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "rolling back an unfinished SQLite transaction failed");
            }
        }
    }
}

/// A SQLite reader connection, back to the idle list when dropped.
struct Reader {
    conn: Option<rusqlite::Connection>,
    lite: Arc<Lite>,
}

impl Reader {
    fn conn(&self) -> DbResult<&rusqlite::Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| sqlx::Error::Protocol("reader connection already given back".into()))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // One left inside a transaction (never by this module) is not reused.
            if conn.is_autocommit() {
                let mut idle = self.lite.readers.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < IDLE_READERS {
                    idle.push(conn);
                }
            }
        }
    }
}

/// Where a query runs: on the database (a pooled connection for one statement) or on a held connection.
pub enum Exec<'c> {
    Db(&'c Db),
    Conn(&'c mut Conn),
}

impl<'c> From<&'c Db> for Exec<'c> {
    fn from(db: &'c Db) -> Self {
        Exec::Db(db)
    }
}

impl<'c> From<&'c mut Conn> for Exec<'c> {
    fn from(conn: &'c mut Conn) -> Self {
        Exec::Conn(conn)
    }
}

/// A value bound to a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'q> {
    Text(Cow<'q, str>),
    Int(i64),
    Real(f64),
    Bool(bool),
    /// NULL where text is expected (PostgreSQL types its parameters).
    NullText,
    /// NULL where a number is expected.
    NullInt,
}

/// What [`Query::bind`] takes.
pub trait Param<'q> {
    fn value(self) -> Value<'q>;
}

/// The NULL of a parameter type, for `Option<T>`.
pub trait Nullable {
    const NULL: Value<'static>;
}

impl<'q> Param<'q> for &'q str {
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self))
    }
}
impl<'q> Param<'q> for &'q &'q str {
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(*self))
    }
}
impl<'q> Param<'q> for &'q String {
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Borrowed(self.as_str()))
    }
}
impl<'q> Param<'q> for String {
    fn value(self) -> Value<'q> {
        Value::Text(Cow::Owned(self))
    }
}
impl<'q> Param<'q> for i64 {
    fn value(self) -> Value<'q> {
        Value::Int(self)
    }
}
impl<'q> Param<'q> for &'q i64 {
    fn value(self) -> Value<'q> {
        Value::Int(*self)
    }
}
impl<'q> Param<'q> for i32 {
    fn value(self) -> Value<'q> {
        Value::Int(self.into())
    }
}
impl<'q> Param<'q> for f64 {
    fn value(self) -> Value<'q> {
        Value::Real(self)
    }
}
impl<'q> Param<'q> for bool {
    fn value(self) -> Value<'q> {
        Value::Bool(self)
    }
}
impl<'q, T: Param<'q> + Nullable> Param<'q> for Option<T> {
    fn value(self) -> Value<'q> {
        match self {
            Some(v) => v.value(),
            None => T::NULL,
        }
    }
}
impl<'q> Param<'q> for &'q Option<String> {
    fn value(self) -> Value<'q> {
        self.as_deref().value()
    }
}
impl<'q> Param<'q> for &'q Option<i64> {
    fn value(self) -> Value<'q> {
        (*self).value()
    }
}
impl Nullable for &str {
    const NULL: Value<'static> = Value::NullText;
}
impl Nullable for &String {
    const NULL: Value<'static> = Value::NullText;
}
impl Nullable for String {
    const NULL: Value<'static> = Value::NullText;
}
impl Nullable for i64 {
    const NULL: Value<'static> = Value::NullInt;
}
impl Nullable for i32 {
    const NULL: Value<'static> = Value::NullInt;
}

/// A statement with its values, run by one of its `execute`/`fetch_*` methods.
#[must_use = "a query does nothing until executed or fetched"]
pub struct Query<'q> {
    sql: &'q str,
    args: Vec<Value<'q>>,
}

/// A statement in the `$1…$n` dialect; `.bind` its values in order.
pub fn query(sql: &str) -> Query<'_> {
    Query {
        sql,
        args: Vec::new(),
    }
}

/// What a statement did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Done {
    rows_affected: u64,
}

impl Done {
    /// Rows inserted, updated or deleted.
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Execute,
    All,
    First,
}

/// What a run returned: rows, or the count of rows changed.
enum Output {
    Rows(Vec<Row>),
    Done(Done),
}

impl<'q> Query<'q> {
    /// Binds the next parameter (`$1`, then `$2`…).
    pub fn bind(mut self, value: impl Param<'q>) -> Self {
        self.args.push(value.value());
        self
    }

    /// Runs a statement that changes rows. On SQLite, run on the [`Db`] it takes this process's writer turn
    /// (an autocommit statement, atomic and durable on its own).
    pub async fn execute<'c>(self, on: impl Into<Exec<'c>>) -> DbResult<Done> {
        match self.run(on.into(), Want::Execute).await? {
            Output::Done(d) => Ok(d),
            Output::Rows(_) => Ok(Done::default()),
        }
    }

    /// All rows.
    pub async fn fetch_all<'c>(self, on: impl Into<Exec<'c>>) -> DbResult<Vec<Row>> {
        match self.run(on.into(), Want::All).await? {
            Output::Rows(rows) => Ok(rows),
            Output::Done(_) => Ok(Vec::new()),
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional<'c>(self, on: impl Into<Exec<'c>>) -> DbResult<Option<Row>> {
        match self.run(on.into(), Want::First).await? {
            Output::Rows(rows) => Ok(rows.into_iter().next()),
            Output::Done(_) => Ok(None),
        }
    }

    /// The first row; none is `sqlx::Error::RowNotFound`.
    pub async fn fetch_one<'c>(self, on: impl Into<Exec<'c>>) -> DbResult<Row> {
        self.fetch_optional(on).await?.ok_or(sqlx::Error::RowNotFound)
    }

    async fn run(self, on: Exec<'_>, want: Want) -> DbResult<Output> {
        match on {
            Exec::Db(db) => match &db.0 {
                Kind::Pg(pool) => self.run_pg(pool, want).await,
                Kind::Lite(lite) if want == Want::Execute => {
                    let mut writer = lite.writer.lock().await;
                    let out = run_taking_lock(&mut writer, self.sql, &self.args, want).await;
                    lite.commits.fetch_add(1, Ordering::Relaxed);
                    out
                }
                Kind::Lite(lite) => {
                    let reader = Lite::reader(lite)?;
                    run_sqlite(reader.conn()?, self.sql, &self.args, want)
                }
            },
            Exec::Conn(conn) => match &mut conn.0 {
                ConnKind::PgTx(tx) => self.run_pg(&mut **tx, want).await,
                ConnKind::Pg(c) => self.run_pg(&mut **c, want).await,
                ConnKind::Writer(w) => run_sqlite(&w.0, self.sql, &self.args, want),
                ConnKind::Reader(r) => run_sqlite(r.conn()?, self.sql, &self.args, want),
            },
        }
    }

    fn to_sqlx(&self) -> sqlx::query::Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(self.sql);
        for v in &self.args {
            q = match v {
                Value::Text(t) => q.bind(t.as_ref()),
                Value::Int(i) => q.bind(*i),
                Value::Real(f) => q.bind(*f),
                Value::Bool(b) => q.bind(*b),
                Value::NullText => q.bind(None::<String>),
                Value::NullInt => q.bind(None::<i64>),
            };
        }
        q
    }

    async fn run_pg<'c, E>(&self, on: E, want: Want) -> DbResult<Output>
    where
        E: sqlx::Executor<'c, Database = Any>,
    {
        let q = self.to_sqlx();
        Ok(match want {
            Want::Execute => Output::Done(Done {
                rows_affected: q.execute(on).await?.rows_affected(),
            }),
            Want::All => Output::Rows(
                q.fetch_all(on)
                    .await?
                    .into_iter()
                    .map(|r| Row(RowKind::Pg(r)))
                    .collect(),
            ),
            Want::First => Output::Rows(
                q.fetch_optional(on)
                    .await?
                    .map(|r| Row(RowKind::Pg(r)))
                    .into_iter()
                    .collect(),
            ),
        })
    }
}

/// How long a writer waits for the file's write lock while another process holds it (`peerplan user …` run
/// while the server is up, a second server on the same file).
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Runs a statement that takes the file's write lock (`BEGIN IMMEDIATE`, or a write on its own) on the writer
/// connection. While another process holds the lock, SQLite's busy handler would sleep on this thread — one of
/// the runtime's few workers — for up to 10 s; instead the statement is tried without it and retried after
/// asynchronous pauses (1 ms doubling to 50 ms) until [`LOCK_WAIT`] has passed, then the busy error is the answer.
/// Statements inside a transaction already hold the lock and keep SQLite's own busy timeout. (`&mut`: a shared
/// reference to a connection, which is not `Sync`, cannot be held across the pause by a `Send` future.)
async fn run_taking_lock(
    conn: &mut rusqlite::Connection,
    sql: &str,
    args: &[Value<'_>],
    want: Want,
) -> DbResult<Output> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        conn.busy_timeout(Duration::ZERO).map_err(from_sqlite)?;
        let out = run_sqlite(conn, sql, args, want);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(from_sqlite)?;
        match out {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref().is_some_and(is_busy) && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// SQLITE_BUSY and its extended codes (`5`, `5 + 256·k`).
fn is_busy(code: &str) -> bool {
    code.parse::<i32>()
        .is_ok_and(|c| c & 0xff == rusqlite::ffi::SQLITE_BUSY)
}

/// Runs one statement on a SQLite connection, on this thread.
fn run_sqlite(conn: &rusqlite::Connection, sql: &str, args: &[Value<'_>], want: Want) -> DbResult<Output> {
    let mut stmt = conn.prepare_cached(sql).map_err(from_sqlite)?;
    bind_by_name(&mut stmt, sql, args)?;
    let names: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let columns = names.len();
    let readonly = stmt.readonly();
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(from_sqlite)? {
        if want == Want::Execute {
            continue;
        }
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(match row.get_ref(i).map_err(from_sqlite)? {
                ValueRef::Null => Stored::Null,
                ValueRef::Integer(i) => Stored::Int(i),
                ValueRef::Real(f) => Stored::Real(f),
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(s) => Stored::Text(s.to_string()),
                    Err(_) => Stored::Blob(t.to_vec()),
                },
                ValueRef::Blob(b) => Stored::Blob(b.to_vec()),
            });
        }
        out.push(Row(RowKind::Lite {
            names: names.clone(),
            values,
        }));
        if want == Want::First {
            break;
        }
    }
    drop(rows);
    Ok(match want {
        Want::Execute => Output::Done(Done {
            rows_affected: if readonly { 0 } else { conn.changes() },
        }),
        Want::All | Want::First => Output::Rows(out),
    })
}

/// Binds each parameter `$N` of a statement to the N-th value (SQLite numbers parameters by first appearance).
fn bind_by_name(stmt: &mut rusqlite::CachedStatement<'_>, sql: &str, args: &[Value<'_>]) -> DbResult<()> {
    for index in 1..=stmt.parameter_count() {
        let name = stmt.parameter_name(index).unwrap_or("?");
        let value = name
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
            .ok_or_else(|| {
                sqlx::Error::Protocol(format!(
                    "parameter {name} of {sql:?} has no value ({} given; parameters are $1…$n)",
                    args.len()
                ))
            })?;
        let bound = match value {
            Value::Text(t) => stmt.raw_bind_parameter(index, t.as_ref()),
            Value::Int(i) => stmt.raw_bind_parameter(index, i),
            Value::Real(f) => stmt.raw_bind_parameter(index, f),
            Value::Bool(b) => stmt.raw_bind_parameter(index, b),
            Value::NullText | Value::NullInt => stmt.raw_bind_parameter(index, rusqlite::types::Null),
        };
        bound.map_err(from_sqlite)?;
    }
    Ok(())
}

/// A value read from SQLite.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Stored {
    fn kind(&self) -> &'static str {
        match self {
            Stored::Null => "NULL",
            Stored::Int(_) => "INTEGER",
            Stored::Real(_) => "REAL",
            Stored::Text(_) => "TEXT",
            Stored::Blob(_) => "BLOB",
        }
    }
}

/// A row read.
pub struct Row(RowKind);

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            RowKind::Pg(row) => f.debug_tuple("Row").field(&sqlx::Row::len(row)).finish(),
            RowKind::Lite { names, values } => f.debug_map().entries(names.iter().zip(values)).finish(),
        }
    }
}

enum RowKind {
    Pg(AnyRow),
    Lite {
        names: Arc<[String]>,
        values: Vec<Stored>,
    },
}

/// What a column reads as, on either database.
pub trait Decode: Sized + for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {
    /// The name of the type, for errors.
    const NAME: &'static str;
    /// The value of a SQLite column, if it is of this type.
    fn from_sqlite(v: &Stored) -> Option<Self>;
}

impl Decode for String {
    const NAME: &'static str = "text";
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}
impl Decode for i64 {
    const NAME: &'static str = "integer";
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl Decode for i32 {
    const NAME: &'static str = "32-bit integer";
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Int(i) => i32::try_from(*i).ok(),
            _ => None,
        }
    }
}
impl Decode for f64 {
    const NAME: &'static str = "real";
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Real(f) => Some(*f),
            Stored::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl Decode for bool {
    const NAME: &'static str = "boolean";
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}
impl<T: Decode> Decode for Option<T> {
    const NAME: &'static str = T::NAME;
    fn from_sqlite(v: &Stored) -> Option<Self> {
        match v {
            Stored::Null => Some(None),
            v => T::from_sqlite(v).map(Some),
        }
    }
}

impl Row {
    /// The value of the column named `name` (as the statement names it: `users.id` is `id`); a missing column
    /// or a value of another type is an error, never a guess.
    pub fn try_get<T: Decode, I: AsRef<str>>(&self, name: I) -> DbResult<T> {
        let name = name.as_ref();
        match &self.0 {
            RowKind::Pg(row) => sqlx::Row::try_get(row, name),
            RowKind::Lite { names, values } => {
                let value = names
                    .iter()
                    .position(|n| n == name)
                    .and_then(|i| values.get(i))
                    .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_string()))?;
                T::from_sqlite(value).ok_or_else(|| sqlx::Error::ColumnDecode {
                    index: format!("{name:?}"),
                    source: format!("a {} value is not a {}", value.kind(), T::NAME).into(),
                })
            }
        }
    }
}

/// A SQLite error as sqlx reports one: a database error of the kind its extended code says.
#[derive(Debug)]
struct SqliteError {
    message: String,
    code: Option<i32>,
}

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "(code: {code}) {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for SqliteError {}

impl DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        self.code.map(|c| Cow::Owned(c.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        use rusqlite::ffi;
        match self.code {
            Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                ErrorKind::UniqueViolation
            }
            Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => ErrorKind::ForeignKeyViolation,
            Some(ffi::SQLITE_CONSTRAINT_NOTNULL) => ErrorKind::NotNullViolation,
            Some(ffi::SQLITE_CONSTRAINT_CHECK) => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn from_sqlite(e: rusqlite::Error) -> sqlx::Error {
    let (message, code) = match &e {
        rusqlite::Error::SqliteFailure(f, Some(m)) => (m.clone(), Some(f.extended_code)),
        rusqlite::Error::SqliteFailure(f, None) => (f.to_string(), Some(f.extended_code)),
        other => (other.to_string(), None),
    };
    sqlx::Error::Database(Box::new(SqliteError { message, code }))
}

#[cfg(test)]
mod tests {
    //! The seam on SQLite, and on PostgreSQL when `PEERPLAN_TEST_POSTGRES_URL` is set (required with
    //! `PEERPLAN_REQUIRE_POSTGRES=1`).

    use super::*;

    /// Another process holding the file's write lock: the writer waits for it without holding the runtime's
    /// thread (on this single-threaded runtime, another task keeps running meanwhile), then begins.
    #[tokio::test]
    async fn a_writer_waits_for_another_process_lock_without_holding_its_thread() {
        use std::sync::atomic::AtomicUsize;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seam.db");
        let db = Db::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let ticks = Arc::new(AtomicUsize::new(0));
        let counted = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                counted.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let started = std::time::Instant::now();
        let tx = db.begin_write().await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
        let ticked = ticks.load(Ordering::Relaxed);
        assert!(
            ticked >= 10,
            "the other task ran {ticked} times while the writer waited"
        );
        drop(tx);
        ticker.abort();
        release.join().unwrap();
    }

    /// A fresh database of each backend, with a scratch table `seam_t (id TEXT PRIMARY KEY, n BIGINT)`.
    async fn databases() -> Vec<(tempfile::TempDir, Db)> {
        let mut out = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seam.db").display());
        out.push((dir, Db::open(&url).await.unwrap()));
        match std::env::var("PEERPLAN_TEST_POSTGRES_URL") {
            Ok(admin) => {
                let name = format!("t_seam_{}", super::super::new_id("db").trim_start_matches("db_"));
                let pool = AnyPool::connect(&admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                let (base, query) = match admin.split_once('?') {
                    Some((b, q)) => (b.to_string(), format!("?{q}")),
                    None => (admin.clone(), String::new()),
                };
                let base = base.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
                let url = format!("{base}/{name}{query}");
                out.push((tempfile::tempdir().unwrap(), Db::open(&url).await.unwrap()));
            }
            Err(_) => assert_ne!(
                std::env::var("PEERPLAN_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "PEERPLAN_REQUIRE_POSTGRES=1 but PEERPLAN_TEST_POSTGRES_URL is not set"
            ),
        }
        for (_, db) in &out {
            query("CREATE TABLE seam_t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
                .execute(db)
                .await
                .unwrap();
        }
        out
    }

    fn which(db: &Db) -> &'static str {
        if db.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    async fn ids(db: &Db) -> Vec<String> {
        query("SELECT id FROM seam_t ORDER BY id")
            .fetch_all(db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("id").unwrap())
            .collect()
    }

    #[tokio::test]
    async fn parameters_bind_by_their_number_not_their_position() {
        for (_dir, db) in databases().await {
            let b = which(&db);
            // $2 comes first in the text, and the values in the order of their numbers.
            query("INSERT INTO seam_t (n, id) VALUES ($2, $1)")
                .bind("a")
                .bind(5_i64)
                .execute(&db)
                .await
                .unwrap();
            query("INSERT INTO seam_t (n, id) VALUES ($2, $1)")
                .bind("b")
                .bind(7_i64)
                .execute(&db)
                .await
                .unwrap();
            // $2 … $1 … $2: a repeated parameter is one value.
            let rows =
                query("SELECT id, n FROM seam_t WHERE (n = $2 OR n > $2 + 100) AND id <> $1 AND n = $2")
                    .bind("b")
                    .bind(5_i64)
                    .fetch_all(&db)
                    .await
                    .unwrap();
            assert_eq!(rows.len(), 1, "{b}");
            assert_eq!(rows[0].try_get::<String, _>("id").unwrap(), "a", "{b}");
            assert_eq!(rows[0].try_get::<i64, _>("n").unwrap(), 5, "{b}");
            let text: String = query("SELECT $2 || '-' || $1 || '-' || $2 AS s")
                .bind("x")
                .bind("y")
                .fetch_one(&db)
                .await
                .unwrap()
                .try_get("s")
                .unwrap();
            assert_eq!(text, "y-x-y", "{b}");
            // NULLs of either type, and an absent row.
            let row = query("SELECT $1 AS t, $2 AS i")
                .bind(None::<&str>)
                .bind(None::<i64>)
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(row.try_get::<Option<String>, _>("t").unwrap(), None, "{b}");
            assert_eq!(row.try_get::<Option<i64>, _>("i").unwrap(), None, "{b}");
            let none = query("SELECT id FROM seam_t WHERE id = $1")
                .bind("zz")
                .fetch_optional(&db)
                .await
                .unwrap();
            assert!(none.is_none(), "{b}");
            assert!(matches!(
                query("SELECT id FROM seam_t WHERE id = $1")
                    .bind("zz")
                    .fetch_one(&db)
                    .await,
                Err(sqlx::Error::RowNotFound)
            ));
            // A statement whose parameter has no value is refused, naming it.
            let e = query("SELECT id FROM seam_t WHERE id = $1 AND n = $2")
                .bind("a")
                .fetch_all(&db)
                .await
                .unwrap_err();
            if !db.is_postgres() {
                assert!(e.to_string().contains("$2"), "{e}");
            }
        }
    }

    #[tokio::test]
    async fn a_unique_violation_is_one_and_becomes_the_conflict() {
        for (_dir, db) in databases().await {
            let b = which(&db);
            let insert = || {
                query("INSERT INTO seam_t (id, n) VALUES ($1, $2)")
                    .bind("dup")
                    .bind(1_i64)
            };
            insert().execute(&db).await.unwrap();
            let e = insert().execute(&db).await.unwrap_err();
            match &e {
                sqlx::Error::Database(d) => assert!(d.is_unique_violation(), "{b}: {d}"),
                other => panic!("{b}: not a database error: {other}"),
            }
            let api = super::super::conflict_on_unique(
                e,
                crate::error::ErrorCode::RouteExists,
                "already there".into(),
            );
            assert_eq!(api.status_and_code().0, axum::http::StatusCode::CONFLICT, "{b}");
            assert_eq!(api.to_string(), "already there", "{b}");
            // Another failure is not a conflict: a storage error (500).
            let e = query("INSERT INTO seam_t (id) VALUES ($1)")
                .bind("no-n")
                .execute(&db)
                .await
                .unwrap_err();
            let api = super::super::conflict_on_unique(
                e,
                crate::error::ErrorCode::RouteExists,
                "already there".into(),
            );
            assert!(matches!(api, crate::error::ApiError::Storage(_)), "{b}: {api}");
        }
    }

    #[tokio::test]
    async fn a_dropped_write_transaction_rolls_back_and_gives_the_turn_back() {
        for (_dir, db) in databases().await {
            let b = which(&db);
            {
                let mut tx = db.begin_write().await.unwrap();
                query("INSERT INTO seam_t (id, n) VALUES ($1, 1)")
                    .bind("gone")
                    .execute(&mut tx)
                    .await
                    .unwrap();
                // Inside, the transaction sees its own write.
                let n: i64 = query("SELECT COUNT(*) AS n FROM seam_t")
                    .fetch_one(&mut tx)
                    .await
                    .unwrap()
                    .try_get("n")
                    .unwrap();
                assert_eq!(n, 1, "{b}");
            }
            // A failing statement ends the request with `?`: the same drop.
            let failed: DbResult<()> = async {
                let mut tx = db.begin_write().await?;
                query("INSERT INTO seam_t (id, n) VALUES ($1, 2)")
                    .bind("also-gone")
                    .execute(&mut tx)
                    .await?;
                query("INSERT INTO seam_t (id, n) VALUES ($1, 3)")
                    .bind("also-gone")
                    .execute(&mut tx)
                    .await?;
                tx.commit().await
            }
            .await;
            assert!(failed.is_err(), "{b}");
            assert!(ids(&db).await.is_empty(), "{b}");
            // The next writer gets its turn (no deadlock) and commits.
            let mut tx = tokio::time::timeout(Duration::from_secs(5), db.begin_write())
                .await
                .expect("writer turn given back")
                .unwrap();
            query("INSERT INTO seam_t (id, n) VALUES ($1, 4)")
                .bind("kept")
                .execute(&mut tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(ids(&db).await, ["kept"], "{b}");
        }
    }

    #[tokio::test]
    async fn a_reader_sees_committed_data_only() {
        for (_dir, db) in databases().await {
            let b = which(&db);
            let mut tx = db.begin_write().await.unwrap();
            let done = query("INSERT INTO seam_t (id, n) VALUES ($1, 1), ($2, 2)")
                .bind("p")
                .bind("q")
                .execute(&mut tx)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), 2, "{b}");
            // Readers (one statement on the database, or a held connection) do not see it yet, nor wait for it.
            assert!(ids(&db).await.is_empty(), "{b}");
            let mut conn = db.acquire().await.unwrap();
            let rows = query("SELECT id FROM seam_t").fetch_all(&mut conn).await.unwrap();
            assert!(rows.is_empty(), "{b}");
            tx.commit().await.unwrap();
            assert_eq!(ids(&db).await, ["p", "q"], "{b}");
            let rows = query("SELECT id FROM seam_t").fetch_all(&mut conn).await.unwrap();
            assert_eq!(rows.len(), 2, "{b}");
        }
    }

    #[tokio::test]
    async fn a_value_of_another_type_or_a_missing_column_is_an_error() {
        for (_dir, db) in databases().await {
            let b = which(&db);
            query("INSERT INTO seam_t (id, n) VALUES ($1, $2)")
                .bind("t")
                .bind(3_000_000_000_i64)
                .execute(&db)
                .await
                .unwrap();
            let row = query("SELECT id, n FROM seam_t").fetch_one(&db).await.unwrap();
            assert!(row.try_get::<i64, _>("id").is_err(), "{b}");
            assert!(row.try_get::<String, _>("n").is_err(), "{b}");
            assert!(
                matches!(
                    row.try_get::<String, _>("nope"),
                    Err(sqlx::Error::ColumnNotFound(_))
                ),
                "{b}"
            );
            if !db.is_postgres() {
                // Out of an i32's range.
                assert!(row.try_get::<i32, _>("n").is_err(), "{b}");
            }
        }
    }

    /// A file written by the sqlx-only store (main before this seam: migrations and data through sqlx) opens,
    /// keeps its data and its migration table, and opens again.
    #[tokio::test]
    async fn an_existing_sqlite_file_opens_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        sqlx::any::install_default_drivers();
        let pool = AnyPool::connect(&url).await.unwrap();
        sqlx::migrate!("./migrations").run(&pool).await.unwrap();
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('acc_old', 'old', 1)")
            .execute(&pool)
            .await
            .unwrap();
        let migrations: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
                .fetch_one(&pool)
                .await
                .unwrap(),
            "n",
        )
        .unwrap();
        pool.close().await;
        for _ in 0..2 {
            let db = Db::open(&url).await.unwrap();
            let name: String = query("SELECT name FROM accounts WHERE id = $1")
                .bind("acc_old")
                .fetch_one(&db)
                .await
                .unwrap()
                .try_get("name")
                .unwrap();
            assert_eq!(name, "old");
            let n: i64 = query("SELECT COUNT(*) AS n FROM _sqlx_migrations")
                .fetch_one(&db)
                .await
                .unwrap()
                .try_get("n")
                .unwrap();
            assert_eq!(n, migrations);
        }
    }

    /// The checkpointer copies committed pages into the database file by itself (the writer would only at
    /// [`WRITER_CHECKPOINT`] pages).
    #[tokio::test]
    async fn the_wal_is_copied_into_the_file_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("wal.db");
        let db = Db::open(&format!("sqlite://{}", file.display())).await.unwrap();
        let before = std::fs::metadata(&file).unwrap().len();
        query("CREATE TABLE seam_t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
            .execute(&db)
            .await
            .unwrap();
        let filler = "x".repeat(2000);
        for i in 0..200_i64 {
            query("INSERT INTO seam_t (id, n) VALUES ($1 || $2, $3)")
                .bind(format!("{i}"))
                .bind(filler.as_str())
                .bind(i)
                .execute(&db)
                .await
                .unwrap();
        }
        let grown = async {
            while std::fs::metadata(&file).unwrap().len() < before + 200 * 2000 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), grown)
            .await
            .expect("the database file grew by the rows written");
    }

    #[tokio::test]
    async fn an_in_memory_database_is_refused_by_name() {
        let e = Db::open("sqlite::memory:").await.err().unwrap();
        assert!(e.to_string().contains("sqlite::memory:"), "{e}");
    }
}
