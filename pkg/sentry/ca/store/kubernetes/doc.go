// Package kubernetes keeps Sentry's trust bundle in Kubernetes: the Secret
// dapr-trust-bundle (keys ca.crt, issuer.crt and issuer.key) in Sentry's
// namespace holds the bundle, and the ConfigMap dapr-trust-bundle (key
// ca.crt) publishes its roots to the rest of the control plane. Names and
// keys are configurable; the method set is the file store's.
//
//	s, err := kubernetes.New(kubernetes.Options{Client: client, Namespace: ns, Recorder: recorder, Logger: logger})
//	b, err := s.Load()
//	if errors.Is(err, kubernetes.ErrNotFound) {
//		b, err = bundle.Generate(opts)
//		if err = s.Save(b); errors.Is(err, kubernetes.ErrExists) {
//			b, err = s.Load() // another replica won
//		}
//	}
//	go s.Watch(ctx, func(nb *bundle.Bundle) { ca.SetBundle(nb) }, func(err error) { logger.Error("rejected", zap.Error(err)) })
//
// # The Secret is the source of truth and is never overwritten
//
// Load returns ErrNotFound only when the Secret is absent or holds none of
// the three keys (absent or white space only): only then may Sentry
// generate a CA. Some keys but not all is a *PartialError; keys that do not
// make a valid bundle are an *InvalidError naming the key at fault. Both
// name the Secret, its namespace and the fix, go to the log and to a Warning
// Event on the Secret, and nothing is written. Save creates the Secret, or
// fills the three keys of an existing empty one (as Helm pre-creates it)
// with its resourceVersion as a precondition, so of several replicas that
// start at once exactly one wins and the others get ErrExists and Load the
// winner's bundle. Once the Secret has content, no code path here writes it.
//
// # The ConfigMap is derived, and rewritten only where nothing is lost
//
// Unlike Dapr, a ConfigMap that disagrees with the Secret never causes a new
// CA. The ConfigMap's roots are derived from the Secret's, but a ConfigMap
// that disagrees may be a user's rotation in progress (for example a new
// root added to the trust anchors before the Secret's issuer moves to it),
// so Sentry decides by who wrote it. Whenever it publishes roots it records
// their SHA-256 in the annotation AnnotationRootsSHA256. Then, after every
// Load, Save and ConfigMap change, with the Secret holding a valid bundle:
//
//   - absent ConfigMap, absent or empty key: Sentry writes the Secret's roots;
//   - same bytes as the Secret: nothing to do (the annotation is added, so
//     the ConfigMap follows the Secret from then on);
//   - different, and the annotation matches the content (Sentry wrote it and
//     nobody changed it since, i.e. the Secret moved on): Sentry rewrites it
//     from the Secret, logs it and records a Normal Event saying which roots
//     changed;
//   - different, and written or changed by someone else: Sentry leaves it as
//     it is, logs a warning and records a Warning Event on the Secret naming
//     the roots found only in the Secret and only in the ConfigMap (or why the
//     ConfigMap cannot be read), that Sentry did not rewrite it, and how to
//     fix it (make it equal, or delete the key to let Sentry publish). The
//     same set of roots in other bytes (order, comments) is not a
//     disagreement.
//
// A ConfigMap that cannot be read or written is logged and reported as a
// Warning Event, not returned: Sentry can sign without it, and Watch tries
// again on the next change.
//
// # JWT-SVID material
//
// With Options.JWT set, the Secret's keys jwt.key (the JWT signing key) and
// jwks.json (the public key set) take part as a pair, with the CA's rules:
// both absent, Load returns the bundle without JWT material and SaveJWT may
// add a generated pair (with the Secret's resourceVersion as a
// precondition, never over a key that holds something); one without the
// other, or a key that is not in the key set, is refused with an error and a
// Warning Event naming the key, and nothing is written. The public key set
// is published as the ConfigMap's jwks.json, which only Sentry writes: it
// follows the Secret's key set, so a rotation (a second key in the Secret's
// jwks.json, then a new jwt.key) is published before the new key signs.
// The ConfigMap's jwks.json is never deleted.
//
// # Watch
//
// Watch runs one informer for the Secret and one for the ConfigMap, each
// restricted to its object by a metadata.name field selector (an informer
// re-lists when its watch expires or breaks). With Options.PollSecret (or
// PollConfigMap) the object is read with a GET at that interval instead,
// which needs no list or watch. Events with a resourceVersion already seen
// are skipped. See Watch for what each change does.
//
// # RBAC
//
// The store needs, in its namespace (Role returns exactly this Role):
//
//   - secrets get, list, watch, update, restricted by resourceNames to the
//     Secret (list and watch match resourceNames because the informer sends
//     the metadata.name field selector);
//   - secrets create, which cannot be restricted by resourceNames (the name
//     is not known when a create is authorized); a chart that pre-creates
//     the Secret empty may drop it;
//   - configmaps get, list, watch, update restricted to the ConfigMap, and
//     configmaps create (unrestricted, for the same reason);
//   - events create and patch (core group), for the Recorder.
//
// It also works with the least Dapr's chart grants (secrets get and update,
// configmaps get, update, list and watch, all by name; no Events): with
// PollSecret set, no Recorder, and both objects created empty beforehand.
// An object that is absent then cannot be created: for the Secret, Save
// returns an error naming the rule; for the ConfigMap, the store logs one
// warning naming the rule, records it as an Event if it can, and signs
// without it. Any other call RBAC refuses while publishing the ConfigMap is
// reported once too, not on every attempt.
//
// The store never deletes anything.
package kubernetes
