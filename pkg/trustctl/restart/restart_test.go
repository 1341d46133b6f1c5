package restart

import (
	"errors"
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
)

func TestRestart(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	kube := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dapr-sentry", Namespace: "ns"}},
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "dapr-scheduler-server", Namespace: "ns"}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "dapr-operator", Namespace: "ns"}},
	)
	denied := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "dapr-operator", errors.New("no"))
	kube.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.PatchAction).GetName() == "dapr-operator" {
			return true, nil, denied
		}
		return false, nil, nil
	})

	results := Restart(t.Context(), kube, "ns", ControlPlane, now)
	require.Len(t, results, len(ControlPlane))
	byName := map[string]Result{}
	for _, r := range results {
		byName[r.Target.String()] = r
	}
	assert.NoError(t, byName["deployment/dapr-sentry"].Err)
	assert.False(t, byName["deployment/dapr-sentry"].Skipped)
	assert.True(t, byName["deployment/dapr-sidecar-injector"].Skipped, "an absent workload is skipped")
	assert.True(t, byName["statefulset/dapr-placement-server"].Skipped)
	assert.ErrorIs(t, byName["deployment/dapr-operator"].Err, denied, "errors are reported, not dropped")
	assert.Contains(t, byName["deployment/dapr-operator"].Err.Error(), "restart deployment/dapr-operator in namespace ns")

	d, err := kube.AppsV1().Deployments("ns").Get(t.Context(), "dapr-sentry", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2030-01-02T03:04:05Z", d.Spec.Template.Annotations[AnnotationRestartedAt])
	s, err := kube.AppsV1().StatefulSets("ns").Get(t.Context(), "dapr-scheduler-server", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "2030-01-02T03:04:05Z", s.Spec.Template.Annotations[AnnotationRestartedAt])
}
