// Package app is trustctl's command line: the cobra commands, their flags
// and output. The logic lives in pkg/trustctl.
//
// Exit codes (see ExitOK and the others):
//
//	0  success
//	1  an error (the cluster could not be read or written, invalid files, ...)
//	2  a usage error (unknown flag, missing or conflicting flags)
//	3  `mtls expiry`: a root or issuer certificate expires within the threshold
//	4  `mtls expiry`: a root or issuer certificate has expired
//	5  `mtls rotate-root` (and the JWT key rotation): the step was refused
//	   because the previous one has not propagated yet; nothing was written
package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/utils/clock"
)

// Exit codes of trustctl.
const (
	// ExitOK is success.
	ExitOK = 0
	// ExitError is any failure that is not a usage error.
	ExitError = 1
	// ExitUsage is a usage error: an unknown flag, missing or conflicting
	// flags.
	ExitUsage = 2
	// ExitExpiring is `mtls expiry` finding a root or issuer certificate
	// that expires within the threshold (30 days by default).
	ExitExpiring = 3
	// ExitExpired is `mtls expiry` finding a root or issuer certificate that
	// has expired.
	ExitExpired = 4
)

// Env is what trustctl runs with.
type Env struct {
	// Out receives the output (tables, JSON). Required.
	Out io.Writer
	// Err receives warnings and errors. Required.
	Err io.Writer
	// Clock gives the time certificates are judged and issued at. Default:
	// the real clock.
	Clock clock.PassiveClock
}

// Main runs trustctl with args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Clock == nil {
		env.Clock = clock.RealClock{}
	}
	cmd := NewCommand(env)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ec *exitError
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintf(env.Err, "Error: %v\n", ec.err)
		}
		if ec.code == ExitUsage {
			fmt.Fprintln(env.Err, "Run 'trustctl --help' for usage.")
		}
		return ec.code
	}
	fmt.Fprintf(env.Err, "Error: %v\n", err)
	return ExitError
}

// NewCommand returns the root command. Main is the way to run it; the
// command is exposed for documentation generators.
func NewCommand(env Env) *cobra.Command {
	if env.Clock == nil {
		env.Clock = clock.RealClock{}
	}
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "trustctl",
		Short: "Inspect and renew the mTLS certificates of a Dapr control plane in Kubernetes",
		Long: "trustctl reads and renews the trust bundle of a Dapr (or trustplane) control plane through your kubeconfig: " +
			"the root and issuer certificates Sentry keeps in the Secret dapr-trust-bundle and publishes in the ConfigMap of the same name.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	g.addFlags(root.PersistentFlags())
	root.AddCommand(newMTLSCommand(env, g), newStatusCommand(env, g))
	return root
}

// exitError carries an exit code; err is printed unless nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErr(err error) error { return &exitError{code: ExitUsage, err: err} }
