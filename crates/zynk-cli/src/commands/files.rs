//! send-file, download.
//!
//! A file's key travels only inside its (end-to-end encrypted) message, so
//! `download` needs the message: it looks in the local cache of received
//! plaintexts, in what this device sent, then in the recent history. A file
//! this user uploaded (from any device) is recovered from the file's own
//! sealed key.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use serde_json::json;
use uuid::Uuid;
use zynk_proto::{FileId, MessageId};
use zynk_sdk::{FileDescriptor, SdkError};

use crate::context::{Ctx, Session, parse_id};
use crate::names;
use crate::progress::{Bar, size};

use super::messages::find_message;
use super::trust::identity_changed_warning;

pub async fn send_file(ctx: &Ctx, to: &str, path: &Path) -> Result<()> {
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    let mut s = ctx.open().await?;
    let conversation = names::conversation(s.m.client(), to).await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bar = Bar::new(&format!("Uploading {name}"), ctx.out.json);
    let result = s.m.send_file(conversation, path, bar.callback()).await;
    bar.finish();
    let (sent, info) = match result {
        Ok(r) => r,
        Err(SdkError::IdentityChanged(user)) => {
            return Err(anyhow!(identity_changed_warning(&s.m, user).await));
        }
        Err(e) => return Err(e.into()),
    };
    let plain = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    ctx.out.emit(
        format!(
            "Sent {} ({}) to {to} (message {}, file {}{}).",
            info.filename,
            size(plain),
            sent.id,
            info.id,
            if info.has_thumbnail {
                ", with a thumbnail"
            } else {
                ""
            }
        ),
        json!({
            "type": "sent",
            "id": sent.id,
            "conversation_id": sent.conversation_id,
            "created_at": sent.created_at,
            "file_id": info.id,
            "filename": info.filename,
            "mime_type": info.mime_type,
            "size": plain,
            "has_thumbnail": info.has_thumbnail,
        }),
    );
    Ok(())
}

pub async fn download(
    ctx: &Ctx,
    id: &str,
    path: Option<PathBuf>,
    force: bool,
    thumbnail: bool,
) -> Result<()> {
    let id: Uuid = parse_id("message or file id", id)?;
    let mut s = ctx.open().await?;
    let d = find_descriptor(&mut s, id).await?;
    let dest = match path {
        Some(p) if p.is_dir() => p.join(default_name(&d, thumbnail)),
        Some(p) => p,
        None => PathBuf::from(default_name(&d, thumbnail)),
    };
    if dest.exists() && !force {
        bail!(
            "{} exists: pass --force to overwrite it, or another PATH",
            dest.display()
        );
    }
    let written = if thumbnail {
        s.m.download_thumbnail(&d, &dest).await?
    } else {
        let bar = Bar::new(&format!("Downloading {}", d.filename), ctx.out.json);
        let result = s.m.download_file(&d, &dest, bar.callback()).await;
        bar.finish();
        result.map_err(|e| match e {
            SdkError::HashMismatch => anyhow!(
                "file {} was altered on the server: its content does not match the hash \
                 in its message (nothing was written)",
                d.file_id
            ),
            e => e.into(),
        })?
    };
    let what = if thumbnail { "the thumbnail of " } else { "" };
    ctx.out.emit(
        format!(
            "Saved {what}{} ({}) to {}.",
            d.filename,
            size(written),
            dest.display()
        ),
        json!({
            "type": "downloaded",
            "file_id": d.file_id,
            "filename": d.filename,
            "path": dest,
            "size": written,
            "thumbnail": thumbnail,
        }),
    );
    Ok(())
}

/// The original name, without any directory part (never a path the sender chose).
fn default_name(d: &FileDescriptor, thumbnail: bool) -> String {
    let base = Path::new(&d.filename)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && n != "." && n != "..")
        .unwrap_or_else(|| d.file_id.to_string());
    if thumbnail {
        let stem = Path::new(&base)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or(base);
        format!("{stem}_thumb.jpg")
    } else {
        base
    }
}

/// The descriptor of message `id` or of file `id`.
async fn find_descriptor(s: &mut Session, id: Uuid) -> Result<FileDescriptor> {
    let (message_id, file_id) = (MessageId(id), FileId(id));
    let mut cache = s.m.text_cache()?;
    if let Some(text) = cache.get(&message_id) {
        return FileDescriptor::parse(text)
            .ok_or_else(|| anyhow!("message {id} is not a file message"));
    }
    if let Some(d) = s.m.sent_file(Some(message_id), Some(file_id)) {
        return Ok(d);
    }
    if let Some(d) = cache
        .iter()
        .find_map(|(_, text)| FileDescriptor::parse(text).filter(|d| d.file_id == file_id))
    {
        return Ok(d);
    }
    // A message not read on this device yet: from the history.
    if let Ok(message) = find_message(s.m.client(), message_id).await {
        let incoming = s.m.decrypt_cached(&mut cache, &message).await;
        s.m.save()?;
        s.m.save_text_cache(&cache)?;
        return incoming?
            .file()
            .ok_or_else(|| anyhow!("message {id} is not a file message"));
    }
    // A file this user uploaded from another device: its key is sealed for us.
    match s.m.client().file(file_id).await {
        Ok(info) if info.uploader_id == s.m.user_id() => Ok(s.m.uploaded_file(&info)?),
        Ok(_) => bail!(
            "file {id} is not in any message this device has: run `zynk listen` \
             (or `zynk history`) first, or pass the file message's id"
        ),
        Err(e) if e.status() == Some(404) => {
            bail!("no file message and no file with id {id} among your conversations")
        }
        Err(e) => Err(e.into()),
    }
}
