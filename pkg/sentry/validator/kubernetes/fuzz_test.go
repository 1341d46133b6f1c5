package kubernetes

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"

	"github.com/trustplane/trustplane/pkg/sentry/validator"
)

func FuzzParseServiceAccount(f *testing.F) {
	for _, s := range []string{
		"system:serviceaccount:shop:orders", "system:serviceaccount:shop:", "system:serviceaccount::orders",
		"system:serviceaccount:a:b:c", "system:node:n1", "alice", "", "system:serviceaccount:shop:orders.v1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, username string) {
		ns, sa, err := parseServiceAccount(username)
		if err != nil {
			return
		}
		if ns == "" || sa == "" || strings.Contains(ns, ":") || strings.Contains(sa, ":") {
			t.Fatalf("%q parsed as %q/%q", username, ns, sa)
		}
		if serviceAccountPrefix+ns+":"+sa != username {
			t.Fatalf("%q does not round-trip: %q/%q", username, ns, sa)
		}
	})
}

func FuzzBoundPod(f *testing.F) {
	f.Add("orders-1", "uid-1", "", false)
	f.Add("", "uid-1", "", false)
	f.Add("orders-1", "", "x", true)
	f.Fuzz(func(t *testing.T, name, uid, extraValue string, twoNames bool) {
		extra := map[string]authnv1.ExtraValue{ExtraPodName: {name}, ExtraPodUID: {uid}}
		if twoNames {
			extra[ExtraPodName] = append(extra[ExtraPodName], extraValue)
		}
		gotName, gotUID, err := boundPod(extra)
		if err != nil {
			return
		}
		if twoNames || gotName != name || string(gotUID) != uid || name == "" || uid == "" {
			t.Fatalf("accepted %v as %q/%q", extra, gotName, gotUID)
		}
	})
}

func FuzzCheckToken(f *testing.F) {
	f.Add(fakeJWT("a", epoch.Add(time.Hour)))
	f.Add(fakeJWT("a", epoch.Add(-time.Hour)))
	f.Add(fakeJWT("a", time.Time{}))
	f.Add(jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": LegacyAudience, "exp": epoch.Unix()}))
	f.Add(jwtOf(`{"alg":"RS256"}`, map[string]any{"aud": 7, "exp": epoch.Unix()}))
	f.Add(jwtOf(`{"alg":"none"}`, map[string]any{"aud": LegacyAudience, "exp": epoch.Unix()}))
	f.Add("a.eyJleHAiOjF9.c")
	f.Add("a.eyJleHAiOiIxIn0.c") // "exp":"1"
	f.Add("...")
	f.Add("")
	audiences := []string{sentryID.String(), LegacyAudience}
	messages := []string{
		"invalid token: token is too large", "invalid token: malformed token",
		"invalid token: token has expired", "invalid token: token audiences do not include Sentry's",
	}
	f.Fuzz(func(t *testing.T, token string) {
		claims, refused := checkToken(token, audiences, epoch, time.Minute)
		if refused != nil {
			msg := validator.PublicMessage(refused.err)
			if !slices.Contains(messages, msg) {
				t.Fatalf("%q: refused with %q", token, msg)
			}
			if !errors.Is(refused.err, ErrInvalidToken) {
				t.Fatalf("%q: refusal %v is not ErrInvalidToken", token, refused.err)
			}
			return
		}
		if len(token) > MaxTokenSize || claims.expiry.Unix() <= 0 || !epoch.Before(claims.expiry.Add(time.Minute)) {
			t.Fatalf("%q: accepted with expiry %v", token, claims.expiry)
		}
	})
}
