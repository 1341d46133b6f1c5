package server

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/trustplane/trustplane/pkg/accessreview"
)

// rbacRule is one RBAC rule as the API server's authorizer matches it.
type rbacRule struct {
	group, resource, namespace, name string // "" namespace: a ClusterRole's rule; "" name: no resourceNames
	verbs                            []string
}

func (r rbacRule) allows(a accessreview.Access) bool {
	return r.group == a.Group && r.resource == a.Resource && slices.Contains(r.verbs, a.Verb) &&
		(r.namespace == "" || r.namespace == a.Namespace) && (r.name == "" || r.name == a.Name)
}

// daprInjectorRBAC is Dapr v1.18.3's chart's RBAC for dapr-injector
// (test/cluster.DaprInjectorClusterRules and DaprInjectorRules).
var daprInjectorRBAC = []rbacRule{
	{resource: "serviceaccounts", verbs: []string{"get", "list"}},
	{group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "dapr-sidecar-injector", verbs: []string{"patch"}},
	{group: "dapr.io", resource: "components", verbs: []string{"get", "list"}},
	{resource: "secrets", namespace: "dapr-system", name: "dapr-trust-bundle", verbs: []string{"get"}},
	{group: "dapr.io", resource: "configurations", namespace: "dapr-system", verbs: []string{"get"}},
	{group: "apps", resource: "statefulsets", namespace: "dapr-system", verbs: []string{"get"}},
}

// ourInjectorRBAC is config/rbac/injector.yaml's, bound as shipped.
var ourInjectorRBAC = []rbacRule{
	{group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "dapr-sidecar-injector", verbs: []string{"get", "list", "watch", "patch"}},
	{group: "dapr.io", resource: "components", verbs: []string{"list"}},
	{group: "dapr.io", resource: "configurations", namespace: "dapr-system", name: "daprsystem", verbs: []string{"get", "list", "watch"}},
	{resource: "configmaps", namespace: "dapr-system", name: "dapr-trust-bundle", verbs: []string{"get", "list", "watch"}},
}

func rbacReviewer(rules []rbacRule) accessreview.Reviewer {
	return func(_ context.Context, as []accessreview.Access) ([]bool, error) {
		out := make([]bool, len(as))
		for i, a := range as {
			out[i] = slices.ContainsFunc(rules, func(r rbacRule) bool { return r.allows(a) })
		}
		return out, nil
	}
}

// The warnings under Dapr's RBAC, word for word.
const (
	warnWebhookWatch = "Re-checking the webhook caBundle on a timer instead of watching it: RBAC does not allow list, watch on " +
		"mutatingwebhookconfigurations.admissionregistration.k8s.io named dapr-sidecar-injector cluster-wide; it is read back by a no-op patch " +
		"every 1m0s and on every trust anchors change, so a caBundle someone else changes is put back within that time; " +
		"granted by the ClusterRole dapr-injector of config/rbac/injector.yaml, which trustplane's chart always installs"
	warnConfigPoll = "Polling the Configuration instead of watching it: RBAC does not allow list, watch on configurations.dapr.io named daprsystem " +
		"in namespace dapr-system; it is read every 10s instead, so an edit of spec.mtls.enabled takes up to that long to reach new sidecars; " +
		"granted by the Role dapr-injector of config/rbac/injector.yaml, which trustplane's chart always installs"
	warnTokenSecrets = "The token Secret check is off in every namespace that does not allow it: RBAC does not allow get on secrets cluster-wide; " +
		"there a pod whose dapr.io/api-token-secret or dapr.io/app-token-secret names a missing Secret, or one without key \"token\", " +
		"is admitted with a warning instead of denied; to turn it on in a namespace, bind the ClusterRole dapr-injector-token-secrets of " +
		"config/rbac/injector.yaml there (kubectl -n <namespace> create rolebinding dapr-injector-token-secrets --clusterrole " +
		"dapr-injector-token-secrets --serviceaccount dapr-system:dapr-injector), never cluster-wide: that would let the injector read the CA key"
	warnCAKey = "The injector can read the CA key: RBAC allows get on secrets named dapr-trust-bundle in namespace dapr-system, whose issuer.key " +
		"can sign any identity; the injector needs none of it (it reads the roots from the dapr-trust-bundle ConfigMap): remove that rule " +
		"(Dapr's chart grants it in the Role dapr-injector; trustplane's config/rbac/injector.yaml does not)"
)

