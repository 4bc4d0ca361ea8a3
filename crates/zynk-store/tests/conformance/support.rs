//! The harness (a migrated store plus a raw pool on the same database) and
//! fixtures.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use sqlx::{PgPool, SqlitePool};
use tempfile::TempDir;
use uuid::Uuid;
use zynk_proto::{DeviceId, Platform, SessionId, UserId};
use zynk_store::{
    Backend, DeviceRecord, DeviceSpec, NewSession, NewUser, SessionRecord, Store, queries, testing,
};

/// Expands each case into a `sqlite::case` and a `postgres::case` test.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(crate::support::Harness::sqlite().await).await;
                }
            )*
        }
        postgres_only!($($case),*);
    };
}

/// Expands each case into a `postgres::case` test (a no-op without a
/// PostgreSQL URL, unless `ZYNK_TEST_REQUIRE_BACKENDS=1`).
macro_rules! postgres_only {
    ($($case:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(harness) = crate::support::Harness::postgres().await {
                        super::$case(harness).await;
                    }
                }
            )*
        }
    };
}

pub struct Harness {
    pub store: Arc<dyn Store>,
    /// The same database, for what the `Store` API does not cover.
    pub raw: Raw,
    _dir: Option<TempDir>,
}

pub enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Harness {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // A directory that does not exist yet: connect creates it.
        let url = format!("sqlite://{}", dir.path().join("data/zynk.db").display());
        let store = zynk_store::connect(&url).await.expect("connect to SQLite");
        store.migrate().await.expect("migrate SQLite");
        let raw = SqlitePool::connect(&url).await.expect("raw SQLite pool");
        Self {
            store,
            raw: Raw::Sqlite(raw),
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Option<Self> {
        let base = testing::postgres_test_url()?;
        let url = testing::fresh_postgres(&base)
            .await
            .expect("create a test database");
        let store = zynk_store::connect(&url)
            .await
            .expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        let raw = PgPool::connect(&url).await.expect("raw PostgreSQL pool");
        Some(Self {
            store,
            raw: Raw::Postgres(raw),
            _dir: None,
        })
    }

    /// A conversation with these participants (raw SQL: not in the Store API yet).
    pub async fn conversation(&self, users: &[UserId]) -> Uuid {
        let id = Uuid::new_v4();
        let t = ts(now());
        let r = &self.raw;
        r.ok(&format!(
            "INSERT INTO conversations (id, type, created_at, updated_at) \
             VALUES ({}, 'group', {t}, {t})",
            r.uuid(id)
        ))
        .await;
        for user in users {
            r.ok(&format!(
                "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) \
                 VALUES ({}, {}, {t})",
                r.uuid(id),
                r.uuid(user.0)
            ))
            .await;
        }
        id
    }
}

/// A row of `queries::MESSAGE_HISTORY`.
#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub sender_id: Uuid,
    pub message_type: String,
    pub status: String,
}

impl Raw {
    pub fn backend(&self) -> Backend {
        match self {
            Raw::Sqlite(_) => Backend::Sqlite,
            Raw::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn pg(&self) -> &PgPool {
        match self {
            Raw::Postgres(pool) => pool,
            Raw::Sqlite(_) => panic!("a PostgreSQL-only test ran on SQLite"),
        }
    }

    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
            Raw::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// Runs a statement that must succeed.
    pub async fn ok(&self, sql: &str) {
        if let Err(e) = self.exec(sql).await {
            panic!("expected success of\n  {sql}\nbut got {e}");
        }
    }

    /// Runs a statement that a CHECK constraint must reject.
    pub async fn violates_check(&self, sql: &str) {
        match self.exec(sql).await {
            Ok(_) => panic!("expected a CHECK violation, but this was accepted:\n  {sql}"),
            Err(sqlx::Error::Database(db)) => assert_eq!(
                db.kind(),
                sqlx::error::ErrorKind::CheckViolation,
                "{sql}: {db}"
            ),
            Err(e) => panic!("{sql}: unexpected error {e}"),
        }
    }

    pub async fn int(&self, sql: &str) -> i64 {
        let value = match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        };
        value.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.int(&format!("SELECT count(*) FROM {table}")).await
    }

    pub async fn tables(&self) -> Vec<String> {
        let names = match self {
            Raw::Sqlite(pool) => {
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
            }
            Raw::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()",
                )
                .fetch_all(pool)
                .await
            }
        };
        names.expect("list tables")
    }

    /// A UUID literal in this backend's encoding (sqlx's: BLOB on SQLite).
    pub fn uuid(&self, id: Uuid) -> String {
        match self {
            Raw::Sqlite(_) => format!("X'{}'", id.simple()),
            Raw::Postgres(_) => format!("'{id}'"),
        }
    }

    /// A binary literal.
    pub fn blob(&self, hex: &str) -> String {
        match self {
            Raw::Sqlite(_) => format!("X'{hex}'"),
            Raw::Postgres(_) => format!("decode('{hex}', 'hex')"),
        }
    }

    /// Runs `queries::MESSAGE_HISTORY`, exactly as the store will.
    pub async fn history(
        &self,
        conversation: Uuid,
        before: (DateTime<Utc>, Uuid),
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Vec<HistoryRow> {
        macro_rules! run {
            ($pool:expr) => {
                sqlx::query_as(queries::MESSAGE_HISTORY)
                    .bind(conversation)
                    .bind(before.0)
                    .bind(before.1)
                    .bind(since)
                    .bind(now)
                    .bind(limit)
                    .fetch_all($pool)
                    .await
            };
        }
        let rows = match self {
            Raw::Sqlite(pool) => run!(pool),
            Raw::Postgres(pool) => run!(pool),
        };
        rows.expect("history query")
    }
}

/// A timestamp literal, in the encoding sqlx binds (RFC 3339 text on SQLite).
pub fn ts(t: DateTime<Utc>) -> String {
    format!(
        "'{}'",
        micros(t).to_rfc3339_opts(SecondsFormat::AutoSi, false)
    )
}

/// Now, with nanoseconds: the store must truncate to microseconds.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The largest UUID: the cursor id of a first history page.
pub const MAX_UUID: Uuid = Uuid::from_bytes([0xff; 16]);

/// A random stand-in for a SHA-256 hex hash.
pub fn hash() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        username: name.to_owned(),
        password_hash: "$pbkdf2-sha256$i=600000$c2FsdA$aGFzaA".to_owned(),
        public_key: format!("key-of-{name}"),
        ledger_tx: None,
    }
}

pub fn device(fingerprint: &str) -> DeviceSpec {
    DeviceSpec {
        id: DeviceId::new(),
        name: format!("phone {fingerprint}"),
        fingerprint: fingerprint.to_owned(),
        platform: Platform::Android,
        public_key: format!("device-key-{fingerprint}"),
        push_token: Some(format!("push-{fingerprint}")),
    }
}

pub fn session(now: DateTime<Utc>) -> NewSession {
    NewSession {
        id: SessionId::new(),
        session_token_hash: hash(),
        refresh_token_hash: hash(),
        expires_at: now + Duration::hours(1),
        refresh_expires_at: now + Duration::days(30),
    }
}

pub struct Account {
    pub user: UserId,
    pub device: DeviceRecord,
    pub session: SessionRecord,
}

pub async fn register(store: &dyn Store, name: &str, fingerprint: &str) -> Account {
    let t = now();
    let user = new_user(name);
    let id = user.id;
    let (device, session) = store
        .register(user, device(fingerprint), session(t), t)
        .await
        .unwrap_or_else(|e| panic!("register {name}: {e}"));
    Account {
        user: id,
        device,
        session,
    }
}
