//! Groups: create, read, update, membership and roles. Every membership
//! change keeps `group_members` and `conversation_participants` together (in
//! the store) and invalidates the `group_members:{id}` cache.

use chrono::Utc;
use zynk_proto::{CreateGroup, Group, GroupId, GroupMember, Role, UpdateGroup, UserId};
use zynk_store::{GroupMemberRecord, GroupUpdate, NewGroup, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::extract::Auth;
use crate::ops::conversations::{forget_participants, require_participant};
use crate::state::AppState;
use crate::validate;

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Missing("user") => ApiError::invalid("user_id", "no such user"),
        StoreError::Missing(_) => ApiError::not_found("group"),
        StoreError::Limit(_) => ApiError::conflict(
            "group-full",
            "the group has reached its maximum number of members",
        ),
        StoreError::Conflict("member") => {
            ApiError::conflict("already-member", "the user is already a member")
        }
        StoreError::Conflict("last_admin") => ApiError::conflict(
            "last-admin",
            "a group needs an admin: promote another member first",
        ),
        other => other.into(),
    }
}

/// The group with its members; 404 unless the caller is a member.
pub async fn get(state: &AppState, auth: &Auth, id: GroupId) -> ApiResult<Group> {
    require_participant(state, auth.user_id, id).await?;
    load(state, id).await
}

async fn load(state: &AppState, id: GroupId) -> ApiResult<Group> {
    let g = state
        .store
        .group(id)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    let members = state.store.group_members(id).await?;
    Ok(Group {
        id: g.id,
        name: g.name,
        description: g.description,
        avatar_url: g.avatar_url,
        max_members: g.max_members,
        created_by: g.created_by,
        created_at: g.created_at,
        updated_at: g.updated_at,
        members: members.into_iter().map(member).collect(),
    })
}

fn member(m: GroupMemberRecord) -> GroupMember {
    GroupMember {
        user_id: m.user_id,
        role: m.role,
        joined_at: m.joined_at,
        invited_by: m.invited_by,
    }
}

/// The caller's role in the group; 404 if not a member.
async fn role_of(state: &AppState, id: GroupId, user: UserId) -> ApiResult<Role> {
    require_participant(state, user, id).await?;
    let members = state.store.group_members(id).await?;
    members
        .into_iter()
        .find(|m| m.user_id == user)
        .map(|m| m.role)
        .ok_or_else(|| ApiError::not_found("group"))
}

async fn require_admin(state: &AppState, id: GroupId, user: UserId) -> ApiResult<()> {
    match role_of(state, id, user).await? {
        Role::Admin => Ok(()),
        Role::Member => Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "not-admin",
            "only group admins may do this",
        )),
    }
}

fn check_fields(
    name: Option<&str>,
    description: Option<&str>,
    avatar_url: Option<&str>,
) -> ApiResult<()> {
    if let Some(n) = name {
        validate::text("name", n, 1, 128)?;
    }
    if let Some(d) = description {
        validate::text("description", d, 0, 1000)?;
    }
    if let Some(u) = avatar_url {
        validate::url("avatar_url", u)?;
    }
    Ok(())
}

/// `POST /v1/groups`.
pub async fn create(state: &AppState, auth: &Auth, body: CreateGroup) -> ApiResult<Group> {
    check_fields(
        Some(&body.name),
        body.description.as_deref(),
        body.avatar_url.as_deref(),
    )?;
    let max = state.config.max_group_members;
    if body.member_ids.len() >= max as usize {
        return Err(store_error(StoreError::Limit("max_members")));
    }
    let group = NewGroup {
        id: GroupId::new(),
        name: body.name,
        description: body.description,
        avatar_url: body.avatar_url,
        created_by: auth.user_id,
        member_ids: body.member_ids,
        max_members: max,
    };
    let created = state
        .store
        .create_group(group, Utc::now())
        .await
        .map_err(store_error)?;
    load(state, created.id).await
}

/// `PATCH /v1/groups/{id}` (admins).
pub async fn update(
    state: &AppState,
    auth: &Auth,
    id: GroupId,
    body: UpdateGroup,
) -> ApiResult<Group> {
    require_admin(state, id, auth.user_id).await?;
    check_fields(
        body.name.as_deref(),
        body.description.clone().flatten().as_deref(),
        body.avatar_url.clone().flatten().as_deref(),
    )?;
    let update = GroupUpdate {
        name: body.name,
        description: body.description,
        avatar_url: body.avatar_url,
    };
    state
        .store
        .update_group(id, &update, Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found("group"))?;
    load(state, id).await
}

/// `POST /v1/groups/{id}/members` (admins).
pub async fn add(state: &AppState, auth: &Auth, id: GroupId, user: UserId) -> ApiResult<Group> {
    require_admin(state, id, auth.user_id).await?;
    let result = state
        .store
        .add_group_member(id, user, auth.user_id, Utc::now())
        .await;
    forget_participants(state, id).await;
    result.map_err(store_error)?;
    load(state, id).await
}

/// `DELETE /v1/groups/{id}/members/{user_id}`: admins remove anyone; anyone leaves.
pub async fn remove(state: &AppState, auth: &Auth, id: GroupId, user: UserId) -> ApiResult<()> {
    if user == auth.user_id {
        require_participant(state, auth.user_id, id).await?;
    } else {
        require_admin(state, id, auth.user_id).await?;
    }
    let result = state.store.remove_group_member(id, user, Utc::now()).await;
    forget_participants(state, id).await;
    let removed = result
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("member"))?;
    if let Some(promoted) = removed.promoted {
        tracing::info!(group = %id, user = %promoted, "last admin left: longest-standing member promoted");
    }
    Ok(())
}

/// `PATCH /v1/groups/{id}/members/{user_id}` (admins).
pub async fn set_role(
    state: &AppState,
    auth: &Auth,
    id: GroupId,
    user: UserId,
    role: Role,
) -> ApiResult<Group> {
    require_admin(state, id, auth.user_id).await?;
    state
        .store
        .set_group_role(id, user, role, Utc::now())
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("member"))?;
    load(state, id).await
}
