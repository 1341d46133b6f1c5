package app

import (
	"bytes"
	"context"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptions(t *testing.T) {
	tests := map[string]struct {
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, o *Options)
	}{
		"the defaults are Dapr's": {
			check: func(t *testing.T, o *Options) {
				assert.Equal(t, 50001, o.Port)
				assert.Equal(t, "ca.crt", o.RootFile)
				assert.Equal(t, "localhost", o.TrustDomain)
				assert.Equal(t, "default", o.Namespace)
			},
		},
		"the namespace comes from NAMESPACE": {
			env:   map[string]string{"NAMESPACE": "dapr-system"},
			check: func(t *testing.T, o *Options) { assert.Equal(t, "dapr-system", o.Namespace) },
		},
		"a flag beats NAMESPACE": {
			args: []string{"--namespace", "mine"}, env: map[string]string{"NAMESPACE": "dapr-system"},
			check: func(t *testing.T, o *Options) { assert.Equal(t, "mine", o.Namespace) },
		},
		"an unknown mode is refused":     {args: []string{"--mode", "cloud"}, wantErr: `--mode "cloud"`},
		"a bad trust domain is refused":  {args: []string{"--trust-domain", "Not A Domain"}, wantErr: "--trust-domain"},
		"a port out of range is refused": {args: []string{"--port", "70000"}, wantErr: "--port 70000"},
		"health may be disabled with port 0": {
			args: []string{"--healthz-port", "0"}, check: func(t *testing.T, o *Options) { assert.Zero(t, o.HealthzPort) },
		},
		"several problems are reported together": {
			args: []string{"--port", "0", "--namespace", "Bad_NS"}, wantErr: "--namespace",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("sentry", pflag.ContinueOnError)
			o.AddFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			o.Complete(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			err := o.Validate()
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestMain_UsageErrorsExitWith2(t *testing.T) {
	var stderr bytes.Buffer
	code := Main(context.Background(), []string{"--no-such-flag"}, func(string) (string, bool) { return "", false }, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "no-such-flag")

	stderr.Reset()
	code = Main(context.Background(), []string{"--mode", "cloud"}, func(string) (string, bool) { return "", false }, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "use standalone or kubernetes")
}

func TestMain_BrokenConfigurationFileExitsWith1(t *testing.T) {
	var stderr bytes.Buffer
	dir := t.TempDir()
	code := Main(context.Background(), []string{"--issuer-credentials", dir, "--config", dir + "/missing.yaml", "--port", "1", "--healthz-port", "0", "--enable-metrics=false"},
		func(string) (string, bool) { return "", false }, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "missing.yaml")
}

func TestDaprArgs(t *testing.T) {
	tests := map[string]struct{ in, want []string }{
		"single-dash long flags become double-dash, as Dapr's sentry reads them": {
			in: []string{"-port", "50001", "-log-level=debug"}, want: []string{"--port", "50001", "--log-level=debug"},
		},
		"double-dash flags and values are kept": {in: []string{"--mode", "kubernetes"}, want: []string{"--mode", "kubernetes"}},
		"a one-letter shorthand is kept":        {in: []string{"-h"}, want: []string{"-h"}},
		"nothing gives nothing":                 {in: []string{}, want: []string{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, DaprArgs(tc.in))
		})
	}
}
