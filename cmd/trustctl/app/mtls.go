package app

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/trustctl/status"
)

// Output formats of -o/--output.
const (
	formatTable = "table"
	formatJSON  = "json"
)

// outputFlag adds -o/--output to fs.
func outputFlag(fs *pflag.FlagSet, format *string) {
	fs.StringVarP(format, "output", "o", formatTable, "Output format: table or json")
}

func checkFormat(format string) error {
	if format != formatTable && format != formatJSON {
		return usageErr(fmt.Errorf("--output %q: use table or json", format))
	}
	return nil
}

// warn prints an expiry warning to w for every checked certificate that
// expires within the default threshold. Warnings go to stderr so JSON on
// stdout stays parseable.
func warn(w io.Writer, certs []status.Certificate, now time.Time) {
	for _, line := range status.Warnings(certs, now, status.DefaultThreshold) {
		fmt.Fprintln(w, line)
	}
}

func newMTLSCommand(env Env, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "mtls",
		Short: "Show whether mTLS is enabled, the trust domain, and the root and issuer certificates with their expiry",
		Example: `  trustctl mtls
  trustctl mtls -n dapr-system -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			t, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			now := env.Clock.Now()
			s := status.New(status.Input{
				Namespace:          t.install.Namespace,
				ConfigurationFound: t.install.Configuration != nil,
				Config:             t.install.Config,
				Bundle:             t.bundle.Bundle,
				PublishedRoots:     t.bundle.PublishedRoots(),
				SecretOwner:        t.bundle.Owner(),
			}, now)
			if format == formatJSON {
				err = status.WriteJSON(env.Out, s)
			} else {
				err = status.WriteTable(env.Out, s)
			}
			if err != nil {
				return err
			}
			if _, err := t.bundle.Require(); err != nil {
				return err
			}
			warn(env.Err, s.Certificates, now)
			return nil
		},
	}
	outputFlag(cmd.Flags(), &format)
	cmd.AddCommand(newExpiryCommand(env, g), newExportCommand(env, g), newRenewCommand(env, g), newRotateRootCommand(env, g),
		newRotateJWTKeyCommand(env, g))
	return cmd
}

func newExpiryCommand(env Env, g *globalOptions) *cobra.Command {
	var (
		format string
		days   uint
	)
	cmd := &cobra.Command{
		Use:   "expiry",
		Short: "Show when the root and issuer certificates expire; exit 3 when one expires soon, 4 when one has expired",
		Long: `Show when the root and issuer certificates expire.

Exit codes, for scripts and alerts:
  0  every root and issuer certificate outlives --threshold-days
  1  the trust bundle could not be read
  3  a root or issuer certificate expires within --threshold-days
  4  a root or issuer certificate has expired

Only the root the issuer chains to counts; roots kept only as trust anchors
(for example the old root after a rotation) are listed but do not count.`,
		Example: `  trustctl mtls expiry
  trustctl mtls expiry --threshold-days 60 -o json || alert`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			t, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			b, err := t.bundle.Require()
			if err != nil {
				return fmt.Errorf("read root and issuer expiry: %w", err)
			}
			now := env.Clock.Now()
			threshold := time.Duration(days) * 24 * time.Hour
			certs := status.Certificates(b, now)
			e := status.Expiry{
				Namespace:     t.install.Namespace,
				Level:         status.Check(certs, now, threshold),
				ThresholdDays: int(days),
				Certificates:  certs,
			}
			if format == formatJSON {
				err = status.WriteJSON(env.Out, e)
			} else {
				err = status.WriteExpiryTable(env.Out, e)
			}
			if err != nil {
				return err
			}
			warn(env.Err, certs, now)
			switch e.Level {
			case status.LevelExpiring:
				return &exitError{code: ExitExpiring}
			case status.LevelExpired:
				return &exitError{code: ExitExpired}
			}
			return nil
		},
	}
	outputFlag(cmd.Flags(), &format)
	cmd.Flags().UintVar(&days, "threshold-days", uint(status.DefaultThreshold/(24*time.Hour)),
		"Exit with code 3 when a root or issuer certificate expires within this many days")
	return cmd
}
