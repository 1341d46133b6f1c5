package restart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// DefaultWaitInterval is how often Wait reads the workloads.
const DefaultWaitInterval = 2 * time.Second

// ErrRolloutTimeout means ctx ended before every rollout was done.
var ErrRolloutTimeout = errors.New("timed out waiting for the rollout")

// WaitOptions configure Wait.
type WaitOptions struct {
	// Clock drives the polling. Default: the real clock.
	Clock clock.WithTicker
	// Interval is the time between two reads of the workloads. Default
	// DefaultWaitInterval.
	Interval time.Duration
	// OnChange, when set, is told a target's rollout each time its message
	// changes, and once when it is done.
	OnChange func(Target, Rollout)
}

// Wait reads every restarted workload of results (neither skipped nor
// failed) until each has rolled out the template its restart produced. It
// returns nil then; an error wrapping ErrRolloutFailed or ErrNotWaitable as
// soon as one rollout cannot finish, or the API refuses the read; and an
// error wrapping ErrRolloutTimeout and ctx's error, naming what each
// unfinished workload still waits for, when ctx ends first. A target
// without a namespace of its own is read in namespace. It needs get on the
// workloads' kinds in their namespaces.
func Wait(ctx context.Context, kube kubernetes.Interface, namespace string, results []Result, opts WaitOptions) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultWaitInterval
	}
	var pending []*waiting
	for _, r := range results {
		if !r.Skipped && r.Err == nil {
			pending = append(pending, &waiting{target: r.Target, generation: r.Generation})
		}
	}
	tick := opts.Clock.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		still := pending[:0]
		for _, w := range pending {
			t := w.target
			ro, err := rollout(ctx, kube, t.in(namespace), t, w.generation)
			switch {
			case err != nil && ctx.Err() != nil: // time is up: reported below
				still = append(still, w)
				continue
			case errors.Is(err, ErrRolloutFailed) || errors.Is(err, ErrNotWaitable) || (err != nil && !retriable(err)):
				return fmt.Errorf("wait for %s in namespace %s: %w", t, t.in(namespace), err)
			case err != nil:
				ro = Rollout{Message: "cannot read it; retrying: " + err.Error()}
			}
			if ro.Message != w.last.Message || ro.Done {
				w.last = ro
				if opts.OnChange != nil {
					opts.OnChange(t, ro)
				}
			}
			if !ro.Done {
				still = append(still, w)
			}
		}
		pending = still
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return timeoutErr(ctx, namespace, pending)
		case <-tick.C():
		}
	}
}

// waiting is one unfinished rollout.
type waiting struct {
	target     Target
	generation int64
	last       Rollout
}

// rollout reads target and judges its rollout.
func rollout(ctx context.Context, kube kubernetes.Interface, namespace string, t Target, generation int64) (Rollout, error) {
	switch t.Kind {
	case Deployment:
		d, err := kube.AppsV1().Deployments(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Rollout{}, err
		}
		return DeploymentRollout(d, generation)
	case StatefulSet:
		s, err := kube.AppsV1().StatefulSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Rollout{}, err
		}
		return StatefulSetRollout(s, generation)
	case DaemonSet:
		d, err := kube.AppsV1().DaemonSets(namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return Rollout{}, err
		}
		return DaemonSetRollout(d, generation)
	}
	return Rollout{}, fmt.Errorf("%w: unknown kind %q", ErrNotWaitable, t.Kind)
}

// retriable reports whether a read error may pass by itself. A workload
// deleted meanwhile, or a read that RBAC refuses, will not.
func retriable(err error) bool {
	return !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err)
}

func timeoutErr(ctx context.Context, namespace string, pending []*waiting) error {
	parts := make([]string, 0, len(pending))
	for _, w := range pending {
		msg := w.last.Message
		if msg == "" {
			msg = "not read yet"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", w.target, msg))
	}
	return fmt.Errorf("%w in namespace %s of %s: %w", ErrRolloutTimeout, namespace, strings.Join(parts, ", "), context.Cause(ctx))
}
