//! The production backend: PostgreSQL 15+, `messages` partitioned by month
//! (see `partitions`).
//!
//! One pool serves reads and writes; PostgreSQL's row locks and MVCC make
//! concurrent writers safe without the SQLite backend's writer queue.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::common::micros;
use crate::{Backend, PartitionReport, Result, StoreError};

mod partitions;

/// Connections of the pool.
const CONNECTIONS: u32 = 10;

pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const BACKEND: Backend = Backend::Postgres;

    /// Connects to a `postgres://` or `postgresql://` URL. Does not migrate.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        // The URL may hold a password: errors do not repeat it.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Migrates, then makes this month's partitions and the next ones, so
    /// that a fresh database accepts messages at once.
    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("migrations/postgres")
            .run(&self.pool)
            .await?;
        self.partitions(micros(Utc::now())).await?;
        Ok(())
    }

    async fn partitions(&self, now: DateTime<Utc>) -> Result<PartitionReport> {
        partitions::maintain(&self.pool, now).await
    }
}

crate::store_impl::impl_store!(PgStore, sqlx::Postgres);
crate::msg_impl::impl_messaging!(PgStore, sqlx::Postgres);
crate::keys_impl::impl_keys!(PgStore, sqlx::Postgres);
crate::calls_impl::impl_calls!(PgStore, sqlx::Postgres);
crate::files_impl::impl_files!(PgStore, sqlx::Postgres);
crate::push_impl::impl_push!(PgStore, sqlx::Postgres);
crate::ledger_impl::impl_ledger!(PgStore, sqlx::Postgres);
crate::trust_impl::impl_trust!(PgStore, " FOR UPDATE");
