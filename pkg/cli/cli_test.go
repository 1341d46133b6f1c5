package cli_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"

	"github.com/trustplane/trustplane/pkg/cli"
)

func TestMain_ExitCodes(t *testing.T) {
	tests := map[string]struct {
		args     []string
		prepare  error
		run      error
		wantCode int
		wantErr  string
	}{
		"a clean run exits 0":                          {args: []string{"--port", "5"}, wantCode: cli.ExitOK},
		"Dapr's single-dash flags are accepted":        {args: []string{"-port", "5"}, wantCode: cli.ExitOK},
		"an unknown flag is a usage error":             {args: []string{"--nope"}, wantCode: cli.ExitUsage, wantErr: "unknown flag: --nope"},
		"a positional argument is a usage error":       {args: []string{"extra"}, wantCode: cli.ExitUsage},
		"an invalid option is a usage error":           {prepare: errors.New("--port 0: not a port"), wantCode: cli.ExitUsage, wantErr: "--port 0: not a port"},
		"a failed run exits 1":                         {run: errors.New("boom"), wantCode: cli.ExitError},
		"a run may call its own failure a usage error": {run: cli.Usage(errors.New("log level")), wantCode: cli.ExitUsage},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var port int
			var stderr bytes.Buffer
			code := cli.Main(context.Background(), cli.Command{
				Name:     "daemon",
				AddFlags: func(fs *pflag.FlagSet) { fs.IntVar(&port, "port", 1, "") },
				Prepare:  func(*pflag.FlagSet) error { return tc.prepare },
				Run:      func(context.Context) error { return tc.run },
			}, tc.args, &stderr)
			assert.Equal(t, tc.wantCode, code, stderr.String())
			if tc.wantErr != "" {
				assert.Contains(t, stderr.String(), tc.wantErr)
				assert.Contains(t, stderr.String(), "Run 'daemon --help' for usage.")
			}
		})
	}
}
