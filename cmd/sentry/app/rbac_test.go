//go:build !standalone

package app

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/trustplane/trustplane/pkg/accessreview"
)

// daprAllows answers as the apiserver does for Dapr v1.18.3's rules for
// dapr-sentry in dapr-system (test/cluster.DaprSentryRules and
// DaprSentryClusterRules); namespaced drops the cluster-wide pods and
// Configurations, as global.rbac.namespaced does.
func daprAllows(namespaced bool) func(access) bool {
	return func(a access) bool {
		inNS := a.Namespace == "dapr-system"
		byName := a.Name == "dapr-trust-bundle"
		switch {
		case a.Group == "authentication.k8s.io" && a.Resource == "tokenreviews":
			return a.Verb == "create"
		case a.Group == "dapr.io" && a.Resource == "configurations":
			return slices.Contains([]string{"get", "list", "watch"}, a.Verb) && (inNS || !namespaced)
		case a.Group == "" && a.Resource == "pods":
			return slices.Contains([]string{"get", "list", "watch"}, a.Verb) && !namespaced
		case a.Group == "" && a.Resource == "secrets":
			return inNS && byName && slices.Contains([]string{"get", "update", "delete"}, a.Verb)
		case a.Group == "" && a.Resource == "configmaps":
			return inNS && byName && slices.Contains([]string{"get", "update", "watch", "list"}, a.Verb)
		}
		return false
	}
}

func reviewer(allows func(access) bool) accessreview.Reviewer {
	return func(_ context.Context, as []access) ([]bool, error) {
		out := make([]bool, len(as))
		for i, a := range as {
			out[i] = allows(a)
		}
		return out, nil
	}
}

// The warnings under Dapr's RBAC, word for word.
const (
	warnPollSecret = "Polling the trust bundle Secret instead of watching it: RBAC does not allow list, watch on secrets named dapr-trust-bundle in namespace dapr-system; " +
		"it is read every 10s instead, so a change takes up to that long to apply; " +
		"granted by the Role dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
	warnEvents = "Kubernetes Events are off: RBAC does not allow create, patch on events in namespace dapr-system; what they would report is only logged; " +
		"granted by the Role dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
	warnAnchors = "Trust anchors are not published to app namespaces: RBAC does not allow list, watch, update on configmaps named dapr-trust-bundle cluster-wide; " +
		"create on configmaps cluster-wide; pods get the roots only when injected (DAPR_TRUST_ANCHORS), as with Dapr, and need a restart to trust a root added later; " +
		"granted by the ClusterRole dapr-sentry of config/rbac/sentry.yaml, which trustplane's chart always installs"
)

func TestCheckRBAC(t *testing.T) {
	tests := map[string]struct {
		review       accessreview.Reviewer
		generateCA   bool
		want         permissions
		wantWarnings []string
		wantError    string
	}{
		"trustplane's RBAC turns nothing off and logs nothing": {
			review: reviewer(func(access) bool { return true }), generateCA: true,
			want: permissions{watchSecret: true, watchConfigMap: true, events: true, anchors: true},
		},
		"Dapr's RBAC: the Secret is polled, and Events and the anchors distributor are off, one warning each": {
			review: reviewer(daprAllows(false)), generateCA: true,
			want:         permissions{watchConfigMap: true},
			wantWarnings: []string{warnPollSecret, warnEvents, warnAnchors},
		},
		"Dapr's namespaced RBAC also lacks what Sentry cannot work without, in one error line": {
			review: reviewer(daprAllows(true)), generateCA: true,
			want:         permissions{watchConfigMap: true},
			wantWarnings: []string{warnPollSecret, warnEvents, "Trust anchors are not published to app namespaces: RBAC does not allow list, watch on pods cluster-wide; list, watch, update on configmaps"},
			wantError: "Sentry lacks RBAC it cannot work without: list, watch on pods cluster-wide; list, watch on configurations.dapr.io cluster-wide; " +
				"granted by config/rbac/sentry.yaml, which trustplane's chart always installs, and by Dapr's chart unless global.rbac.namespaced is true",
		},
		"without CA generation Sentry never writes the Secret, so does not need update": {
			review: reviewer(func(a access) bool { return !(a.Resource == "secrets" && a.Verb == "update") }),
			want:   permissions{watchSecret: true, watchConfigMap: true, events: true, anchors: true},
		},
		"with CA generation it does": {
			review: reviewer(func(a access) bool { return !(a.Resource == "secrets" && a.Verb == "update") }), generateCA: true,
			want:      permissions{watchSecret: true, watchConfigMap: true, events: true, anchors: true},
			wantError: "Sentry lacks RBAC it cannot work without: update on secrets named dapr-trust-bundle in namespace dapr-system;",
		},
		"a review that fails assumes trustplane's RBAC, with one warning": {
			review:       func(context.Context, []access) ([]bool, error) { return nil, errors.New("no route to host") },
			want:         permissions{watchSecret: true, watchConfigMap: true, events: true, anchors: true},
			wantWarnings: []string{"Could not review the RBAC of Sentry with SelfSubjectAccessReviews; assuming every optional rule is granted"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zap.InfoLevel)
			o := &Options{Namespace: "dapr-system", ConfigFile: "daprsystem", GenerateCA: tc.generateCA}
			got := checkRBAC(t.Context(), tc.review, o, "dapr-trust-bundle", "dapr-trust-bundle", zap.New(core))
			assert.Equal(t, tc.want, got)
			warnings := logs.FilterLevelExact(zap.WarnLevel).All()
			require.Len(t, warnings, len(tc.wantWarnings))
			for i, w := range tc.wantWarnings {
				assert.Contains(t, warnings[i].Message, w)
			}
			errs := logs.FilterLevelExact(zap.ErrorLevel).All()
			if tc.wantError == "" {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1)
			assert.Contains(t, errs[0].Message, tc.wantError)
		})
	}
}
