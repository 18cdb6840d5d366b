//! Load shedding, the same for every door: a door admits each request under its limit on requests served at
//! once, and past the limit answers at once with its own "server too busy" (HTTP 503 with `Retry-After`, gRPC
//! `UNAVAILABLE`, Handle rc 3), counted with the outcome `overloaded`. Nothing waits for a permit: an
//! overloaded node answers quickly rather than slowly, and the client retries or goes elsewhere.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ErrorCode, NodeError};

/// The limit of one door (each door has its own, from its configuration section).
#[derive(Debug, Clone)]
pub struct Admission(Arc<Semaphore>);

/// A request admitted: it counts against the limit until this is dropped (for a stream, when the stream ends).
#[derive(Debug)]
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl Admission {
    /// A limit of `limit` requests at once (0 sheds everything).
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Semaphore::new(limit.min(Semaphore::MAX_PERMITS))))
    }

    /// Admits a request, or sheds it with the error every door renders as its "server too busy".
    pub fn admit(&self) -> Result<Admitted, NodeError> {
        self.0.clone().try_acquire_owned().map(Admitted).map_err(|_| busy())
    }
}

/// The message of a shed request's answer.
pub const BUSY: &str = "server too busy; retry later";

/// The answer to a shed request: overloaded, try again in a second.
pub fn busy() -> NodeError {
    NodeError::new(ErrorCode::Overloaded, BUSY).retry_after(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_past_the_limit_are_shed_until_one_ends() {
        let a = Admission::new(2);
        let (first, _second) = (a.admit().unwrap(), a.admit().unwrap());
        let shed = a.admit().unwrap_err();
        assert_eq!((shed.code, shed.retry_after_secs), (ErrorCode::Overloaded, Some(1)));
        drop(first);
        assert!(a.admit().is_ok());
        assert!(Admission::new(0).admit().is_err());
    }
}
