//! The lean HTTP/1.1 client goose users send with: hyper 1.x connections over TCP or tokio-rustls
//! (the gateway's CA, a client certificate per identity), request headers built once per
//! identity, and how transport failures are classified.

use crate::loadtest::credentials::Credential;
use crate::loadtest::recording::Outcome;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How every connection of a target is made.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions {
    /// PEM CA bundle that signed the gateway's TLS certificate.
    pub ca_pem: Option<Vec<u8>>,
    /// One connection (and TLS handshake) per request instead of keep-alive.
    pub new_connection: bool,
    pub timeout: Duration,
    pub accept_invalid_certs: bool,
}

impl ClientOptions {
    pub fn connection_label(&self) -> &'static str {
        if self.new_connection {
            "new-connection-per-request"
        } else {
            "keepalive"
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--host {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("parsing --ca-cert: {0}")]
    Ca(String),
    #[error("client identity {index}: {reason}")]
    Identity { index: usize, reason: String },
    #[error("bearer token {index} is not a valid header value")]
    Token { index: usize },
    #[error("TLS client config: {0}")]
    Tls(#[from] rustls::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// One open HTTP/1.1 connection; its I/O runs in a task of its own until it is dropped.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }
}

/// Dials and sends to one gateway URL with a fixed set of identities.
pub struct Client {
    tls: bool,
    host: String,
    port: u16,
    path: Uri,
    /// One per client-certificate identity, else one shared config (https) or none (http).
    tls_configs: Vec<Arc<ClientConfig>>,
    /// Request headers per identity (bearer), else one set for all.
    headers: Vec<HeaderMap>,
    addrs: tokio::sync::OnceCell<Vec<SocketAddr>>,
    opts: ClientOptions,
}

impl Client {
    pub fn new(url: &str, path: &str, opts: &ClientOptions, creds: &[Credential]) -> Result<Self> {
        let bad = |reason: &str| Error::Url {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("scheme must be http or https")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority.host().trim_matches(['[', ']']).to_string();
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let full_path = format!("{}{path}", uri.path().trim_end_matches('/'));
        let path: Uri = full_path.parse().map_err(|_| bad("bad path"))?;
        let host_header =
            HeaderValue::from_str(authority.as_str()).map_err(|_| bad("bad authority"))?;
        let certificates = matches!(creds.first(), Some(Credential::Certificate(_)));
        // Certificates are read even for plain http: unusable credentials fail the run up front.
        let tls_configs = match (tls, certificates) {
            (false, false) => Vec::new(),
            (true, false) => vec![tls_config(opts, None)?],
            (_, true) => creds
                .iter()
                .enumerate()
                .map(|(index, c)| match c {
                    Credential::Certificate(pem) => tls_config(opts, Some((index, pem))),
                    _ => tls_config(opts, None),
                })
                .collect::<Result<_>>()?,
        };
        let headers = if creds.iter().any(|c| matches!(c, Credential::Bearer(_))) {
            creds
                .iter()
                .enumerate()
                .map(|(index, c)| headers(&host_header, c, index))
                .collect::<Result<_>>()?
        } else {
            vec![headers(&host_header, &Credential::Anonymous, 0)?]
        };
        Ok(Client {
            tls,
            host,
            port,
            path,
            tls_configs,
            headers,
            addrs: tokio::sync::OnceCell::new(),
            opts: opts.clone(),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Which connection a request of `identity` needs: its own where the identity is a client
    /// certificate (the identity is per connection), else any (slot 0).
    pub fn slot(&self, identity: usize) -> usize {
        if self.tls_configs.len() > 1 {
            identity % self.tls_configs.len()
        } else {
            0
        }
    }

    /// The request for `identity` with `body`: headers are clones of ones built once (values
    /// are shared, nothing is formatted per request).
    pub fn request(&self, identity: usize, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = self.path.clone();
        *req.headers_mut() = self.headers[identity % self.headers.len()].clone();
        req
    }

    /// A new connection for `slot`: TCP, TLS with that slot's identity, HTTP/1.1 handshake.
    pub async fn connect(&self, slot: usize) -> std::result::Result<Conn, &'static str> {
        let addrs = self
            .addrs
            .get_or_try_init(|| async {
                tokio::net::lookup_host((self.host.as_str(), self.port))
                    .await
                    .map(|a| a.collect::<Vec<_>>())
            })
            .await
            .map_err(|_| "connect")?;
        let tcp = TcpStream::connect(addrs.as_slice())
            .await
            .map_err(|_| "connect")?;
        // Requests are small and latency is the measurement: never wait on Nagle.
        let _ = tcp.set_nodelay(true);
        let builder = hyper::client::conn::http1::Builder::new();
        let sender = if self.tls {
            let config = self.tls_configs[slot.min(self.tls_configs.len() - 1)].clone();
            let name = ServerName::try_from(self.host.clone()).map_err(|_| "tls")?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| io_kind(&e, "tls"))?;
            let (sender, conn) = builder
                .handshake(TokioIo::new(stream))
                .await
                .map_err(|e| kind(&e))?;
            tokio::spawn(conn);
            sender
        } else {
            let (sender, conn) = builder
                .handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| kind(&e))?;
            tokio::spawn(conn);
            sender
        };
        Ok(Conn { sender })
    }

    /// Sends `req` and reads the whole response, within the request timeout. Uses `conn` when
    /// it is open (and leaves it there for the next request), else dials one for `slot`; with
    /// `new_connection` it always dials and drops the connection after the response.
    pub async fn send(
        &self,
        conn: &mut Option<Conn>,
        slot: usize,
        req: Request<Full<Bytes>>,
    ) -> Outcome {
        let timeout = self.opts.timeout;
        match tokio::time::timeout(timeout, self.send_inner(conn, slot, req)).await {
            Ok(Ok(status)) => Outcome::Status(status),
            Ok(Err(kind)) => {
                *conn = None;
                Outcome::Error(kind)
            }
            Err(_) => {
                *conn = None;
                Outcome::Error("timeout")
            }
        }
    }

    async fn send_inner(
        &self,
        conn: &mut Option<Conn>,
        slot: usize,
        req: Request<Full<Bytes>>,
    ) -> std::result::Result<u16, &'static str> {
        let reused = !self.opts.new_connection && conn.as_ref().is_some_and(Conn::is_open);
        if !reused {
            *conn = Some(self.connect(slot).await?);
        }
        let mut sender = &mut conn.as_mut().expect("connected above").sender;
        if reused && sender.ready().await.is_err() {
            // The gateway closed this kept-alive connection while it sat idle.
            *conn = Some(self.connect(slot).await?);
            sender = &mut conn.as_mut().expect("connected above").sender;
        }
        sender.ready().await.map_err(|e| kind(&e))?;
        let response = match sender.try_send_request(req).await {
            Ok(r) => r,
            Err(mut e) => match e.take_message() {
                // Closed before this request was written: it never left, so send it once on
                // a fresh connection (what any HTTP client does for an unsent request).
                Some(req) if reused => {
                    *conn = Some(self.connect(slot).await?);
                    let sender = &mut conn.as_mut().expect("connected above").sender;
                    sender.ready().await.map_err(|e| kind(&e))?;
                    sender.send_request(req).await.map_err(|e| kind(&e))?
                }
                _ => return Err(kind(e.error())),
            },
        };
        let status = response.status().as_u16();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame.map_err(|_| "body")?;
        }
        if self.opts.new_connection {
            *conn = None;
        }
        Ok(status)
    }
}

fn headers(host: &HeaderValue, credential: &Credential, index: usize) -> Result<HeaderMap> {
    let mut h = HeaderMap::with_capacity(4);
    h.insert(HOST, host.clone());
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(USER_AGENT, HeaderValue::from_static("gatebench-loadtest"));
    if let Credential::Bearer(token) = credential {
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| Error::Token { index })?;
        value.set_sensitive(true);
        h.insert(AUTHORIZATION, value);
    }
    Ok(h)
}

