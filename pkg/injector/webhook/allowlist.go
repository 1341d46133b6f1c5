package webhook

import (
	"errors"
	"fmt"
	"path"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
)

// ErrBadPattern is returned by New for an allowlist entry that is not
// "namespace:name" with valid glob syntax.
var ErrBadPattern = errors.New("webhook: bad allowlist pattern")

// builtinServiceAccounts are the controllers that create pods on a user's
// behalf, as in Dapr's injector.
func builtinServiceAccounts() []string {
	return []string{
		"kube-system:replicaset-controller",
		"kube-system:replication-controller",
		"kube-system:deployment-controller",
		"kube-system:cronjob-controller",
		"kube-system:job-controller",
		"kube-system:statefulset-controller",
		"kube-system:daemon-set-controller",
		"openshift-operator-lifecycle-manager:olm-operator-serviceaccount",
		"tekton-pipelines:tekton-pipelines-controller",
		"mirrord:mirrord-operator",
	}
}

// Built-in users and groups that may always get injected pods.
const (
	// groupMasters is cluster-admin by construction.
	groupMasters = "system:masters"
	// userControllerManager is the controller manager when it runs without
	// per-controller service accounts (some managed clusters; Dapr #7755).
	userControllerManager = "system:kube-controller-manager"
	saPrefix              = "system:serviceaccount:"
)

// saPattern is one "namespace:name" glob pair.
type saPattern struct{ ns, name string }

// allowlist decides which requesters get injected pods.
type allowlist struct {
	accounts []saPattern
	groups   []string
}

// newAllowlist validates the configured patterns and adds the built-ins.
func newAllowlist(accounts, groups []string) (*allowlist, error) {
	al := &allowlist{groups: append([]string{groupMasters}, groups...)}
	for _, p := range append(builtinServiceAccounts(), accounts...) {
		ns, name, ok := strings.Cut(p, ":")
		if !ok || strings.Contains(name, ":") || ns == "" || name == "" {
			return nil, fmt.Errorf("%w: %q: use namespace:name", ErrBadPattern, p)
		}
		if _, err := path.Match(ns, ""); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadPattern, p, err)
		}
		if _, err := path.Match(name, ""); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrBadPattern, p, err)
		}
		al.accounts = append(al.accounts, saPattern{ns: ns, name: name})
	}
	for _, g := range groups {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			return nil, fmt.Errorf("%w: group %q: %w", ErrBadPattern, g, err)
		}
	}
	return al, nil
}

// allows reports whether user may get injected pods; when not, reason says
// why in words fit for a log line and an admission warning.
func (al *allowlist) allows(user authenticationv1.UserInfo) (ok bool, reason string) {
	if user.Username == userControllerManager {
		return true, ""
	}
	for _, g := range user.Groups {
		for _, p := range al.groups {
			if m, _ := path.Match(p, g); m {
				return true, ""
			}
		}
	}
	if rest, isSA := strings.CutPrefix(user.Username, saPrefix); isSA {
		if ns, name, ok := strings.Cut(rest, ":"); ok {
			for _, p := range al.accounts {
				mNS, _ := path.Match(p.ns, ns)
				mName, _ := path.Match(p.name, name)
				if mNS && mName {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("service account %q is not in the injector's allowlist of controllers; "+
			"add \"%s\" to the allowed service accounts", rest, rest)
	}
	return false, fmt.Sprintf("user %q is neither an allowed controller service account nor in an allowed group; "+
		"create Dapr pods through a Deployment, StatefulSet, Job or similar, or allow the user's group", user.Username)
}
