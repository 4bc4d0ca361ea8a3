//! Monthly partitions of `messages` (data model §9).
//!
//! Two managers, chosen on every run:
//!
//! - **pg_partman**, when the extension is installed or available (the
//!   store then installs it into schema `partman`) and `messages` is not
//!   already kept by zynkd. Its partitions carry its own names
//!   (`messages_pYYYY_MM` in 4.x, `messages_pYYYYMMDD` in 5.x) and its own
//!   `messages_default`.
//! - **zynkd** otherwise: `messages_YYYY_MM` for this month and the next
//!   [`PREMAKE`], plus `messages_default`, which catches rows outside every
//!   month so an insert never fails for want of a partition.
//!
//! A database whose partitions zynkd made stays with zynkd even if
//! pg_partman appears later: pg_partman would make overlapping partitions
//! under other names, and moving over is an operator's decision.
//!
//! A run holds a transaction-scoped advisory lock, so server instances
//! running it at once take turns, and each sees what the one before made.
//! A new month cannot be created while `messages_default` holds rows of that
//! month (PostgreSQL refuses); that happens only if maintenance has not run
//! for [`PREMAKE`] months, and the error says which partition failed.

use chrono::{DateTime, Datelike, Utc};
use sqlx::{Connection, PgConnection, PgPool};

use crate::{PartitionReport, Result};

/// Months made ahead of the current one.
const PREMAKE: u32 = 3;

/// Key of the advisory lock that serialises runs ("zynkpart").
const LOCK_KEY: i64 = 0x7a79_6e6b_7061_7274;

pub(super) async fn maintain(pool: &PgPool, now: DateTime<Utc>) -> Result<PartitionReport> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let report = match partman(&mut tx).await? {
        Some(partman) => with_partman(&mut tx, &partman).await?,
        None => own(&mut tx, now).await?,
    };
    tx.commit().await?;
    if !report.created.is_empty() {
        tracing::info!(
            manager = report.manager,
            created = ?report.created,
            "messages partitions created"
        );
    }
    Ok(report)
}

/// An installed pg_partman.
struct Partman {
    /// Its schema, quoted for use in SQL.
    schema: String,
    major: u32,
    /// `schema.messages`, as pg_partman names parent tables.
    parent: String,
    registered: bool,
}

/// pg_partman, if it should manage `messages` (see the module comment).
async fn partman(conn: &mut PgConnection) -> Result<Option<Partman>> {
    let mut installed = installed_partman(conn).await?;
    if installed.is_none() {
        let available =
            sqlx::query("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman'")
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
        if !available || has_partitions(conn).await? {
            return Ok(None);
        }
        // Installing needs privileges the server's role may lack; a
        // savepoint keeps a refusal from aborting the transaction.
        let mut savepoint = conn.begin().await?;
        let created = async {
            sqlx::query("CREATE SCHEMA IF NOT EXISTS partman")
                .execute(&mut *savepoint)
                .await?;
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
                .execute(&mut *savepoint)
                .await
        }
        .await;
        match created {
            Ok(_) => {
                savepoint.commit().await?;
                installed = installed_partman(conn).await?;
            }
            Err(e) => {
                savepoint.rollback().await?;
                tracing::warn!(
                    error = %e,
                    "pg_partman is available but could not be installed; zynkd keeps the partitions"
                );
                return Ok(None);
            }
        }
    }
    let Some((schema, version)) = installed else {
        return Ok(None);
    };
    let current: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&mut *conn)
        .await?;
    let parent = format!("{current}.messages");
    let registered = sqlx::query(&format!(
        "SELECT 1 FROM {schema}.part_config WHERE parent_table = $1"
    ))
    .bind(&parent)
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if !registered && has_partitions(conn).await? {
        tracing::warn!(
            "pg_partman is installed, but zynkd made the messages partitions and keeps them"
        );
        return Ok(None);
    }
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    Ok(Some(Partman {
        schema,
        major,
        parent,
        registered,
    }))
}

/// The quoted schema and version of an installed pg_partman.
async fn installed_partman(conn: &mut PgConnection) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT quote_ident(n.nspname), e.extversion FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'",
    )
    .fetch_optional(&mut *conn)
    .await?)
}

