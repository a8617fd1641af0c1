//! Tells HTTP/2 from HTTP/1 by the first bytes, within a deadline, and hands them back.
//!
//! hyper-util's auto builder does the same read with no timeout at all, so a client that connects
//! and sends nothing (or half the HTTP/2 preface) held its connection open for ever.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::time::Instant;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http1,
    Http2,
}

/// Reads until the bytes either are the whole HTTP/2 preface or stop matching it. `None` when the
/// peer closed or `deadline` passed first.
pub async fn detect<IO: AsyncRead + Unpin>(
    io: &mut IO,
    deadline: Instant,
) -> io::Result<Option<(Protocol, Bytes)>> {
    let mut read = BytesMut::with_capacity(H2_PREFACE.len());
    loop {
        let seen = read.len().min(H2_PREFACE.len());
        if read[..seen] != H2_PREFACE[..seen] {
            return Ok(Some((Protocol::Http1, read.freeze())));
        }
        if seen == H2_PREFACE.len() {
            return Ok(Some((Protocol::Http2, read.freeze())));
        }
        match tokio::time::timeout_at(deadline, io.read_buf(&mut read)).await {
            Ok(Ok(0)) | Err(_) => return Ok(None),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// `inner` with `prefix` (bytes already read from it) put back in front.
pub struct Rewind<IO> {
    prefix: Bytes,
    inner: IO,
}

impl<IO> Rewind<IO> {
    pub fn new(prefix: Bytes, inner: IO) -> Self {
        Rewind { prefix, inner }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

forward_async_write!([IO: tokio::io::AsyncWrite + Unpin] Rewind<IO>);

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;

    async fn detect_bytes(sent: &[u8]) -> Option<(Protocol, Bytes)> {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(sent).await.unwrap();
        let deadline = Instant::now() + Duration::from_millis(200);
        detect(&mut server, deadline).await.unwrap()
    }

    #[tokio::test]
    async fn tells_protocols_apart_and_times_out_on_half_a_preface() {
        let (p, bytes) = detect_bytes(b"POST / HTTP/1.1\r\n").await.unwrap();
        assert_eq!(p, Protocol::Http1);
        assert!(bytes.starts_with(b"PO"));
        let (p, _) = detect_bytes(H2_PREFACE).await.unwrap();
        assert_eq!(p, Protocol::Http2);
        assert!(detect_bytes(b"PRI * HTTP/2.0\r\n").await.is_none());
        assert!(detect_bytes(b"").await.is_none());
    }

    #[tokio::test]
    async fn rewind_replays_the_prefix_first() {
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(b"world").await.unwrap();
        drop(client);
        let mut io = Rewind::new(Bytes::from_static(b"hello "), server);
        let mut all = String::new();
        io.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
    }
}
