package restart

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// ErrRolloutFailed means a rollout will not finish by itself: the
// Deployment controller gave up (its progress deadline passed).
var ErrRolloutFailed = errors.New("rollout failed")

// ErrNotWaitable means the workload's update strategy replaces no pods by
// itself (a StatefulSet with OnDelete), so there is no rollout to wait for.
var ErrNotWaitable = errors.New("rollout cannot be waited for")

// Rollout is where one workload's rollout stands.
type Rollout struct {
	// Done is true once every replica runs the restarted template and is
	// available (ready, for a StatefulSet).
	Done bool
	// Message says what is still awaited, in kubectl's words.
	Message string
}

// replicas is spec.replicas, which the API server defaults to 1.
func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// DeploymentRollout reports the rollout of d towards generation (the
// generation its restart patch produced), judged as `kubectl rollout
// status` judges it.
func DeploymentRollout(d *appsv1.Deployment, generation int64) (Rollout, error) {
	if d.Status.ObservedGeneration < generation {
		return Rollout{Message: "waiting for the deployment spec update to be observed"}, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return Rollout{}, fmt.Errorf("%w: deployment %q exceeded its progress deadline: %s", ErrRolloutFailed, d.Name, c.Message)
		}
	}
	want, st := replicas(d.Spec.Replicas), d.Status
	switch {
	case st.UpdatedReplicas < want:
		return Rollout{Message: fmt.Sprintf("%d out of %d new replicas have been updated", st.UpdatedReplicas, want)}, nil
	case st.Replicas > st.UpdatedReplicas:
		return Rollout{Message: fmt.Sprintf("%d old replicas are pending termination", st.Replicas-st.UpdatedReplicas)}, nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return Rollout{Message: fmt.Sprintf("%d of %d updated replicas are available", st.AvailableReplicas, st.UpdatedReplicas)}, nil
	}
	return Rollout{Done: true, Message: "successfully rolled out"}, nil
}

// StatefulSetRollout reports the rollout of s towards generation, judged
// as `kubectl rollout status` judges it.
func StatefulSetRollout(s *appsv1.StatefulSet, generation int64) (Rollout, error) {
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return Rollout{}, fmt.Errorf("%w: statefulset %q uses the OnDelete update strategy; delete its pods to restart them", ErrNotWaitable, s.Name)
	}
	if s.Status.ObservedGeneration == 0 || s.Status.ObservedGeneration < generation {
		return Rollout{Message: "waiting for the statefulset spec update to be observed"}, nil
	}
	want, st := replicas(s.Spec.Replicas), s.Status
	if st.ReadyReplicas < want {
		return Rollout{Message: fmt.Sprintf("%d of %d pods are ready", st.ReadyReplicas, want)}, nil
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && *ru.Partition > 0 {
		if updated := want - *ru.Partition; st.UpdatedReplicas < updated {
			return Rollout{Message: fmt.Sprintf("partitioned roll out: %d of %d new pods have been updated", st.UpdatedReplicas, updated)}, nil
		}
		return Rollout{Done: true, Message: fmt.Sprintf("partitioned roll out complete: %d new pods have been updated", st.UpdatedReplicas)}, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		return Rollout{Message: fmt.Sprintf("%d of %d pods run the new revision %s", st.UpdatedReplicas, want, st.UpdateRevision)}, nil
	}
	return Rollout{Done: true, Message: fmt.Sprintf("rolling update complete: %d pods at revision %s", st.CurrentReplicas, st.CurrentRevision)}, nil
}

// DaemonSetRollout reports the rollout of d towards generation, judged as
// `kubectl rollout status` judges it.
func DaemonSetRollout(d *appsv1.DaemonSet, generation int64) (Rollout, error) {
	if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		return Rollout{}, fmt.Errorf("%w: daemonset %q uses the OnDelete update strategy; delete its pods to restart them", ErrNotWaitable, d.Name)
	}
	if d.Status.ObservedGeneration < generation {
		return Rollout{Message: "waiting for the daemonset spec update to be observed"}, nil
	}
	st := d.Status
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return Rollout{Message: fmt.Sprintf("%d out of %d new pods have been updated", st.UpdatedNumberScheduled, st.DesiredNumberScheduled)}, nil
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return Rollout{Message: fmt.Sprintf("%d of %d updated pods are available", st.NumberAvailable, st.DesiredNumberScheduled)}, nil
	}
	return Rollout{Done: true, Message: "successfully rolled out"}, nil
}
