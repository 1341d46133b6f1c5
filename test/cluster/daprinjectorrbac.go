package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InjectorServiceAccount is the injector's ServiceAccount as a user name.
const InjectorServiceAccount = "system:serviceaccount:" + ControlPlaneNamespace + ":dapr-injector"

// DaprInjectorClusterRules are the rules of Dapr v1.18.3's ClusterRole
// dapr-injector (charts/dapr/charts/dapr_rbac/templates/injector.yaml) with
// global.rbac.namespaced false: ServiceAccounts (for its allowlist of
// controllers), patch on its MutatingWebhookConfiguration only, and every
// Component. No Secret in any app namespace.
var DaprInjectorClusterRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list"}},
	{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"}, Verbs: []string{"patch"}, ResourceNames: []string{"dapr-sidecar-injector"}},
	{APIGroups: []string{"dapr.io"}, Resources: []string{"components"}, Verbs: []string{"get", "list"}},
}

// DaprInjectorRules are the rules of Dapr v1.18.3's Role dapr-injector in
// the control-plane namespace: get on the trust bundle Secret (which holds
// the CA's issuer key), get on Configurations (no list or watch) and get on
// StatefulSets.
var DaprInjectorRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{TrustBundleName}},
	{APIGroups: []string{"dapr.io"}, Resources: []string{"configurations"}, Verbs: []string{"get"}},
	{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"get"}},
}

// UseDaprInjectorRBAC replaces the dapr-injector ServiceAccount's rights
// (config/rbac/injector.yaml, which New applies) with exactly Dapr's:
// DaprInjectorClusterRules and DaprInjectorRules, bound as Dapr's chart
// binds them.
func (c *Cluster) UseDaprInjectorRBAC(t *testing.T) {
	t.Helper()
	ctx := Context(t)
	rbac := c.Client.RbacV1()
	for _, err := range []error{
		rbac.ClusterRoleBindings().Delete(ctx, "dapr-injector", metav1.DeleteOptions{}),
		rbac.ClusterRoles().Delete(ctx, "dapr-injector", metav1.DeleteOptions{}),
		rbac.ClusterRoles().Delete(ctx, "dapr-injector-token-secrets", metav1.DeleteOptions{}),
		rbac.RoleBindings(ControlPlaneNamespace).Delete(ctx, "dapr-injector", metav1.DeleteOptions{}),
		rbac.Roles(ControlPlaneNamespace).Delete(ctx, "dapr-injector", metav1.DeleteOptions{}),
	} {
		if !apierrors.IsNotFound(err) {
			require.NoError(t, err)
		}
	}
	c.bindAsDaprsChart(t, "dapr-injector", "dapr-injector", DaprInjectorClusterRules, DaprInjectorRules)
}

// AllowTokenSecretCheck binds config/rbac/injector.yaml's ClusterRole
// dapr-injector-token-secrets to the injector in namespace ns, as the
// comment there tells users to: the injector may then read that
// namespace's Secrets, and no other's.
func (c *Cluster) AllowTokenSecretCheck(t *testing.T, ns string) {
	t.Helper()
	_, err := c.Client.RbacV1().RoleBindings(ns).Create(Context(t), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "dapr-injector-token-secrets", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "dapr-injector-token-secrets"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "dapr-injector", Namespace: ControlPlaneNamespace}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// CanI asks the API server what `kubectl auth can-i <verb> <resource>/<name>
// -n <ns> --as=<user>` asks, with a SubjectAccessReview through the admin
// client; a ServiceAccount user gets its groups, as its token would.
func (c *Cluster) CanI(t *testing.T, user, verb, resource, ns, name string) bool {
	t.Helper()
	groups := []string{"system:authenticated"}
	if sa, ok := serviceAccountNamespace(user); ok {
		groups = append(groups, "system:serviceaccounts", "system:serviceaccounts:"+sa)
	}
	res, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(Context(t), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: resource, Namespace: ns, Name: name},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return res.Status.Allowed && !res.Status.Denied
}

// serviceAccountNamespace returns the namespace of a ServiceAccount user
// name (system:serviceaccount:<ns>:<name>).
func serviceAccountNamespace(user string) (string, bool) {
	rest, ok := strings.CutPrefix(user, "system:serviceaccount:")
	if !ok {
		return "", false
	}
	ns, _, ok := strings.Cut(rest, ":")
	return ns, ok
}
