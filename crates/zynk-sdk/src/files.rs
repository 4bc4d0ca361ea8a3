//! Encrypted files over HTTP, streamed both ways: nothing here holds a whole
//! file in memory.
//!
//! - `Client::upload_file` / `upload_file_from` send ciphertext (a path or
//!   any reader) with its `FileUpload` metadata; `file`, `download_file`,
//!   `download_thumbnail`, `upload_thumbnail`, `delete_file`.
//! - [`send_file`] encrypts a local file with `zynk_crypto::encrypt_stream`
//!   into a temporary file, uploads it and returns the file, its key and the
//!   ciphertext hash; [`receive_file`] downloads, checks the SHA-256 and
//!   decrypts with `decrypt_stream` into the destination (written only if
//!   everything checks out).
//!
//! Progress callbacks get `(bytes so far, total if known)`.

use std::path::Path;
use std::sync::Arc;

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zynk_crypto::FileKey;
use zynk_proto::{
    CONTENT_HASH_HEADER, ConversationId, FILE_METADATA_HEADER, FileId, FileInfo, FileUpload,
};

use crate::{Client, Result, SdkError};

/// Called with `(bytes transferred so far, total bytes if known)`.
pub type Progress = Arc<dyn Fn(u64, Option<u64>) + Send + Sync>;

/// Bytes read from a local file per body chunk.
const CHUNK: usize = 64 * 1024;

/// One byte range of a download (`Range: bytes=…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=start-end`, `end` inclusive.
    Span { start: u64, end: u64 },
    /// `bytes=start-`.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Last(u64),
}

impl ByteRange {
    fn header(self) -> String {
        match self {
            ByteRange::Span { start, end } => format!("bytes={start}-{end}"),
            ByteRange::From(start) => format!("bytes={start}-"),
            ByteRange::Last(n) => format!("bytes=-{n}"),
        }
    }
}

/// What a download wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// 200 (whole object) or 206 (a range).
    pub status: u16,
    pub bytes: u64,
    /// `Content-Range` of a 206, e.g. `bytes 0-9/100`.
    pub content_range: Option<String>,
}

/// The metadata header value: JSON with non-ASCII characters escaped.
fn metadata_header(upload: &FileUpload) -> Result<String> {
    let json = serde_json::to_string(upload).map_err(|e| SdkError::Protocol(e.to_string()))?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    Ok(out)
}

/// A request body streaming `reader` in 64 KiB chunks, reporting progress.
fn body_of<R: AsyncRead + Send + Unpin + 'static>(
    reader: R,
    total: Option<u64>,
    progress: Option<Progress>,
) -> reqwest::Body {
    let stream = futures_util::stream::unfold((reader, 0u64), move |(mut reader, sent)| {
        let progress = progress.clone();
        async move {
            let mut buf = vec![0u8; CHUNK];
            match reader.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    let sent = sent + n as u64;
                    if let Some(p) = &progress {
                        p(sent, total);
                    }
                    Some((Ok::<_, std::io::Error>(buf), (reader, sent)))
                }
                Err(e) => Some((Err(e), (reader, sent))),
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}

impl Client {
    /// Uploads the ciphertext in the file at `path` (streamed).
    pub async fn upload_file(
        &self,
        upload: &FileUpload,
        path: &Path,
        progress: Option<Progress>,
    ) -> Result<FileInfo> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        self.upload_file_from(upload, file, Some(len), progress)
            .await
    }

    /// Uploads the ciphertext `reader` yields (streamed); `len` is sent as
    /// `Content-Length` when known.
    pub async fn upload_file_from<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        upload: &FileUpload,
        reader: R,
        len: Option<u64>,
        progress: Option<Progress>,
    ) -> Result<FileInfo> {
        let mut req = self
            .authed(Method::POST, "/v1/files")?
            .header(FILE_METADATA_HEADER, metadata_header(upload)?)
            .header(CONTENT_TYPE, "application/octet-stream");
        if let Some(len) = len {
            req = req.header(CONTENT_LENGTH, len);
        }
        let resp = req.body(body_of(reader, len, progress)).send().await?;
        Ok(Self::checked(resp).await?.json().await?)
    }

    /// A file's metadata.
    pub async fn file(&self, id: FileId) -> Result<FileInfo> {
        self.call_json::<(), _>(Method::GET, &format!("/v1/files/{id}"), None)
            .await
    }

    /// Deletes a file (uploader or group admin).
    pub async fn delete_file(&self, id: FileId) -> Result<()> {
        self.call_unit::<()>(Method::DELETE, &format!("/v1/files/{id}"), None)
            .await
    }

    /// Stores the encrypted thumbnail of a file (uploader only); the server
    /// checks its SHA-256.
    pub async fn upload_thumbnail(&self, id: FileId, ciphertext: Vec<u8>) -> Result<FileInfo> {
        let hash = crate::messaging::sha256_hex(&ciphertext);
        let resp = self
            .authed(Method::PUT, &format!("/v1/files/{id}/thumbnail"))?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_HASH_HEADER, hash)
            .body(ciphertext)
            .send()
            .await?;
        Ok(Self::checked(resp).await?.json().await?)
    }

    /// Streams the file's ciphertext (or one range of it) into `writer`.
    pub async fn download_file<W: AsyncWrite + Unpin>(
        &self,
        id: FileId,
        range: Option<ByteRange>,
        writer: &mut W,
        progress: Option<Progress>,
    ) -> Result<Downloaded> {
        self.download(&format!("/v1/files/{id}/content"), range, writer, progress)
            .await
    }

    /// Streams the encrypted thumbnail (or one range of it) into `writer`.
    pub async fn download_thumbnail<W: AsyncWrite + Unpin>(
        &self,
        id: FileId,
        range: Option<ByteRange>,
        writer: &mut W,
    ) -> Result<Downloaded> {
        self.download(&format!("/v1/files/{id}/thumbnail"), range, writer, None)
            .await
    }

    async fn download<W: AsyncWrite + Unpin>(
        &self,
        path: &str,
        range: Option<ByteRange>,
        writer: &mut W,
        progress: Option<Progress>,
    ) -> Result<Downloaded> {
        let mut req = self.authed(Method::GET, path)?;
        if let Some(r) = range {
            req = req.header(RANGE, r.header());
        }
        let mut resp = Self::checked(req.send().await?).await?;
        let status = resp.status().as_u16();
        let content_range = resp
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let total = resp.content_length();
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            writer.write_all(&chunk).await?;
            bytes += chunk.len() as u64;
            if let Some(p) = &progress {
                p(bytes, total);
            }
        }
        writer.flush().await?;
        Ok(Downloaded {
            status,
            bytes,
            content_range,
        })
    }
}

