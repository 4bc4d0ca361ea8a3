//! Configuration: one struct, filled from defaults, then `zynk.toml` (or
//! `--config PATH`), then `ZYNK_*` environment variables; validated once and
//! passed explicitly. Every key `foo_bar` has the variable `ZYNK_FOO_BAR`.

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

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|u| redact_url(u));
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact(&self.database_url))
            .field("redis_url", &redact(&self.redis_url))
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("refresh_ttl_secs", &self.refresh_ttl_secs)
            .field("pbkdf2_iterations", &self.pbkdf2_iterations)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("ratelimit_auth_per_hour", &self.ratelimit_auth_per_hour)
            .field("ratelimit_api_per_hour", &self.ratelimit_api_per_hour)
            .field("max_group_members", &self.max_group_members)
            .field("lifecycle_interval_secs", &self.lifecycle_interval_secs)
            .field(
                "ledger_key",
                &self.ledger_key.as_ref().map(|_| "[redacted]"),
            )
            .field("ledger_origin", &self.ledger_origin)
            .field("ledger_interval_ms", &self.ledger_interval_ms)
            .field("ledger_max_block_txs", &self.ledger_max_block_txs)
            .field(
                "undelivered_retention_days",
                &self.undelivered_retention_days,
            )
            .field("deleted_retention_days", &self.deleted_retention_days)
            .field("maintenance_interval_secs", &self.maintenance_interval_secs)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_thumbnail_bytes", &self.max_thumbnail_bytes)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_endpoint", &redact(&self.s3_endpoint))
            .field("s3_region", &self.s3_region)
            .field("s3_server_side_encryption", &self.s3_server_side_encryption)
            .field("files_key_prefix", &self.files_key_prefix)
            .field(
                "files_expiry_interval_secs",
                &self.files_expiry_interval_secs,
            )
            .field(
                "files_orphan_interval_secs",
                &self.files_orphan_interval_secs,
            )
            .field("files_orphan_grace_secs", &self.files_orphan_grace_secs)
            .field("call_ring_timeout_secs", &self.call_ring_timeout_secs)
            .field("stun_urls", &self.stun_urls)
            .field("turn_urls", &self.turn_urls)
            .field(
                "turn_secret",
                &self.turn_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("turn_ttl_secs", &self.turn_ttl_secs)
            .field("location_ttl_secs", &self.location_ttl_secs)
            .field("push_coalesce_ms", &self.push_coalesce_ms)
            .field("push_fcm_endpoint", &self.push_fcm_endpoint)
            .field("push_fcm_project", &self.push_fcm_project)
            .field(
                "push_fcm_service_account",
                &self.push_fcm_service_account.as_ref().map(|_| "[redacted]"),
            )
            .field("push_fcm_token_url", &self.push_fcm_token_url)
            .field("push_apns_endpoint", &self.push_apns_endpoint)
            .field(
                "push_apns_key_path",
                &self.push_apns_key_path.as_ref().map(|_| "[redacted]"),
            )
            .field("push_apns_key_id", &self.push_apns_key_id)
            .field("push_apns_team_id", &self.push_apns_team_id)
            .field("push_apns_topic", &self.push_apns_topic)
            .field(
                "push_vapid_private_key",
                &self.push_vapid_private_key.as_ref().map(|_| "[redacted]"),
            )
            .field("push_vapid_subject", &self.push_vapid_subject)
            .field("log", &self.log)
            .finish()
    }
}

