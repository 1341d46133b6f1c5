package security

import (
	"crypto/tls"

	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
)

// ServerTLSConfig returns a TLS server configuration for mutual TLS between
// workloads: it presents the client's current SVID, requires a client
// certificate that chains to the current anchors and lets authorizer decide
// on the peer's SPIFFE ID. Renewed SVIDs and changed anchors apply to the
// next handshake; the returned configuration need not be rebuilt.
func (c *Client) ServerTLSConfig(authorizer tlsconfig.Authorizer) *tls.Config {
	return tlsconfig.MTLSServerConfig(c, c, authorizer)
}

// ClientTLSConfig returns a TLS client configuration for mutual TLS between
// workloads: it presents the client's current SVID and accepts a server
// whose SVID chains to the current anchors and that authorizer accepts.
// Server names are not checked; the SPIFFE ID takes their place.
func (c *Client) ClientTLSConfig(authorizer tlsconfig.Authorizer) *tls.Config {
	return tlsconfig.MTLSClientConfig(c, c, authorizer)
}
