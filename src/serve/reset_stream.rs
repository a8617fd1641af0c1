//! A TCP stream that closes with RST (SO_LINGER 0) when its handler asked for a reset ([`super::ResetConnection`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

/// Set by the request handler; read when the connection is dropped.
#[derive(Clone, Default)]
pub struct ResetFlag(Arc<AtomicBool>);

impl ResetFlag {
    pub fn trip(&self) {
        self.0.store(true, Ordering::Release);
    }
}

pub struct ResettableStream {
    inner: TcpStream,
    flag: ResetFlag,
}

impl ResettableStream {
    pub fn new(inner: TcpStream, flag: ResetFlag) -> Self {
        Self { inner, flag }
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.flag.0.load(Ordering::Acquire) {
            // Linger 0 turns the close into an RST, which is what "connection reset" means to a client.
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

forward_async_write!([] ResettableStream);
