//! The commented default configuration (`zynkd config`).

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
# In the same run it anchors up to ledger_anchor_batch new messages (one
# message_anchor transaction committing to their ciphertext hashes).
# ledger_key = "…"
ledger_origin = "zynk"
ledger_interval_ms = 1000
ledger_max_block_txs = 1000
ledger_anchor_batch = 10000

# Trust scores (0-100, 50 at registration), each change a trust_score_update.
# A user with at least trust_verify_min_score (default 50, so new users can)
# may verify another once: +trust_verify_points. trust_report_threshold
# distinct reporters take trust_report_points off. Account age milestones
# (30, 90, 365 days) add trust_milestone_points each, once.
trust_verify_min_score = 50
trust_verify_points = 5
trust_report_points = 10
trust_report_threshold = 3
trust_milestone_points = 5

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