/// Hides the password of `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.rsplit_once('@')
    {
        let user = creds.split(':').next().unwrap_or("");
        return format!("{scheme}://{user}:[redacted]@{host}");
    }
    url.to_owned()
}

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

    /// Checks values serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| {
            Err(ConfigError(format!(
                "{key} (ZYNK_{}): {why}",
                key.to_ascii_uppercase()
            )))
        };
        if let Some(url) = &self.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            return fail(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if let Some(url) = &self.redis_url
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return fail("redis_url", "must start with redis:// or rediss://");
        }
        if let Some(secret) = &self.jwt_secret
            && secret.len() < 32
        {
            return fail("jwt_secret", "must be at least 32 characters");
        }
        if self.session_ttl_secs < 60 {
            return fail("session_ttl_secs", "must be at least 60");
        }
        if self.refresh_ttl_secs < self.session_ttl_secs {
            return fail("refresh_ttl_secs", "must be at least session_ttl_secs");
        }
        if self.pbkdf2_iterations < MIN_PBKDF2_ITERATIONS {
            return fail(
                "pbkdf2_iterations",
                "must be at least 1000 (600000 recommended)",
            );
        }
        if self.max_body_bytes < 1024 {
            return fail("max_body_bytes", "must be at least 1024");
        }
        if self.max_message_bytes < 1024 {
            return fail("max_message_bytes", "must be at least 1024");
        }
        if self.ratelimit_auth_per_hour == 0 || self.ratelimit_api_per_hour == 0 {
            return fail("ratelimit_auth_per_hour", "rate limits must be at least 1");
        }
        if !(2..=10_000).contains(&self.max_group_members) {
            return fail("max_group_members", "must be 2 to 10000");
        }
        if self.lifecycle_interval_secs == 0 {
            return fail("lifecycle_interval_secs", "must be at least 1");
        }
        self.validate_ledger()?;
        if self.undelivered_retention_days == 0 || self.deleted_retention_days == 0 {
            return fail(
                "undelivered_retention_days",
                "retention must be at least 1 day",
            );
        }
        if self.maintenance_interval_secs == 0 {
            return fail("maintenance_interval_secs", "must be at least 1");
        }
        if !(1024..=MAX_FILE_BYTES).contains(&self.max_file_bytes) {
            return fail("max_file_bytes", "must be 1024 to 2147483648 (2 GiB)");
        }
        if !(1024..=self.max_file_bytes).contains(&self.max_thumbnail_bytes) {
            return fail("max_thumbnail_bytes", "must be 1024 to max_file_bytes");
        }
        if self.s3_bucket.as_deref().is_some_and(str::is_empty) {
            return fail("s3_bucket", "must not be empty");
        }
        if let Some(endpoint) = &self.s3_endpoint {
            if self.s3_bucket.is_none() {
                return fail("s3_endpoint", "needs s3_bucket");
            }
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return fail("s3_endpoint", "must start with http:// or https://");
            }
        }
        if !["AES256", "none"].contains(&self.s3_server_side_encryption.as_str()) {
            return fail("s3_server_side_encryption", "must be AES256 or none");
        }
        if self
            .files_key_prefix
            .split('/')
            .any(|part| part == "." || part == "..")
            || self.files_key_prefix.starts_with('/')
        {
            return fail("files_key_prefix", "must be a relative key prefix");
        }
        if self.files_expiry_interval_secs == 0 || self.files_orphan_interval_secs == 0 {
            return fail(
                "files_expiry_interval_secs",
                "job intervals must be at least 1",
            );
        }
        if !(1..=3600).contains(&self.call_ring_timeout_secs) {
            return fail("call_ring_timeout_secs", "must be 1 to 3600");
        }
        let scheme = |u: &String, ok: &[&str]| ok.iter().any(|s| u.starts_with(s));
        if !self
            .stun_urls
            .iter()
            .all(|u| scheme(u, &["stun:", "stuns:"]))
        {
            return fail("stun_urls", "each must start with stun: or stuns:");
        }
        if !self
            .turn_urls
            .iter()
            .all(|u| scheme(u, &["turn:", "turns:"]))
        {
            return fail("turn_urls", "each must start with turn: or turns:");
        }
        if !self.turn_urls.is_empty() && self.turn_secret.as_deref().is_none_or(str::is_empty) {
            return fail("turn_secret", "required with turn_urls");
        }
        if !(60..=7 * 86_400).contains(&self.turn_ttl_secs) {
            return fail("turn_ttl_secs", "must be 60 to 604800");
        }
        if !(1..=86_400).contains(&self.location_ttl_secs) {
            return fail("location_ttl_secs", "must be 1 to 86400");
        }
        self.validate_push()?;
        if tracing_subscriber::EnvFilter::try_new(&self.log).is_err() {
            return fail("log", "not a valid tracing filter");
        }
        Ok(())
    }

    /// The ledger settings' checks (part of `validate`).
    fn validate_ledger(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| {
            Err(ConfigError(format!(
                "{key} (ZYNK_{}): {why}",
                key.to_uppercase()
            )))
        };
        if let Some(key) = &self.ledger_key
            && crate::ledger::decode_seed(key).is_none()
        {
            return fail("ledger_key", "must be base64 of 32 bytes");
        }
        if zynk_ledger::LedgerKey::from_seed(&self.ledger_origin, &[0; 32]).is_none() {
            return fail("ledger_origin", "must be non-empty, without spaces or '+'");
        }
        if self.ledger_interval_ms < 10 {
            return fail("ledger_interval_ms", "must be at least 10");
        }
        if self.ledger_max_block_txs == 0 {
            return fail("ledger_max_block_txs", "must be at least 1");
        }
        Ok(())
    }

    /// The push settings' checks (part of `validate`).
    fn validate_push(&self) -> Result<(), ConfigError> {
        let fail = |key: &str, why: &str| {
            Err(ConfigError(format!(
                "{key} (ZYNK_{}): {why}",
                key.to_ascii_uppercase()
            )))
        };
        let http = |u: &str| u.starts_with("http://") || u.starts_with("https://");
        if self.push_coalesce_ms > 60_000 {
            return fail("push_coalesce_ms", "must be at most 60000");
        }
        for (key, url) in [
            ("push_fcm_endpoint", Some(&self.push_fcm_endpoint)),
            ("push_fcm_token_url", self.push_fcm_token_url.as_ref()),
            ("push_apns_endpoint", Some(&self.push_apns_endpoint)),
        ] {
            if url.is_some_and(|u| !http(u)) {
                return fail(key, "must start with http:// or https://");
            }
        }
        if self.push_fcm_service_account.is_some() != self.push_fcm_project.is_some() {
            return fail(
                "push_fcm_project",
                "push_fcm_project and push_fcm_service_account go together",
            );
        }
        let apns = [
            self.push_apns_key_path.is_some(),
            self.push_apns_key_id.is_some(),
            self.push_apns_team_id.is_some(),
            self.push_apns_topic.is_some(),
        ];
        if apns.contains(&true) && apns.contains(&false) {
            return fail(
                "push_apns_key_path",
                "push_apns_key_path, _key_id, _team_id and _topic go together",
            );
        }
        if self.push_vapid_private_key.is_some() {
            match &self.push_vapid_subject {
                Some(s) if s.starts_with("mailto:") || s.starts_with("https://") => {}
                _ => {
                    return fail(
                        "push_vapid_subject",
                        "required with push_vapid_private_key: mailto:… or https://…",
                    );
                }
            }
        }
        Ok(())
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

/// What `zynkd config` prints: every key with its default and a comment.
pub const DEFAULT_TOML: &str = r#"# zynk.toml — Zynk server configuration.
# Precedence: these defaults, then this file (or --config PATH), then
# environment variables: every key `foo_bar` is also `ZYNK_FOO_BAR`.

# Address and port to listen on.
listen = "127.0.0.1:8080"

# Where the embedded database, the generated token key and local files live.
data_dir = "./zynk-data"

# Relational store: sqlite://PATH (default: sqlite://{data_dir}/zynk.db) or
# postgres://user:password@host/db. Passwords are redacted in logs.
# database_url = "postgres://zynk@127.0.0.1/zynk"

# Realtime state (sessions cache, presence, queues, rate limits). Absent:
# in-process, for a single instance. Several instances need a shared Redis.
# redis_url = "redis://127.0.0.1:6379"

# Prefix for every Redis key, so several deployments can share one Redis.
redis_key_prefix = ""

# Secret (>= 32 characters) that signs session tokens. Absent: a random key is
# generated into {data_dir}/jwt.key on first start. Instances behind one load
# balancer must share it.
# jwt_secret = "…"

# Session token lifetime (30 days) and refresh token lifetime (90 days).
session_ttl_secs = 2592000
refresh_ttl_secs = 7776000

# PBKDF2-HMAC-SHA256 iterations for new password hashes (OWASP: 600000).
# Older hashes with fewer iterations are upgraded at the next login.
pbkdf2_iterations = 600000

# Password hashes computed at once; 0 = half the CPU cores (at least 1).
hash_concurrency = 0

# Largest request body (1 MiB) and largest message ciphertext (128 KiB).
max_body_bytes = 1048576
max_message_bytes = 131072

# Requests per client IP and hour: to each of register, login and refresh,
# and to each other endpoint.
ratelimit_auth_per_hour = 30
ratelimit_api_per_hour = 36000

# Largest group (members), the default max_members of new groups.
max_group_members = 256

# Message lifecycle (one instance at a time): every lifecycle_interval_secs,
# remove self-destructed messages, undelivered ones after
# undelivered_retention_days and soft-deleted ones after deleted_retention_days.
lifecycle_interval_secs = 60
undelivered_retention_days = 30
deleted_retention_days = 30

# The ledger (identity registrations in a signed Merkle log, {data_dir}/ledger).
# ledger_key: base64 of a 32-byte Ed25519 secret that signs its checkpoints;
# absent, one is generated into {data_dir}/ledger.key on first start.
# ledger_origin names the key (the checkpoint origin; no spaces or '+').
# One instance at a time (lease ledger-writer) seals pending transactions into
# a block every ledger_interval_ms, at most ledger_max_block_txs per block.
# ledger_key = "…"
ledger_origin = "zynk"
ledger_interval_ms = 1000
ledger_max_block_txs = 1000

# Seconds between maintenance runs (partitions, expired sessions, presence).
maintenance_interval_secs = 3600

# Encrypted files. Largest upload (100 MiB; at most 2 GiB) and thumbnail
# (1 MiB), in ciphertext bytes.
max_file_bytes = 104857600
max_thumbnail_bytes = 1048576

# Where file objects live: absent s3_bucket = the directory {data_dir}/files.
# With s3_bucket, any S3-compatible store; credentials from the usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables. s3_endpoint absent =
# AWS; an http:// endpoint is allowed plain HTTP (loopback only, please).
# s3_server_side_encryption: AES256 (x-amz-server-side-encryption) or none.
# s3_bucket = "zynk-files"
# s3_endpoint = "http://127.0.0.1:9000"
s3_region = "us-east-1"
s3_server_side_encryption = "AES256"

# Prefix for every object key (several deployments sharing one bucket).
files_key_prefix = ""

# File jobs (one instance at a time): delete expired files every
# files_expiry_interval_secs (daily) and objects no file refers to every
# files_orphan_interval_secs (weekly), sparing objects younger than
# files_orphan_grace_secs (uploads in flight).
files_expiry_interval_secs = 86400
files_orphan_interval_secs = 604800
files_orphan_grace_secs = 3600

# Calls (signaling only). A call nobody answers within call_ring_timeout_secs
# is missed. GET /v1/calls/ice-servers hands out stun_urls and turn_urls (lists;
# as variables, comma-separated) with TURN credentials in coturn's REST API
# scheme (static-auth-secret = turn_secret), valid for turn_ttl_secs.
call_ring_timeout_secs = 45
stun_urls = []
turn_urls = []
# turn_secret = "…"
turn_ttl_secs = 86400

# Seconds a shared live location lives unless the client sends it again.
location_ttl_secs = 300

# Push notifications wake devices that are not connected (the payload names
# only the kind of event, never content). Pushes to one device within
# push_coalesce_ms are sent once. A sender without its configuration is off.
push_coalesce_ms = 2000
# Android: FCM HTTP v1 with a service account JSON key (OAuth 2.0 JWT grant;
# push_fcm_token_url overrides the key's token_uri).
push_fcm_endpoint = "https://fcm.googleapis.com"
# push_fcm_project = "my-firebase-project"
# push_fcm_service_account = "/etc/zynk/fcm-service-account.json"
# push_fcm_token_url = "https://oauth2.googleapis.com/token"
# iOS: APNs over HTTP/2 with token auth (.p8 key, its key id, the team id,
# and the app's bundle id as topic).
push_apns_endpoint = "https://api.push.apple.com"
# push_apns_key_path = "/etc/zynk/AuthKey_ABC123DEFG.p8"
# push_apns_key_id = "ABC123DEFG"
# push_apns_team_id = "DEF123GHIJ"
# push_apns_topic = "dev.zynk.app"
# Web Push / UnifiedPush (web, and desktop/cli devices whose push token is an
# https URL): an empty POST to the endpoint, signed with VAPID when set.
# push_vapid_private_key = "/etc/zynk/vapid.pem"
# push_vapid_subject = "mailto:ops@example.com"

# Log filter (tracing EnvFilter syntax).
log = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn printed_default_is_the_default() {
        let parsed = Config::from_sources(DEFAULT_TOML, &env(&[])).unwrap();
        assert_eq!(parsed, Config::default());
        for (key, _) in KEYS {
            assert!(
                DEFAULT_TOML.contains(&format!("{key} =")),
                "{key} missing from DEFAULT_TOML"
            );
        }
    }

    #[test]
    fn env_overrides_file_overrides_default() {
        let file = "listen = \"127.0.0.1:9000\"\npbkdf2_iterations = 2000\n";
        let c = Config::from_sources(
            file,
            &env(&[
                ("ZYNK_PBKDF2_ITERATIONS", "3000"),
                ("ZYNK_REDIS_URL", "redis://h:1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.pbkdf2_iterations, 3000);
        assert_eq!(c.redis_url.as_deref(), Some("redis://h:1"));
        assert_eq!(c.session_ttl_secs, 2_592_000);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("", vec![("ZYNK_LISTEN", "nope")], "listen"),
            (
                "",
                vec![("ZYNK_PBKDF2_ITERATIONS", "many")],
                "ZYNK_PBKDF2_ITERATIONS",
            ),
            (
                "",
                vec![("ZYNK_PBKDF2_ITERATIONS", "10")],
                "pbkdf2_iterations",
            ),
            ("", vec![("ZYNK_DATABASE_URL", "mysql://x")], "database_url"),
            ("", vec![("ZYNK_JWT_SECRET", "short")], "jwt_secret"),
            ("colour = 1", vec![], "colour"),
            ("session_ttl_secs = \"x\"", vec![], "session_ttl_secs"),
        ];
        for (file, vars, key) in cases {
            let err = Config::from_sources(file, &env(&vars)).unwrap_err().0;
            assert!(err.contains(key), "{err:?} does not name {key}");
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config {
            database_url: Some("postgres://zynk:hunter2hunter2@db/zynk".into()),
            redis_url: Some("redis://:s3cretpass@r:6379".into()),
            jwt_secret: Some("x".repeat(40)),
            turn_secret: Some("turnsecret-42".into()),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("turnsecret-42"), "{shown}");
        assert!(
            !shown.contains("hunter2")
                && !shown.contains("s3cretpass")
                && !shown.contains(&"x".repeat(40)),
            "{shown}"
        );
    }
}