fn tls_config(opts: &ClientOptions, identity: Option<(usize, &[u8])>) -> Result<Arc<ClientConfig>> {
    let builder = if opts.accept_invalid_certs {
        ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert::new()))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &opts.ca_pem {
            Some(pem) => {
                for cert in CertificateDer::pem_slice_iter(pem) {
                    roots
                        .add(cert.map_err(|e| Error::Ca(e.to_string()))?)
                        .map_err(|e| Error::Ca(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(Error::Ca("no certificate in the bundle".into()));
                }
            }
            None => {
                // No CA given: the system's roots, as any HTTPS client would use.
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        ClientConfig::builder().with_root_certificates(roots)
    };
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((index, pem)) => {
            let bad = |reason: String| Error::Identity { index, reason };
            let chain = CertificateDer::pem_slice_iter(pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if chain.is_empty() {
                return Err(bad("no certificate in the PEM".into()));
            }
            let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| bad(e.to_string()))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(e.to_string()))?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `--accept-invalid-certs`: any server certificate is taken, signatures still checked.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<rustls::crypto::CryptoProvider>);

impl AcceptAnyServerCert {
    fn new() -> Self {
        AcceptAnyServerCert(Arc::new(rustls::crypto::ring::default_provider()))
    }
}

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Transport error kind of a hyper error for the summary's `errors` map.
fn kind(e: &hyper::Error) -> &'static str {
    if has_tls_cause(e) {
        "tls"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_incomplete_message()
        || e.is_canceled()
        || e.is_closed()
        || std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .is_some()
    {
        "reset"
    } else {
        "other"
    }
}

/// `fallback` unless the I/O error carries a TLS alert or failure.
fn io_kind(e: &std::io::Error, fallback: &'static str) -> &'static str {
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        "tls"
    } else {
        fallback
    }
}

/// Whether a rustls error (a refused client certificate, a bad server certificate) is behind `e`.
/// io::Error hides its payload from `source()`, so each one in the chain is opened by hand.
fn has_tls_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(1),
            ..Default::default()
        }
    }

    #[test]
    fn parses_urls_and_builds_headers_once() {
        crate::tls::install_crypto_provider();
        let creds = [
            Credential::Bearer("t0".into()),
            Credential::Bearer("t1".into()),
        ];
        let c = Client::new("http://127.0.0.1:8080/prefix/", "/api/x", &opts(), &creds).unwrap();
        assert_eq!((c.port, c.tls), (8080, false));
        let req = c.request(1, Bytes::from_static(b"{}"));
        assert_eq!(req.uri().path(), "/prefix/api/x");
        assert_eq!(req.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(req.headers()[AUTHORIZATION], "Bearer t1");
        assert!(req.headers()[AUTHORIZATION].is_sensitive());
        assert_eq!(c.slot(1), 0, "bearer identities share connections");
        let https = Client::new("https://localhost", "/", &opts(), &[]).unwrap();
        assert_eq!(https.port, 443);
        assert!(Client::new("ftp://x", "/", &opts(), &[]).is_err());
    }

    #[test]
    fn rejects_bad_pem() {
        crate::tls::install_crypto_provider();
        let bad = [Credential::Certificate(b"not a pem".to_vec())];
        let e = Client::new("https://localhost:1", "/", &opts(), &bad)
            .err()
            .unwrap();
        assert!(matches!(e, Error::Identity { index: 0, .. }), "{e}");
        let bad_ca = ClientOptions {
            ca_pem: Some(
                b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            ..opts()
        };
        assert!(Client::new("https://localhost:1", "/", &bad_ca, &[]).is_err());
        assert!(
            Client::new("http://localhost:1", "/", &bad_ca, &[]).is_ok(),
            "plain http never reads the CA"
        );
    }

    #[test]
    fn finds_tls_causes_behind_io_errors() {
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRevoked);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, alert);
        assert!(has_tls_cause(&io));
        assert_eq!(io_kind(&io, "connect"), "tls");
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(!has_tls_cause(&plain));
        assert_eq!(io_kind(&plain, "connect"), "connect");
    }
}
