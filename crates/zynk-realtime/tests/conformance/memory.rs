//! The suite on `MemoryRealtime`: data-model TTLs, the tokio clock paused and
//! advanced (typing visible at 4.9 s, gone at 5.1 s, …).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use zynk_realtime::{MemoryRealtime, Ttls};

use crate::cases::{Clock, Ctx};

pub async fn run<F, Fut>(case: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::time::pause();
    let ttls = Ttls::default();
    case(Ctx {
        rt: Arc::new(MemoryRealtime::new(ttls)),
        ttls,
        margin: Duration::from_millis(100),
        clock: Clock::Paused,
        backend: "memory",
    })
    .await;
}

conformance!(run);
