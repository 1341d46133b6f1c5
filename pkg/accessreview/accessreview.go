package accessreview

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
)

// Timeout bounds the reviews of one Check.
const Timeout = 10 * time.Second

// Access is one thing an identity may or may not do: Verb on Resource (of
// Group, "" for the core group) in Namespace ("" for every namespace, or a
// cluster-scoped resource), of the object Name or ("" ) of all.
type Access struct {
	Verb, Group, Resource, Namespace, Name string
}

// Verbs returns a once per verb.
func Verbs(a Access, verbs ...string) []Access {
	out := make([]Access, len(verbs))
	for i, v := range verbs {
		out[i] = a
		out[i].Verb = v
	}
	return out
}

// rule is accesses that differ only by verb, as RBAC would write them.
type rule struct {
	verbs []string
	Access
}

// String reads "list, watch on secrets named dapr-trust-bundle in namespace
// dapr-system".
func (r rule) String() string {
	var b strings.Builder
	b.WriteString(strings.Join(r.verbs, ", ") + " on " + r.Resource)
	if r.Group != "" {
		b.WriteString("." + r.Group)
	}
	if r.Name != "" {
		b.WriteString(" named " + r.Name)
	}
	if r.Namespace != "" {
		b.WriteString(" in namespace " + r.Namespace)
	} else {
		b.WriteString(" cluster-wide")
	}
	return b.String()
}

// Describe writes accesses as RBAC rules, grouped by object in order of
// first appearance: "list, watch on configurations.dapr.io named daprsystem
// in namespace dapr-system; patch on ...".
func Describe(accesses []Access) string {
	var rules []rule
	for _, a := range accesses {
		key := a
		key.Verb = ""
		found := false
		for i := range rules {
			if rules[i].Access == key {
				rules[i].verbs = append(rules[i].verbs, a.Verb)
				found = true
				break
			}
		}
		if !found {
			rules = append(rules, rule{verbs: []string{a.Verb}, Access: key})
		}
	}
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.String()
	}
	return strings.Join(parts, "; ")
}

// Reviewer answers, for each access, whether the identity may do it.
type Reviewer func(ctx context.Context, accesses []Access) ([]bool, error)

// SelfSubjectAccessReviews reviews accesses as the identity of cfg, with one
// SelfSubjectAccessReview each, all at once, on a client of its own without
// a rate limit (they are a one-off burst at start). An access is allowed
// when the review says allowed and not denied.
func SelfSubjectAccessReviews(cfg *rest.Config) (Reviewer, error) {
	c := rest.CopyConfig(cfg)
	c.QPS, c.Burst, c.RateLimiter = -1, 0, nil
	client, err := authorizationclient.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes authorization client: %w", err)
	}
	return func(ctx context.Context, accesses []Access) ([]bool, error) {
		allowed := make([]bool, len(accesses))
		errs := make([]error, len(accesses))
		var wg sync.WaitGroup
		for i, a := range accesses {
			wg.Go(func() {
				res, err := client.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
					Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: a.Namespace, Verb: a.Verb, Group: a.Group, Resource: a.Resource, Name: a.Name,
					}},
				}, metav1.CreateOptions{})
				if err != nil {
					errs[i] = fmt.Errorf("review %s: %w", Describe([]Access{a}), err)
					return
				}
				allowed[i] = res.Status.Allowed && !res.Status.Denied
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return allowed, nil
	}, nil
}

// Feature is a part of a component that works only with some rules.
type Feature struct {
	// Off starts the warning logged when a rule is missing, for example
	// "Kubernetes Events are off".
	Off string
	// Needs are the accesses the feature needs.
	Needs []Access
	// Instead says what the component does without them.
	Instead string
	// GrantedBy says what grants them.
	GrantedBy string
	// On receives whether every access of Needs is allowed.
	On *bool
}

// Check reviews every access of features and required at once, sets each
// feature's On, logs one warning per feature that is off ("<Off>: RBAC
// does not allow <rules>; <Instead>; <GrantedBy>") and one error naming
// the missing required accesses ("<Who> lacks RBAC it cannot work without:
// <rules>; <requiredBy>"), and returns nil. who names the component in a
// sentence ("the injector"). When the review itself fails,
// every feature is assumed on (the component's own RBAC), that is logged
// once, and the error is returned.
func Check(ctx context.Context, review Reviewer, features []Feature, required []Access, who, requiredBy string, logger *zap.Logger) error {
	if who == "" {
		who = "this component"
	}
	var accesses []Access
	for _, f := range features {
		accesses = append(accesses, f.Needs...)
	}
	accesses = append(accesses, required...)
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	allowed, err := review(ctx, accesses)
	if err == nil && len(allowed) != len(accesses) {
		err = fmt.Errorf("%d answers to %d reviews", len(allowed), len(accesses))
	}
	if err != nil {
		for _, f := range features {
			*f.On = true
		}
		logger.Warn(fmt.Sprintf("Could not review the RBAC of %s with SelfSubjectAccessReviews; assuming every optional rule is granted", who), zap.Error(err))
		return fmt.Errorf("review rbac: %w", err)
	}
	at := 0
	// missing returns the accesses of as (answered from allowed[at:]) that
	// are not allowed, and moves at past them.
	missing := func(as []Access) []Access {
		var out []Access
		for i, a := range as {
			if !allowed[at+i] {
				out = append(out, a)
			}
		}
		at += len(as)
		return out
	}
	for _, f := range features {
		m := missing(f.Needs)
		*f.On = len(m) == 0
		if len(m) > 0 {
			logger.Warn(fmt.Sprintf("%s: RBAC does not allow %s; %s; %s", f.Off, Describe(m), f.Instead, f.GrantedBy))
		}
	}
	if m := missing(required); len(m) > 0 {
		logger.Error(fmt.Sprintf("%s lacks RBAC it cannot work without: %s; %s", strings.ToUpper(who[:1])+who[1:], Describe(m), requiredBy))
	}
	return nil
}

// Allowed reviews accesses and reports whether every one is allowed.
func Allowed(ctx context.Context, review Reviewer, accesses ...Access) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	allowed, err := review(ctx, accesses)
	if err != nil {
		return false, err
	}
	for _, ok := range allowed {
		if !ok {
			return false, nil
		}
	}
	return len(allowed) == len(accesses), nil
}
