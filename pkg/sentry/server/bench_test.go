package server_test

import (
	"fmt"
	"testing"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/sentry/validator/fake"
	"github.com/trustplane/trustplane/test/testca"
)

// BenchmarkSignCertificate measures the whole server path in-process: gRPC
// over TLS on loopback, CSR decode and signature check, signing, encoding.
// It complements test/bench/sentrybench (a real process, fresh CSRs): here
// a pool of CSRs is reused, which costs the server the same.
//
//	go test ./pkg/sentry/server -run XXX -bench SignCertificate -benchmem
func BenchmarkSignCertificate(b *testing.B) {
	h := newHarness(b, fake.Granting(appID))
	csrs := make([][]byte, 256)
	for i := range csrs {
		csrs[i] = testca.CSR(b, testca.NewKey(b))
	}
	b.Run("one request at a time", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := h.client.SignCertificate(b.Context(), &sentryv1.SignCertificateRequest{
				Id: "orders", Namespace: "shop", CertificateSigningRequest: csrs[i%len(csrs)],
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, parallelism := range []int{1, 32} {
		b.Run(fmt.Sprintf("goroutines per CPU=%d", parallelism), func(b *testing.B) {
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					_, err := h.client.SignCertificate(b.Context(), &sentryv1.SignCertificateRequest{
						Id: "orders", Namespace: "shop", CertificateSigningRequest: csrs[i%len(csrs)],
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
