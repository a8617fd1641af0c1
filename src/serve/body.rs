//! A request body that must arrive whole within a deadline from its head: a client trickling one
//! byte a second cannot hold a request (and its connection) open for longer.
//!
//! tower-http's `TimeoutBody` bounds the wait for each frame, which such a client passes; this
//! bounds the whole body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body not received within {0:?}")]
    Timeout(Duration),
    #[error("reading request body: {0}")]
    Read(#[from] hyper::Error),
}

impl BodyError {
    /// Whether `err` (as boxed by body combinators such as `Limited`) is a body timeout.
    pub fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
        matches!(err.downcast_ref::<BodyError>(), Some(BodyError::Timeout(_)))
    }
}

/// hyper's body with a deadline; the timer is only armed when the body is not already buffered.
pub struct RequestBody {
    inner: Incoming,
    deadline: Instant,
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl RequestBody {
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        RequestBody {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            sleep: None,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(BodyError::Read)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Timeout(this.timeout)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
