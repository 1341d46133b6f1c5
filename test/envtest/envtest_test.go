package envtest_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trustplane/trustplane/test/envtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// klog's flush daemon is started once per process by client-go.
		goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	)
}

// wantVersion is what hack/envtest-assets.sh stamps into kube-apiserver.
const wantVersion = "v1.32.4"

// TestControlPlane checks the rig the Kubernetes tests stand on: the pinned
// apiserver answers, etcd stores, and RBAC is enforced for limited users.
func TestControlPlane(t *testing.T) {
	env := envtest.Start(t)
	admin := kubernetes.NewForConfigOrDie(env.Config)

	t.Run("the apiserver reports the pinned version", func(t *testing.T) {
		v, err := admin.Discovery().ServerVersion()
		require.NoError(t, err)
		assert.Equal(t, wantVersion, v.GitVersion)
		assert.Equal(t, "1", v.Major)
		assert.Equal(t, "32", v.Minor)
	})

	t.Run("the admin kubeconfig file reaches the apiserver", func(t *testing.T) {
		raw, err := os.ReadFile(env.Kubeconfig)
		require.NoError(t, err)
		cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
		require.NoError(t, err)
		_, err = kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Get(t.Context(), "default", metav1.GetOptions{})
		require.NoError(t, err)
	})

	t.Run("a Secret is stored and read back byte for byte", func(t *testing.T) {
		data := map[string][]byte{
			"ca.crt": []byte("-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n"),
			"binary": {0x00, 0xff, 0x10, '\n'},
		}
		_, err := admin.CoreV1().Secrets("default").Create(t.Context(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "round-trip"},
			Data:       data,
		}, metav1.CreateOptions{})
		require.NoError(t, err)

		got, err := admin.CoreV1().Secrets("default").Get(t.Context(), "round-trip", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, data, got.Data)
		assert.NotEmpty(t, got.UID)
	})

	t.Run("RBAC denies a limited user until a Role grants it", func(t *testing.T) {
		const ns = "rbac-check"
		_, err := admin.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		require.NoError(t, err)

		cfg, kubeconfig := env.User(t, "limited", "limited-group")
		assert.FileExists(t, kubeconfig)
		user := kubernetes.NewForConfigOrDie(cfg)

		_, err = user.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "want Forbidden (authenticated, not authorized), got %v", err)

		// The same user passes once RBAC says so: the denial above was RBAC,
		// not a broken client certificate.
		_, err = admin.RbacV1().Roles(ns).Create(t.Context(), &rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "read-secrets"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = admin.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "read-secrets"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-secrets"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "limited-group"}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		assert.EventuallyWithT(t, func(c *assert.CollectT) {
			_, err := user.CoreV1().Secrets(ns).List(t.Context(), metav1.ListOptions{})
			assert.NoError(c, err)
		}, 10*time.Second, 50*time.Millisecond)

		// Granted list, not get: other verbs stay denied.
		_, err = user.CoreV1().Secrets(ns).Get(t.Context(), "anything", metav1.GetOptions{})
		assert.True(t, apierrors.IsForbidden(err), "want Forbidden for get, got %v", err)
	})
}

// TestAssetsDir checks where the helper looks for the binaries.
func TestAssetsDir(t *testing.T) {
	tests := map[string]struct {
		files   []string
		wantErr bool
	}{
		"a directory with etcd and kube-apiserver is accepted": {files: []string{"etcd", "kube-apiserver"}},
		"a directory without kube-apiserver is rejected":       {files: []string{"etcd"}, wantErr: true},
		"an empty directory is rejected":                       {wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				require.NoError(t, os.WriteFile(dir+"/"+f, []byte("#!/bin/sh\n"), 0o755))
			}
			t.Setenv(envtest.AssetsEnv, dir)
			got, err := envtest.AssetsDir()
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "envtest-assets.sh")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, dir, got)
		})
	}
}
