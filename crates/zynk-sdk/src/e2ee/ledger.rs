//! The client's view of the public ledger: the last signed head it has seen,
//! checked for consistency with every newer head (an inconsistent head means
//! the operator rewrote history: reported loudly), and contacts' identity
//! keys checked against their DIDs' latest confirmed transactions.
//!
//! The ledger key is pinned on first use, like contacts' identity keys.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zynk_ledger::{Hash, Transaction, verify_checkpoint, verify_consistency, verify_inclusion};
use zynk_proto::UserId;

use super::Messenger;
use crate::{Result, SdkError};

/// The newest signed head this client has verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerHead {
    /// The pinned ledger public key (base64).
    pub public_key: String,
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    pub number: u64,
}

fn b64(s: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .map_err(|_| SdkError::Ledger(format!("not base64: {s}")))
}

fn hash(s: &str) -> Result<Hash> {
    b64(s)?
        .try_into()
        .map_err(|_| SdkError::Ledger("a hash is not 32 bytes".into()))
}

fn field<'a>(v: &'a Value, path: &str) -> Result<&'a Value> {
    v.pointer(path)
        .ok_or_else(|| SdkError::Ledger(format!("missing {path} in the server's answer")))
}

fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str> {
    field(v, path)?
        .as_str()
        .ok_or_else(|| SdkError::Ledger(format!("{path} is not a string")))
}

fn hashes(v: &Value, path: &str) -> Result<Vec<Hash>> {
    field(v, path)?
        .as_array()
        .ok_or_else(|| SdkError::Ledger(format!("{path} is not a list")))?
        .iter()
        .map(|h| hash(h.as_str().unwrap_or_default()))
        .collect()
}

impl Messenger {
    /// The pinned ledger key (pinned on first use).
    async fn ledger_key(&mut self) -> Result<ed25519_dalek::VerifyingKey> {
        let pinned = match &self.state.ledger_head {
            Some(h) => h.public_key.clone(),
            None => text(
                &self.client.ledger_raw("/v1/ledger/key").await?,
                "/public_key",
            )?
            .to_owned(),
        };
        let bytes: [u8; 32] = b64(&pinned)?
            .try_into()
            .map_err(|_| SdkError::Ledger("the ledger key is not 32 bytes".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map_err(|_| SdkError::Ledger("the ledger key is not an Ed25519 key".into()))?;
        Ok(key)
    }

    /// Verifies a signed block (a checkpoint) and checks it against the last
    /// head seen: a smaller tree is fine if consistent, a larger one must be
    /// proved consistent; the newest becomes the remembered head.
    async fn accept_head(&mut self, block: &Value) -> Result<zynk_ledger::Checkpoint> {
        let key = self.ledger_key().await?;
        let cp = verify_checkpoint(&key, text(block, "/checkpoint")?)
            .map_err(|e| SdkError::Ledger(format!("the head's signature does not verify: {e}")))?;
        let public_key = STANDARD.encode(key.as_bytes());
        if let Some(last) = self.state.ledger_head.clone() {
            let last_root = hash(&last.root)?;
            let (old, new, old_root, new_root) = if cp.size >= last.size {
                (last.size, cp.size, last_root, cp.root)
            } else {
                (cp.size, last.size, cp.root, last_root)
            };
            let proof = if old == new || old == 0 {
                Vec::new()
            } else {
                let path = format!("/v1/ledger/proof/consistency?from={old}&to={new}");
                match self.client.ledger_raw(&path).await {
                    Ok(v) => hashes(&v, "/proof")?,
                    // A server that cannot prove its head extends (or is
                    // extended by) the one seen before is as bad as a failing proof.
                    Err(SdkError::Api { problem, .. }) => {
                        return Err(SdkError::Ledger(format!(
                            "INCONSISTENT LEDGER: the server cannot prove that its log of size {} and the one of size {} \
                             seen before are one history ({})",
                            cp.size,
                            last.size,
                            problem.detail.unwrap_or(problem.title)
                        )));
                    }
                    Err(e) => return Err(e),
                }
            };
            verify_consistency(old, new, &old_root, &new_root, &proof).map_err(|e| {
                SdkError::Ledger(format!(
                    "INCONSISTENT LEDGER: the head of size {} is not an extension of the one of size {} seen before ({e}); \
                     the server may have rewritten its history",
                    new, old
                ))
            })?;
            if cp.size <= last.size {
                return Ok(cp);
            }
        }
        self.state.ledger_head = Some(LedgerHead {
            public_key,
            size: cp.size,
            root: STANDARD.encode(cp.root),
            number: cp.number,
        });
        self.save()?;
        Ok(cp)
    }

    /// Fetches the ledger's latest signed head and checks it (signature with
    /// the pinned key, consistency with the last head this client saw).
    pub async fn check_ledger(&mut self) -> Result<LedgerHead> {
        let head = self.client.ledger_raw("/v1/ledger/head").await?;
        self.accept_head(&head).await?;
        self.state
            .ledger_head
            .clone()
            .ok_or_else(|| SdkError::Ledger("no head".into()))
    }

    /// Checks that the identity key this client trusts for `user` is the key
    /// of their DID's latest confirmed ledger transaction: the transaction is
    /// proved included under a signed, consistent head.
    pub async fn check_identity_on_ledger(&mut self, user: UserId) -> Result<()> {
        let trusted = self.trusted_identity(user).await?;
        let doc = self
            .client
            .ledger_raw(&format!("/v1/did/did:zynk:{user}"))
            .await?;
        let proof = field(&doc, "/ledgerProof")?.clone();
        let cp = self.accept_head(field(&proof, "/block")?).await?;
        let bytes = b64(text(&proof, "/transaction/bytes")?)?;
        let index = field(&proof, "/leaf_index")?.as_u64().unwrap_or(u64::MAX);
        let path = hashes(&proof, "/inclusion_proof")?;
        verify_inclusion(
            &zynk_ledger::merkle::hash_leaf(&bytes),
            index,
            cp.size,
            &path,
            &cp.root,
        )
        .map_err(|e| {
            SdkError::Ledger(format!(
                "the DID's transaction is not in the signed log: {e}"
            ))
        })?;
        let did = format!("did:zynk:{user}");
        let key = match Transaction::decode(&bytes).map_err(|e| SdkError::Ledger(e.to_string()))? {
            Transaction::IdentityRegistration {
                did: d,
                user_identity_key,
                ..
            } if d == did => user_identity_key,
            Transaction::IdentityKeyRotation {
                did: d, new_key, ..
            } if d == did => new_key,
            _ => {
                return Err(SdkError::Ledger(
                    "the DID's latest transaction is not an identity transaction".into(),
                ));
            }
        };
        if b64(&trusted)? != key {
            return Err(SdkError::Ledger(format!(
                "the identity key of user {user} is not the one on the public ledger"
            )));
        }
        Ok(())
    }
}
