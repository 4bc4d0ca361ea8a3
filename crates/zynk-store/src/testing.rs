//! Fresh databases for tests (feature `testing`), used by this crate's
//! conformance suite and by the server's tests.
//!
//! Test binaries run in parallel processes, so every PostgreSQL test gets a
//! database of its own, named `zynk_t_<unix seconds>_<uuid>`. The time in
//! the name lets later runs drop what earlier runs left behind.

use chrono::Utc;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::Result;

/// The PostgreSQL server of the test legs, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_URL_VAR: &str = "ZYNK_TEST_POSTGRES_URL";
/// Set to `1` (as CI does) to make a missing backend URL fail the tests
/// instead of skipping that backend.
pub const REQUIRE_BACKENDS_VAR: &str = "ZYNK_TEST_REQUIRE_BACKENDS";

/// Databases of earlier runs older than this are dropped.
const STALE_AFTER_SECS: i64 = 3 * 3600;
/// At most this many stale databases are dropped per call, to keep it quick.
const DROP_PER_CALL: usize = 8;

/// The PostgreSQL server to test against, from [`POSTGRES_URL_VAR`]; `None`
/// skips the PostgreSQL leg.
///
/// # Panics
///
/// If the variable is unset while [`REQUIRE_BACKENDS_VAR`] is `1`: CI must
/// not pass with the PostgreSQL leg silently skipped.
pub fn postgres_test_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_BACKENDS_VAR).is_ok_and(|v| v == "1") {
                panic!(
                    "{POSTGRES_URL_VAR} is not set but {REQUIRE_BACKENDS_VAR}=1: \
                     the PostgreSQL leg of the tests must run"
                );
            }
            None
        }
    }
}

/// Creates an empty, uniquely named database on the server of `base_url`
/// and returns its URL (same credentials and options). Not migrated.
/// Best-effort, it also drops test databases of runs hours old.
pub async fn fresh_postgres(base_url: &str) -> Result<String> {
    let mut conn = PgConnection::connect(base_url).await?;
    let now = Utc::now().timestamp();
    drop_stale(&mut conn, now).await;
    let name = format!("zynk_t_{now}_{}", Uuid::new_v4().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    conn.close().await?;
    Ok(with_database(base_url, &name))
}

async fn drop_stale(conn: &mut PgConnection, now: i64) {
    let names: Vec<String> = match sqlx::query_scalar(
        "SELECT datname::text FROM pg_database WHERE datname LIKE 'zynk\\_t\\_%' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(names) => names,
        Err(e) => {
            tracing::debug!(error = %e, "cannot list old test databases");
            return;
        }
    };
    let stale = names.into_iter().filter(|name| {
        let created = name.split('_').nth(2).and_then(|s| s.parse::<i64>().ok());
        created.is_some_and(|t| now - t > STALE_AFTER_SECS)
    });
    for name in stale.take(DROP_PER_CALL) {
        // Names come from the catalog and match the pattern above; quote anyway.
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if let Err(e) = conn.execute(sql.as_str()).await {
            tracing::debug!(error = %e, database = name, "cannot drop old test database");
        }
    }
}

/// `base_url` with its database replaced by `name`.
fn with_database(base_url: &str, name: &str) -> String {
    let (main, query) = match base_url.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (base_url, None),
    };
    let authority = main.find("://").map_or(0, |i| i + 3);
    let root = match main[authority..].find('/') {
        Some(slash) => &main[..authority + slash],
        None => main,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "zynk_t_1"),
            "postgres://postgres@127.0.0.1:5432/zynk_t_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@db/x?sslmode=disable", "d"),
            "postgresql://u:p@db/d?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db", "d"), "postgres://db/d");
        assert_eq!(with_database("postgres://db/", "d"), "postgres://db/d");
    }
}
