//! Files sent end to end: `Messenger::send_file` and `download_file`.
//!
//! The file is encrypted with `zynk_crypto::encrypt_stream` (AES-256-GCM,
//! 64 KiB chunks, a fresh `FileKey`) and only the ciphertext is uploaded.
//! The key and the ciphertext's SHA-256 reach the other participants inside
//! an ordinary E2EE message (`message_type` `image` or `file`) whose body is
//! a [`FileDescriptor`] as JSON:
//!
//! ```json
//! {"kind":"file","file_id":"…","filename":"cat.png","mime_type":"image/png",
//!  "size":1234,"sha256":"<hex SHA-256 of the ciphertext>","key":"<FileKey base64>",
//!  "thumbnail":{"sha256":"…","key":"…","width":256,"height":192}}
//! ```
//!
//! Images get a thumbnail (JPEG, at most 256 px on its longer side),
//! encrypted the same way under its own key and stored with
//! `PUT /v1/files/{id}/thumbnail`; its key travels in `thumbnail`.
//!
//! `encryption_key_encrypted` (stored by the server with the file) is the
//! file key sealed for the uploader's own devices:
//! `zynk_crypto::seal(StateKey::from_bytes(SHA-256("zynk/file-key-wrap/v1" ‖
//! identity secret)), FileKey base64)`. Every approved device of the user
//! holds the identity secret, so each can recover the key
//! ([`Messenger::recover_file_key`]); nobody else can.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zynk_crypto::{FileKey, StateKey};
use zynk_proto::{ConversationId, FileId, FileInfo, MessageId, MessageType, SentMessage};

use super::{Incoming, Messenger};
use crate::files::{self, FileSpec, Progress};
use crate::{Result, SdkError};

/// Domain separation of the key that wraps file keys for the uploader.
const WRAP_CONTEXT: &[u8] = b"zynk/file-key-wrap/v1";
/// The longer side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_PX: u32 = 256;
/// The `kind` of a file descriptor.
const KIND: &str = "file";

/// The encrypted thumbnail of an image (stored with the file).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailDescriptor {
    /// Lowercase hex SHA-256 of the encrypted thumbnail.
    pub sha256: String,
    pub key: FileKey,
    pub width: u32,
    pub height: u32,
}

/// What a file message carries (its plaintext body, as JSON). Holds the
/// file key: never print it (`Debug` redacts it; [`Self::public_json`]
/// leaves it out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDescriptor {
    /// Always `"file"`.
    pub kind: String,
    pub file_id: FileId,
    pub filename: String,
    pub mime_type: String,
    /// Plaintext bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the ciphertext (the file's `content_hash`).
    pub sha256: String,
    pub key: FileKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailDescriptor>,
}

impl std::fmt::Debug for FileDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDescriptor")
            .field("file_id", &self.file_id)
            .field("filename", &self.filename)
            .field("mime_type", &self.mime_type)
            .field("size", &self.size)
            .field("has_thumbnail", &self.thumbnail.is_some())
            .finish_non_exhaustive()
    }
}

impl FileDescriptor {
    /// Parses a message body; `None` unless it is a file descriptor.
    pub fn parse(body: &str) -> Option<Self> {
        if !body.starts_with('{') {
            return None;
        }
        let d: Self = serde_json::from_str(body).ok()?;
        (d.kind == KIND).then_some(d)
    }

    /// The descriptor without any key (safe to print).
    pub fn public_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "kind": KIND,
            "file_id": self.file_id,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size": self.size,
            "sha256": self.sha256,
        });
        if let Some(t) = &self.thumbnail {
            v["thumbnail"] = serde_json::json!({
                "sha256": t.sha256, "width": t.width, "height": t.height,
            });
        }
        v
    }

    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/")
    }
}

impl Incoming {
    /// The file this message carries, if it is a file message.
    pub fn file(&self) -> Option<FileDescriptor> {
        FileDescriptor::parse(&self.text)
    }
}

