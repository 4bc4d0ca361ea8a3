//! `zynk verify <message-id>`: proves, offline, that a message's ciphertext
//! is anchored in the ledger. The ciphertext comes from the history (as any
//! participant sees it) and its SHA-256 is recomputed here, never taken from
//! the server; the proof bundle is checked with
//! `zynk_ledger::verify_message_proof` (batch path, anchor transaction, log
//! inclusion, signed checkpoint).

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zynk_ledger::{Hash, MessageProof, verify_message_proof};
use zynk_proto::MessageId;

use super::messages::find_message;
use crate::context::{Ctx, parse_id};

pub async fn verify(ctx: &Ctx, id: &str) -> Result<()> {
    let id: MessageId = parse_id("message id", id)?;
    let mut s = ctx.open().await?;
    let client = s.m.client();
    let message = find_message(client, id).await?;
    let ciphertext = message
        .encrypted_content
        .as_deref()
        .ok_or_else(|| anyhow!("message {id} has no content (deleted?)"))?;
    let ciphertext = STANDARD
        .decode(ciphertext)
        .context("the ciphertext is not base64")?;
    let content: Hash = Sha256::digest(&ciphertext).into();
    let bundle = match client.message_proof(id).await {
        Ok(b) => b,
        Err(e) if e.status() == Some(409) => {
            bail!("message {id} is not anchored yet; try again after the next ledger block")
        }
        Err(e) => return Err(e.into()),
    };
    // The ledger key is pinned on first use and the head proved consistent
    // with the last one this profile saw.
    let head =
        s.m.check_ledger()
            .await
            .context("checking the ledger head")?;
    let key = hash32(&bundle["ledger_public_key"], b64)?;
    let pinned = STANDARD
        .decode(&head.public_key)
        .context("bad pinned ledger key")?;
    if pinned != key {
        bail!(
            "message {id}: the proof is signed by a ledger key other than the one this profile pinned"
        );
    }
    let key = VerifyingKey::from_bytes(&key).context("bad ledger public key")?;
    let path = hashes(&bundle["batch_path"], hex)?;
    let root = hash32(&bundle["merkle_root"], hex)?;
    let tx = b64(&bundle["transaction"]["bytes_base64"])?;
    let inclusion = hashes(&bundle["inclusion_proof"]["hashes"], b64)?;
    let proof = MessageProof {
        leaf_index: int(&bundle["leaf_index"])?,
        batch_size: int(&bundle["batch_size"])?,
        batch_path: &path,
        merkle_root: &root,
        tx_bytes: &tx,
        tx_index: int(&bundle["transaction"]["leaf_index_in_log"])?,
        log_size: int(&bundle["inclusion_proof"]["size"])?,
        inclusion_proof: &inclusion,
        checkpoint: bundle["block"]["checkpoint"]
            .as_str()
            .ok_or_else(|| anyhow!("the proof has no checkpoint"))?,
    };
    let checkpoint = verify_message_proof(&proof, id.0.as_bytes(), &content, &key)
        .map_err(|e| anyhow!("message {id}: the proof does NOT verify: {e}"))?;
    let key_b64 = STANDARD.encode(key.as_bytes());
    ctx.out.emit(
        format!(
            "OK: message {id} is anchored in block {} (log size {}, ledger key {key_b64})",
            checkpoint.number, checkpoint.size
        ),
        json!({
            "type": "verified",
            "message_id": id,
            "content_hash": zynk_ledger::hex::encode(&content),
            "block": checkpoint.number,
            "log_size": checkpoint.size,
            "ledger_public_key": key_b64,
        }),
    );
    Ok(())
}

fn b64(v: &Value) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("the proof is malformed"))?;
    STANDARD
        .decode(s)
        .map_err(|_| anyhow!("the proof is malformed (base64)"))
}

fn hex(v: &Value) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| anyhow!("the proof is malformed"))?;
    zynk_ledger::hex::decode(s).ok_or_else(|| anyhow!("the proof is malformed (hex)"))
}

fn hash32(v: &Value, decode: fn(&Value) -> Result<Vec<u8>>) -> Result<[u8; 32]> {
    decode(v)?
        .try_into()
        .map_err(|_| anyhow!("the proof is malformed (hash length)"))
}

fn hashes(v: &Value, decode: fn(&Value) -> Result<Vec<u8>>) -> Result<Vec<Hash>> {
    v.as_array()
        .ok_or_else(|| anyhow!("the proof is malformed"))?
        .iter()
        .map(|h| hash32(h, decode))
        .collect()
}

fn int(v: &Value) -> Result<u64> {
    v.as_u64()
        .ok_or_else(|| anyhow!("the proof is malformed (number)"))
}
