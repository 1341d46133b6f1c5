package app

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trustplane/trustplane/pkg/trustctl/export"
	"github.com/trustplane/trustplane/pkg/trustctl/status"
)

func newExportCommand(env Env, g *globalOptions) *cobra.Command {
	var (
		dir  string
		opts export.Options
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write ca.crt, issuer.crt and issuer.key of the trust bundle to a directory, as dapr mtls export does",
		Long: `Write the trust bundle to a directory, as ` + "`dapr mtls export`" + ` does: ca.crt (the
roots) and issuer.crt (the issuer chain), mode 0644, and the issuer's private
key issuer.key, mode 0600 — it can issue any identity in the cluster: keep it
safe, or leave it out with --include-private-key=false. Each file is replaced
atomically (a reader never sees half a file); --no-clobber refuses to replace
existing files instead.`,
		Example: `  trustctl mtls export -o ./backup
  trustctl mtls export -o ./certs --include-private-key=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			b, err := t.bundle.Require()
			if err != nil {
				return fmt.Errorf("error exporting trust chain certs: %w", err)
			}
			if _, err := export.Write(dir, b, opts); err != nil {
				return fmt.Errorf("error exporting trust chain certs: %w", err)
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				abs = dir
			}
			fmt.Fprintf(env.Out, "Trust certs successfully exported to %s\n", abs)
			if !opts.IncludeKey {
				fmt.Fprintln(env.Out, "The issuer private key was not exported (--include-private-key=false).")
			}
			now := env.Clock.Now()
			warn(env.Err, status.Certificates(b, now), now)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&dir, "out", "o", ".", "The directory to write the files to (created when absent)")
	fs.BoolVar(&opts.IncludeKey, "include-private-key", true, "Write the issuer private key, issuer.key (mode 0600), as Dapr's export does")
	var noClobber bool
	fs.BoolVar(&noClobber, "no-clobber", false, "Refuse to replace existing files")
	fs.BoolVar(&opts.Force, "force", true, "Replace existing files (the default; see --no-clobber)")
	_ = fs.MarkHidden("force")
	cmd.PreRun = func(*cobra.Command, []string) {
		if noClobber {
			opts.Force = false
		}
	}
	return cmd
}
