//! The embedded backend: one SQLite file (or an in-memory database).
//!
//! SQLite allows one writer at a time, and a transaction that starts by
//! reading and later writes fails at once with `SQLITE_BUSY` (no waiting)
//! when another connection wrote in between. So the store keeps two pools:
//!
//! - a **writer** pool of exactly one connection: writers of this process
//!   queue for it in the pool instead of racing inside SQLite, and its
//!   multi-statement transactions start with `BEGIN IMMEDIATE`, which takes
//!   the write lock up front (waiting up to `busy_timeout` for another
//!   process, e.g. `zynkd migrate`), so they never fail half-way;
//! - a **reader** pool of several connections: in WAL mode readers see the
//!   last committed state and neither block nor are blocked by the writer.
//!
//! An in-memory database lives in one connection, so there both roles share
//! a single one.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::{Backend, PartitionReport, Result, StoreError};

/// Connections of the reader pool.
const READERS: u32 = 4;

pub(crate) struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    const BACKEND: Backend = Backend::Sqlite;

    /// Opens (creating if missing, with its parent directory) the database of
    /// a `sqlite://PATH` or `sqlite::memory:` URL. Does not migrate.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(format!("invalid SQLite URL {url:?}: {e}")))?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // With WAL, NORMAL loses at most the last transactions on power
            // loss, never consistency; FULL would fsync every commit.
            .synchronous(SqliteSynchronous::Normal);

        if url.contains(":memory:") || url.contains("mode=memory") {
            // Keep the one connection forever: the database dies with it.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            return Ok(Self {
                reader: pool.clone(),
                writer: pool,
            });
        }

        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Url(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        // The writer connects first: it creates the file and switches it to
        // WAL (a persistent setting), before any reader opens it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                options
                    .clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options)
            .await?;
        Ok(Self { reader, writer })
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.writer)
            .await?;
        Ok(())
    }

    async fn partitions(&self, _now: DateTime<Utc>) -> Result<PartitionReport> {
        Ok(PartitionReport {
            manager: "none",
            created: Vec::new(),
        })
    }
}

crate::store_impl::impl_store!(SqliteStore, sqlx::Sqlite);
crate::msg_impl::impl_messaging!(SqliteStore, sqlx::Sqlite);
crate::keys_impl::impl_keys!(SqliteStore, sqlx::Sqlite);
crate::calls_impl::impl_calls!(SqliteStore, sqlx::Sqlite);
crate::files_impl::impl_files!(SqliteStore, sqlx::Sqlite);
crate::push_impl::impl_push!(SqliteStore, sqlx::Sqlite);
crate::ledger_impl::impl_ledger!(SqliteStore, sqlx::Sqlite);
crate::trust_impl::impl_trust!(SqliteStore, "");
