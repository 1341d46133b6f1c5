package jwtrotate

import (
	"context"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/jwt"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

// AddKey is phase 1: a new key is generated (with algorithm alg; empty: the
// current key's), its private key kept under PendingKeyKey and its public
// key added to jwks.json. Sentry publishes both keys and keeps signing with
// the old one. It refuses while another rotation is under way.
func (r *Rotator) AddKey(ctx context.Context, tb *cluster.TrustBundle, alg jwa.SignatureAlgorithm) error {
	m, err := material(tb)
	if err != nil {
		return fmt.Errorf("%s: %w", StepAddKey, err)
	}
	st, err := StateOf(tb.Secret)
	if err != nil {
		return err
	}
	if st.Phase != PhaseNone && st.Phase != PhaseComplete {
		return fmt.Errorf("%s: %w: phase %s is done; the next step is %s (see rotate-jwt-key status)",
			StepAddKey, ErrWrongPhase, st.Phase, nextOf(st.Phase))
	}
	if alg == "" {
		alg = m.Algorithm
	}
	nm, err := jwt.Generate(jwt.GenerateOptions{Algorithm: alg})
	if err != nil {
		return fmt.Errorf("%s: %w", StepAddKey, err)
	}
	jwks, err := withKey(m.JWKSJSON, nm.JWKSJSON)
	if err != nil {
		return fmt.Errorf("%s: add the new key to %s: %w", StepAddKey, JWKSKey, err)
	}
	if _, err := jwt.ParseMaterial(m.KeyPEM, jwks, jwt.ParseOptions{KeyID: m.KeyID, Algorithm: m.Algorithm}); err != nil {
		return fmt.Errorf("%s: check the current key with the new key set: %w", StepAddKey, err)
	}
	if _, err := jwt.ParseMaterial(nm.KeyPEM, jwks, jwt.ParseOptions{KeyID: nm.KeyID, Algorithm: nm.Algorithm}); err != nil {
		return fmt.Errorf("%s: check the new key with the new key set: %w", StepAddKey, err)
	}
	oldTP, err := keyThumbprint(m.KeyPEM)
	if err != nil {
		return err
	}
	newTP, err := keyThumbprint(nm.KeyPEM)
	if err != nil {
		return err
	}
	next := State{Phase: PhaseKeyAdded, KeyAddedAt: r.opts.Clock.Now(), OldKey: oldTP, NewKey: newTP}
	return r.write(ctx, tb, next, map[string][]byte{JWKSKey: jwks, PendingKeyKey: nm.KeyPEM})
}

// SwitchSigning is phase 2: the pending key becomes jwt.key, so Sentry
// signs with it. It refuses (ErrNotReady) until the published key set holds
// the new key and PropagationDelay has passed since AddKey.
func (r *Rotator) SwitchSigning(ctx context.Context, tb *cluster.TrustBundle) error {
	if _, err := material(tb); err != nil {
		return fmt.Errorf("%s: %w", StepSwitchSigning, err)
	}
	st, err := r.at(tb, StepSwitchSigning, PhaseKeyAdded)
	if err != nil {
		return err
	}
	now := r.opts.Clock.Now()
	if err := refuse(StepSwitchSigning, r.switchChecks(tb, st, now)); err != nil {
		return err
	}
	nm, err := pendingMaterial(tb, st)
	if err != nil {
		return fmt.Errorf("%s: %w", StepSwitchSigning, err)
	}
	st.Phase, st.SigningSwitchedAt = PhaseSigningSwitched, now
	st.ClockSkew, st.CertTTL = r.opts.Install.Config.AllowedClockSkew, r.opts.Install.Config.WorkloadCertTTL
	return r.write(ctx, tb, st, map[string][]byte{KeyKey: nm.KeyPEM, PendingKeyKey: nil})
}

// RetireOldKey is phase 3: the old public key leaves jwks.json. It refuses
// (ErrNotReady) until the longest token lifetime (see Options.JWTTTL) +
// allowedClockSkew has passed since SwitchSigning, so that no token signed
// with the old key is still valid.
func (r *Rotator) RetireOldKey(ctx context.Context, tb *cluster.TrustBundle) error {
	m, err := material(tb)
	if err != nil {
		return fmt.Errorf("%s: %w", StepRetireOldKey, err)
	}
	st, err := r.at(tb, StepRetireOldKey, PhaseSigningSwitched)
	if err != nil {
		return err
	}
	signing, err := keyThumbprint(m.KeyPEM)
	if err != nil {
		return err
	}
	now := r.opts.Clock.Now()
	if err := refuse(StepRetireOldKey, r.retireChecks(st, signing, now)); err != nil {
		return err
	}
	jwks, err := withoutKey(m.JWKSJSON, st.OldKey)
	if err != nil {
		return fmt.Errorf("%s: remove the old key from %s: %w", StepRetireOldKey, JWKSKey, err)
	}
	if _, err := jwt.ParseMaterial(m.KeyPEM, jwks, jwt.ParseOptions{KeyID: m.KeyID, Algorithm: m.Algorithm}); err != nil {
		return fmt.Errorf("%s: check the signing key with the key set left: %w", StepRetireOldKey, err)
	}
	st.Phase, st.OldKeyRetiredAt = PhaseComplete, now
	return r.write(ctx, tb, st, map[string][]byte{JWKSKey: jwks})
}

// at checks the rotation of tb is at want and returns its state.
func (r *Rotator) at(tb *cluster.TrustBundle, step Step, want Phase) (State, error) {
	st, err := StateOf(tb.Secret)
	if err != nil {
		return State{}, err
	}
	if st.Phase != want {
		return State{}, fmt.Errorf("%s: %w: it follows phase %s, and the rotation is at %q; the next step is %s",
			step, ErrWrongPhase, want, st.Phase, nextOf(st.Phase))
	}
	return st, nil
}

// write updates the Secret read as tb with st's annotations and the given
// keys (nil deletes), with tb's resourceVersion as a precondition. The
// resulting jwt.key and jwks.json are checked before anything is written.
func (r *Rotator) write(ctx context.Context, tb *cluster.TrustBundle, st State, data map[string][]byte) error {
	sec := tb.Secret.DeepCopy()
	st.annotate(sec)
	for k, v := range data {
		if v == nil {
			delete(sec.Data, k)
		} else {
			sec.Data[k] = v
		}
	}
	if _, err := jwt.ParseMaterial(sec.Data[KeyKey], sec.Data[JWKSKey], jwt.ParseOptions{}); err != nil {
		return fmt.Errorf("check the JWT material to write: %w", err)
	}
	if sec.ResourceVersion == "" {
		return fmt.Errorf("write Secret %s in namespace %s: no resourceVersion to guard the update with", sec.Name, tb.Namespace)
	}
	_, err := r.opts.Client.Kube().CoreV1().Secrets(tb.Namespace).Update(ctx, sec, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return fmt.Errorf("write Secret %s in namespace %s: %w: it was changed after it was read; nothing was written, run the command again: %w",
			sec.Name, tb.Namespace, cluster.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("write Secret %s in namespace %s: %w", sec.Name, tb.Namespace, err)
	}
	return nil
}
