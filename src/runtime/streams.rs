//! Streamed listings (every handle under a prefix, REST and gRPC alike), each on a blocking thread for as long
//! as its client reads: at most `node.max_listings_per_client` per client (an address; IPv6 per /56) and
//! `node.max_listings` in all, so that clients that open listings and never read cannot take every blocking
//! thread. Past either, a listing is refused at once with "overloaded, retry later".

use std::net::IpAddr;
use std::sync::Arc;

use crate::error::{ErrorCode, NodeError};
use crate::net::{ClientPlace, PerClient};
use crate::node::{DEFAULT_MAX_LISTINGS as STREAMS, DEFAULT_MAX_LISTINGS_PER_CLIENT as STREAMS_PER_CLIENT};
use crate::request::{Admission, Admitted};

/// Seconds a refused client is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

pub(crate) struct Streams {
    clients: Arc<PerClient>,
    per_client: usize,
    max: usize,
    running: Admission,
}

impl Default for Streams {
    fn default() -> Self {
        Self::new(STREAMS_PER_CLIENT, STREAMS)
    }
}

/// A running listing's places, given back when it ends.
pub(crate) struct StreamPlace {
    _client: ClientPlace,
    _running: Admitted,
}

impl Streams {
    /// At most `per_client` listings per client and `max` in all.
    pub(super) fn new(per_client: usize, max: usize) -> Self {
        Self { clients: PerClient::new(per_client), per_client, max, running: Admission::new(max) }
    }

    /// Places for a listing of `client`, unless it or the node runs as many as allowed already.
    pub(super) fn enter(&self, client: Option<IpAddr>) -> Result<StreamPlace, NodeError> {
        let busy = |why: String| NodeError::new(ErrorCode::Overloaded, why).retry_after(RETRY_AFTER_SECS);
        let place = self.clients.enter(client).ok_or_else(|| {
            let n = self.per_client;
            busy(format!(
                "this client runs {n} listings already (node.max_listings_per_client); retry when one is done"
            ))
        })?;
        let max = self.max;
        let running = self
            .running
            .admit()
            .map_err(|_| busy(format!("{max} listings are running already (node.max_listings); retry later")))?;
        Ok(StreamPlace { _client: place, _running: running })
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::mpsc;

    use super::{STREAMS, STREAMS_PER_CLIENT};
    use crate::error::ErrorCode;
    use crate::runtime::Runtime;

    /// Listings whose clients never read (each blocked until `release` is dropped) hold their places; past the
    /// caps a listing is refused at once, and the places come back when the listings end.
    #[tokio::test]
    async fn listings_that_never_read_cannot_take_every_blocking_thread() {
        let runtime = Runtime::default();
        let (release, held) = mpsc::channel::<()>();
        let held = std::sync::Arc::new(std::sync::Mutex::new(held));
        let stall = || {
            let held = held.clone();
            move || {
                let _ = held.lock().unwrap().recv();
            }
        };
        let client = |i: u8| Some(IpAddr::from([10, 0, 0, i]));
        for _ in 0..STREAMS_PER_CLIENT {
            runtime.stream(client(1), stall()).unwrap();
        }
        let refused = runtime.stream(client(1), stall()).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Overloaded, "{refused:?}");
        // Other clients fill the node up to its cap, then nobody gets another.
        for k in STREAMS_PER_CLIENT..STREAMS {
            let i = u8::try_from(2 + k / STREAMS_PER_CLIENT).unwrap();
            runtime.stream(client(i), stall()).unwrap();
        }
        assert_eq!(runtime.stream(client(250), stall()).unwrap_err().code, ErrorCode::Overloaded);
        drop(release);
        // The listings end and give their places back.
        for _ in 0..200 {
            if runtime.stream(client(1), || {}).is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the places were not given back");
    }
}
