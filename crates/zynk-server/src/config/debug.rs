//! `Debug` for `Config` with every secret redacted.

use super::Config;

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
            .field("ledger_anchor_batch", &self.ledger_anchor_batch)
            .field("trust_verify_min_score", &self.trust_verify_min_score)
            .field("trust_verify_points", &self.trust_verify_points)
            .field("trust_report_points", &self.trust_report_points)
            .field("trust_report_threshold", &self.trust_report_threshold)
            .field("trust_milestone_points", &self.trust_milestone_points)
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
