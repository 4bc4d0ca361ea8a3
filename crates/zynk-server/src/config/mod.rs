//! Configuration: one struct, filled from defaults, then `zynk.toml` (or
//! `--config PATH`), then `ZYNK_*` environment variables; validated once and
//! passed explicitly. Every key `foo_bar` has the variable `ZYNK_FOO_BAR`.
//!
//! - `mod.rs`      — the struct, its defaults, loading and the key list.
//! - `validate.rs` — checks serde cannot make; messages name the key.
//! - `debug.rs`    — `Debug` with secrets redacted, `redact_url`.
//! - `template.rs` — `DEFAULT_TOML`, what `zynkd config` prints.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The server's configuration. `Debug` redacts the secrets.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` = `sqlite://{data_dir}/zynk.db`.
    pub database_url: Option<String>,
    /// `redis://…`; `None` = in-process realtime state (one instance only).
    pub redis_url: Option<String>,
    /// Prepended to every Redis key (several deployments on one Redis).
    pub redis_key_prefix: String,
    /// Secret for signing session tokens (≥ 32 characters); `None` = a random
    /// key generated into `{data_dir}/jwt.key` on first start.
    pub jwt_secret: Option<String>,
    pub session_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub pbkdf2_iterations: u32,
    /// Passwords hashed at once (0 = half the CPU cores, at least 1).
    pub hash_concurrency: usize,
    pub max_body_bytes: usize,
    pub max_message_bytes: usize,
    /// Requests per IP and hour to each of register, login and refresh.
    pub ratelimit_auth_per_hour: u64,
    /// Requests per IP and hour to each other endpoint.
    pub ratelimit_api_per_hour: u64,
    /// Largest group (default max_members of new groups).
    pub max_group_members: u32,
    /// Seconds between message lifecycle runs (one instance at a time).
    pub lifecycle_interval_secs: u64,
    /// The ledger signing key: base64 of a 32-byte Ed25519 secret. Absent: one
    /// is generated into `{data_dir}/ledger.key` on first start.
    pub ledger_key: Option<String>,
    /// The ledger key name, the origin of its signed checkpoints.
    pub ledger_origin: String,
    /// Milliseconds between ledger writer runs (one block at most per run).
    pub ledger_interval_ms: u64,
    /// Most transactions sealed into one block.
    pub ledger_max_block_txs: u32,
    /// Most messages anchored per writer run (one `message_anchor` batch).
    pub ledger_anchor_batch: u32,
    /// Least trust score a user needs to verify another (default 50, the
    /// starting score: new users can verify).
    pub trust_verify_min_score: u32,
    /// Points a community verification adds.
    pub trust_verify_points: u32,
    /// Points an upheld spam report (threshold reached) removes.
    pub trust_report_points: u32,
    /// Distinct reporters that uphold a spam report.
    pub trust_report_threshold: u32,
    /// Points each account age milestone (30, 90, 365 days) adds.
    pub trust_milestone_points: u32,
    /// Days an undelivered message, and a soft-deleted one, is kept.
    pub undelivered_retention_days: u32,
    pub deleted_retention_days: u32,
    /// Seconds between maintenance runs (partitions, expired sessions, presence).
    pub maintenance_interval_secs: u64,
    /// Largest file upload (ciphertext bytes; at most 2 GiB).
    pub max_file_bytes: u64,
    /// Largest thumbnail upload (ciphertext bytes).
    pub max_thumbnail_bytes: u64,
    /// S3 bucket for files; `None` = the local directory `{data_dir}/files`.
    pub s3_bucket: Option<String>,
    /// S3-compatible endpoint (`None` = AWS). An `http://` endpoint is
    /// allowed plain HTTP (loopback test servers).
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    /// Server-side encryption asked of S3: `AES256` or `none`.
    pub s3_server_side_encryption: String,
    /// Prepended to every object key (several deployments in one bucket).
    pub files_key_prefix: String,
    /// Seconds between runs of the expired-files job (one instance at a time).
    pub files_expiry_interval_secs: u64,
    /// Seconds between runs of the orphaned-objects job.
    pub files_orphan_interval_secs: u64,
    /// Objects younger than this are never orphans (uploads in flight).
    pub files_orphan_grace_secs: u64,
    /// Seconds a call may ring unanswered before it is missed.
    pub call_ring_timeout_secs: u64,
    /// STUN servers (`stun:host:port`) for `GET /v1/calls/ice-servers`.
    pub stun_urls: Vec<String>,
    /// TURN servers (`turn:host:port?transport=udp`, `turns:…`).
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret` (REST API credentials); required with `turn_urls`.
    pub turn_secret: Option<String>,
    /// Seconds TURN credentials stay valid.
    pub turn_ttl_secs: u64,
    /// Seconds a shared live location lives unless sent again (data model: 300).
    pub location_ttl_secs: u64,
    /// Pushes to one device within this many milliseconds are coalesced into one.
    pub push_coalesce_ms: u64,
    /// FCM HTTP v1 base URL (tests point it at a local receiver).
    pub push_fcm_endpoint: String,
    /// Firebase project id; FCM is disabled without it and the service account.
    pub push_fcm_project: Option<String>,
    /// Path of the Google service account JSON key (`client_email`, `private_key`, `token_uri`).
    pub push_fcm_service_account: Option<PathBuf>,
    /// Overrides the key's `token_uri` (the OAuth 2.0 token endpoint).
    pub push_fcm_token_url: Option<String>,
    /// APNs base URL; an `http://` one is spoken as HTTP/2 without TLS (tests).
    pub push_apns_endpoint: String,
    /// Path of the APNs token-auth key (`.p8`, PKCS#8 PEM, P-256).
    pub push_apns_key_path: Option<PathBuf>,
    pub push_apns_key_id: Option<String>,
    pub push_apns_team_id: Option<String>,
    /// The app's bundle id (`apns-topic`).
    pub push_apns_topic: Option<String>,
    /// Path of the VAPID private key (PEM, P-256) for Web Push; absent = no `Authorization`.
    pub push_vapid_private_key: Option<PathBuf>,
    /// VAPID `sub` claim (`mailto:…` or `https://…`); required with the key.
    pub push_vapid_subject: Option<String>,
    /// `tracing` filter, e.g. `info` or `zynk_server=debug`.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./zynk-data"),
            database_url: None,
            redis_url: None,
            redis_key_prefix: String::new(),
            jwt_secret: None,
            session_ttl_secs: 30 * 86_400,
            refresh_ttl_secs: 90 * 86_400,
            pbkdf2_iterations: 600_000,
            hash_concurrency: 0,
            max_body_bytes: 1 << 20,
            max_message_bytes: 128 << 10,
            ratelimit_auth_per_hour: 30,
            ratelimit_api_per_hour: 36_000,
            max_group_members: 256,
            lifecycle_interval_secs: 60,
            ledger_key: None,
            ledger_origin: "zynk".into(),
            ledger_interval_ms: 1000,
            ledger_max_block_txs: 1000,
            ledger_anchor_batch: 10000,
            trust_verify_min_score: 50,
            trust_verify_points: 5,
            trust_report_points: 10,
            trust_report_threshold: 3,
            trust_milestone_points: 5,
            undelivered_retention_days: 30,
            deleted_retention_days: 30,
            maintenance_interval_secs: 3600,
            max_file_bytes: 100 * 1024 * 1024,
            max_thumbnail_bytes: 1 << 20,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_server_side_encryption: "AES256".into(),
            files_key_prefix: String::new(),
            files_expiry_interval_secs: 86_400,
            files_orphan_interval_secs: 7 * 86_400,
            files_orphan_grace_secs: 3600,
            call_ring_timeout_secs: 45,
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: 86_400,
            location_ttl_secs: 300,
            push_coalesce_ms: 2000,
            push_fcm_endpoint: "https://fcm.googleapis.com".into(),
            push_fcm_project: None,
            push_fcm_service_account: None,
            push_fcm_token_url: None,
            push_apns_endpoint: "https://api.push.apple.com".into(),
            push_apns_key_path: None,
            push_apns_key_id: None,
            push_apns_team_id: None,
            push_apns_topic: None,
            push_vapid_private_key: None,
            push_vapid_subject: None,
            log: "info".into(),
        }
    }
}

