package config

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse. Whatever the input, Parse
// must not panic, every error must wrap ErrInvalid, and every accepted
// Config must be within the documented bounds.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		header,
		withMTLS("    enabled: true\n    workloadCertTTL: 24h\n    allowedClockSkew: 15m\n    controlPlaneTrustDomain: cluster.local\n    sentryAddress: dapr-sentry:443\n"),
		withMTLS("    tokenValidators:\n    - name: jwks\n      options:\n        source: /jwks.json\n        minRefreshInterval: 600\n        flag: true\n"),
		withMTLS("    tokenValidators:\n    - name: kubernetes\n    - name: jwks\n    - name: jwks\n"),
		withMTLS("    workloadCertTTL: -1h\n    allowedClockSkew: 2h\n    extra: 1\n"),
		withMTLS("    tokenValidators:\n    - name: jwks\n      options: {a: {b: c}, d: [1], e: null}\n"),
		`{"apiVersion":"dapr.io/v1alpha1","kind":"Configuration","spec":{"mtls":{"workloadCertTTL":"90s","allowedClockSkew":"0s"}}}`,
		"apiVersion: v1\nkind: Pod\n",
		"a: &a [*a]\n",
		"",
		"null",
		"- 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if cfg.WorkloadCertTTL < MinWorkloadCertTTL || cfg.WorkloadCertTTL > MaxWorkloadCertTTL {
			t.Fatalf("accepted workloadCertTTL %s out of bounds", cfg.WorkloadCertTTL)
		}
		if cfg.AllowedClockSkew < 0 || cfg.AllowedClockSkew >= cfg.WorkloadCertTTL {
			t.Fatalf("accepted allowedClockSkew %s with TTL %s", cfg.AllowedClockSkew, cfg.WorkloadCertTTL)
		}
		for _, v := range cfg.TokenValidators {
			if v.Name != ValidatorJWKS {
				t.Fatalf("accepted validator %q", v.Name)
			}
		}
		if len(cfg.TokenValidators) > 1 {
			t.Fatalf("accepted %d validators", len(cfg.TokenValidators))
		}
	})
}