async fn has_partitions(conn: &mut PgConnection) -> Result<bool> {
    Ok(!partitions(conn).await?.is_empty())
}

/// Names of the partitions of `messages`.
async fn partitions(conn: &mut PgConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'messages'::regclass ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?)
}

async fn with_partman(conn: &mut PgConnection, partman: &Partman) -> Result<PartitionReport> {
    let before = partitions(conn).await?;
    let schema = &partman.schema;
    if !partman.registered {
        // 4.x takes p_type => 'native' and interval names; 5.x dropped
        // p_type's 'native' and takes an interval.
        let call = if partman.major >= 5 {
            format!(
                "SELECT {schema}.create_parent(p_parent_table => $1, p_control => 'created_at', \
                 p_interval => '1 month', p_premake => {PREMAKE})"
            )
        } else {
            format!(
                "SELECT {schema}.create_parent(p_parent_table => $1, p_control => 'created_at', \
                 p_type => 'native', p_interval => 'monthly', p_premake => {PREMAKE})"
            )
        };
        sqlx::query(&call)
            .bind(&partman.parent)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(&format!(
        "SELECT {schema}.run_maintenance(p_parent_table => $1)"
    ))
    .bind(&partman.parent)
    .execute(&mut *conn)
    .await?;
    let created = partitions(conn)
        .await?
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    Ok(PartitionReport {
        manager: "pg_partman",
        created,
    })
}

/// zynkd's own maintenance: the default partition and the months from now's
/// to `PREMAKE` ahead, each created if missing.
async fn own(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<PartitionReport> {
    let mut created = Vec::new();
    if !exists(conn, "messages_default").await? {
        sqlx::query("CREATE TABLE messages_default PARTITION OF messages DEFAULT")
            .execute(&mut *conn)
            .await?;
        created.push("messages_default".to_owned());
    }
    let first = Month::of(now);
    for ahead in 0..=PREMAKE {
        let month = first.plus(ahead);
        let name = month.table();
        if exists(conn, &name).await? {
            continue;
        }
        // Only digits and fixed text go into this DDL (no binds in DDL).
        let ddl = format!(
            "CREATE TABLE {name} PARTITION OF messages FOR VALUES FROM ('{}') TO ('{}')",
            month.start(),
            month.plus(1).start()
        );
        sqlx::query(&ddl).execute(&mut *conn).await?;
        created.push(name);
    }
    Ok(PartitionReport {
        manager: "zynkd",
        created,
    })
}

async fn exists(conn: &mut PgConnection, table: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(table)
        .fetch_one(&mut *conn)
        .await?)
}

/// A calendar month (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Month {
    year: i32,
    /// 1–12.
    month: u32,
}

impl Month {
    fn of(t: DateTime<Utc>) -> Self {
        Self {
            year: t.year(),
            month: t.month(),
        }
    }

    fn plus(self, months: u32) -> Self {
        let index = self.year * 12 + (self.month as i32 - 1) + months as i32;
        Self {
            year: index.div_euclid(12),
            month: index.rem_euclid(12) as u32 + 1,
        }
    }

    /// `messages_YYYY_MM`.
    fn table(self) -> String {
        format!("messages_{:04}_{:02}", self.year, self.month)
    }

    /// Its first instant, as a timestamptz literal.
    fn start(self) -> String {
        format!("{:04}-{:02}-01 00:00:00+00", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_roll_over_the_year() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 30, 23, 59, 59)
            .single()
            .expect("a valid date");
        let tables: Vec<String> = (0..=PREMAKE)
            .map(|m| Month::of(now).plus(m).table())
            .collect();
        assert_eq!(
            tables,
            [
                "messages_2026_11",
                "messages_2026_12",
                "messages_2027_01",
                "messages_2027_02"
            ]
        );
        assert_eq!(Month::of(now).plus(2).start(), "2027-01-01 00:00:00+00");
        assert_eq!(Month::of(now).plus(14).table(), "messages_2028_01");
    }
}
