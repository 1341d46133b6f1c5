package app

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
)

func TestClusterDomain(t *testing.T) {
	tests := map[string]struct {
		cname string
		err   error
		want  string
	}{
		"the CNAME of kubernetes.default.svc tells the domain":   {cname: "kubernetes.default.svc.cluster.local.", want: "cluster.local"},
		"a custom cluster domain is found":                       {cname: "kubernetes.default.svc.k8s.example.com.", want: "k8s.example.com"},
		"a failed lookup falls back to the trust domain":         {err: errors.New("no such host"), want: "td.example"},
		"a CNAME of another name falls back to the trust domain": {cname: "api.example.com.", want: "td.example"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			lookup := func(context.Context, string) (string, error) { return tc.cname, tc.err }
			assert.Equal(t, tc.want, clusterDomain(t.Context(), lookup, "td.example", zap.NewNop()))
		})
	}
}
