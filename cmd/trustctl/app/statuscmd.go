package app

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/status"
)

// newStatusCommand is `dapr status -k`: the control-plane services, then
// the certificate-expiry warning.
func newStatusCommand(env Env, g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the health of the control-plane services and warn of certificates that expire soon, as dapr status -k does",
		Example: `  trustctl status -k
  trustctl status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			t, err := g.load(cmd.Context())
			if err != nil {
				return err
			}
			svcs, err := t.client.ControlPlaneServices(cmd.Context(), t.install.Namespace)
			if err != nil {
				return err
			}
			if format == formatJSON {
				return status.WriteJSON(env.Out, svcs)
			}
			now := env.Clock.Now()
			writeServices(env.Out, svcs, now)
			if b := t.bundle.Bundle; b != nil {
				// Like Dapr's CLI, on the standard output after the table.
				warn(env.Out, status.Certificates(b, now), now)
			}
			return nil
		},
	}
	outputFlag(cmd.Flags(), &format)
	return cmd
}

// writeServices prints the table of `dapr status -k`.
func writeServices(w io.Writer, svcs []cluster.Service, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tNAMESPACE\tHEALTHY\tSTATUS\tREPLICAS\tVERSION\tAGE\tCREATED")
	for _, s := range svcs {
		healthy := "False"
		if s.Healthy {
			healthy = "True"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Name, s.Namespace, healthy, s.Status, s.Replicas, s.Version,
			duration.HumanDuration(now.Sub(s.Created)), s.Created.Format("2006-01-02 15:04.05"))
	}
	_ = tw.Flush()
}