mod debug;
mod template;
#[cfg(test)]
mod tests;
mod validate;

pub use debug::redact_url;
pub use template::DEFAULT_TOML;

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// How a key's value is read from an environment variable.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    OptStr,
    Int,
    /// Comma-separated.
    List,
}

const KEYS: &[(&str, Kind)] = &[
    ("listen", Kind::Str),
    ("data_dir", Kind::Str),
    ("database_url", Kind::OptStr),
    ("redis_url", Kind::OptStr),
    ("redis_key_prefix", Kind::Str),
    ("jwt_secret", Kind::OptStr),
    ("session_ttl_secs", Kind::Int),
    ("refresh_ttl_secs", Kind::Int),
    ("pbkdf2_iterations", Kind::Int),
    ("hash_concurrency", Kind::Int),
    ("max_body_bytes", Kind::Int),
    ("max_message_bytes", Kind::Int),
    ("ratelimit_auth_per_hour", Kind::Int),
    ("ratelimit_api_per_hour", Kind::Int),
    ("max_group_members", Kind::Int),
    ("lifecycle_interval_secs", Kind::Int),
    ("ledger_key", Kind::OptStr),
    ("ledger_origin", Kind::Str),
    ("ledger_interval_ms", Kind::Int),
    ("ledger_max_block_txs", Kind::Int),
    ("ledger_anchor_batch", Kind::Int),
    ("trust_verify_min_score", Kind::Int),
    ("trust_verify_points", Kind::Int),
    ("trust_report_points", Kind::Int),
    ("trust_report_threshold", Kind::Int),
    ("trust_milestone_points", Kind::Int),
    ("undelivered_retention_days", Kind::Int),
    ("deleted_retention_days", Kind::Int),
    ("maintenance_interval_secs", Kind::Int),
    ("max_file_bytes", Kind::Int),
    ("max_thumbnail_bytes", Kind::Int),
    ("s3_bucket", Kind::OptStr),
    ("s3_endpoint", Kind::OptStr),
    ("s3_region", Kind::Str),
    ("s3_server_side_encryption", Kind::Str),
    ("files_key_prefix", Kind::Str),
    ("files_expiry_interval_secs", Kind::Int),
    ("files_orphan_interval_secs", Kind::Int),
    ("files_orphan_grace_secs", Kind::Int),
    ("call_ring_timeout_secs", Kind::Int),
    ("stun_urls", Kind::List),
    ("turn_urls", Kind::List),
    ("turn_secret", Kind::OptStr),
    ("turn_ttl_secs", Kind::Int),
    ("location_ttl_secs", Kind::Int),
    ("push_coalesce_ms", Kind::Int),
    ("push_fcm_endpoint", Kind::Str),
    ("push_fcm_project", Kind::OptStr),
    ("push_fcm_service_account", Kind::OptStr),
    ("push_fcm_token_url", Kind::OptStr),
    ("push_apns_endpoint", Kind::Str),
    ("push_apns_key_path", Kind::OptStr),
    ("push_apns_key_id", Kind::OptStr),
    ("push_apns_team_id", Kind::OptStr),
    ("push_apns_topic", Kind::OptStr),
    ("push_vapid_private_key", Kind::OptStr),
    ("push_vapid_subject", Kind::OptStr),
    ("log", Kind::Str),
];

