//! Groups: creation, update, membership and roles, with `group_members` and
//! `conversation_participants` kept in step.

use zynk_proto::{GroupId, Role, UserId};
use zynk_store::{GroupUpdate, MemberRemoved, StoreError};

use crate::msg_support::{assert_consistent, base, group, new_group, secs};
use crate::support::{Harness, register};

conformance!(
    create_group_makes_creator_admin,
    update_group_patches_fields,
    membership_and_roles,
    last_admin_leaving_promotes_longest_standing,
    concurrent_adds_respect_max_members,
    default_limit_refuses_the_257th_member,
);

async fn create_group_makes_creator_admin(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let t = base();
    // The creator listed again and a duplicate member are ignored.
    let new = new_group(alice.user, &[bob.user, alice.user, bob.user], 256);
    let id = new.id;
    let created = store.create_group(new, t).await.expect("create");
    assert_eq!(created.id, id);
    assert_eq!(created.name, "friends");
    assert_eq!(created.description.as_deref(), Some("old friends"));
    assert_eq!(
        (created.max_members, created.created_by),
        (256, Some(alice.user))
    );
    assert_eq!((created.created_at, created.updated_at), (t, t));
    assert_eq!(store.group(id).await.expect("group"), Some(created));

    let members = store.group_members(id).await.expect("members");
    let roles: Vec<_> = members
        .iter()
        .map(|m| (m.user_id, m.role, m.invited_by))
        .collect();
    let mut expected = vec![
        (alice.user, Role::Admin, None),
        (bob.user, Role::Member, Some(alice.user)),
    ];
    expected.sort_by_key(|m| m.0);
    let mut roles_sorted = roles.clone();
    roles_sorted.sort_by_key(|m| m.0);
    assert_eq!(roles_sorted, expected);
    assert_consistent(store, id).await;
    let summary = store
        .conversation_of(bob.user, id, t)
        .await
        .expect("conversation");
    assert_eq!(
        summary.and_then(|s| s.group_name).as_deref(),
        Some("friends")
    );

    // An unknown member: nothing is created.
    let bad = new_group(alice.user, &[UserId::new()], 256);
    let bad_id = bad.id;
    let err = store.create_group(bad, t).await;
    assert!(matches!(err, Err(StoreError::Missing("user"))), "{err:?}");
    assert_eq!(store.group(bad_id).await.expect("group"), None);
    assert_eq!(store.participants(bad_id).await.expect("participants"), []);
    // Too many members at creation.
    let err = store
        .create_group(new_group(alice.user, &[bob.user], 1), t)
        .await;
    assert!(
        matches!(err, Err(StoreError::Limit("max_members"))),
        "{err:?}"
    );
    assert_eq!(h.raw.count("groups").await, 1);
}

async fn update_group_patches_fields(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let t = base();
    let g = group(store, alice.user, &[], t).await;
    let update = GroupUpdate {
        name: Some("family".to_owned()),
        description: Some(None),
        avatar_url: Some(Some("https://example.com/a.png".to_owned())),
    };
    let updated = store
        .update_group(g.id, &update, secs(t, 5))
        .await
        .expect("update");
    let updated = updated.expect("exists");
    assert_eq!(updated.name, "family");
    assert_eq!(updated.description, None);
    assert_eq!(
        updated.avatar_url.as_deref(),
        Some("https://example.com/a.png")
    );
    assert_eq!((updated.created_at, updated.updated_at), (t, secs(t, 5)));
    // Absent fields stay.
    let same = store
        .update_group(g.id, &GroupUpdate::default(), secs(t, 6))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(
        (same.name.as_str(), same.avatar_url),
        ("family", updated.avatar_url)
    );
    let missing = store
        .update_group(GroupId::new(), &update, t)
        .await
        .expect("update");
    assert_eq!(missing, None);
}

async fn membership_and_roles(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let t = base();
    let g = group(store, alice.user, &[bob.user], t).await;

    let added = store
        .add_group_member(g.id, carol.user, bob.user, secs(t, 1))
        .await
        .expect("add");
    assert_eq!((added.user_id, added.role), (carol.user, Role::Member));
    assert_eq!(
        (added.joined_at, added.invited_by),
        (secs(t, 1), Some(bob.user))
    );
    assert_consistent(store, g.id).await;
    let again = store.add_group_member(g.id, carol.user, bob.user, t).await;
    assert!(
        matches!(again, Err(StoreError::Conflict("member"))),
        "{again:?}"
    );
    let nobody = store
        .add_group_member(g.id, UserId::new(), bob.user, t)
        .await;
    assert!(
        matches!(nobody, Err(StoreError::Missing("user"))),
        "{nobody:?}"
    );
    let no_group = store
        .add_group_member(GroupId::new(), carol.user, bob.user, t)
        .await;
    assert!(
        matches!(no_group, Err(StoreError::Missing("group"))),
        "{no_group:?}"
    );

    // The only admin cannot step down; with a second admin they can.
    let last = store
        .set_group_role(g.id, alice.user, Role::Member, t)
        .await;
    assert!(
        matches!(last, Err(StoreError::Conflict("last_admin"))),
        "{last:?}"
    );
    let promoted = store
        .set_group_role(g.id, bob.user, Role::Admin, t)
        .await
        .expect("promote")
        .expect("member");
    assert_eq!(promoted.role, Role::Admin);
    assert_consistent(store, g.id).await;
    let stepped_down = store
        .set_group_role(g.id, alice.user, Role::Member, t)
        .await
        .expect("demote")
        .expect("member");
    assert_eq!(stepped_down.role, Role::Member);
    assert_consistent(store, g.id).await;
    let not_member = store
        .set_group_role(g.id, UserId::new(), Role::Admin, t)
        .await;
    assert_eq!(not_member.expect("set role"), None);

    // Removing a member (an admin remains): no promotion.
    let removed = store
        .remove_group_member(g.id, carol.user, t)
        .await
        .expect("remove");
    assert_eq!(
        removed,
        Some(MemberRemoved {
            promoted: None,
            remaining: 2
        })
    );
    assert_consistent(store, g.id).await;
    assert_eq!(
        store
            .remove_group_member(g.id, carol.user, t)
            .await
            .expect("remove"),
        None
    );
    let shares = store
        .shares_conversation(alice.user, carol.user)
        .await
        .expect("shares");
    assert!(!shares, "a removed member is no participant");
}

