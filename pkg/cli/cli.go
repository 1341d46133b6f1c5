package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes of Main.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Command describes a daemon's command line.
type Command struct {
	// Name is the binary's name; Short its one-line description.
	Name, Short string
	// AddFlags binds the options to the flag set.
	AddFlags func(fs *pflag.FlagSet)
	// Prepare completes and validates the options after parsing; its error
	// is a usage error.
	Prepare func(fs *pflag.FlagSet) error
	// Run runs the daemon until ctx is done; its error exits 1. Wrap an
	// error in Usage to exit 2 instead.
	Run func(ctx context.Context) error
}

// UsageError marks a problem with how the command was called.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }

// Unwrap returns the problem.
func (u UsageError) Unwrap() error { return u.Err }

// Usage wraps err as a usage error.
func Usage(err error) error { return UsageError{Err: err} }

// Main parses args, runs c, and returns the exit code. Errors go to stderr
// (a failed Run is expected to have logged its own).
func Main(ctx context.Context, c Command, args []string, stderr io.Writer) int {
	ran := false
	cmd := &cobra.Command{
		Use:           c.Name,
		Short:         c.Short,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return Usage(fmt.Errorf("unexpected arguments %q: %s takes flags only", args, c.Name))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := c.Prepare(cmd.Flags()); err != nil {
				return Usage(err)
			}
			ran = true
			return c.Run(cmd.Context())
		},
	}
	cmd.SetArgs(DoubleDash(args))
	cmd.SetErr(stderr)
	cmd.SetOut(stderr)
	c.AddFlags(cmd.Flags())
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })

	err := cmd.ExecuteContext(ctx)
	var ue UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v\nRun '%s --help' for usage.\n", c.Name, ue.Err, c.Name)
		return ExitUsage
	case !ran:
		fmt.Fprintf(stderr, "%s: %v\n", c.Name, err)
	}
	return ExitError
}

// DoubleDash rewrites Dapr's single-dash long flags (-port) to --port.
func DoubleDash(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