/// What [`send_file`] uploaded: the file, the key that decrypts it (send it
/// to the other participants end-to-end encrypted) and the ciphertext's
/// lowercase hex SHA-256.
#[derive(Debug)]
pub struct SentFile {
    pub info: FileInfo,
    pub key: FileKey,
    pub content_hash: String,
}

/// What a file is sent as: everything of `FileUpload` but what encryption
/// decides (the hash, the sealed key).
#[derive(Clone, Debug)]
pub struct FileSpec {
    pub conversation_id: ConversationId,
    pub filename: String,
    pub mime_type: String,
    pub metadata: Option<serde_json::Value>,
    pub expires_in: Option<u64>,
}

/// Encrypts the plaintext file at `path` under a fresh key into a temporary
/// file, then uploads that. `seal` turns the key into the
/// `encryption_key_encrypted` stored with the file (e.g. sealed to the
/// uploader's own key); it must not be the plain key.
pub async fn send_file(
    client: &Client,
    path: &Path,
    spec: FileSpec,
    seal: impl FnOnce(&FileKey) -> Result<Vec<u8>>,
    progress: Option<Progress>,
) -> Result<SentFile> {
    let source = path.to_owned();
    let (temp, key, content_hash) = tokio::task::spawn_blocking(move || {
        let input = std::io::BufReader::new(std::fs::File::open(&source)?);
        let temp = tempfile::NamedTempFile::new()?;
        let output = std::io::BufWriter::new(temp.reopen()?);
        let (key, hash, _) = zynk_crypto::encrypt_stream(input, output)?;
        Ok::<_, SdkError>((temp, key, hash))
    })
    .await
    .map_err(|e| SdkError::State(format!("encryption task failed: {e}")))??;
    let sealed = seal(&key)?;
    let upload = FileUpload {
        conversation_id: spec.conversation_id,
        filename: spec.filename,
        mime_type: spec.mime_type,
        content_hash: content_hash.clone(),
        encryption_key_encrypted: {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(sealed)
        },
        metadata: spec.metadata,
        expires_in: spec.expires_in,
    };
    let info = client.upload_file(&upload, temp.path(), progress).await?;
    Ok(SentFile {
        info,
        key,
        content_hash,
    })
}

/// Downloads file `id` into a temporary file, checks its SHA-256 against
/// the file's `content_hash` (and `expected_hash`, the one the sender sent,
/// when given), and decrypts it with `key` into `dest`. `dest` is written
/// (atomically, by rename) only if all of that succeeds. Returns the
/// plaintext length.
pub async fn receive_file(
    client: &Client,
    id: FileId,
    key: &FileKey,
    expected_hash: Option<&str>,
    dest: &Path,
    progress: Option<Progress>,
) -> Result<u64> {
    let info = client.file(id).await?;
    if expected_hash.is_some_and(|h| h != info.content_hash) {
        return Err(SdkError::HashMismatch);
    }
    let temp = tempfile::NamedTempFile::new()?;
    let mut writer = HashingWriter {
        inner: tokio::fs::File::from_std(temp.reopen()?),
        hasher: Sha256::new(),
    };
    client
        .download_file(id, None, &mut writer, progress)
        .await?;
    let digest = writer.hasher.finalize();
    let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if actual != info.content_hash {
        return Err(SdkError::HashMismatch);
    }
    let key = key.clone();
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let input = std::io::BufReader::new(temp.reopen()?);
        let out = tempfile::NamedTempFile::new_in(&dir)?;
        let written =
            zynk_crypto::decrypt_stream(&key, input, std::io::BufWriter::new(out.reopen()?))?;
        out.persist(&dest).map_err(|e| SdkError::Io(e.error))?;
        Ok(written)
    })
    .await
    .map_err(|e| SdkError::State(format!("decryption task failed: {e}")))?
}

/// An `AsyncWrite` that hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for HashingWriter<W> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let poll = std::pin::Pin::new(&mut this.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            this.hasher.update(&buf[..*n]);
        }
        poll
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
