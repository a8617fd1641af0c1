//! A keep-alive HTTP/1.1 client connection over loopback TCP, plain or TLS, for request-level benches.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// One connection; every request reuses it, so no handshake is measured per request.
pub struct KeepAlive {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

/// `host:port` of an `http(s)://host:port` URL.
pub fn authority(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

impl KeepAlive {
    /// Connects in plain text to `url`'s host and port.
    pub async fn plain(url: &str) -> Self {
        let authority = authority(url).to_string();
        let stream = TcpStream::connect(&authority).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self::handshake(stream, authority).await
    }

    /// Connects with TLS (`config` decides server trust and any client certificate).
    pub async fn tls(url: &str, config: Arc<rustls::ClientConfig>) -> Self {
        let authority = authority(url).to_string();
        let stream = TcpStream::connect(&authority).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let ip = stream.peer_addr().expect("peer address").ip();
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(ServerName::IpAddress(ip.into()), stream)
            .await
            .expect("TLS handshake");
        Self::handshake(tls, authority).await
    }

    async fn handshake<S>(io: S, authority: String) -> Self
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes; either is the bench's end.
            let _ = connection.await;
        });
        KeepAlive { sender, authority }
    }

    /// POSTs a JSON `body` to `path`, optionally with a bearer token; returns status and body.
    pub async fn post_json(
        &mut self,
        path: &str,
        bearer: Option<&str>,
        body: Bytes,
    ) -> (StatusCode, Bytes) {
        let mut request = Request::post(path)
            .header(http::header::HOST, &self.authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(body)).expect("valid request");
        self.sender.ready().await.expect("connection usable");
        let response = self
            .sender
            .send_request(request)
            .await
            .expect("response arrives");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body arrives")
            .to_bytes();
        (status, body)
    }
}

/// rustls client config trusting `ca_pem`, with an optional client certificate (PEM chain, PEM key).
pub fn tls_client_config(
    ca_pem: &str,
    client_cert: Option<(&str, &str)>,
) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA root");
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let mut config = match client_cert {
        Some((chain_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("client chain PEM");
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("client key PEM");
            builder
                .with_client_auth_cert(chain, key)
                .expect("client certificate")
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}
