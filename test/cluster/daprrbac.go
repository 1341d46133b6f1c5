package cluster

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SentryRBAC names the rights the dapr-sentry ServiceAccount gets in New.
type SentryRBAC int

const (
	// TrustplaneRBAC is config/rbac/sentry.yaml, what trustplane's chart
	// grants (the default).
	TrustplaneRBAC SentryRBAC = iota
	// DaprRBAC is exactly what Dapr v1.18.3's chart grants dapr-sentry
	// with global.rbac.namespaced false (its default): see DaprSentryRules.
	DaprRBAC
)

// Options tune New.
type Options struct {
	// SentryRBAC is the dapr-sentry ServiceAccount's RBAC. Default
	// TrustplaneRBAC.
	SentryRBAC SentryRBAC
}

// DaprSentryClusterRules are the rules of Dapr v1.18.3's ClusterRole
// dapr-sentry (charts/dapr/charts/dapr_rbac/templates/sentry.yaml) with
// global.rbac.namespaced false: TokenReviews, and every Configuration and
// pod of the cluster.
var DaprSentryClusterRules = []rbacv1.PolicyRule{
	{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
	{APIGroups: []string{"dapr.io"}, Resources: []string{"configurations"}, Verbs: []string{"list", "get", "watch"}},
	{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "get", "watch"}},
}

// DaprSentryRules are the rules of Dapr v1.18.3's Role dapr-sentry in the
// control-plane namespace: the trust bundle Secret (get, update, delete)
// and ConfigMap (get, update, watch, list), both by name only, and the
// Configurations. No list or watch of the Secret, no create of either, no
// Events.
var DaprSentryRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "update", "delete"}, ResourceNames: []string{TrustBundleName}},
	{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "update", "watch", "list"}, ResourceNames: []string{TrustBundleName}},
	{APIGroups: []string{"dapr.io"}, Resources: []string{"configurations"}, Verbs: []string{"list", "get", "watch"}},
}

// applyDaprRBAC binds DaprSentryClusterRules and DaprSentryRules to the
// dapr-sentry ServiceAccount, as Dapr's chart does.
func (c *Cluster) applyDaprRBAC(t *testing.T) {
	t.Helper()
	c.bindAsDaprsChart(t, "dapr-sentry", "dapr-sentry", DaprSentryClusterRules, DaprSentryRules)
}

// bindAsDaprsChart creates a ClusterRole and a Role (in the control-plane
// namespace) called name with clusterRules and rules, and binds both to
// the ServiceAccount sa there, as Dapr's chart does for each component.
func (c *Cluster) bindAsDaprsChart(t *testing.T, name, sa string, clusterRules, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := Context(t)
	rbac := c.Client.RbacV1()
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ControlPlaneNamespace}}
	_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: clusterRules,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rbac.Roles(ControlPlaneNamespace).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ControlPlaneNamespace}, Rules: rules,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rbac.RoleBindings(ControlPlaneNamespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ControlPlaneNamespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// EmptyTrustBundle creates the Secret and the ConfigMap dapr-trust-bundle
// in the control-plane namespace empty, as Dapr's chart does without a
// bring-your-own CA (Sentry fills them).
func (c *Cluster) EmptyTrustBundle(t *testing.T) {
	t.Helper()
	ctx := Context(t)
	meta := metav1.ObjectMeta{Name: TrustBundleName, Namespace: ControlPlaneNamespace, Labels: map[string]string{"app": "dapr-sentry"}}
	_, err := c.Client.CoreV1().Secrets(ControlPlaneNamespace).Create(ctx, &corev1.Secret{ObjectMeta: meta}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.CoreV1().ConfigMaps(ControlPlaneNamespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta}, metav1.CreateOptions{})
	require.NoError(t, err)
}
