//! Group commit of message inserts: senders queue their message and wait;
//! one task takes everything queued (up to `BATCH`) and writes it in a
//! single store transaction, so under load many messages share one commit.
//! No global lock is held by senders, only a queue slot.

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use zynk_store::{Inserted, NewMessage, Store, StoreError};

use std::sync::Arc;

/// Largest batch written in one transaction.
pub const BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Inserted, StoreError>>;

/// The handle senders use.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<(NewMessage, Reply)>,
}

impl Committer {
    /// Starts the writer task on `store`.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, rx) = mpsc::channel(BATCH * 16);
        tokio::spawn(run(store, rx));
        Self { tx }
    }

    /// Inserts one message; resolves after its transaction has committed.
    pub async fn insert(&self, message: NewMessage) -> Result<Inserted, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((message, reply))
            .await
            .map_err(|_| StoreError::Missing("message writer"))?;
        answer
            .await
            .map_err(|_| StoreError::Missing("message writer"))?
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(NewMessage, Reply)>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let (messages, replies): (Vec<NewMessage>, Vec<Reply>) = batch.drain(..).unzip();
        match store.insert_messages(messages.clone(), Utc::now()).await {
            Ok(results) if results.len() == replies.len() => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            Ok(_) | Err(_) if replies.len() > 1 => {
                // Isolate the failing message: retry one by one.
                for (message, reply) in messages.into_iter().zip(replies) {
                    let result = store.insert_messages(vec![message], Utc::now()).await;
                    let _ = reply.send(
                        result
                            .and_then(|mut r| r.pop().ok_or(StoreError::Missing("insert result"))),
                    );
                }
            }
            Ok(_) => {
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Missing("insert result")));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "message insert failed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Missing("message writer")));
                }
            }
        }
    }
}
