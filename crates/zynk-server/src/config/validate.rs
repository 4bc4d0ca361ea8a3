//! `Config::validate`: checks serde cannot make; every message names the key.

use super::*;

impl Config {
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
        if self.trust_verify_min_score > 100 {
            return fail("trust_verify_min_score", "must be between 0 and 100");
        }
        for (key, v) in [
            ("trust_verify_points", self.trust_verify_points),
            ("trust_report_points", self.trust_report_points),
            ("trust_milestone_points", self.trust_milestone_points),
        ] {
            if v > 100 {
                return fail(key, "must be between 0 and 100");
            }
        }
        if self.trust_report_threshold == 0 || self.trust_report_threshold > 1000 {
            return fail("trust_report_threshold", "must be between 1 and 1000");
        }
        if self.ledger_anchor_batch == 0 || self.ledger_anchor_batch > 1_000_000 {
            return fail("ledger_anchor_batch", "must be between 1 and 1000000");
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
}
