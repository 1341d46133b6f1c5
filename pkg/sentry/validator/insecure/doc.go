// Package insecure is the validator Sentry uses self-hosted when no token
// validator is configured: it grants whatever identity a request asks for,
// without any proof, after checking that the identity is well formed.
//
// It exists for local development, where workloads have nothing to prove who
// they are with. Never enable it where workloads do not trust each other.
//
//	v := insecure.New()
//	id, err := v.Validate(ctx, validator.Request{Namespace: "default", AppID: "orders"})
//	// id == spiffe://public/ns/default/orders
package insecure
