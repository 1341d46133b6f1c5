package security

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	sentryv1 "github.com/trustplane/trustplane/api/sentry/v1"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// issued is a checked answer from Sentry.
type issued struct {
	svid *x509svid.SVID
	// anchors are the trust anchors Sentry returned, nil if it sent none.
	anchors []*x509.Certificate
}

// sign asks Sentry for a new SVID with a fresh key and checks the answer.
// Nothing is stored.
func (c *Client) sign(ctx context.Context) (*issued, error) {
	key, csr, err := newCSR(c.opts.KeyType)
	if err != nil {
		return nil, err
	}
	token, err := c.token()
	if err != nil {
		return nil, err
	}
	req := &sentryv1.SignCertificateRequest{
		Id:                        c.opts.AppID,
		Token:                     token.Value,
		TrustDomain:               c.opts.TrustDomain,
		Namespace:                 c.opts.Namespace,
		CertificateSigningRequest: csr,
		TokenValidator:            token.Validator,
		JwtAudiences:              c.opts.JWTAudiences,
	}

	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	resp, err := sentryv1.NewCAClient(conn).SignCertificate(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("sign certificate at %s: %w", c.opts.SentryAddress, err)
	}
	return c.checkResponse(resp, key)
}

// dial opens a connection to Sentry. The TLS configuration trusts the
// current anchors and accepts only Sentry's SPIFFE ID: Sentry's certificate
// has no DNS name, so host name verification could never work. A connection
// per request is cheap at one issuance every few hours and always uses the
// anchors of the moment.
func (c *Client) dial() (*grpc.ClientConn, error) {
	tlsCfg := tlsconfig.TLSClientConfig(c, tlsconfig.AuthorizeID(c.opts.SentryID))
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg))},
		c.opts.DialOptions...)
	conn, err := grpc.NewClient(c.opts.SentryAddress, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to sentry at %s: %w", c.opts.SentryAddress, err)
	}
	return conn, nil
}

// token is the token of one request: Options.Token's choice, else the
// token file read afresh with Options.TokenValidator.
func (c *Client) token() (Token, error) {
	if c.opts.Token != nil {
		t, err := c.opts.Token()
		if err != nil {
			return Token{}, fmt.Errorf("sentry token: %w", err)
		}
		return t, nil
	}
	v, err := c.readToken()
	if err != nil {
		return Token{}, err
	}
	return Token{Value: v, Validator: c.opts.TokenValidator}, nil
}

// readToken reads the token file afresh; projected tokens are rotated by the
// kubelet, so a cached one would eventually be expired.
func (c *Client) readToken() (string, error) {
	if c.opts.TokenFile == "" {
		return "", nil
	}
	raw, err := os.ReadFile(c.opts.TokenFile)
	if err != nil {
		return "", fmt.Errorf("read sentry token: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("read sentry token: %s is empty", c.opts.TokenFile)
	}
	return token, nil
}

// checkResponse turns Sentry's answer into an SVID for key, after checking
// that the leaf holds key, names the requested app and namespace, is valid
// now and chains to the anchors that will be in use once the answer's own
// anchors are taken in.
func (c *Client) checkResponse(resp *sentryv1.SignCertificateResponse, key crypto.Signer) (*issued, error) {
	chain, err := parseCertificatesPEM(resp.GetWorkloadCertificate())
	if err != nil {
		return nil, fmt.Errorf("%w: workload certificate: %w", ErrInvalidResponse, err)
	}
	var anchors []*x509.Certificate
	for i, raw := range resp.GetTrustChainCertificates() {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue // an empty element says nothing; it does not clear the anchors
		}
		certs, err := parseAnchors(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: trust chain certificates %d: %w", ErrInvalidResponse, i, err)
		}
		anchors = union(anchors, certs)
	}

	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	var certsDER bytes.Buffer
	for _, cert := range chain {
		certsDER.Write(cert.Raw)
	}
	// ParseRaw checks the leaf's single SPIFFE URI SAN, its key usage, the
	// CA flags of the rest of the chain and that the leaf holds our key.
	svid, err := x509svid.ParseRaw(certsDER.Bytes(), keyDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	w, err := spiffe.Parse(svid.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	// The trust domain is Sentry's to choose (the Kubernetes validator
	// replaces the requested one); the app and namespace are not.
	if w.AppID != c.opts.AppID || w.Namespace != c.opts.Namespace {
		return nil, fmt.Errorf("%w: issued %s for app %q in namespace %q",
			ErrInvalidResponse, svid.ID, c.opts.AppID, c.opts.Namespace)
	}
	roots := c.anchors.withSentry(anchors)
	bundle := x509bundle.FromX509Authorities(svid.ID.TrustDomain(), roots)
	if _, _, err := x509svid.Verify(svid.Certificates, bundle, x509svid.WithTime(c.opts.Clock.Now())); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	return &issued{svid: svid, anchors: anchors}, nil
}