async fn last_admin_leaving_promotes_longest_standing(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let carol = register(store, "carol", "fp-carol-01").await;
    let dave = register(store, "dave", "fp-dave-001").await;
    let t = base();
    let g = group(store, alice.user, &[], t).await;
    // Carol joins before Bob and Dave; Bob and Dave at the same time.
    store
        .add_group_member(g.id, carol.user, alice.user, secs(t, 1))
        .await
        .expect("add");
    store
        .add_group_member(g.id, bob.user, alice.user, secs(t, 2))
        .await
        .expect("add");
    store
        .add_group_member(g.id, dave.user, alice.user, secs(t, 2))
        .await
        .expect("add");

    let removed = store
        .remove_group_member(g.id, alice.user, t)
        .await
        .expect("remove");
    assert_eq!(
        removed,
        Some(MemberRemoved {
            promoted: Some(carol.user),
            remaining: 3
        })
    );
    assert_consistent(store, g.id).await;
    let removed = store
        .remove_group_member(g.id, carol.user, t)
        .await
        .expect("remove");
    let tie_winner = bob.user.min(dave.user);
    assert_eq!(
        removed,
        Some(MemberRemoved {
            promoted: Some(tie_winner),
            remaining: 2
        })
    );
    let members = store.group_members(g.id).await.expect("members");
    let admins: Vec<_> = members
        .iter()
        .filter(|m| m.role == Role::Admin)
        .map(|m| m.user_id)
        .collect();
    assert_eq!(admins, [tie_winner]);
    assert_consistent(store, g.id).await;
    // The last one out leaves an empty group, nobody to promote.
    store
        .remove_group_member(g.id, bob.user.max(dave.user), t)
        .await
        .expect("remove");
    let removed = store
        .remove_group_member(g.id, tie_winner, t)
        .await
        .expect("remove");
    assert_eq!(
        removed,
        Some(MemberRemoved {
            promoted: None,
            remaining: 0
        })
    );
    assert_consistent(store, g.id).await;
}

async fn concurrent_adds_respect_max_members(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let bob = register(store, "bob", "fp-bob-0001").await;
    let mut others = Vec::new();
    for i in 0..10 {
        others.push(
            register(store, &format!("user{i}"), &format!("fp-user-{i:03}"))
                .await
                .user,
        );
    }
    let t = base();
    let g = store
        .create_group(new_group(alice.user, &[bob.user], 5), t)
        .await
        .expect("create");
    let tasks: Vec<_> = others
        .iter()
        .map(|user| {
            let (store, user, id, by) = (h.store.clone(), *user, g.id, alice.user);
            tokio::spawn(async move { store.add_group_member(id, user, by, t).await })
        })
        .collect();
    let (mut added, mut refused) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => added += 1,
            Err(StoreError::Limit("max_members")) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((added, refused), (3, 7));
    assert_eq!(store.group_members(g.id).await.expect("members").len(), 5);
    assert_consistent(store, g.id).await;
}

async fn default_limit_refuses_the_257th_member(h: Harness) {
    let store = &*h.store;
    let alice = register(store, "alice", "fp-alice-1").await;
    let mut users = Vec::new();
    for i in 0..256 {
        users.push(
            register(store, &format!("user{i}"), &format!("fp-user-{i:03}"))
                .await
                .user,
        );
    }
    let t = base();
    let g = group(store, alice.user, &users[..255], t).await;
    assert_eq!(g.max_members, 256);
    assert_eq!(store.group_members(g.id).await.expect("members").len(), 256);
    let err = store
        .add_group_member(g.id, users[255], alice.user, t)
        .await;
    assert!(
        matches!(err, Err(StoreError::Limit("max_members"))),
        "{err:?}"
    );
    // Room again after one leaves.
    store
        .remove_group_member(g.id, users[0], t)
        .await
        .expect("remove");
    store
        .add_group_member(g.id, users[255], alice.user, t)
        .await
        .expect("add");
    assert_consistent(store, g.id).await;
}
