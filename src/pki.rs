//! `gatebench pki`: a dev CA, a server certificate for loopback and client certificates, plus CRL writing.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing certificate {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Serial of the server certificate; client `i` gets `CLIENT_SERIAL_BASE + i`.
pub const SERVER_SERIAL: u64 = 2;
pub const CLIENT_SERIAL_BASE: u64 = 100;

/// Flags of `gatebench pki`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Directory to write PEM files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of client certificates (client-0.pem ...).
    #[arg(long, default_value_t = 1)]
    pub clients: u32,
    /// Client certificate CN prefix; client i gets CN `<prefix><i>`.
    #[arg(long, default_value = "gatebench-client-")]
    pub client_cn_prefix: String,
    /// Organization (becomes the RBAC group) of every client certificate.
    #[arg(long, default_value = "gatebench-signal-sources")]
    pub client_org: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    generate(&args)?;
    println!(
        "{}",
        serde_json::json!({"event": "pki_written", "dir": args.out, "clients": args.clients})
    );
    Ok(())
}

fn write(path: PathBuf, contents: &str) -> Result<()> {
    std::fs::write(&path, contents).map_err(|source| Error::Io { path, source })
}

fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "gatebench dev CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(SerialNumber::from(1u64));
    Ok(params)
}

/// Writes `ca.pem ca-key.pem server.pem server-key.pem client-N.pem client-N-key.pem` into `args.out`.
pub fn generate(args: &Args) -> Result<()> {
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params()?.self_signed(&ca_key)?;
    write(args.out.join("ca.pem"), &ca_cert.pem())?;
    write(args.out.join("ca-key.pem"), &ca_key.serialize_pem())?;
    let issuer = Issuer::new(ca_params()?, ca_key);

    let mut server = CertificateParams::new(vec!["localhost".to_string()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    server
        .distinguished_name
        .push(DnType::CommonName, "gatebench-gateway");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.serial_number = Some(SerialNumber::from(SERVER_SERIAL));
    let server_key = KeyPair::generate()?;
    write(
        args.out.join("server.pem"),
        &server.signed_by(&server_key, &issuer)?.pem(),
    )?;
    write(args.out.join("server-key.pem"), &server_key.serialize_pem())?;

    for i in 0..args.clients {
        let mut client = CertificateParams::new(Vec::<String>::new())?;
        client
            .distinguished_name
            .push(DnType::CommonName, format!("{}{i}", args.client_cn_prefix));
        client
            .distinguished_name
            .push(DnType::OrganizationName, args.client_org.clone());
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        client.serial_number = Some(SerialNumber::from(CLIENT_SERIAL_BASE + u64::from(i)));
        let key = KeyPair::generate()?;
        write(
            args.out.join(format!("client-{i}.pem")),
            &client.signed_by(&key, &issuer)?.pem(),
        )?;
        write(
            args.out.join(format!("client-{i}-key.pem")),
            &key.serialize_pem(),
        )?;
    }
    Ok(())
}

/// Issues one more client certificate from the CA in `dir`: writes `<stem>.pem` and `<stem>-key.pem`.
pub fn issue_client(dir: &Path, stem: &str, cn: &str, org: &str, serial: u64) -> Result<()> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })
    };
    let ca_key = KeyPair::from_pem(&read("ca-key.pem")?)?;
    let issuer = Issuer::from_ca_cert_pem(&read("ca.pem")?, ca_key)?;
    let mut client = CertificateParams::new(Vec::<String>::new())?;
    client.distinguished_name.push(DnType::CommonName, cn);
    client
        .distinguished_name
        .push(DnType::OrganizationName, org);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    client.serial_number = Some(SerialNumber::from(serial));
    let key = KeyPair::generate()?;
    write(
        dir.join(format!("{stem}.pem")),
        &client.signed_by(&key, &issuer)?.pem(),
    )?;
    write(dir.join(format!("{stem}-key.pem")), &key.serialize_pem())
}

/// Serial number of the PEM certificate at `path` (to revoke it by file).
pub fn cert_serial(path: &Path) -> Result<u64> {
    let parse_err = |reason: String| Error::Parse {
        path: path.to_path_buf(),
        reason,
    };
    let pem_text = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(&pem_text).map_err(|e| parse_err(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| parse_err(e.to_string()))?;
    cert.serial
        .clone()
        .try_into()
        .map_err(|_| parse_err("serial does not fit in u64".into()))
}

/// Writes a PEM CRL to `out`, signed by the CA in `dir` (`ca.pem`, `ca-key.pem`), revoking `revoked` serials.
/// Written to a temp file and renamed so a watching gateway never reads half a CRL.
pub fn write_crl(dir: &Path, revoked: &[u64], out: &Path) -> Result<()> {
    write_crl_valid_for(dir, revoked, out, 30 * 24 * 3600)
}

/// As [`write_crl`], with nextUpdate `valid_for_secs` from now (negative: an already expired CRL).
pub fn write_crl_valid_for(
    dir: &Path,
    revoked: &[u64],
    out: &Path,
    valid_for_secs: i64,
) -> Result<()> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })
    };
    let ca_key = KeyPair::from_pem(&read("ca-key.pem")?)?;
    let issuer = Issuer::from_ca_cert_pem(&read("ca.pem")?, ca_key)?;
    let now = time::OffsetDateTime::now_utc();
    let params = CertificateRevocationListParams {
        this_update: (now - time::Duration::minutes(1))
            .min(now + time::Duration::seconds(valid_for_secs) - time::Duration::hours(1)),
        next_update: now + time::Duration::seconds(valid_for_secs),
        // Monotonic across rewrites, as RFC 5280 asks.
        crl_number: SerialNumber::from(now.unix_timestamp_nanos() as u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from(*serial),
                revocation_time: now - time::Duration::minutes(1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;
    // A gateway may be re-reading the CRL right now: it must see the old one or the new one.
    crate::fsutil::write_atomic(out, crl.pem()?.as_bytes(), crate::fsutil::PUBLIC).map_err(
        |source| Error::Io {
            path: out.to_path_buf(),
            source,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    #[test]
    fn writes_chain_and_crl() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            out: dir.path().to_path_buf(),
            clients: 2,
            client_cn_prefix: "c-".into(),
            client_org: "org".into(),
        };
        generate(&args).unwrap();
        for f in [
            "ca.pem",
            "ca-key.pem",
            "server.pem",
            "server-key.pem",
            "client-1.pem",
            "client-1-key.pem",
        ] {
            assert!(dir.path().join(f).exists(), "{f}");
        }
        let serial = cert_serial(&dir.path().join("client-1.pem")).unwrap();
        assert_eq!(serial, CLIENT_SERIAL_BASE + 1);
        let crl_path = dir.path().join("crl.pem");
        write_crl(dir.path(), &[serial], &crl_path).unwrap();
        let pem = std::fs::read(&crl_path).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        let (_, crl) =
            x509_parser::revocation_list::CertificateRevocationList::from_der(&pem.contents)
                .unwrap();
        let revoked: Vec<u64> = crl
            .iter_revoked_certificates()
            .map(|r| r.user_certificate.clone().try_into().unwrap())
            .collect();
        assert_eq!(revoked, vec![CLIENT_SERIAL_BASE + 1]);
    }
}
