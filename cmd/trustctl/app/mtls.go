package app

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
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
		format   string
		days     uint
		exitCode bool
	)
	cmd := &cobra.Command{
		Use:   "expiry",
		Short: "Show when the root certificate expires, as dapr mtls expiry does; -o table|json and --exit-code for more",
		Long: `Show when the root certificate expires.

By default it prints Dapr's sentence, as ` + "`dapr mtls expiry`" + ` does, and exits 0:
  Root certificate expires in <hours> hours. Expiry date: <date>
With -o table or -o json it shows every root and the issuer instead.

With --exit-code the exit code tells, for scripts and alerts:
  0  every root and issuer certificate outlives --threshold-days
  1  the trust bundle could not be read
  3  a root or issuer certificate expires within --threshold-days
  4  a root or issuer certificate has expired

Only the root the issuer chains to counts; roots kept only as trust anchors
(for example the old root after a rotation) are listed but do not count.`,
		Example: `  trustctl mtls expiry
  trustctl mtls expiry --exit-code --threshold-days 60 -o json || alert`,
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
			if !cmd.Flags().Changed("output") && !exitCode {
				// Dapr's output and exit status, which scripts parse.
				fmt.Fprint(env.Out, daprExpirySentence(t.bundle, now))
				return nil
			}
			b, err := t.bundle.Require()
			if err != nil {
				return fmt.Errorf("read root and issuer expiry: %w", err)
			}
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
			switch {
			case !exitCode:
			case e.Level == status.LevelExpiring:
				return &exitError{code: ExitExpiring}
			case e.Level == status.LevelExpired:
				return &exitError{code: ExitExpired}
			}
			return nil
		},
	}
	outputFlag(cmd.Flags(), &format)
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "Exit with code 3 when a root or issuer certificate expires within --threshold-days, 4 when one has expired")
	cmd.Flags().UintVar(&days, "threshold-days", uint(status.DefaultThreshold/(24*time.Hour)),
		"Exit with code 3 when a root or issuer certificate expires within this many days")
	return cmd
}

// daprExpirySentence is what `dapr mtls expiry` prints: the whole hours
// until the first root of ca.crt expires, and that time in Go's format, no
// newline; or Dapr's sentence for a bundle without roots.
func daprExpirySentence(tb *cluster.TrustBundle, now time.Time) string {
	if tb == nil || tb.Bundle == nil || len(tb.Bundle.Roots) == 0 {
		return "root certificate not loaded yet, please try again in few minutes"
	}
	exp := tb.Bundle.Roots[0].NotAfter
	return fmt.Sprintf("Root certificate expires in %d hours. Expiry date: %s", int(exp.Sub(now).Hours()), exp.String())
}
