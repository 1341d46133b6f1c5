package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustplane/trustplane/pkg/trustctl/status"
)

// The pieces both phased rotations (rotate-root, rotate-jwt-key) share.

// newPhaseStatusCommand is a rotation's `status`: load reads the status,
// write prints it as text (-o json prints it as is).
func newPhaseStatusCommand[S any](env Env, format *string, short string, load func(context.Context) (S, error), write func(io.Writer, S)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			s, err := load(cmd.Context())
			if err != nil {
				return err
			}
			if *format == formatJSON {
				return status.WriteJSON(env.Out, s)
			}
			write(env.Out, s)
			return nil
		},
	}
	outputFlag(cmd.Flags(), format)
	return cmd
}

// newPhaseStepCommand is a step of `mtls <command>` that takes no flags of
// its own; run performs it.
func newPhaseStepCommand(env Env, command, step, short string, run func(context.Context) error) *cobra.Command {
	return &cobra.Command{
		Use:   step,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return stepResult(env, command, step, run(cmd.Context()))
		},
	}
}

// phaseTime is when a phase ran; zero if it has not.
type phaseTime struct {
	name string
	at   time.Time
}

// writePhaseHeader prints a rotation's namespace, phase, extra lines and
// the times of the phases that ran.
func writePhaseHeader(w io.Writer, namespace, phase, extra string, times ...phaseTime) {
	if phase == "" {
		phase = "none"
	}
	fmt.Fprintf(w, "Namespace:  %s\nPhase:      %s\n%s", namespace, phase, extra)
	for _, tm := range times {
		if !tm.at.IsZero() {
			fmt.Fprintf(w, "%-17s %s\n", tm.name+":", tm.at.Format(time.RFC3339))
		}
	}
}