/// The lowest iteration count accepted for new hashes. Tests use it; the
/// default is the OWASP figure of 600,000.
pub const MIN_PBKDF2_ITERATIONS: u32 = 1_000;

/// The largest file the data model allows (2 GiB).
pub const MAX_FILE_BYTES: u64 = 2 << 30;

impl Config {
    /// Loads `path` (or `./zynk.toml` if it exists) and the `ZYNK_*` variables in `env`.
    pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let implicit = Path::new("zynk.toml");
        let file = match path {
            Some(p) => Some(p),
            None if implicit.exists() => Some(implicit),
            None => None,
        };
        let text = match file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| ConfigError(format!("cannot read {}: {e}", p.display())))?,
            None => String::new(),
        };
        Self::from_sources(&text, env)
    }

    /// Defaults, then the TOML `text`, then `env`; then `validate`.
    pub fn from_sources(text: &str, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError(format!("zynk.toml: {}", e.message())))?;
        for key in table.keys() {
            if !KEYS.iter().any(|(k, _)| k == key) {
                return Err(ConfigError(format!("zynk.toml: unknown key `{key}`")));
            }
        }
        for (key, kind) in KEYS {
            let var = format!("ZYNK_{}", key.to_ascii_uppercase());
            let Some(raw) = env.get(&var) else { continue };
            let value = match kind {
                Kind::Str => toml::Value::String(raw.clone()),
                Kind::OptStr if raw.is_empty() => {
                    table.remove(*key);
                    continue;
                }
                Kind::OptStr => toml::Value::String(raw.clone()),
                Kind::List => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.to_owned()))
                        .collect(),
                ),
                Kind::Int => raw
                    .trim()
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .map_err(|_| {
                        ConfigError(format!("{var}: expected a whole number, got `{raw}`"))
                    })?,
            };
            table.insert((*key).to_owned(), value);
        }
        let config: Config =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| {
                    // Name the key: the first one that fails on its own.
                    let key = table.iter().find_map(|(k, v)| {
                        let single = toml::Table::from_iter([(k.clone(), v.clone())]);
                        toml::Value::Table(single)
                            .try_into::<Config>()
                            .is_err()
                            .then_some(k.clone())
                    });
                    match key {
                        Some(k) => ConfigError(format!(
                            "{k} (ZYNK_{}): {}",
                            k.to_ascii_uppercase(),
                            e.message()
                        )),
                        None => ConfigError(format!("configuration: {}", e.message())),
                    }
                })?;
        config.validate()?;
        Ok(config)
    }

    /// The database URL in force (the default SQLite file when unset).
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/zynk.db", self.data_dir.display()))
    }

    /// Concurrent password hashes (resolves `0` = auto).
    pub fn hash_concurrency(&self) -> usize {
        if self.hash_concurrency > 0 {
            return self.hash_concurrency;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / 2).max(1)
    }
}
