package main

import (
	"context"
	"crypto"
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

// phaseSpec is one load pattern: c workers over the server's one shared
// connection, or each dialling a new connection per sign (daprd's pattern:
// dial, full TLS handshake, one call, close).
type phaseSpec struct {
	c       int
	newConn bool
}

func (p phaseSpec) String() string {
	if p.newConn {
		return fmt.Sprintf("new/%d", p.c)
	}
	return fmt.Sprintf("shared/%d", p.c)
}

func (p phaseSpec) pattern() string {
	if p.newConn {
		return "new TLS connection per sign"
	}
	return "one shared connection"
}

// snapshot is the counters read at the edges of a slice's measured window.
type snapshot struct {
	server, client time.Duration // CPU time of the sentry and of this process
	machine        cpuStat
}

func takeSnapshot(pid int) snapshot {
	return snapshot{server: procCPU(pid), client: procCPU(os.Getpid()), machine: readCPUStat()}
}

// slice is one server's measurements over one measured window.
type slice struct {
	signs     int           // completed in the window
	all       int           // completed in the whole slice, lead-in included
	wall      time.Duration // the whole slice
	window    time.Duration
	cpu       time.Duration // the server's CPU time in the window
	clientCPU time.Duration // this process's
	machine   cpuDelta
	latencies []time.Duration
}

// runSlice drives s with p.c workers for leadIn (unmeasured) and then
// window, counting the signs completed in the window and reading the CPU
// counters at its two edges, and verifies every counted response. A zero
// window is a warm-up.
func runSlice(ctx context.Context, s *server, p phaseSpec, leadIn, window time.Duration, pool *csrPool) (slice, error) {
	type sample struct {
		item csrItem
		resp *sentryv1.SignCertificateResponse
		lat  time.Duration
	}
	var (
		mu       sync.Mutex
		samples  []sample
		all      int
		firstErr error
		wg       sync.WaitGroup
	)
	begin := time.Now()
	from := begin.Add(leadIn)
	end := from.Add(window)
	var snaps [2]snapshot
	snapDone := make(chan struct{})
	go func() {
		defer close(snapDone)
		time.Sleep(time.Until(from))
		snaps[0] = takeSnapshot(s.pid)
		time.Sleep(time.Until(end))
		snaps[1] = takeSnapshot(s.pid)
	}()
	for range p.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []sample
			n := 0
			fail := func(err error) {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
			}
			for time.Now().Before(end) && ctx.Err() == nil {
				item := pool.take()
				client, done := s.client, func() {}
				if p.newConn {
					cc, err := dial(s.addr, s.anchors)
					if err != nil {
						fail(err)
						break
					}
					client, done = sentryv1.NewCAClient(cc), func() { cc.Close() }
				}
				t0 := time.Now()
				resp, err := client.SignCertificate(ctx, signRequest(item))
				t1 := time.Now()
				done()
				if err != nil {
					fail(fmt.Errorf("%s: sign: %w", s.name, err))
					break
				}
				n++
				if !t1.Before(from) && !t1.After(end) {
					local = append(local, sample{item, resp, t1.Sub(t0)})
				}
			}
			mu.Lock()
			samples = append(samples, local...)
			all += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	<-snapDone
	if err := errors.Join(firstErr, ctx.Err()); err != nil {
		return slice{}, err
	}
	r := slice{
		signs: len(samples), all: all, wall: time.Since(begin), window: window,
		cpu: snaps[1].server - snaps[0].server, clientCPU: snaps[1].client - snaps[0].client,
		machine: snaps[1].machine.since(snaps[0].machine),
	}
	want := spiffeid.RequireFromString("spiffe://public/ns/default/bench")
	for _, sm := range samples {
		if err := verify(sm.resp, sm.item.pub, s.anchors, want); err != nil {
			return slice{}, fmt.Errorf("%s, %s: response failed verification: %w", s.name, p, err)
		}
		r.latencies = append(r.latencies, sm.lat)
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
	if k, ok := chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(pub) {
		return errors.New("leaf does not certify the CSR's key")
	}
	return nil
}
