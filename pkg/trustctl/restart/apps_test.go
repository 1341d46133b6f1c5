package restart

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func template(enabled string) corev1.PodTemplateSpec {
	if enabled == "" {
		return corev1.PodTemplateSpec{}
	}
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"dapr.io/enabled": enabled}}}
}

func TestDaprAppsListsEveryWorkloadRunningDaprd(t *testing.T) {
	meta := func(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	kube := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: meta("shop", "orders"), Spec: appsv1.DeploymentSpec{Template: template("true")}},
		&appsv1.Deployment{ObjectMeta: meta("shop", "web"), Spec: appsv1.DeploymentSpec{Template: template("")}},
		&appsv1.Deployment{ObjectMeta: meta("billing", "invoices"), Spec: appsv1.DeploymentSpec{Template: template(" Yes ")}},
		&appsv1.Deployment{ObjectMeta: meta("billing", "off"), Spec: appsv1.DeploymentSpec{Template: template("false")}},
		&appsv1.StatefulSet{ObjectMeta: meta("shop", "ledger"), Spec: appsv1.StatefulSetSpec{Template: template("1")}},
		&appsv1.DaemonSet{ObjectMeta: meta("edge", "agent"), Spec: appsv1.DaemonSetSpec{Template: template("on")}},
		&appsv1.DaemonSet{ObjectMeta: meta("kube-system", "proxy"), Spec: appsv1.DaemonSetSpec{Template: template("")}},
	)
	got, err := DaprApps(t.Context(), kube)
	require.NoError(t, err)
	assert.Equal(t, []Target{
		{Kind: Deployment, Name: "invoices", Namespace: "billing"},
		{Kind: DaemonSet, Name: "agent", Namespace: "edge"},
		{Kind: Deployment, Name: "orders", Namespace: "shop"},
		{Kind: StatefulSet, Name: "ledger", Namespace: "shop"},
	}, got, "truthy dapr.io/enabled on the pod template, as the injector reads it; by namespace, kind, name")
}

func TestTargetsInTheirOwnNamespaceAreRestartedThere(t *testing.T) {
	kube := fake.NewClientset(
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "edge", Name: "agent"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "dapr-system", Name: "dapr-sentry"}},
	)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	targets := []Target{{Kind: DaemonSet, Name: "agent", Namespace: "edge"}, {Kind: Deployment, Name: "dapr-sentry"}}
	for _, r := range Restart(t.Context(), kube, "dapr-system", targets, now) {
		require.NoError(t, r.Err)
		assert.False(t, r.Skipped, r.Target.String())
	}
	ds, err := kube.AppsV1().DaemonSets("edge").Get(t.Context(), "agent", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2030-01-02T03:04:05Z", ds.Spec.Template.Annotations[AnnotationRestartedAt])
	assert.Equal(t, "daemonset/agent -n edge", targets[0].String())
	assert.Equal(t, "deployment/dapr-sentry", targets[1].String())
}

func TestDaemonSetRollout(t *testing.T) {
	ds := func(st appsv1.DaemonSetStatus) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: 3}, Status: st}
	}
	tests := map[string]struct {
		d           *appsv1.DaemonSet
		wantDone    bool
		wantMessage string
		wantErr     error
	}{
		"a restart the controller has not seen yet is awaited": {
			d: ds(appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}), wantMessage: "waiting for the daemonset spec update to be observed",
		},
		"nodes without the new pod are awaited": {
			d: ds(appsv1.DaemonSetStatus{ObservedGeneration: 3, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 1, NumberAvailable: 3}), wantMessage: "1 out of 3 new pods have been updated",
		},
		"new pods not yet available are awaited": {
			d: ds(appsv1.DaemonSetStatus{ObservedGeneration: 3, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 2}), wantMessage: "2 of 3 updated pods are available",
		},
		"every node with an available new pod is done": {
			d: ds(appsv1.DaemonSetStatus{ObservedGeneration: 3, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 3}), wantDone: true, wantMessage: "successfully rolled out",
		},
		"the OnDelete strategy cannot be waited for": {
			d: &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}}, wantErr: ErrNotWaitable,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DaemonSetRollout(tc.d, 3)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Rollout{Done: tc.wantDone, Message: tc.wantMessage}, got)
		})
	}
}
