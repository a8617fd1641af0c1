//! The command lines of etcd and kube-apiserver, as envtest builds them (plus what gatebench needs).

use super::pki::Layout;

/// Loopback ports of the control plane, fixed for its lifetime so a restart comes back on the same URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub apiserver: u16,
    pub etcd_client: u16,
    pub etcd_peer: u16,
}

/// Knobs of kube-apiserver that gatebench varies.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiserverFlags {
    /// `iss` of ServiceAccount tokens (and the default API audience), as the stand-in's default.
    pub issuer: String,
    /// `--max-requests-inflight` (kube default 400): the non-mutating share APF divides.
    pub max_requests_inflight: Option<u32>,
    /// `--max-mutating-requests-inflight` (kube default 200). TokenReview and SAR are `create`s.
    pub max_mutating_requests_inflight: Option<u32>,
    /// Passed through unchanged, after everything else.
    pub extra: Vec<String>,
}

impl Default for ApiserverFlags {
    fn default() -> Self {
        Self {
            issuer: "https://kubernetes.default.svc.cluster.local".into(),
            max_requests_inflight: None,
            max_mutating_requests_inflight: None,
            extra: Vec::new(),
        }
    }
}

pub fn etcd(layout: &Layout, ports: Ports) -> Vec<String> {
    let client = format!("http://127.0.0.1:{}", ports.etcd_client);
    let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
    vec![
        "--name=gatebench".into(),
        format!("--data-dir={}", layout.etcd_data().display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster=gatebench={peer}"),
        // As envtest: the data is throwaway, and fsync on a shared disk only adds noise.
        "--unsafe-no-fsync=true".into(),
        "--log-level=warn".into(),
    ]
}

pub fn kube_apiserver(layout: &Layout, ports: Ports, flags: &ApiserverFlags) -> Vec<String> {
    let path = |p: std::path::PathBuf| p.display().to_string();
    let mut args = vec![
        format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
        format!("--secure-port={}", ports.apiserver),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        // No kubelet or in-cluster client reads the `kubernetes` Service endpoints here, and the
        // reconciler refuses a loopback advertise address (kube 1.37).
        "--endpoint-reconciler-type=none".into(),
        format!("--cert-dir={}", path(layout.cert_dir())),
        format!("--tls-cert-file={}", path(layout.serving_cert())),
        format!("--tls-private-key-file={}", path(layout.serving_key())),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--allow-privileged=true".into(),
        // envtest's choice: no controller-manager creates `default` ServiceAccounts here.
        "--disable-admission-plugins=ServiceAccount".into(),
        "--authorization-mode=RBAC".into(),
        format!("--token-auth-file={}", path(layout.token_file())),
        format!("--service-account-issuer={}", flags.issuer),
        format!("--service-account-key-file={}", path(layout.sa_pub())),
        format!(
            "--service-account-signing-key-file={}",
            path(layout.sa_key())
        ),
        // On by default; said explicitly because the throttle scenario depends on it.
        "--enable-priority-and-fairness=true".into(),
    ];
    if let Some(n) = flags.max_requests_inflight {
        args.push(format!("--max-requests-inflight={n}"));
    }
    if let Some(n) = flags.max_mutating_requests_inflight {
        args.push(format!("--max-mutating-requests-inflight={n}"));
    }
    args.extend(flags.extra.iter().cloned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: Ports = Ports {
        apiserver: 6443,
        etcd_client: 2379,
        etcd_peer: 2380,
    };

    #[test]
    fn kube_apiserver_gets_the_envtest_flags_and_the_throttle_knobs() {
        let layout = Layout::new(std::path::Path::new("/d"));
        let flags = ApiserverFlags {
            max_mutating_requests_inflight: Some(5),
            extra: vec!["--v=2".into()],
            ..ApiserverFlags::default()
        };
        let args = kube_apiserver(&layout, PORTS, &flags);
        for want in [
            "--etcd-servers=http://127.0.0.1:2379",
            "--secure-port=6443",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file=/d/certs/sa-signer.pub",
            "--service-account-signing-key-file=/d/certs/sa-signer.key",
            "--token-auth-file=/d/certs/tokens.csv",
            "--max-mutating-requests-inflight=5",
        ] {
            assert!(args.iter().any(|a| a == want), "{want} missing: {args:?}");
        }
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--max-requests-inflight"))
        );
        assert_eq!(args.last().unwrap(), "--v=2");
    }

    #[test]
    fn etcd_is_one_member_on_its_own_ports() {
        let args = etcd(&Layout::new(std::path::Path::new("/d")), PORTS);
        assert!(args.contains(&"--data-dir=/d/etcd".to_string()));
        assert!(args.contains(&"--initial-cluster=gatebench=http://127.0.0.1:2380".to_string()));
        assert!(args.contains(&"--listen-client-urls=http://127.0.0.1:2379".to_string()));
    }
}
