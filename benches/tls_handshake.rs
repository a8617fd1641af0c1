//! rustls handshakes in memory (no sockets): server-auth, mTLS and ticket resumption, ECDSA P-256 vs RSA 2048.

mod support;

use std::hint::black_box;
use std::io::Cursor;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, SanType,
};
use rsa::pkcs8::EncodePrivateKey;
use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
};

#[derive(Clone, Copy)]
enum KeyKind {
    EcdsaP256,
    Rsa2048,
}

impl KeyKind {
    fn label(self) -> &'static str {
        match self {
            KeyKind::EcdsaP256 => "ecdsa_p256",
            KeyKind::Rsa2048 => "rsa2048",
        }
    }

    fn generate(self) -> KeyPair {
        match self {
            KeyKind::EcdsaP256 => KeyPair::generate().expect("P-256 key"),
            KeyKind::Rsa2048 => {
                // ring cannot generate RSA keys; the rsa crate can, rcgen/ring then sign with it.
                let private =
                    rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
                let der = private.to_pkcs8_der().expect("PKCS#8");
                KeyPair::from_pkcs8_der_and_sign_algo(
                    &PrivatePkcs8KeyDer::from(der.as_bytes().to_vec()),
                    &PKCS_RSA_SHA256,
                )
                .expect("rcgen accepts the RSA key")
            }
        }
    }
}

struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A CA, a loopback server certificate and a client certificate, all with `kind` keys.
struct Pki {
    ca: CertificateDer<'static>,
    server: Identity,
    client: Identity,
}

fn pki(kind: KeyKind) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "bench CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = kind.generate();
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let mut server = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = kind.generate();
    let server_cert = server.signed_by(&server_key, &issuer).expect("server cert");

    let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
    client
        .distinguished_name
        .push(DnType::CommonName, "gatebench-client-0");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "gatebench-signal-sources");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = kind.generate();
    let client_cert = client.signed_by(&client_key, &issuer).expect("client cert");

    let identity = |cert: rcgen::Certificate, key: KeyPair| Identity {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    };
    Pki {
        ca: ca_cert.der().clone(),
        server: identity(server_cert, server_key),
        client: identity(client_cert, client_key),
    }
}

/// Server config shaped like the gateway's (`tls_config.rs`): ALPN h2 + http/1.1, client
/// certificates verified against the CA when `mtls`; `tickets` adds a stateless ticketer.
fn server_config(pki: &Pki, mtls: bool, tickets: bool) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder();
    let builder = if mtls {
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca.clone()).expect("CA root");
        let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
            .build()
            .expect("client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(pki.server.chain.clone(), pki.server.key.clone_key())
        .expect("server cert");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if tickets {
        config.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
    }
    Arc::new(config)
}

fn client_config(pki: &Pki, mtls: bool, resume: bool) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).expect("CA root");
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let mut config = if mtls {
        builder
            .with_client_auth_cert(pki.client.chain.clone(), pki.client.key.clone_key())
            .expect("client cert")
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resume {
        config.resumption = Resumption::disabled();
    }
    Arc::new(config)
}

/// Moves everything `from` has queued into `to` and lets `to` process it.
fn transfer(from: &mut Connection, to: &mut Connection, buf: &mut Vec<u8>) {
    buf.clear();
    while from.wants_write() {
        from.write_tls(buf).expect("write to Vec");
    }
    let mut cursor = Cursor::new(&buf[..]);
    while (cursor.position() as usize) < buf.len() {
        to.read_tls(&mut cursor).expect("read from slice");
        to.process_new_packets()
            .expect("handshake message accepted");
    }
}

/// One complete handshake, including the post-handshake tickets; returns whether it resumed.
fn handshake(client: &Arc<ClientConfig>, server: &Arc<ServerConfig>, buf: &mut Vec<u8>) -> bool {
    let name = ServerName::try_from("localhost").expect("server name");
    let mut client =
        Connection::Client(ClientConnection::new(client.clone(), name).expect("client connection"));
    let mut server =
        Connection::Server(ServerConnection::new(server.clone()).expect("server connection"));
    while client.is_handshaking() || server.is_handshaking() {
        transfer(&mut client, &mut server, buf);
        transfer(&mut server, &mut client, buf);
    }
    // TLS 1.3 tickets arrive after the server's last flight; the client must store them.
    transfer(&mut server, &mut client, buf);
    client.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

fn handshakes(c: &mut Criterion) {
    gatebench::tls::install_crypto_provider();
    let mut group = c.benchmark_group("tls_handshake");
    group.throughput(Throughput::Elements(1));
    for kind in [KeyKind::EcdsaP256, KeyKind::Rsa2048] {
        let pki = pki(kind);
        for (name, mtls, resume) in [
            ("server_auth", false, false),
            ("mtls", true, false),
            ("server_auth_resumed", false, true),
            ("mtls_resumed", true, true),
        ] {
            let server = server_config(&pki, mtls, resume);
            let client = client_config(&pki, mtls, resume);
            let mut buf = Vec::with_capacity(16 * 1024);
            // Primes the client's ticket store so every measured resumable handshake resumes.
            let first = handshake(&client, &server, &mut buf);
            assert!(!first, "a first handshake cannot resume");
            group.bench_function(BenchmarkId::new(name, kind.label()), |b| {
                b.iter(|| {
                    let resumed = handshake(black_box(&client), &server, &mut buf);
                    assert_eq!(
                        resumed, resume,
                        "{name}: resumption did not go as configured"
                    );
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = handshakes
}
criterion_main!(benches);
