//! `connect(url)`: the database URL's scheme picks the backend.

use std::sync::Arc;

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{Result, Store, StoreError};

/// Opens the store a URL names:
///
/// - `sqlite://PATH` (relative) or `sqlite:///ABSOLUTE/PATH`: the embedded
///   backend; the file and its directory are created if missing;
/// - `sqlite::memory:`: an in-memory SQLite database (tests, demos);
/// - `postgres://…` or `postgresql://…`: PostgreSQL.
///
/// Does not migrate: call [`Store::migrate`] (the server does at start-up).
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(Arc::new(SqliteStore::connect(url).await?)),
        Some("postgres" | "postgresql") => Ok(Arc::new(PgStore::connect(url).await?)),
        Some(other) => Err(StoreError::Url(format!(
            "unsupported scheme {other:?}: use sqlite://PATH, sqlite::memory: or postgres://…"
        ))),
        None => Err(StoreError::Url(
            "no scheme: use sqlite://PATH, sqlite::memory: or postgres://…".to_owned(),
        )),
    }
}
