//! Printing: readable lines, or one JSON object per line with `--json`.

use chrono::{DateTime, Local, Utc};
use serde_json::{Value, json};
use zynk_sdk::Incoming;

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// One record: `text` (may span lines) or its JSON form.
    pub fn emit(&self, text: impl std::fmt::Display, value: Value) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// A warning that does not stop the command: stderr as text, or a JSON
    /// `{"type":"error", …}` record on stdout with `--json`.
    pub fn warn(&self, message: &str, mut value: Value) {
        if self.json {
            if let Some(obj) = value.as_object_mut() {
                obj.insert("type".into(), json!("error"));
                obj.insert("error".into(), json!(message));
            }
            println!("{value}");
        } else {
            eprintln!("warning: {message}");
        }
    }
}

/// A time as the reader's local clock shows it.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A decrypted message: `[time] conversation sender: text` or its JSON
/// record. A file message shows as `📎 name (size)`; its JSON record has
/// the descriptor (without the key) under `file`.
pub fn message(out: &Output, i: &Incoming, conversation: &str, sender: &str) {
    let edited = if i.edited { " (edited)" } else { "" };
    let file = i.file();
    let (shown, hint) = match &file {
        Some(f) => (
            format!("📎 {} ({})", f.filename, crate::progress::size(f.size)),
            format!("  [zynk download {}]", i.id),
        ),
        None => (i.text.clone(), String::new()),
    };
    let text = format!(
        "[{}] {conversation} {sender}: {shown}{edited}{hint}",
        local(i.created_at),
    );
    let mut value = json!({
        "type": "message",
        "id": i.id,
        "conversation_id": i.conversation_id,
        "conversation": conversation,
        "sender_id": i.sender_id,
        "sender": sender,
        "text": shown,
        "created_at": i.created_at,
        "edited": i.edited,
    });
    if let Some(f) = &file {
        value["file"] = f.public_json();
    }
    out.emit(text, value);
}
