// Package spiffe is the one place trustplane builds and parses the SPIFFE IDs
// of Dapr-style workloads: spiffe://<trust-domain>/ns/<namespace>/<app-id>.
//
// Everything past the gRPC decoder works with spiffeid.ID and
// spiffeid.TrustDomain values; this package turns the strings of a request
// into those values and checks their shape:
//
//	id, err := spiffe.AppID(td, "default", "orders")
//	// spiffe://cluster.local/ns/default/orders
//
//	ws, err := spiffe.Parse(id)
//	// ws.Namespace == "default", ws.AppID == "orders"
package spiffe
