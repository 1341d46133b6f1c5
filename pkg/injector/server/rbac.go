package server

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/accessreview"
)

// The injector asks the API server once, at start, what its RBAC allows
// (package accessreview). Dapr's chart grants it only patch on the
// MutatingWebhookConfiguration, get on Configurations in the control-plane
// namespace, get and list on Components, and no Secret in app namespaces;
// trustplane's config/rbac/injector.yaml grants a little more. Each
// feature whose rules are missing falls back, with one warning naming the
// rules and what grants them:
//
//   - list, watch of the MutatingWebhookConfiguration: the caBundle is read
//     back by a no-op patch on a timer instead (PatchOnly);
//   - list, watch of the daprsystem Configuration: it is polled by GET;
//   - get on secrets: the missing-token-Secret check runs only in the
//     namespaces that allow it (a RoleBinding to TokenSecretsClusterRole)
//     and is an admission warning elsewhere;
//   - list on components.dapr.io: pods with
//     dapr.io/inject-pluggable-components are refused.
//
// The rules it cannot work without are reviewed in the same batch and
// named in one error line. And the one rule it must not have: get on the
// dapr-trust-bundle Secret of the control-plane namespace, which holds the
// CA's issuer key (Dapr's chart grants it), is a warning of its own.

// configPollInterval is how often the Configuration is read when RBAC
// does not allow watching it.
const configPollInterval = 10 * time.Second

// TrustBundleSecret is the Secret that holds Sentry's CA, issuer key
// included, in the control-plane namespace.
const TrustBundleSecret = "dapr-trust-bundle"

const (
	grantedByRole        = "granted by the Role dapr-injector of config/rbac/injector.yaml, which trustplane's chart always installs"
	grantedByClusterRole = "granted by the ClusterRole dapr-injector of config/rbac/injector.yaml, which trustplane's chart always installs"
	requiredBy           = "granted by config/rbac/injector.yaml, which trustplane's chart always installs, and by Dapr's chart"
)

// permissions are the injector's optional rights, as the API server answered.
type permissions struct {
	// watchWebhook: list, watch of the MutatingWebhookConfiguration.
	watchWebhook bool
	// watchConfiguration: list, watch of the control-plane Configuration.
	watchConfiguration bool
	// secrets: get on secrets in every namespace.
	secrets bool
	// components: list on components.dapr.io in every namespace.
	components bool
	// caKey: get on the trust bundle Secret (the injector should not have it).
	caKey bool
}

// all is what the injector assumes when it cannot ask.
var all = permissions{watchWebhook: true, watchConfiguration: true, secrets: true, components: true}

// features are the injector's optional parts, answering into p.
func (p *permissions) features(o *Options) []accessreview.Feature {
	webhook := accessreview.Access{Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: o.WebhookConfigurationName}
	config := accessreview.Access{Group: "dapr.io", Resource: "configurations", Namespace: o.Namespace, Name: o.ConfigurationName}
	return []accessreview.Feature{{
		Off:   "Re-checking the webhook caBundle on a timer instead of watching it",
		Needs: accessreview.Verbs(webhook, "list", "watch"),
		Instead: fmt.Sprintf("it is read back by a no-op patch every %s and on every trust anchors change, "+
			"so a caBundle someone else changes is put back within that time", o.WebhookResync),
		GrantedBy: grantedByClusterRole,
		On:        &p.watchWebhook,
	}, {
		Off:   "Polling the Configuration instead of watching it",
		Needs: accessreview.Verbs(config, "list", "watch"),
		Instead: fmt.Sprintf("it is read every %s instead, so an edit of spec.mtls.enabled takes up to that long to reach new sidecars",
			o.ConfigurationPoll),
		GrantedBy: grantedByRole,
		On:        &p.watchConfiguration,
	}, {
		Off:   "The token Secret check is off in every namespace that does not allow it",
		Needs: []accessreview.Access{{Verb: "get", Resource: "secrets"}},
		Instead: "there a pod whose dapr.io/api-token-secret or dapr.io/app-token-secret names a missing Secret, " +
			"or one without key \"token\", is admitted with a warning instead of denied",
		GrantedBy: fmt.Sprintf("to turn it on in a namespace, bind the ClusterRole %[1]s of config/rbac/injector.yaml there "+
			"(kubectl -n <namespace> create rolebinding %[1]s --clusterrole %[1]s --serviceaccount %[2]s:dapr-injector), "+
			"never cluster-wide: that would let the injector read the CA key", TokenSecretsClusterRole, o.Namespace),
		On: &p.secrets,
	}, {
		Off:       "Pods with dapr.io/inject-pluggable-components are refused",
		Needs:     []accessreview.Access{{Verb: "list", Group: "dapr.io", Resource: "components"}},
		Instead:   "the injector cannot read the Component resources that declare their containers",
		GrantedBy: grantedByClusterRole,
		On:        &p.components,
	}}
}

// required are the rules the injector cannot work without.
func required(o *Options) []accessreview.Access {
	out := []accessreview.Access{
		{Verb: "patch", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Name: o.WebhookConfigurationName},
		{Verb: "get", Group: "dapr.io", Resource: "configurations", Namespace: o.Namespace, Name: o.ConfigurationName},
	}
	if o.TrustAnchorsConfigMap != "" {
		out = append(out, accessreview.Verbs(accessreview.Access{Resource: "configmaps", Namespace: o.Namespace, Name: o.TrustAnchorsConfigMap},
			"get", "list", "watch")...)
	}
	return out
}

// caKey is the access the injector should not have.
func caKey(o *Options) accessreview.Access {
	return accessreview.Access{Verb: "get", Resource: "secrets", Namespace: o.Namespace, Name: TrustBundleSecret}
}

// checkRBAC reviews the injector's rules, logs what is off, and returns its
// optional rights. When the review fails, it assumes the rights of
// config/rbac/injector.yaml (the check already logged why).
func checkRBAC(ctx context.Context, review accessreview.Reviewer, o *Options, logger *zap.Logger) permissions {
	var p permissions
	if err := accessreview.Check(ctx, review, p.features(o), required(o), "the injector", requiredBy, logger); err != nil {
		return all
	}
	key := caKey(o)
	if ok, err := accessreview.Allowed(ctx, review, key); err == nil && ok {
		p.caKey = true
		logger.Warn(fmt.Sprintf("The injector can read the CA key: RBAC allows %s, whose issuer.key can sign any identity; "+
			"the injector needs none of it (it reads the roots from the %s ConfigMap): remove that rule "+
			"(Dapr's chart grants it in the Role dapr-injector; trustplane's config/rbac/injector.yaml does not)",
			accessreview.Describe([]accessreview.Access{key}), TrustBundleSecret))
	}
	return p
}
