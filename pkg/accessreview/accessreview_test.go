package accessreview

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestDescribe(t *testing.T) {
	secret := Access{Resource: "secrets", Namespace: "dapr-system", Name: "dapr-trust-bundle"}
	tests := map[string]struct {
		accesses []Access
		want     string
	}{
		"verbs on one object make one rule": {
			accesses: Verbs(secret, "list", "watch"),
			want:     "list, watch on secrets named dapr-trust-bundle in namespace dapr-system",
		},
		"a group, no name and no namespace": {
			accesses: []Access{{Verb: "list", Group: "dapr.io", Resource: "components"}},
			want:     "list on components.dapr.io cluster-wide",
		},
		"rules keep their first appearance's order": {
			accesses: append(append([]Access{{Verb: "create", Resource: "configmaps"}}, Verbs(secret, "get")...), Access{Verb: "update", Resource: "configmaps"}),
			want:     "create, update on configmaps cluster-wide; get on secrets named dapr-trust-bundle in namespace dapr-system",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) { assert.Equal(t, tc.want, Describe(tc.accesses)) })
	}
}

// allow answers true for the accesses whose verb is in verbs.
func allow(verbs ...string) Reviewer {
	return func(_ context.Context, as []Access) ([]bool, error) {
		out := make([]bool, len(as))
		for i, a := range as {
			for _, v := range verbs {
				out[i] = out[i] || a.Verb == v
			}
		}
		return out, nil
	}
}

func TestCheck(t *testing.T) {
	cm := Access{Resource: "configmaps", Namespace: "ns", Name: "cm"}
	var watch, events bool
	features := []Feature{
		{Off: "Polling the ConfigMap", Needs: Verbs(cm, "list", "watch"), Instead: "it is read every 10s", GrantedBy: "granted by X", On: &watch},
		{Off: "Events are off", Needs: []Access{{Verb: "create", Resource: "events", Namespace: "ns"}}, Instead: "logged only", GrantedBy: "granted by Y", On: &events},
	}
	required := Verbs(cm, "get", "update")

	t.Run("one warning per feature that is off and one error for the required rules", func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		require.NoError(t, Check(t.Context(), allow("list", "get"), features, required, "the thing", "granted by Z", zap.New(core)))
		assert.False(t, watch)
		assert.False(t, events)
		msgs := logs.All()
		require.Len(t, msgs, 3)
		assert.Equal(t, "Polling the ConfigMap: RBAC does not allow watch on configmaps named cm in namespace ns; it is read every 10s; granted by X", msgs[0].Message)
		assert.Equal(t, "Events are off: RBAC does not allow create on events in namespace ns; logged only; granted by Y", msgs[1].Message)
		assert.Equal(t, zap.ErrorLevel, msgs[2].Level)
		assert.Equal(t, "The thing lacks RBAC it cannot work without: update on configmaps named cm in namespace ns; granted by Z", msgs[2].Message)
	})
	t.Run("everything allowed logs nothing", func(t *testing.T) {
		core, logs := observer.New(zap.InfoLevel)
		require.NoError(t, Check(t.Context(), allow("list", "watch", "create", "get", "update"), features, required, "the thing", "", zap.New(core)))
		assert.True(t, watch)
		assert.True(t, events)
		assert.Zero(t, logs.Len())
	})
	t.Run("a failed review turns every feature on and says so", func(t *testing.T) {
		watch, events = false, false
		core, logs := observer.New(zap.InfoLevel)
		failing := func(context.Context, []Access) ([]bool, error) { return nil, errors.New("boom") }
		require.Error(t, Check(t.Context(), failing, features, required, "the thing", "", zap.New(core)))
		assert.True(t, watch)
		assert.True(t, events)
		assert.Equal(t, 1, logs.FilterMessageSnippet("Could not review the RBAC of the thing").Len())
	})
	t.Run("Allowed is all or nothing", func(t *testing.T) {
		ok, err := Allowed(t.Context(), allow("get"), Verbs(cm, "get")...)
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = Allowed(t.Context(), allow("get"), Verbs(cm, "get", "list")...)
		require.NoError(t, err)
		assert.False(t, ok)
	})
}
