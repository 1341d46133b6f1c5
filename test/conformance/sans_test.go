package conformance

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
)

// The control-plane services' certificates carry exactly Dapr's DNS SANs:
// Dapr's scheduler refuses to start without its pods' names.
func TestControlPlaneDNSNamesMatchDapr(t *testing.T) {
	ours, dapr := startOurs(t), startDapr(t)
	for _, tc := range []struct{ id, ns string }{
		{"dapr-scheduler", controlPlaneNS}, {"dapr-injector", controlPlaneNS}, {"dapr-operator", controlPlaneNS},
		{"dapr-placement", controlPlaneNS}, {"dapr-sentry", controlPlaneNS}, {"dapr-scheduler", "shop"}, {"orders", controlPlaneNS},
	} {
		t.Run(tc.ns+"/"+tc.id, func(t *testing.T) {
			var got [2][]string
			for i, s := range []*sentry{dapr, ours} {
				resp, err := s.client.SignCertificate(sentryproc.Context(t), &sentryv1.SignCertificateRequest{
					Id: tc.id, Namespace: tc.ns, TrustDomain: "cluster.local", CertificateSigningRequest: ed25519CSR(t),
				})
				require.NoError(t, err, s.name)
				block, _ := pem.Decode(resp.GetWorkloadCertificate())
				leaf, err := x509.ParseCertificate(block.Bytes)
				require.NoError(t, err)
				got[i] = leaf.DNSNames
				assert.Equal(t, "spiffe://cluster.local/ns/"+tc.ns+"/"+tc.id, leaf.URIs[0].String(), s.name)
			}
			assert.Equal(t, got[0], got[1], "Dapr's DNS SANs, then ours")
		})
	}
}
