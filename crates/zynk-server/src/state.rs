//! `AppState`: what every request handler gets — configuration, the store,
//! the realtime backend, the token key and the password hasher. Built once
//! by `AppState::build` from a validated `Config`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zynk_proto::SessionId;
use zynk_realtime::{Realtime, Ttls};
use zynk_store::Store;

use crate::auth::password::PasswordHasher;
use crate::auth::token::TokenKey;
use crate::blobs::Blobs;
use crate::config::{Config, redact_url};
use crate::ledger::LedgerHandle;
use crate::ops::committer::Committer;
use crate::push::Pusher;
use crate::realtime::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub realtime: Arc<dyn Realtime>,
    pub tokens: TokenKey,
    pub passwords: PasswordHasher,
    /// This instance's connected devices.
    pub hub: Arc<Hub>,
    /// Group commit of message inserts.
    pub committer: Committer,
    /// File objects (local directory or S3).
    pub blobs: Blobs,
    /// Push notifications to devices that are not connected.
    pub pusher: Pusher,
    /// The ledger (`{data_dir}/ledger`) on its own thread.
    pub ledger: LedgerHandle,
    /// A random name of this instance (lease owner).
    pub instance: String,
    /// When each session was last recorded as used, so that `last_used_at`
    /// and `last_active_at` are written at most once a minute per session.
    /// std `Mutex`: held only for a map lookup, never across `.await`.
    touched: Arc<Mutex<HashMap<SessionId, Instant>>>,
}

/// How often a session's and device's activity timestamps are written.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

impl AppState {
    /// Connects and migrates the store, connects realtime state and loads
    /// (or creates) the token key.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
        let db_url = config.database_url();
        let store = zynk_store::connect(&db_url)
            .await
            .with_context(|| format!("cannot open database {}", redact_url(&db_url)))?;
        store.migrate().await.context("database migration failed")?;
        let report = store.maintain_partitions(chrono::Utc::now()).await?;
        tracing::info!(manager = report.manager, created = ?report.created, "message partitions ready");
        let ttls = Ttls {
            location: Duration::from_secs(config.location_ttl_secs),
            ..Ttls::default()
        };
        let realtime: Arc<dyn Realtime> = match &config.redis_url {
            None => Arc::new(zynk_realtime::MemoryRealtime::new(ttls)),
            Some(url) => Arc::new(
                zynk_realtime::RedisRealtime::connect(url, ttls, &config.redis_key_prefix)
                    .await
                    .with_context(|| format!("cannot connect to redis {}", redact_url(url)))?,
            ),
        };
        let secret = match &config.jwt_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => load_or_create_key(&config.data_dir.join("jwt.key"))?,
        };
        let tokens = TokenKey::new(&secret).map_err(anyhow::Error::msg)?;
        let passwords = PasswordHasher::new(config.pbkdf2_iterations, config.hash_concurrency());
        let committer = Committer::start(store.clone());
        let blobs = Blobs::from_config(&config).context("cannot open file storage")?;
        tracing::info!(kind = blobs.kind, "file storage ready");
        let pusher = Pusher::start(&config, store.clone()).context("cannot set up push senders")?;
        let ledger = LedgerHandle::start(&config).context("cannot set up the ledger")?;
        Ok(Self {
            config: Arc::new(config),
            store,
            realtime,
            tokens,
            passwords,
            hub: Arc::default(),
            committer,
            blobs,
            pusher,
            ledger,
            instance: uuid::Uuid::new_v4().to_string(),
            touched: Arc::default(),
        })
    }

    /// Whether the session's activity is due to be written (and records it).
    pub fn touch_due(&self, session: SessionId) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.touched.lock() else {
            return false;
        };
        if map.len() > 100_000 {
            map.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
        }
        match map.get(&session) {
            Some(at) if now.duration_since(*at) < TOUCH_EVERY => false,
            _ => {
                map.insert(session, now);
                true
            }
        }
    }
}

/// Reads the base64 key file, or writes a new random 32-byte key (mode 0600).
fn load_or_create_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return STANDARD
            .decode(text.trim())
            .with_context(|| format!("{} is not base64", path.display()));
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, STANDARD.encode(key).as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(key.to_vec())
}
