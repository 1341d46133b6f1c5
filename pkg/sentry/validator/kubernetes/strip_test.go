package kubernetes

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
)

func TestStripPod(t *testing.T) {
	pod := newPod("shop", "orders-1", "orders", "uid-1", map[string]string{
		AnnotationAppID: "orders", AnnotationConfig: "appcfg", AnnotationControlPlane: "operator",
		"dapr.io/enabled": "true", "kubectl.kubernetes.io/last-applied-configuration": "{...}",
	})
	pod.ResourceVersion = "42"
	pod.Labels = map[string]string{"app": "orders"}
	pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "orders:1"}}
	pod.Status.Phase = corev1.PodRunning

	out, err := stripPod(pod)
	require.NoError(t, err)
	want := newPod("shop", "orders-1", "orders", "uid-1", map[string]string{
		AnnotationAppID: "orders", AnnotationConfig: "appcfg", AnnotationControlPlane: "operator",
	})
	want.ResourceVersion = "42"
	assert.Equal(t, want, out, "only what Validate reads is kept")

	bare, err := stripPod(newPod("shop", "p", "sa", "u", map[string]string{"other": "x"}))
	require.NoError(t, err)
	assert.Nil(t, bare.(*corev1.Pod).Annotations)

	tomb := cache.DeletedFinalStateUnknown{Key: "shop/p", Obj: want}
	got, err := stripPod(tomb)
	require.NoError(t, err)
	assert.Equal(t, tomb, got, "tombstones pass through")
}

func TestStripConfiguration(t *testing.T) {
	in := newConfiguration("shop", "appcfg", "example.org")
	in.SetResourceVersion("7")
	in.SetLabels(map[string]string{"x": "y"})
	out, err := stripConfiguration(in)
	require.NoError(t, err)
	u := out.(*unstructured.Unstructured)
	assert.Equal(t, "shop", u.GetNamespace())
	assert.Equal(t, "appcfg", u.GetName())
	assert.Equal(t, "7", u.GetResourceVersion())
	td, _, _ := unstructured.NestedString(u.Object, "spec", "accessControl", "trustDomain")
	assert.Equal(t, "example.org", td)
	_, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "mtls")
	assert.False(t, found, "spec.mtls is dropped")
	assert.Nil(t, u.GetLabels())

	out, err = stripConfiguration(newConfiguration("shop", "appcfg", ""))
	require.NoError(t, err)
	_, found, _ = unstructured.NestedFieldNoCopy(out.(*unstructured.Unstructured).Object, "spec")
	assert.False(t, found)
}
