package kubernetes

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/client-go/kubernetes"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/test/sentryproc"
	"github.com/trustplane/trustplane/test/testca"
)

// TestTokenReviewAmplification sends the real sentry 1,000 concurrent
// requests with distinct garbage tokens, then 1,000 with one forged token
// that looks right (Sentry's audience, unexpired) but whose signature is
// not the apiserver's, and counts the TokenReviews the apiserver served
// (its apiserver_request_total{resource="tokenreviews"}): none for the
// garbage, at most one for the forged token. Pod-bound tokens still sign
// afterwards.
func TestTokenReviewAmplification(t *testing.T) {
	c := newCluster(t)
	p := c.startSentry(t)
	anchors := c.Anchors(t)
	var clients []sentryv1.CAClient
	for range 4 {
		clients = append(clients, p.Client(t, anchors))
	}
	c.Namespace(t, "shop")
	token, _ := c.PodToken(t, "shop", "orders-sa", "orders-0", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
	csr := testca.CSR(t, testca.NewKey(t))

	// flood signs with each token at once, and returns the refusals' codes
	// and how long the flood took.
	flood := func(t *testing.T, tokens []string) (map[codes.Code]int, time.Duration) {
		t.Helper()
		ctx := sentryproc.Context(t)
		var mu sync.Mutex
		got := map[codes.Code]int{}
		var wg sync.WaitGroup
		begin := time.Now()
		for i, tok := range tokens {
			wg.Go(func() {
				_, err := clients[i%len(clients)].SignCertificate(ctx, &sentryv1.SignCertificateRequest{
					Id: "orders", Namespace: "shop", Token: tok, CertificateSigningRequest: csr,
				})
				mu.Lock()
				got[status.Code(err)]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return got, time.Since(begin)
	}
	// refused checks that every request was refused: PermissionDenied, or
	// shed as ResourceExhausted.
	refused := func(t *testing.T, got map[codes.Code]int) {
		t.Helper()
		for code := range got {
			assert.Contains(t, []codes.Code{codes.PermissionDenied, codes.ResourceExhausted}, code, "codes: %v", got)
		}
		assert.Positive(t, got[codes.PermissionDenied], "codes: %v", got)
	}

	t.Run("1,000 distinct garbage tokens cost no TokenReview", func(t *testing.T) {
		before := c.tokenReviews(t)
		got, took := flood(t, garbageTokens(t, token, 1000))
		refused(t, got)
		reviews := c.settledTokenReviews(t) - before
		t.Logf("1,000 distinct garbage tokens: %v TokenReviews, %s, codes %v", reviews, took, got)
		assert.Zero(t, reviews)
		assert.Equal(t, float64(got[codes.PermissionDenied]), p.Counter(t, "dapr_sentry_kubernetes_tokenreview_skipped_total"),
			"Sentry counts each refusal as a skipped review")
	})

	t.Run("1,000 identical forged tokens cost at most one TokenReview", func(t *testing.T) {
		forged := forge(t, token)
		tokens := make([]string, 1000)
		for i := range tokens {
			tokens[i] = forged
		}
		before := c.tokenReviews(t)
		got, took := flood(t, tokens)
		refused(t, got)
		reviews := c.settledTokenReviews(t) - before
		t.Logf("1,000 identical forged tokens: %v TokenReviews, %s, codes %v", reviews, took, got)
		assert.LessOrEqual(t, reviews, 1.0)
	})

	t.Run("pod-bound tokens still sign afterwards", func(t *testing.T) {
		_, err := sign(t, clients[0], token, "shop", "orders")
		require.NoError(t, err)
		fresh, _ := c.PodToken(t, "shop", "orders-sa", "orders-1", map[string]string{"dapr.io/app-id": "orders"}, sentryID)
		before := c.tokenReviews(t)
		resp, err := sign(t, clients[1], fresh, "shop", "orders")
		require.NoError(t, err)
		leaf, _ := leafOf(t, resp)
		assert.Equal(t, "spiffe://public/ns/shop/orders", leaf.URIs[0].String())
		assert.Equal(t, 1.0, c.settledTokenReviews(t)-before, "a new token costs its one TokenReview")
	})
}

// tokenReviews reads the TokenReviews the apiserver has served from its
// own metrics (as an admin).
func (c *kcluster) tokenReviews(t *testing.T) float64 {
	t.Helper()
	admin := kubernetes.NewForConfigOrDie(c.Env.Config)
	raw, err := admin.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(cctx(t))
	require.NoError(t, err)
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !strings.Contains(line, `resource="tokenreviews"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		sum += v
	}
	require.NoError(t, sc.Err())
	return sum
}

// settledTokenReviews is tokenReviews once it has stopped changing: the
// apiserver counts a request as it finishes.
func (c *kcluster) settledTokenReviews(t *testing.T) float64 {
	t.Helper()
	last := c.tokenReviews(t)
	for range 10 {
		time.Sleep(200 * time.Millisecond)
		now := c.tokenReviews(t)
		if now == last {
			return now
		}
		last = now
	}
	return last
}

// jwtParts splits a real token into its header, its decoded claims and
// its signature.
func jwtParts(t *testing.T, token string) (string, map[string]any, string) {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return parts[0], claims, parts[2]
}

func encodeClaims(t *testing.T, claims map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(claims)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// forge returns token with another signature of the same length: the
// local checks pass it, the apiserver refuses it.
func forge(t *testing.T, token string) string {
	t.Helper()
	header, claims, sig := jwtParts(t, token)
	forged := make([]byte, base64.RawURLEncoding.DecodedLen(len(sig)))
	_, _ = rand.Read(forged)
	return header + "." + encodeClaims(t, claims) + "." + base64.RawURLEncoding.EncodeToString(forged)
}

// garbageTokens returns n distinct tokens derived from a real one, none of
// which passes Sentry's local checks: too large, not a JWT, expired, for
// another audience, with an unsigned header, without exp.
func garbageTokens(t *testing.T, token string, n int) []string {
	t.Helper()
	header, claims, sig := jwtParts(t, token)
	with := func(i int, k string, v any) string {
		c := map[string]any{"jti": fmt.Sprint(i)}
		for k, v := range claims {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return header + "." + encodeClaims(t, c) + "." + sig
	}
	out := make([]string, 0, n)
	for i := range n {
		switch i % 6 {
		case 0:
			out = append(out, with(i, "pad", strings.Repeat("x", 17<<10)))
		case 1:
			out = append(out, fmt.Sprintf("garbage-%d", i))
		case 2:
			out = append(out, with(i, "exp", time.Now().Add(-time.Duration(i+1)*time.Hour).Unix()))
		case 3:
			out = append(out, with(i, "aud", []string{"https://kubernetes.default.svc"}))
		case 4:
			out = append(out, base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`))+"."+strings.SplitN(with(i, "x", 1), ".", 2)[1])
		default:
			out = append(out, with(i, "exp", nil))
		}
	}
	return out
}
