//! The `Store` methods, written once and expanded by each backend.
//!
//! The SQL is one text for both backends (`queries`), and so is the logic
//! around it. A macro rather than generic code: sqlx's per-database bounds
//! (`Encode`/`Decode`/`Type` for every bound type, `IntoArguments`,
//! `Executor` for connections and transactions) would outweigh the code they
//! share. What differs between backends is small, and each backend supplies
//! it as inherent items of its store type:
//!
//! - `const BACKEND: Backend`;
//! - `fn reader(&self) -> &Pool<DB>` for reads;
//! - `fn writer(&self) -> &Pool<DB>` for single-statement writes;
//! - `async fn begin_write(&self) -> Result<Transaction<'static, DB>>` for
//!   writes of several statements;
//! - `async fn run_migrations(&self) -> Result<()>`;
//! - `async fn partitions(&self, now) -> Result<PartitionReport>`.
//!
//! Every method is one statement or one transaction; returning early with
//! `?` drops the transaction, which rolls it back.

/// `impl_store!(StoreType, sqlx::Database)` implements `Store` for the type.
macro_rules! impl_store {
    ($store:ident, $db:ty) => {
        mod store_impl {
            use chrono::{DateTime, Utc};
            use sqlx::types::Json;
            use uuid::Uuid;
            use zynk_proto::{DeviceId, PrivacySettings, SessionId, UpdateProfile, UserId};

            use super::$store;
            use $crate::common::{
                self, DeviceRow, ProfileRow, SessionListingRow, SessionRow, UserRow, conflict,
                micros, patch,
            };
            use $crate::queries as q;
            use $crate::{
                Backend, DeviceRecord, DeviceSpec, DeviceUpdate, NewSession, NewUser,
                PartitionReport, ProfileRecord, RefreshOutcome, Result, SessionListing,
                SessionRecord, Store, User,
            };

            type Conn = <$db as sqlx::Database>::Connection;

            #[async_trait::async_trait]
            impl Store for $store {
                fn backend(&self) -> Backend {
                    Self::BACKEND
                }

                async fn migrate(&self) -> Result<()> {
                    self.run_migrations().await
                }

                async fn ping(&self) -> Result<()> {
                    sqlx::query("SELECT 1").execute(self.reader()).await?;
                    Ok(())
                }

                async fn register(
                    &self,
                    user: NewUser,
                    device: DeviceSpec,
                    session: NewSession,
                    now: DateTime<Utc>,
                ) -> Result<(DeviceRecord, SessionRecord)> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    sqlx::query(q::INSERT_USER)
                        .bind(user.id.0)
                        .bind(&user.username)
                        .bind(&user.password_hash)
                        .bind(&user.public_key)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict)?;
                    sqlx::query(q::INSERT_PROFILE)
                        .bind(user.id.0)
                        .bind(Json(PrivacySettings::default()))
                        .execute(&mut *tx)
                        .await?;
                    let row: DeviceRow =
                        bind_device(sqlx::query_as(q::INSERT_DEVICE), user.id, &device, now)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(conflict)?;
                    let device = DeviceRecord::try_from(row)?;
                    let session =
                        insert_session(&mut tx, user.id, device.id, &session, now).await?;
                    if let Some(l) = &user.ledger_tx {
                        sqlx::query($crate::ledger_impl::INSERT_TX)
                            .bind(l.id)
                            .bind(&l.hash)
                            .bind(l.kind)
                            .bind(&l.bytes)
                            .bind(l.user_id.map(|u| u.0))
                            .bind(l.gas_used)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok((device, session))
                }

                async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(q::USER_BY_USERNAME)
                        .bind(username)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(User::from))
                }

                async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
                    let row: Option<UserRow> = sqlx::query_as(q::USER_BY_ID)
                        .bind(id.0)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(User::from))
                }

                async fn set_password_hash(
                    &self,
                    id: UserId,
                    hash: &str,
                    now: DateTime<Utc>,
                ) -> Result<()> {
                    sqlx::query(q::SET_PASSWORD_HASH)
                        .bind(id.0)
                        .bind(hash)
                        .bind(micros(now))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn profile(&self, user: UserId) -> Result<Option<ProfileRecord>> {
                    let row: Option<ProfileRow> = sqlx::query_as(q::PROFILE)
                        .bind(user.0)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(ProfileRecord::from))
                }

                async fn update_profile(
                    &self,
                    user: UserId,
                    update: &UpdateProfile,
                    now: DateTime<Utc>,
                ) -> Result<Option<ProfileRecord>> {
                    let (set_name, name) = patch(&update.display_name);
                    let (set_avatar, avatar) = patch(&update.avatar_url);
                    let (set_bio, bio) = patch(&update.bio);
                    let mut tx = self.begin_write().await?;
                    let row: Option<ProfileRow> = sqlx::query_as(q::UPDATE_PROFILE)
                        .bind(user.0)
                        .bind(set_name)
                        .bind(name)
                        .bind(set_avatar)
                        .bind(avatar)
                        .bind(set_bio)
                        .bind(bio)
                        .bind(update.privacy_settings.map(Json))
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row) = row else { return Ok(None) };
                    sqlx::query(q::TOUCH_USER)
                        .bind(user.0)
                        .bind(micros(now))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(row.into()))
                }

                async fn set_last_seen(&self, user: UserId, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query(q::SET_LAST_SEEN)
                        .bind(user.0)
                        .bind(micros(at))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn shares_conversation(&self, a: UserId, b: UserId) -> Result<bool> {
                    let row = sqlx::query(q::SHARES_CONVERSATION)
                        .bind(a.0)
                        .bind(b.0)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.is_some())
                }

                async fn login(
                    &self,
                    user: UserId,
                    device: DeviceSpec,
                    session: NewSession,
                    now: DateTime<Utc>,
                ) -> Result<(DeviceRecord, SessionRecord)> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    let row: Option<DeviceRow> =
                        bind_device(sqlx::query_as(q::UPSERT_DEVICE), user, &device, now)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(conflict)?;
                    // No row: the fingerprint is another user's device.
                    let Some(row) = row else {
                        return Err($crate::StoreError::Conflict("fingerprint"));
                    };
                    let device = DeviceRecord::try_from(row)?;
                    let session = insert_session(&mut tx, user, device.id, &session, now).await?;
                    tx.commit().await?;
                    Ok((device, session))
                }

                async fn devices(&self, user: UserId) -> Result<Vec<DeviceRecord>> {
                    let rows: Vec<DeviceRow> = sqlx::query_as(q::DEVICES_OF_USER)
                        .bind(user.0)
                        .fetch_all(self.reader())
                        .await?;
                    common::devices(rows)
                }

                async fn device(&self, user: UserId, id: DeviceId) -> Result<Option<DeviceRecord>> {
                    let row: Option<DeviceRow> = sqlx::query_as(q::DEVICE)
                        .bind(id.0)
                        .bind(user.0)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(DeviceRecord::try_from).transpose()
                }

                async fn update_device(
                    &self,
                    user: UserId,
                    id: DeviceId,
                    update: &DeviceUpdate,
                ) -> Result<Option<DeviceRecord>> {
                    let (set_push, push) = patch(&update.push_token);
                    let row: Option<DeviceRow> = sqlx::query_as(q::UPDATE_DEVICE)
                        .bind(id.0)
                        .bind(user.0)
                        .bind(update.name.as_deref())
                        .bind(set_push)
                        .bind(push)
                        .fetch_optional(self.writer())
                        .await?;
                    row.map(DeviceRecord::try_from).transpose()
                }

                async fn delete_device(
                    &self,
                    user: UserId,
                    id: DeviceId,
                ) -> Result<Option<Vec<SessionRecord>>> {
                    let mut tx = self.begin_write().await?;
                    // Sessions first, to return them; the device's own delete
                    // would cascade to them without saying which.
                    let rows: Vec<SessionRow> = sqlx::query_as(q::DELETE_DEVICE_SESSIONS)
                        .bind(id.0)
                        .bind(user.0)
                        .fetch_all(&mut *tx)
                        .await?;
                    let deleted = sqlx::query(q::DELETE_DEVICE)
                        .bind(id.0)
                        .bind(user.0)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if deleted == 0 {
                        return Ok(None);
                    }
                    tx.commit().await?;
                    Ok(Some(common::sessions(rows)))
                }

                async fn touch_device(&self, id: DeviceId, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query(q::TOUCH_DEVICE)
                        .bind(id.0)
                        .bind(micros(at))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn session_by_token(
                    &self,
                    session_token_hash: &str,
                ) -> Result<Option<SessionRecord>> {
                    let row: Option<SessionRow> = sqlx::query_as(q::SESSION_BY_TOKEN)
                        .bind(session_token_hash)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(SessionRecord::from))
                }

                async fn sessions(&self, user: UserId) -> Result<Vec<SessionListing>> {
                    let rows: Vec<SessionListingRow> = sqlx::query_as(q::SESSIONS_OF_USER)
                        .bind(user.0)
                        .fetch_all(self.reader())
                        .await?;
                    Ok(rows.into_iter().map(SessionListing::from).collect())
                }

                async fn rotate_refresh(
                    &self,
                    refresh_token_hash: &str,
                    next: NewSession,
                    now: DateTime<Utc>,
                ) -> Result<RefreshOutcome> {
                    let now = micros(now);
                    let mut tx = self.begin_write().await?;
                    let current: Option<SessionRow> = sqlx::query_as(q::SESSION_BY_REFRESH)
                        .bind(refresh_token_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let outcome = match current {
                        None => reused_or_unknown(&mut tx, refresh_token_hash).await?,
                        Some(old) if old.refresh_expires_at <= now => {
                            sqlx::query(q::DELETE_SESSION)
                                .bind(old.id)
                                .execute(&mut *tx)
                                .await?;
                            RefreshOutcome::Expired(old.into())
                        }
                        Some(old) => {
                            // Matches only while the row still holds this
                            // token: on PostgreSQL a concurrent rotation holds
                            // the row lock until it commits, and then this
                            // UPDATE finds the new token and no row.
                            let rotated: Option<SessionRow> = sqlx::query_as(q::ROTATE_SESSION)
                                .bind(old.id)
                                .bind(refresh_token_hash)
                                .bind(&next.session_token_hash)
                                .bind(&next.refresh_token_hash)
                                .bind(micros(next.expires_at))
                                .bind(micros(next.refresh_expires_at))
                                .bind(now)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(conflict)?;
                            match rotated {
                                Some(session) => {
                                    sqlx::query(q::INSERT_REFRESH_HISTORY)
                                        .bind(refresh_token_hash)
                                        .bind(old.id)
                                        .bind(now)
                                        .execute(&mut *tx)
                                        .await?;
                                    RefreshOutcome::Rotated {
                                        session: session.into(),
                                        previous_session_token_hash: old.session_token,
                                    }
                                }
                                None => reused_or_unknown(&mut tx, refresh_token_hash).await?,
                            }
                        }
                    };
                    tx.commit().await?;
                    Ok(outcome)
                }

                async fn delete_session(
                    &self,
                    user: UserId,
                    id: SessionId,
                ) -> Result<Option<SessionRecord>> {
                    let row: Option<SessionRow> = sqlx::query_as(q::DELETE_USER_SESSION)
                        .bind(id.0)
                        .bind(user.0)
                        .fetch_optional(self.writer())
                        .await?;
                    Ok(row.map(SessionRecord::from))
                }

                async fn touch_session(&self, id: SessionId, at: DateTime<Utc>) -> Result<()> {
                    sqlx::query(q::TOUCH_SESSION)
                        .bind(id.0)
                        .bind(micros(at))
                        .execute(self.writer())
                        .await?;
                    Ok(())
                }

                async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
                    let done = sqlx::query(q::PURGE_EXPIRED_SESSIONS)
                        .bind(micros(now))
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected())
                }

                async fn maintain_partitions(&self, now: DateTime<Utc>) -> Result<PartitionReport> {
                    self.partitions(micros(now)).await
                }
            }

            type QueryAs<'q, T> =
                sqlx::query::QueryAs<'q, $db, T, <$db as sqlx::Database>::Arguments<'q>>;

            /// Binds a device row in `INSERT_DEVICE` / `UPSERT_DEVICE` order.
            fn bind_device<'q, T>(
                query: QueryAs<'q, T>,
                user: UserId,
                device: &'q DeviceSpec,
                now: DateTime<Utc>,
            ) -> QueryAs<'q, T> {
                query
                    .bind(device.id.0)
                    .bind(user.0)
                    .bind(device.name.as_str())
                    .bind(device.fingerprint.as_str())
                    .bind(device.platform.as_str())
                    .bind(device.public_key.as_str())
                    .bind(device.push_token.as_deref())
                    .bind(now)
            }

            async fn insert_session(
                conn: &mut Conn,
                user: UserId,
                device: DeviceId,
                session: &NewSession,
                now: DateTime<Utc>,
            ) -> Result<SessionRecord> {
                let row: SessionRow = sqlx::query_as(q::INSERT_SESSION)
                    .bind(session.id.0)
                    .bind(user.0)
                    .bind(device.0)
                    .bind(&session.session_token_hash)
                    .bind(&session.refresh_token_hash)
                    .bind(micros(session.expires_at))
                    .bind(micros(session.refresh_expires_at))
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(conflict)?;
                Ok(row.into())
            }

            /// The token is not current: if a session rotated away from it,
            /// a copy was stolen, and that session is deleted.
            async fn reused_or_unknown(
                conn: &mut Conn,
                refresh_token_hash: &str,
            ) -> Result<RefreshOutcome> {
                let session: Option<Uuid> = sqlx::query_scalar(q::REFRESH_HISTORY_SESSION)
                    .bind(refresh_token_hash)
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(session) = session else {
                    return Ok(RefreshOutcome::Unknown);
                };
                let deleted: Option<SessionRow> = sqlx::query_as(q::DELETE_SESSION)
                    .bind(session)
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(deleted.map_or(RefreshOutcome::Unknown, |s| {
                    RefreshOutcome::Reused(s.into())
                }))
            }
        }
    };
}

pub(crate) use impl_store;
