//! Cluster set-up through the Kubernetes API only (namespaces, ServiceAccounts, RBAC, tokens), for any API server.
