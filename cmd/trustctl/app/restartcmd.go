package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/trustplane/trustplane/pkg/trustctl/restart"
)

// group is what a set of restarted workloads is called in the output.
type group struct{ name, plural string }

var (
	controlPlaneGroup = group{name: "the control plane", plural: "control plane services"}
	appsGroup         = group{name: "the Dapr applications", plural: "Dapr applications"}
)

// restartGroup restarts targets (in ns when they name none), reports every
// error and, when wait is positive, waits that long for the rollouts.
func restartGroup(ctx context.Context, w io.Writer, kube kubernetes.Interface, ns string, targets []restart.Target, now time.Time, wait time.Duration, g group) error {
	if len(targets) == 0 {
		fmt.Fprintf(w, "No %s to restart.\n", g.plural)
		return nil
	}
	var errs []error
	results := restart.Restart(ctx, kube, ns, targets, now)
	for _, r := range results {
		switch {
		case r.Skipped && r.Target.Namespace == "":
			fmt.Fprintf(w, "Skipping %s: not found in namespace %s\n", r.Target, ns)
		case r.Skipped:
			fmt.Fprintf(w, "Skipping %s: not found\n", r.Target)
		case r.Err != nil:
			fmt.Fprintf(w, "Restarting %s failed: %v\n", r.Target, r.Err)
			errs = append(errs, r.Err)
		default:
			fmt.Fprintf(w, "Restarting %s..\n", r.Target)
		}
	}
	if wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		err := restart.Wait(wctx, kube, ns, results, restart.WaitOptions{OnChange: func(t restart.Target, r restart.Rollout) {
			if r.Done {
				fmt.Fprintf(w, "%s restarted: %s\n", t, r.Message)
				return
			}
			fmt.Fprintf(w, "Waiting for %s: %s\n", t, r.Message)
		}})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the certificates were rotated, but restarting %s failed: %w", g.name, errors.Join(errs...))
	}
	if wait > 0 {
		fmt.Fprintf(w, "All %s have restarted successfully!\n", g.plural)
		return nil
	}
	fmt.Fprintf(w, "All %s were asked to restart; follow them with kubectl rollout status.\n", g.plural)
	return nil
}
