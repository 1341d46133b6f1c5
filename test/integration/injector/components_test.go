package injector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/trustplane/trustplane/pkg/injector/server"
)

// component creates a Component in ns declaring container (JSON; "" for
// none) for the apps in scopes.
func (c *icluster) component(t *testing.T, ns, name, container string, scopes ...string) {
	t.Helper()
	meta := map[string]any{"name": name, "namespace": ns}
	if container != "" {
		meta["annotations"] = map[string]any{"dapr.io/component-container": container}
	}
	obj := map[string]any{
		"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": meta,
		"spec": map[string]any{"type": "state.redis-pluggable", "version": "v1"},
	}
	if len(scopes) > 0 {
		s := make([]any, len(scopes))
		for i, v := range scopes {
			s[i] = v
		}
		obj["scopes"] = s
	}
	_, err := dynamic.NewForConfigOrDie(c.Env.Config).Resource(server.ComponentResource).Namespace(ns).
		Create(cctx(t), &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// testDeclaredComponents runs pods through an injector that lists the
// namespace's Components with exactly config/rbac's rights.
func testDeclaredComponents(t *testing.T, c *icluster) {
	c.Namespace(t, "plugins")
	c.component(t, "plugins", "kv", `{"image":"example.com/kv:1","volumeMounts":[{"name":"kv-data","mountPath":"/data"}]}`)
	c.component(t, "plugins", "queue", `{"name":"queue-plugin","image":"example.com/queue:2"}`, "billing")
	c.component(t, "plugins", "plain", "")
	pods := c.Client.CoreV1().Pods("plugins")

	t.Run("the containers its Components declare for the app are stored with the pod", func(t *testing.T) {
		created, err := pods.Create(cctx(t), appPod("orders-plugins", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "orders", "dapr.io/inject-pluggable-components": "true",
		}), metav1.CreateOptions{})
		require.NoError(t, err)
		names := make([]string, 0, len(created.Spec.Containers))
		for _, ctr := range created.Spec.Containers {
			names = append(names, ctr.Name)
		}
		assert.Equal(t, []string{"app", "daprd", "kv"}, names, "queue is scoped to billing only")
		kv := containerNamed(created, "kv")
		assert.Equal(t, "example.com/kv:1", kv.Image)
		require.NotNil(t, envNamed(kv, "DAPR_COMPONENT_SOCKETS_FOLDER"))
		assert.Equal(t, "/tmp/dapr-components-sockets", envNamed(kv, "DAPR_COMPONENT_SOCKETS_FOLDER").Value)
		assert.NotNil(t, envNamed(containerNamed(created, "daprd"), "DAPR_COMPONENT_SOCKETS_FOLDER"), "daprd finds the sockets")
		assert.Nil(t, envNamed(kv, "DAPR_HTTP_PORT"), "a component is not an app container")
		vols := map[string]corev1.Volume{}
		for _, v := range created.Spec.Volumes {
			vols[v.Name] = v
		}
		assert.NotNil(t, vols["kv-data"].EmptyDir, "the component's own mount gets an emptyDir")
		assert.NotNil(t, vols["dapr-components-unix-domain-socket"].EmptyDir)
	})

	t.Run("a scoped Component is injected into its app", func(t *testing.T) {
		created, err := pods.Create(cctx(t), appPod("billing-plugins", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "billing", "dapr.io/inject-pluggable-components": "true",
		}), metav1.CreateOptions{})
		require.NoError(t, err)
		assert.NotNil(t, containerNamed(created, "queue-plugin"))
		assert.NotNil(t, containerNamed(created, "kv"))
	})

	t.Run("a broken declaration denies the pod and names the Component", func(t *testing.T) {
		c.component(t, "plugins", "broken", `{"image":"example.com/x:1","imagePullPolcy":"Always"}`, "reports")
		_, err := pods.Create(cctx(t), appPod("reports-plugins", map[string]string{
			"dapr.io/enabled": "true", "dapr.io/app-id": "reports", "dapr.io/inject-pluggable-components": "true",
		}), metav1.CreateOptions{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "on Component plugins/broken")
		assert.Contains(t, err.Error(), `unknown field "imagePullPolcy"`)
	})

	t.Run("without the annotation no Component is injected", func(t *testing.T) {
		created, err := pods.Create(cctx(t), appPod("orders-plain", map[string]string{"dapr.io/enabled": "true", "dapr.io/app-id": "orders"}), metav1.CreateOptions{})
		require.NoError(t, err)
		assert.Len(t, created.Spec.Containers, 2)
	})
}
