package app

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustplane/trustplane/pkg/sentry/server"
)

func TestLimitFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr []string
		check   func(t *testing.T, l server.Limits)
	}{
		"the defaults are the server's": {
			check: func(t *testing.T, l server.Limits) { assert.Equal(t, server.DefaultLimits(), l) },
		},
		"every limit has a flag": {
			args: []string{
				"--grpc-max-request-bytes", "32768", "--grpc-max-header-bytes", "4096", "--max-connections", "10",
				"--grpc-max-concurrent-streams", "2", "--max-requests-in-flight", "20", "--grpc-handshake-timeout", "1s",
				"--grpc-request-timeout", "2s", "--grpc-max-connection-idle", "3s", "--grpc-max-connection-age", "4s",
			},
			check: func(t *testing.T, l server.Limits) {
				assert.Equal(t, server.Limits{
					MaxRequestBytes: 32768, MaxHeaderBytes: 4096, MaxConnections: 10, MaxConcurrentStreams: 2, MaxInFlight: 20,
					HandshakeTimeout: time.Second, RequestTimeout: 2 * time.Second, MaxConnectionIdle: 3 * time.Second, MaxConnectionAge: 4 * time.Second,
				}, l)
			},
		},
		"Dapr's single-dash spelling works too": {
			args:  DaprArgs([]string{"-max-connections", "7"}),
			check: func(t *testing.T, l server.Limits) { assert.Equal(t, 7, l.MaxConnections) },
		},
		"zero and negative limits are refused": {
			args:    []string{"--max-connections", "0", "--max-requests-in-flight", "-1", "--grpc-request-timeout", "0s"},
			wantErr: []string{"--max-connections 0: at least 1", "--max-requests-in-flight -1: at least 1", "--grpc-request-timeout 0s: must be positive"},
		},
		"a request limit too small for a CSR and a token is refused": {
			args: []string{"--grpc-max-request-bytes", "1024"}, wantErr: []string{"--grpc-max-request-bytes 1024: at least 8192"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("sentry", pflag.ContinueOnError)
			o.AddFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			o.Complete(func(string) (string, bool) { return "", false })
			err := o.Validate()
			for _, want := range tc.wantErr {
				assert.ErrorContains(t, err, want)
			}
			if tc.wantErr == nil {
				require.NoError(t, err)
				tc.check(t, o.Limits.Limits)
			}
		})
	}
}
