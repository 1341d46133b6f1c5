package restart

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// waitRun is a Wait running on a fake clock, its progress as a channel.
type waitRun struct {
	clk     *clocktesting.FakeClock
	changes chan string
	done    chan error
}

func startWait(t *testing.T, ctx context.Context, kube *fake.Clientset, results []Result) *waitRun {
	t.Helper()
	w := &waitRun{clk: clocktesting.NewFakeClock(time.Now()), changes: make(chan string, 64), done: make(chan error, 1)}
	go func() {
		w.done <- Wait(ctx, kube, "ns", results, WaitOptions{Clock: w.clk, Interval: time.Second,
			OnChange: func(t Target, r Rollout) { w.changes <- t.String() + ": " + r.Message }})
	}()
	return w
}

// within returns what ch brings, failing the test after ten seconds.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
		var zero T
		return zero
	}
}

// next returns the next progress line.
func (w *waitRun) next(t *testing.T) string {
	t.Helper()
	return within(t, w.changes, "progress")
}

// poll makes Wait read the workloads again.
func (w *waitRun) poll(t *testing.T) {
	t.Helper()
	require.Eventually(t, w.clk.HasWaiters, 10*time.Second, time.Millisecond)
	w.clk.Step(time.Second)
}

func (w *waitRun) result(t *testing.T) error {
	t.Helper()
	return within(t, w.done, "Wait to return")
}

func setStatus(t *testing.T, kube *fake.Clientset, d *appsv1.Deployment) {
	t.Helper()
	_, err := kube.AppsV1().Deployments("ns").UpdateStatus(t.Context(), d, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func TestWaitFollowsEveryRolloutUntilDone(t *testing.T) {
	d := deployment(2, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2})
	d.Namespace = "ns"
	s := statefulSet(1, nil, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "b", UpdateRevision: "b"})
	s.Namespace = "ns"
	kube := fake.NewClientset(d, s)
	results := []Result{
		{Target: Target{Kind: Deployment, Name: "dapr-sentry"}, Generation: 4},
		{Target: Target{Kind: Deployment, Name: "dapr-operator"}, Skipped: true},
		{Target: Target{Kind: Deployment, Name: "dapr-sidecar-injector"}, Err: errors.New("denied")},
		{Target: Target{Kind: StatefulSet, Name: "dapr-placement-server"}, Generation: 2},
	}
	w := startWait(t, t.Context(), kube, results)
	assert.Equal(t, "deployment/dapr-sentry: 1 out of 2 new replicas have been updated", w.next(t))
	assert.Equal(t, "statefulset/dapr-placement-server: rolling update complete: 1 pods at revision b", w.next(t))

	w.poll(t)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1}
	setStatus(t, kube, d)
	w.poll(t)
	assert.Equal(t, "deployment/dapr-sentry: 1 of 2 updated replicas are available", w.next(t))
	d.Status.AvailableReplicas = 2
	setStatus(t, kube, d)
	w.poll(t)
	assert.Equal(t, "deployment/dapr-sentry: successfully rolled out", w.next(t))
	require.NoError(t, w.result(t))
	assert.Empty(t, w.changes, "skipped and failed restarts are not waited for")
}

func TestWaitNamesWhatIsStillAwaitedWhenTimeIsUp(t *testing.T) {
	d := deployment(2, appsv1.DeploymentStatus{ObservedGeneration: 3})
	d.Namespace = "ns"
	kube := fake.NewClientset(d)
	ctx, cancel := context.WithCancel(t.Context())
	w := startWait(t, ctx, kube, []Result{{Target: Target{Kind: Deployment, Name: "dapr-sentry"}, Generation: 4}})
	assert.Equal(t, "deployment/dapr-sentry: waiting for the deployment spec update to be observed", w.next(t))
	cancel()
	err := w.result(t)
	require.ErrorIs(t, err, ErrRolloutTimeout)
	require.ErrorIs(t, err, context.Canceled)
	assert.ErrorContains(t, err, "deployment/dapr-sentry (waiting for the deployment spec update to be observed)")
}

func TestWaitStopsAtAFailureThatWillNotPass(t *testing.T) {
	failed := deployment(1, appsv1.DeploymentStatus{ObservedGeneration: 4, Conditions: []appsv1.DeploymentCondition{{
		Type: appsv1.DeploymentProgressing, Status: "False", Reason: "ProgressDeadlineExceeded", Message: "timed out"}}})
	failed.Namespace = "ns"
	tests := map[string]struct {
		objs    []runtime.Object
		react   k8stesting.ReactionFunc
		wantErr string
	}{
		"a passed progress deadline": {
			objs: []runtime.Object{failed}, wantErr: "exceeded its progress deadline",
		},
		"a workload deleted since its restart": {
			wantErr: `"dapr-sentry" not found`,
		},
		"a read RBAC refuses": {
			objs: []runtime.Object{failed},
			react: func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "dapr-sentry", errors.New("no get"))
			},
			wantErr: "forbidden",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kube := fake.NewClientset(tc.objs...)
			if tc.react != nil {
				kube.PrependReactor("get", "deployments", tc.react)
			}
			w := startWait(t, t.Context(), kube, []Result{{Target: Target{Kind: Deployment, Name: "dapr-sentry"}, Generation: 4}})
			err := w.result(t)
			require.Error(t, err)
			assert.ErrorContains(t, err, "wait for deployment/dapr-sentry in namespace ns")
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestWaitRetriesAReadThatMayPass(t *testing.T) {
	d := deployment(1, appsv1.DeploymentStatus{ObservedGeneration: 4, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1})
	d.Namespace = "ns"
	kube := fake.NewClientset(d)
	var mu sync.Mutex
	failing := true
	kube.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return true, nil, apierrors.NewServiceUnavailable("etcd leader changed")
		}
		return false, nil, nil
	})
	w := startWait(t, t.Context(), kube, []Result{{Target: Target{Kind: Deployment, Name: "dapr-sentry"}, Generation: 4}})
	assert.Contains(t, w.next(t), "deployment/dapr-sentry: cannot read it; retrying: etcd leader changed")
	mu.Lock()
	failing = false
	mu.Unlock()
	w.poll(t)
	assert.Equal(t, "deployment/dapr-sentry: successfully rolled out", w.next(t))
	require.NoError(t, w.result(t))
}

func TestRestartRecordsTheGenerationItProduced(t *testing.T) {
	kube := fake.NewClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dapr-sentry", Namespace: "ns"}})
	kube.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dapr-sentry", Namespace: "ns", Generation: 7},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)}}, nil
	})
	r := Restart(t.Context(), kube, "ns", []Target{{Kind: Deployment, Name: "dapr-sentry"}}, time.Now())
	require.Len(t, r, 1)
	require.NoError(t, r[0].Err)
	assert.Equal(t, int64(7), r[0].Generation)
}
