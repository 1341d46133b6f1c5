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
		Short: "Write ca.crt and issuer.crt (and, when asked, issuer.key) of the trust bundle to a directory",
		Long: `Write the trust bundle to a directory: ca.crt (the roots) and issuer.crt (the
issuer chain), mode 0644. The issuer's private key (issuer.key, mode 0600) is
written only with --include-private-key: it can issue any identity in the
cluster. Existing files are not overwritten unless --force is given.`,
		Example: `  trustctl mtls export -o ./certs
  trustctl mtls export -o ./backup --include-private-key`,
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
				fmt.Fprintln(env.Out, "The issuer private key was not exported; add --include-private-key to export it.")
			}
			now := env.Clock.Now()
			warn(env.Err, status.Certificates(b, now), now)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&dir, "out", "o", ".", "The directory to write the files to (created when absent)")
	fs.BoolVar(&opts.IncludeKey, "include-private-key", false, "Also write the issuer private key, issuer.key (mode 0600)")
	fs.BoolVar(&opts.Force, "force", false, "Overwrite existing files")
	return cmd
}
