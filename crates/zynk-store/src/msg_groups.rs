//! Groups: a group is its conversation (same id); membership is kept in
//! `group_members` and, with the same role and joined_at, in
//! `conversation_participants` (see `msg_impl`).

/// Expands `mod msg_groups` for a backend's store.
macro_rules! impl_groups {
    ($store:ident, $db:ty) => {
        mod msg_groups {
            use chrono::{DateTime, Utc};
            use uuid::Uuid;
            use zynk_proto::{ConversationKind, GroupId, Role, UserId};

            use super::$store;
            use $crate::common::{micros, patch};
            use $crate::msg_queries as q;
            use $crate::msg_rows::{self, GroupRow, MemberRow, missing};
            use $crate::{
                Backend, GroupMemberRecord, GroupRecord, GroupUpdate, MemberRemoved, NewGroup,
                Result, StoreError,
            };

            type Conn = <$db as sqlx::Database>::Connection;

            /// The group's max_members, locking its row on PostgreSQL
            /// (SQLite's write transaction excludes other writers anyway).
            async fn lock_group(conn: &mut Conn, id: GroupId) -> Result<Option<i32>> {
                let sql = match $store::BACKEND {
                    Backend::Postgres => q::LOCK_GROUP_PG,
                    Backend::Sqlite => q::LOCK_GROUP_SQLITE,
                };
                Ok(sqlx::query_scalar(sql)
                    .bind(id.0)
                    .fetch_optional(&mut *conn)
                    .await?)
            }

            /// (members, admins) of the group.
            async fn counts(conn: &mut Conn, id: GroupId) -> Result<(i64, i64)> {
                Ok(sqlx::query_as(q::MEMBER_COUNTS)
                    .bind(id.0)
                    .fetch_one(&mut *conn)
                    .await?)
            }

            /// Adds a member to `group_members` and `conversation_participants`.
            async fn insert_member(
                conn: &mut Conn,
                id: GroupId,
                user: UserId,
                role: Role,
                invited_by: Option<UserId>,
                now: DateTime<Utc>,
            ) -> Result<GroupMemberRecord> {
                let row: MemberRow = sqlx::query_as(q::INSERT_MEMBER)
                    .bind(id.0)
                    .bind(user.0)
                    .bind(role.as_str())
                    .bind(now)
                    .bind(invited_by.map(|u| u.0))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| missing(e, "user"))?;
                sqlx::query(q::INSERT_PARTICIPANT)
                    .bind(id.0)
                    .bind(user.0)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                row.try_into()
            }

            /// Sets the role in both tables.
            async fn set_role(
                conn: &mut Conn,
                id: GroupId,
                user: UserId,
                role: Role,
            ) -> Result<Option<GroupMemberRecord>> {
                let row: Option<MemberRow> = sqlx::query_as(q::SET_MEMBER_ROLE)
                    .bind(id.0)
                    .bind(user.0)
                    .bind(role.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                sqlx::query(q::SET_PARTICIPANT_ROLE)
                    .bind(id.0)
                    .bind(user.0)
                    .bind(role.as_str())
                    .execute(&mut *conn)
                    .await?;
                row.map(GroupMemberRecord::try_from).transpose()
            }

            pub(crate) async fn create_group(
                s: &$store,
                group: NewGroup,
                now: DateTime<Utc>,
            ) -> Result<GroupRecord> {
                let now = micros(now);
                let mut members = vec![group.created_by];
                for user in &group.member_ids {
                    if !members.contains(user) {
                        members.push(*user);
                    }
                }
                if members.len() > group.max_members as usize {
                    return Err(StoreError::Limit("max_members"));
                }
                let max_members = i32::try_from(group.max_members).unwrap_or(i32::MAX);
                let mut tx = s.begin_write().await?;
                sqlx::query(q::INSERT_CONVERSATION)
                    .bind(group.id.0)
                    .bind(ConversationKind::Group.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let row: GroupRow = sqlx::query_as(q::INSERT_GROUP)
                    .bind(group.id.0)
                    .bind(&group.name)
                    .bind(group.description.as_deref())
                    .bind(group.avatar_url.as_deref())
                    .bind(max_members)
                    .bind(group.created_by.0)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| missing(e, "user"))?;
                for (i, user) in members.iter().enumerate() {
                    let (role, invited_by) = if i == 0 {
                        (Role::Admin, None)
                    } else {
                        (Role::Member, Some(group.created_by))
                    };
                    insert_member(&mut tx, group.id, *user, role, invited_by, now).await?;
                }
                tx.commit().await?;
                Ok(row.into())
            }

            pub(crate) async fn group(s: &$store, id: GroupId) -> Result<Option<GroupRecord>> {
                let row: Option<GroupRow> = sqlx::query_as(q::GROUP)
                    .bind(id.0)
                    .fetch_optional(s.reader())
                    .await?;
                Ok(row.map(GroupRecord::from))
            }

            pub(crate) async fn group_members(
                s: &$store,
                id: GroupId,
            ) -> Result<Vec<GroupMemberRecord>> {
                let rows: Vec<MemberRow> = sqlx::query_as(q::MEMBERS)
                    .bind(id.0)
                    .fetch_all(s.reader())
                    .await?;
                msg_rows::all(rows)
            }

            pub(crate) async fn update_group(
                s: &$store,
                id: GroupId,
                update: &GroupUpdate,
                now: DateTime<Utc>,
            ) -> Result<Option<GroupRecord>> {
                let (set_description, description) = patch(&update.description);
                let (set_avatar, avatar) = patch(&update.avatar_url);
                let row: Option<GroupRow> = sqlx::query_as(q::UPDATE_GROUP)
                    .bind(id.0)
                    .bind(update.name.as_deref())
                    .bind(set_description)
                    .bind(description)
                    .bind(set_avatar)
                    .bind(avatar)
                    .bind(micros(now))
                    .fetch_optional(s.writer())
                    .await?;
                Ok(row.map(GroupRecord::from))
            }

            /// Counting under the group's lock makes `max_members` hold under
            /// concurrent adds.
            pub(crate) async fn add_group_member(
                s: &$store,
                id: GroupId,
                user: UserId,
                invited_by: UserId,
                now: DateTime<Utc>,
            ) -> Result<GroupMemberRecord> {
                let mut tx = s.begin_write().await?;
                let Some(max_members) = lock_group(&mut tx, id).await? else {
                    return Err(StoreError::Missing("group"));
                };
                let exists: i64 = sqlx::query_scalar(q::USER_EXISTS)
                    .bind(user.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if exists == 0 {
                    return Err(StoreError::Missing("user"));
                }
                let member: Option<MemberRow> = sqlx::query_as(q::MEMBER)
                    .bind(id.0)
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                if member.is_some() {
                    return Err(StoreError::Conflict("member"));
                }
                let (members, _) = counts(&mut tx, id).await?;
                if members >= i64::from(max_members) {
                    return Err(StoreError::Limit("max_members"));
                }
                let record = insert_member(
                    &mut tx,
                    id,
                    user,
                    Role::Member,
                    Some(invited_by),
                    micros(now),
                )
                .await?;
                tx.commit().await?;
                Ok(record)
            }

            pub(crate) async fn remove_group_member(
                s: &$store,
                id: GroupId,
                user: UserId,
                _now: DateTime<Utc>,
            ) -> Result<Option<MemberRemoved>> {
                let mut tx = s.begin_write().await?;
                if lock_group(&mut tx, id).await?.is_none() {
                    return Ok(None);
                }
                let deleted = sqlx::query(q::DELETE_MEMBER)
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if deleted == 0 {
                    return Ok(None);
                }
                sqlx::query(q::DELETE_PARTICIPANT)
                    .bind(id.0)
                    .bind(user.0)
                    .execute(&mut *tx)
                    .await?;
                let (members, admins) = counts(&mut tx, id).await?;
                let mut promoted = None;
                if admins == 0 && members > 0 {
                    let senior: Uuid = sqlx::query_scalar(q::SENIOR_MEMBER)
                        .bind(id.0)
                        .fetch_one(&mut *tx)
                        .await?;
                    set_role(&mut tx, id, UserId(senior), Role::Admin).await?;
                    promoted = Some(UserId(senior));
                }
                tx.commit().await?;
                Ok(Some(MemberRemoved {
                    promoted,
                    remaining: u32::try_from(members).unwrap_or(u32::MAX),
                }))
            }

            pub(crate) async fn set_group_role(
                s: &$store,
                id: GroupId,
                user: UserId,
                role: Role,
                _now: DateTime<Utc>,
            ) -> Result<Option<GroupMemberRecord>> {
                let mut tx = s.begin_write().await?;
                if lock_group(&mut tx, id).await?.is_none() {
                    return Ok(None);
                }
                let current: Option<MemberRow> = sqlx::query_as(q::MEMBER)
                    .bind(id.0)
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(current) = current else {
                    return Ok(None);
                };
                let current = GroupMemberRecord::try_from(current)?;
                if current.role == Role::Admin && role != Role::Admin {
                    let (_, admins) = counts(&mut tx, id).await?;
                    if admins <= 1 {
                        return Err(StoreError::Conflict("last_admin"));
                    }
                }
                let record = set_role(&mut tx, id, user, role).await?;
                tx.commit().await?;
                Ok(record)
            }
        }
    };
}

pub(crate) use impl_groups;
