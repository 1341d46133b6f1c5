package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
)

// phase runs concurrency workers for cfg.warmup (unmeasured) then
// cfg.duration, and verifies every measured response afterwards.
func phase(ctx context.Context, name string, pid, concurrency int, cfg config, pool *csrPool, anchors *x509bundle.Bundle,
	newClient func() (sentryv1.CAClient, func(), error)) (result, error) {
	type sample struct {
		item csrItem
		resp *sentryv1.SignCertificateResponse
		lat  time.Duration
	}
	var (
		mu       sync.Mutex
		samples  []sample
		firstErr error
		wg       sync.WaitGroup
	)
	measureFrom := time.Now().Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	var (
		cpuStart, clientStart time.Duration
		statStart             cpuStat
		cpuOnce               sync.Once
	)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []sample
			for time.Now().Before(end) && ctx.Err() == nil {
				item := pool.take()
				client, done, err := newClient()
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				t0 := time.Now()
				resp, err := client.SignCertificate(ctx, &sentryv1.SignCertificateRequest{Id: "bench", Namespace: "default", CertificateSigningRequest: item.pem})
				lat := time.Since(t0)
				done()
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, fmt.Errorf("sign: %w", err))
					mu.Unlock()
					return
				}
				if t0.After(measureFrom) {
					cpuOnce.Do(func() { cpuStart, clientStart, statStart = procCPU(pid), procCPU(os.Getpid()), readCPUStat() })
					local = append(local, sample{item, resp, lat})
				}
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	cpu, clientCPU, steal := procCPU(pid)-cpuStart, procCPU(os.Getpid())-clientStart, readCPUStat().stealSince(statStart)
	if firstErr != nil {
		return result{}, firstErr
	}
	r := result{name: name, signs: len(samples), elapsed: cfg.duration, cpu: cpu, clientCPU: clientCPU, steal: steal}
	want := spiffeid.RequireFromString("spiffe://public/ns/default/bench")
	for _, s := range samples {
		if err := verify(s.resp, s.item.pub, anchors, want); err != nil {
			return result{}, fmt.Errorf("%s: response failed verification: %w", name, err)
		}
		r.latencies = append(r.latencies, s.lat)
	}
	return r, nil
}

func verify(resp *sentryv1.SignCertificateResponse, pub crypto.PublicKey, anchors *x509bundle.Bundle, want spiffeid.ID) error {
	var chain []*x509.Certificate
	for rest := resp.GetWorkloadCertificate(); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return err
		}
		chain = append(chain, c)
	}
	if len(chain) < 2 {
		return errors.New("chain too short")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, a := range anchors.X509Authorities() {
		roots.AddCert(a)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return err
	}
	if len(chain[0].URIs) != 1 || chain[0].URIs[0].String() != want.String() {
		return fmt.Errorf("wrong SPIFFE ID %v", chain[0].URIs)
	}
	if !chain[0].PublicKey.(*ecdsa.PublicKey).Equal(pub) {
		return errors.New("leaf does not certify the CSR's key")
	}
	return nil
}
