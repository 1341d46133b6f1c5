package kubernetes

import (
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
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

func FuzzTokenExpiry(f *testing.F) {
	f.Add(fakeJWT("a", epoch))
	f.Add(fakeJWT("a", time.Time{}))
	f.Add("a.eyJleHAiOjF9.c")
	f.Add("a.eyJleHAiOiIxIn0.c") // "exp":"1"
	f.Add("...")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		exp, ok := tokenExpiry(token)
		if ok && exp.Unix() <= 0 {
			t.Fatalf("%q: non-positive expiry %v accepted", token, exp)
		}
	})
}
