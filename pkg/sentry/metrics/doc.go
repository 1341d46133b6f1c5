// Package metrics holds Sentry's Prometheus collectors, named as Dapr
// names them so existing dashboards and alerts keep working:
//
//	dapr_sentry_cert_sign_request_received_total
//	dapr_sentry_cert_sign_success_total
//	dapr_sentry_cert_sign_failure_total{reason}
//	dapr_sentry_servercert_issue_failed_total{reason}
//	dapr_sentry_issuercert_changed_total
//	dapr_sentry_issuercert_expiry_timestamp
//	dapr_sentry_rootcert_expiry_timestamp{serial}   (trustplane: every root)
//	dapr_sentry_cert_expiry_warnings_total{certificate="root|issuer"}   (trustplane only)
//	dapr_sentry_tls_handshake_failures_total{reason="eof|timeout|tls"}   (trustplane only)
//	dapr_sentry_grpc_connections                                          (trustplane only)
//	dapr_sentry_grpc_requests_shed_total                                  (trustplane only)
//
// Collectors are registered on the Registerer passed to New, never on the
// global registry.
package metrics