/// The MIME type of a file, from its extension (`application/octet-stream`
/// when unknown).
pub fn mime_type_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "md" => "text/plain",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "zip" => "application/zip",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// A JPEG thumbnail of the image at `path` (its pixels and size), or `None`
/// when it cannot be decoded (only PNG and JPEG can).
fn make_thumbnail(path: &Path) -> Option<(Vec<u8>, u32, u32)> {
    let image = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?
        .decode()
        .ok()?;
    let image = if image.width() > THUMBNAIL_MAX_PX || image.height() > THUMBNAIL_MAX_PX {
        image.thumbnail(THUMBNAIL_MAX_PX, THUMBNAIL_MAX_PX)
    } else {
        image
    };
    let rgb = image.to_rgb8();
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80);
    rgb.write_with_encoder(encoder).ok()?;
    Some((jpeg, rgb.width(), rgb.height()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn blocking_failed(e: tokio::task::JoinError) -> SdkError {
    SdkError::State(format!("background task failed: {e}"))
}

impl Messenger {
    /// The key sealing file keys for this user's own devices (see the module docs).
    fn file_wrap_key(&self) -> Result<StateKey> {
        let identity = self.identity.as_ref().ok_or(SdkError::NotApproved)?;
        let mut hasher = Sha256::new();
        hasher.update(WRAP_CONTEXT);
        hasher.update(identity.secret_bytes().as_slice());
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&hasher.finalize());
        let key = StateKey::from_bytes(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(key)
    }

    /// The key of a file this user uploaded (from any of their devices),
    /// unsealed from its `encryption_key_encrypted`.
    pub fn recover_file_key(&self, info: &FileInfo) -> Result<FileKey> {
        use base64::Engine as _;
        if info.uploader_id != self.info.user_id {
            return Err(SdkError::Undecryptable(
                "the file key is sealed for its uploader only".into(),
            ));
        }
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&info.encryption_key_encrypted)
            .map_err(|_| SdkError::Undecryptable("sealed file key is not base64".into()))?;
        let plain = zeroize::Zeroizing::new(zynk_crypto::open(&self.file_wrap_key()?, &sealed)?);
        let b64 = std::str::from_utf8(&plain)
            .map_err(|_| SdkError::Undecryptable("bad sealed file key".into()))?;
        Ok(FileKey::from_base64(b64)?)
    }

    /// The descriptor of a file this user uploaded (from any of their
    /// devices), rebuilt from its `FileInfo` and sealed key (without the
    /// thumbnail, whose key only its message has).
    pub fn uploaded_file(&self, info: &FileInfo) -> Result<FileDescriptor> {
        let key = self.recover_file_key(info)?;
        let sealed_chunk = (zynk_crypto::file::CHUNK_SIZE + zynk_crypto::file::TAG_SIZE) as u64;
        let chunks = info.file_size.div_ceil(sealed_chunk).max(1);
        Ok(FileDescriptor {
            kind: KIND.to_owned(),
            file_id: info.id,
            filename: info.filename.clone(),
            mime_type: info.mime_type.clone(),
            size: info
                .file_size
                .saturating_sub(chunks * zynk_crypto::file::TAG_SIZE as u64),
            sha256: info.content_hash.clone(),
            key,
            thumbnail: None,
        })
    }

    /// Encrypts and uploads the file at `path` (with a thumbnail for PNG and
    /// JPEG images), then sends its [`FileDescriptor`] — key included — as
    /// an end-to-end encrypted message (`image` for `image/*`, else `file`).
    /// `progress` follows the upload of the file's ciphertext.
    pub async fn send_file(
        &mut self,
        conversation: ConversationId,
        path: &Path,
        progress: Option<Progress>,
    ) -> Result<(SentMessage, FileInfo)> {
        self.require_identity()?;
        let meta = tokio::fs::metadata(path).await?;
        if !meta.is_file() {
            return Err(SdkError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a file", path.display()),
            )));
        }
        let filename = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .unwrap_or("file")
            .to_owned();
        let mime_type = mime_type_of(path).to_owned();
        let wrap = self.file_wrap_key()?;
        let spec = FileSpec {
            conversation_id: conversation,
            filename: filename.clone(),
            mime_type: mime_type.clone(),
            metadata: None,
            expires_in: None,
        };
        let seal = |key: &FileKey| Ok(zynk_crypto::seal(&wrap, key.to_base64().as_bytes())?);
        let sent = files::send_file(&self.client, path, spec, seal, progress).await?;
        let mut info = sent.info;
        let thumbnail = if mime_type.starts_with("image/") {
            match self.upload_thumbnail(info.id, path).await {
                Ok(t) => t,
                Err(e) => {
                    // Best effort: leave no file that no message refers to.
                    let _ = self.client.delete_file(info.id).await;
                    return Err(e);
                }
            }
        } else {
            None
        };
        if thumbnail.is_some() {
            info.has_thumbnail = true;
        }
        let descriptor = FileDescriptor {
            kind: KIND.to_owned(),
            file_id: info.id,
            filename,
            mime_type,
            size: meta.len(),
            sha256: sent.content_hash,
            key: sent.key,
            thumbnail,
        };
        let body = zeroize::Zeroizing::new(
            serde_json::to_string(&descriptor).map_err(|e| SdkError::State(e.to_string()))?,
        );
        let message_type = if descriptor.is_image() {
            MessageType::Image
        } else {
            MessageType::File
        };
        match self.send_typed(conversation, &body, message_type).await {
            Ok(message) => Ok((message, info)),
            Err(e) => {
                let _ = self.client.delete_file(info.id).await;
                Err(e)
            }
        }
    }

    /// Makes, encrypts and stores the thumbnail of image `path`; `None` when
    /// the image cannot be decoded.
    async fn upload_thumbnail(
        &self,
        id: FileId,
        path: &Path,
    ) -> Result<Option<ThumbnailDescriptor>> {
        let source = path.to_owned();
        let made = tokio::task::spawn_blocking(move || {
            let Some((jpeg, width, height)) = make_thumbnail(&source) else {
                return Ok::<_, SdkError>(None);
            };
            let mut ciphertext = Vec::new();
            let (key, sha256, _) = zynk_crypto::encrypt_stream(jpeg.as_slice(), &mut ciphertext)?;
            Ok(Some((ciphertext, key, sha256, width, height)))
        })
        .await
        .map_err(blocking_failed)??;
        let Some((ciphertext, key, sha256, width, height)) = made else {
            return Ok(None);
        };
        self.client.upload_thumbnail(id, ciphertext).await?;
        Ok(Some(ThumbnailDescriptor {
            sha256,
            key,
            width,
            height,
        }))
    }

    /// Downloads the file of `descriptor`, checks the ciphertext's SHA-256
    /// and its size, and decrypts it into `dest` (written only if all of
    /// that succeeds). Returns the plaintext length.
    pub async fn download_file(
        &self,
        descriptor: &FileDescriptor,
        dest: &Path,
        progress: Option<Progress>,
    ) -> Result<u64> {
        let written = files::receive_file(
            &self.client,
            descriptor.file_id,
            &descriptor.key,
            Some(&descriptor.sha256),
            dest,
            progress,
        )
        .await?;
        if written != descriptor.size {
            let _ = std::fs::remove_file(dest);
            return Err(SdkError::Undecryptable(format!(
                "the file has {written} bytes, its message said {}",
                descriptor.size
            )));
        }
        Ok(written)
    }

    /// Downloads, checks and decrypts the thumbnail of `descriptor` into
    /// `dest` (a JPEG). Errors when the file has none.
    pub async fn download_thumbnail(
        &self,
        descriptor: &FileDescriptor,
        dest: &Path,
    ) -> Result<u64> {
        let thumb = descriptor
            .thumbnail
            .as_ref()
            .ok_or_else(|| SdkError::State("this file has no thumbnail".into()))?;
        let mut ciphertext = Vec::new();
        self.client
            .download_thumbnail(descriptor.file_id, None, &mut ciphertext)
            .await?;
        if hex(&Sha256::digest(&ciphertext)) != thumb.sha256 {
            return Err(SdkError::HashMismatch);
        }
        let mut plain = Vec::new();
        zynk_crypto::decrypt_stream(&thumb.key, ciphertext.as_slice(), &mut plain)?;
        tokio::fs::write(dest, &plain).await?;
        Ok(plain.len() as u64)
    }

    /// A file descriptor sent by this device (kept with its sent messages),
    /// by message id or by file id.
    pub fn sent_file(
        &self,
        message: Option<MessageId>,
        file: Option<FileId>,
    ) -> Option<FileDescriptor> {
        self.state.sent.iter().find_map(|(id, text)| {
            let d = FileDescriptor::parse(text)?;
            (message == Some(*id) || file == Some(d.file_id)).then_some(d)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn descriptor_round_trip_and_public_form() {
        let d = FileDescriptor {
            kind: KIND.into(),
            file_id: FileId::new(),
            filename: "a.png".into(),
            mime_type: "image/png".into(),
            size: 3,
            sha256: "00".into(),
            key: FileKey::generate(),
            thumbnail: None,
        };
        let body = serde_json::to_string(&d).unwrap();
        assert_eq!(FileDescriptor::parse(&body), Some(d.clone()));
        assert!(FileDescriptor::parse("hello").is_none());
        assert!(FileDescriptor::parse(r#"{"kind":"other"}"#).is_none());
        let public = d.public_json().to_string();
        assert!(!public.contains(d.key.to_base64().as_str()));
        assert!(!format!("{d:?}").contains(d.key.to_base64().as_str()));
        assert_eq!(mime_type_of(Path::new("x.JPG")), "image/jpeg");
        assert_eq!(mime_type_of(Path::new("x")), "application/octet-stream");
    }
}