func TestCheckRBAC(t *testing.T) {
	clusterWideSecrets := append(slices.Clone(ourInjectorRBAC), rbacRule{resource: "secrets", verbs: []string{"get"}})
	tests := map[string]struct {
		review       accessreview.Reviewer
		anchorsCM    bool
		want         permissions
		wantWarnings []string
		wantError    string
	}{
		"Dapr's RBAC: the caBundle by patch alone, the Configuration polled, the token Secret check off, and the CA key readable": {
			review:       rbacReviewer(daprInjectorRBAC),
			want:         permissions{components: true, caKey: true},
			wantWarnings: []string{warnWebhookWatch, warnConfigPoll, warnTokenSecrets, warnCAKey},
		},
		"trustplane's RBAC: only the token Secret check is per namespace, and the CA key is out of reach": {
			review:       rbacReviewer(ourInjectorRBAC),
			want:         permissions{watchWebhook: true, watchConfiguration: true, components: true},
			wantWarnings: []string{warnTokenSecrets},
		},
		"get secrets cluster-wide checks every namespace but reaches the CA key": {
			review:       rbacReviewer(clusterWideSecrets),
			want:         permissions{watchWebhook: true, watchConfiguration: true, components: true, secrets: true, caKey: true},
			wantWarnings: []string{warnCAKey},
		},
		"the anchors ConfigMap through the API is required in that mode, and Dapr's RBAC lacks it": {
			review: rbacReviewer(daprInjectorRBAC), anchorsCM: true,
			want:         permissions{components: true, caKey: true},
			wantWarnings: []string{warnWebhookWatch, warnConfigPoll, warnTokenSecrets, warnCAKey},
			wantError: "The injector lacks RBAC it cannot work without: get, list, watch on configmaps named dapr-trust-bundle in namespace dapr-system; " +
				"granted by config/rbac/injector.yaml, which trustplane's chart always installs, and by Dapr's chart",
		},
		"nothing at all: the patch rule is named as required": {
			review:       rbacReviewer(nil),
			want:         permissions{},
			wantWarnings: []string{warnWebhookWatch, warnConfigPoll, warnTokenSecrets, "Pods with dapr.io/inject-pluggable-components are refused"},
			wantError:    "patch on mutatingwebhookconfigurations.admissionregistration.k8s.io named dapr-sidecar-injector cluster-wide; get on configurations.dapr.io named daprsystem in namespace dapr-system",
		},
		"a failed review assumes config/rbac/injector.yaml's rights": {
			review:       func(context.Context, []accessreview.Access) ([]bool, error) { return nil, errors.New("boom") },
			want:         all,
			wantWarnings: []string{"Could not review the RBAC of the injector"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := Options{Namespace: "dapr-system", ConfigurationName: "daprsystem", WebhookConfigurationName: "dapr-sidecar-injector",
				WebhookResync: DefaultPatchOnlyResync, ConfigurationPoll: configPollInterval}
			if tc.anchorsCM {
				o.TrustAnchorsConfigMap = "dapr-trust-bundle"
			}
			core, logs := observer.New(zap.InfoLevel)
			got := checkRBAC(t.Context(), tc.review, &o, zap.New(core))
			assert.Equal(t, tc.want, got)
			warnings := logs.FilterLevelExact(zap.WarnLevel).All()
			if assert.Len(t, warnings, len(tc.wantWarnings)) {
				for i, w := range tc.wantWarnings {
					assert.Contains(t, warnings[i].Message, w)
				}
			}
			errs := logs.FilterLevelExact(zap.ErrorLevel).All()
			if tc.wantError == "" {
				assert.Empty(t, errs)
			} else if assert.Len(t, errs, 1) {
				assert.Contains(t, errs[0].Message, tc.wantError)
			}
		})
	}
}
