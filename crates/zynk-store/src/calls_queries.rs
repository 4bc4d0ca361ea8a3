//! The SQL text of calls (`CallStore`), in the conventions of `queries`:
//! `$n` placeholders, timestamps bound from Rust, one text for both backends
//! except where row locking differs (`_PG` / `_SQLITE`).

macro_rules! call_cols {
    () => {
        "id, conversation_id, initiator_id, call_type, status, started_at, ended_at, \
         duration_seconds, created_at"
    };
}

/// The statuses of an active call, as SQL text.
macro_rules! active {
    () => {
        "('initiated', 'ringing', 'in_progress')"
    };
}

/// conversation id: its type, locking the row on PostgreSQL so that calls
/// in one conversation are created one at a time.
pub(crate) const LOCK_CONVERSATION_PG: &str =
    "SELECT type FROM conversations WHERE id = $1 FOR NO KEY UPDATE";
/// As `LOCK_CONVERSATION_PG` (SQLite's write transaction excludes others).
pub(crate) const LOCK_CONVERSATION_SQLITE: &str = "SELECT type FROM conversations WHERE id = $1";

/// conversation id: its active calls.
pub(crate) const ACTIVE_CALLS: &str = concat!(
    "SELECT count(*) FROM calls WHERE conversation_id = $1 AND status IN ",
    active!()
);

/// id, conversation, initiator, type, now.
pub(crate) const INSERT_CALL: &str = "INSERT INTO calls \
     (id, conversation_id, initiator_id, call_type, status, created_at) \
     VALUES ($1, $2, $3, $4, 'initiated', $5)";

/// call id, conversation id, initiator, now: a row per participant of the
/// conversation; the initiator's joined.
pub(crate) const INSERT_CALLEES: &str = "INSERT INTO call_participants \
     (call_id, user_id, joined_at, left_at) \
     SELECT $1, user_id, CASE WHEN user_id = $3 THEN $4 ELSE NULL END, NULL \
     FROM conversation_participants WHERE conversation_id = $2";

/// id.
pub(crate) const CALL: &str = concat!("SELECT ", call_cols!(), " FROM calls WHERE id = $1");
/// id: the call, locked on PostgreSQL.
pub(crate) const LOCK_CALL_PG: &str = concat!(
    "SELECT ",
    call_cols!(),
    " FROM calls WHERE id = $1 FOR UPDATE"
);

/// call id: the conversation's type.
pub(crate) const CALL_CONVERSATION_TYPE: &str = "SELECT v.type FROM calls c \
     JOIN conversations v ON v.id = c.conversation_id WHERE c.id = $1";

/// call id.
pub(crate) const PARTICIPANTS: &str =
    "SELECT call_id, user_id, joined_at, left_at FROM call_participants WHERE call_id = $1";

/// id, the status read, new status, started_at, ended_at, duration. No row
/// when the status changed meanwhile.
pub(crate) const UPDATE_CALL: &str = "UPDATE calls SET status = $3, started_at = $4, \
     ended_at = $5, duration_seconds = $6 WHERE id = $1 AND status = $2 RETURNING id";

/// call id, user id, joined_at, left_at.
pub(crate) const UPSERT_PARTICIPANT: &str = "INSERT INTO call_participants \
     (call_id, user_id, joined_at, left_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (call_id, user_id) DO UPDATE SET joined_at = excluded.joined_at, \
     left_at = excluded.left_at";

/// created before, now: marks overdue unanswered calls missed; their ids.
pub(crate) const EXPIRE_CALLS: &str = "UPDATE calls SET status = 'missed', ended_at = $2, \
     duration_seconds = 0 WHERE status IN ('initiated', 'ringing') AND created_at <= $1 \
     RETURNING id";

/// call id, now: everyone still in a call that ended leaves it.
pub(crate) const LEAVE_ALL: &str = "UPDATE call_participants SET left_at = $2 \
     WHERE call_id = $1 AND joined_at IS NOT NULL AND left_at IS NULL";

/// The calls of a user's conversations, newest first: user, before or NULL, limit.
macro_rules! history {
    ($cols:expr) => {
        concat!(
            "SELECT ",
            $cols,
            " FROM calls WHERE conversation_id IN (SELECT conversation_id \
             FROM conversation_participants WHERE user_id = $1) \
             AND ($2 IS NULL OR created_at < $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        )
    };
}

/// user, before or NULL, limit.
pub(crate) const HISTORY: &str = history!(call_cols!());
/// The participants of the calls of `HISTORY` (same parameters).
pub(crate) const HISTORY_PARTICIPANTS: &str = concat!(
    "SELECT call_id, user_id, joined_at, left_at FROM call_participants WHERE call_id IN (",
    history!("id"),
    ")"
);
