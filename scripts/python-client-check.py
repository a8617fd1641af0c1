#!/usr/bin/env python3
"""Checks that the official Kubernetes Python client deserializes an API server's answers on the
gateway's auth path: TokenRequest, TokenReview (valid and rejected) and SubjectAccessReview.

Usage: python-client-check.py KUBECONFIG LABEL
"""
import sys
import uuid

from kubernetes import client, config


def main(kubeconfig: str, label: str) -> None:
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    authn = client.AuthenticationV1Api(api_client)
    authz = client.AuthorizationV1Api(api_client)

    ns = f"pyclient-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_service_account(
        ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="prom"))
    )
    request = core.create_namespaced_service_account_token(
        "prom", ns,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["gatebench"], expiration_seconds=3600)
        ),
    )
    token = request.status.token
    assert request.spec.audiences == ["gatebench"], request.spec

    review = authn.create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=["gatebench"]))
    )
    assert review.status.authenticated, review.status
    assert review.status.user.username == f"system:serviceaccount:{ns}:prom", review.status.user
    assert review.spec.token == token

    rejected = authn.create_token_review(
        client.V1TokenReview(spec=client.V1TokenReviewSpec(token=token, audiences=["other"]))
    )
    assert not rejected.status.authenticated, rejected.status
    assert rejected.status.error, rejected.status

    sar = authz.create_subject_access_review(
        client.V1SubjectAccessReview(
            spec=client.V1SubjectAccessReviewSpec(
                user=f"system:serviceaccount:{ns}:prom",
                resource_attributes=client.V1ResourceAttributes(
                    namespace=ns, verb="create", resource="services", name="gateway-service"
                ),
            )
        )
    )
    assert sar.status.allowed is False, sar.status
    core.delete_namespace(ns)
    print(f"{label}: the kubernetes Python client deserialized TokenRequest, TokenReview and SubjectAccessReview")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
