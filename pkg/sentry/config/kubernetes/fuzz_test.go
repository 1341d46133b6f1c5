package kubernetes

import (
	"encoding/json"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// FuzzDecode feeds decode objects as the API server could send them: any
// JSON object. It must not panic, must name a field or wrap ErrInvalid
// when it rejects one, and must return a Config within the bounds.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"dapr.io/v1alpha1","kind":"Configuration","metadata":{"name":"daprsystem"}}`,
		`{"spec":{"mtls":{"enabled":true,"workloadCertTTL":"1h","allowedClockSkew":"0s"}}}`,
		`{"spec":{"mtls":{"enabled":true,"workloadCertTTL":"soon"}}}`,
		`{"spec":{"mtls":{"workloadCertTTL":3600}}}`,
		`{"spec":{"mtls":{"tokenValidators":[{"name":"jwks","options":{"source":"x","minRefreshInterval":600}}]}}}`,
		`{"spec":{"mtls":{"tokenValidators":[{"name":"jwks","options":{"a":{"b":1}}},{"name":"jwks"}]}}}`,
		`{"spec":{"mtls":{"controlPlaneTrustDomain":"Not A TD"}}}`,
		`{"spec":"nope"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if json.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		cfg, err := decode(&unstructured.Unstructured{Object: obj})
		if err != nil {
			var fe *config.FieldError
			if !errors.As(err, &fe) && !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("rejection without a field: %v", err)
			}
			return
		}
		if cfg.WorkloadCertTTL < config.MinWorkloadCertTTL || cfg.WorkloadCertTTL > config.MaxWorkloadCertTTL {
			t.Fatalf("workload TTL %s out of bounds", cfg.WorkloadCertTTL)
		}
		if cfg.AllowedClockSkew < 0 || cfg.AllowedClockSkew > config.MaxAllowedClockSkew {
			t.Fatalf("clock skew %s out of bounds", cfg.AllowedClockSkew)
		}
	})
}
