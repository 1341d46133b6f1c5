package restart

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func deployment(replicas int32, st appsv1.DeploymentStatus) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "dapr-sentry", Generation: 4},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status:     st,
	}
}

func TestDeploymentRollout(t *testing.T) {
	deadline := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
		Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "dapr-sentry-7c" has timed out progressing.`}
	tests := map[string]struct {
		d           *appsv1.Deployment
		wantDone    bool
		wantMessage string
		wantErr     error
	}{
		"a restart the controller has not seen yet is awaited": {
			d:           deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}),
			wantMessage: "waiting for the deployment spec update to be observed",
		},
		"too few updated replicas are awaited": {
			d:           deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 1, AvailableReplicas: 3}),
			wantMessage: "1 out of 3 new replicas have been updated",
		},
		"old replicas still terminating are awaited": {
			d:           deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 3, AvailableReplicas: 3}),
			wantMessage: "1 old replicas are pending termination",
		},
		"updated replicas not yet available are awaited": {
			d:           deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}),
			wantMessage: "2 of 3 updated replicas are available",
		},
		"every replica updated and available is done": {
			d:        deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}),
			wantDone: true, wantMessage: "successfully rolled out",
		},
		"no replicas given means one": {
			d: &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 4},
				Status: appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 1, UpdatedReplicas: 0}},
			wantMessage: "0 out of 1 new replicas have been updated",
		},
		"a passed progress deadline fails": {
			d: deployment(3, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 4, UpdatedReplicas: 1,
				Conditions: []appsv1.DeploymentCondition{deadline}}),
			wantErr: ErrRolloutFailed,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DeploymentRollout(tc.d, 4)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.ErrorContains(t, err, "has timed out progressing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Rollout{Done: tc.wantDone, Message: tc.wantMessage}, got)
		})
	}
}

func statefulSet(replicas int32, partition *int32, st appsv1.StatefulSetStatus) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "dapr-placement-server", Generation: 2},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To(replicas)},
		Status:     st,
	}
	if partition != nil {
		s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: partition}
	}
	return s
}

func TestStatefulSetRollout(t *testing.T) {
	tests := map[string]struct {
		s           *appsv1.StatefulSet
		wantDone    bool
		wantMessage string
		wantErr     error
	}{
		"a restart the controller has not seen yet is awaited": {
			s:           statefulSet(3, nil, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 3, CurrentRevision: "a", UpdateRevision: "a"}),
			wantMessage: "waiting for the statefulset spec update to be observed",
		},
		"pods not ready are awaited": {
			s:           statefulSet(3, nil, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 2, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}),
			wantMessage: "2 of 3 pods are ready",
		},
		"pods on the old revision are awaited": {
			s:           statefulSet(3, nil, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 2, CurrentRevision: "a", UpdateRevision: "b"}),
			wantMessage: "2 of 3 pods run the new revision b",
		},
		"every pod ready on the new revision is done": {
			s:        statefulSet(3, nil, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, CurrentReplicas: 3, UpdatedReplicas: 3, CurrentRevision: "b", UpdateRevision: "b"}),
			wantDone: true, wantMessage: "rolling update complete: 3 pods at revision b",
		},
		"a partition is done once the pods above it are updated": {
			s:        statefulSet(3, ptr.To[int32](1), appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 2, CurrentRevision: "a", UpdateRevision: "b"}),
			wantDone: true, wantMessage: "partitioned roll out complete: 2 new pods have been updated",
		},
		"a partition with pods above it not updated is awaited": {
			s:           statefulSet(3, ptr.To[int32](1), appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "a", UpdateRevision: "b"}),
			wantMessage: "partitioned roll out: 1 of 2 new pods have been updated",
		},
		"the OnDelete strategy cannot be waited for": {
			s: &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				Spec: appsv1.StatefulSetSpec{UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}}},
			wantErr: ErrNotWaitable,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := StatefulSetRollout(tc.s, 2)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Rollout{Done: tc.wantDone, Message: tc.wantMessage}, got)
		})
	}
}
