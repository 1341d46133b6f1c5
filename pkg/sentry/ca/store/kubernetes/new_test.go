package kubernetes_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"github.com/trustplane/trustplane/pkg/sentry/ca/store/kubernetes"
	"github.com/trustplane/trustplane/test/testca"
)

func TestNewResolvesNames(t *testing.T) {
	client := fake.NewClientset()
	tests := map[string]struct {
		opts                     kubernetes.Options
		secret, configMap        string
		rootKey, issuerKey, keyK string
		wantErr                  string
	}{
		"the defaults are Dapr's names": {
			opts:   kubernetes.Options{Client: client, Namespace: "dapr-system"},
			secret: "dapr-trust-bundle", configMap: "dapr-trust-bundle",
			rootKey: "ca.crt", issuerKey: "issuer.crt", keyK: "issuer.key",
		},
		"names and keys can be replaced": {
			opts: kubernetes.Options{Client: client, Namespace: "ns", SecretName: "s", ConfigMapName: "c",
				RootKey: "roots.pem", IssuerKey: "chain.pem", KeyKey: "key.pem"},
			secret: "s", configMap: "c", rootKey: "roots.pem", issuerKey: "chain.pem", keyK: "key.pem",
		},
		"a client is required":            {opts: kubernetes.Options{Namespace: "ns"}, wantErr: "no Kubernetes client"},
		"a namespace is required":         {opts: kubernetes.Options{Client: client}, wantErr: `namespace ""`},
		"a bad object name is refused":    {opts: kubernetes.Options{Client: client, Namespace: "ns", SecretName: "Not_A_Name"}, wantErr: `object name "Not_A_Name"`},
		"a key with a slash is refused":   {opts: kubernetes.Options{Client: client, Namespace: "ns", KeyKey: "a/b"}, wantErr: `key "a/b"`},
		"two parts under one key refused": {opts: kubernetes.Options{Client: client, Namespace: "ns", IssuerKey: "ca.crt"}, wantErr: "must differ"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, err := kubernetes.New(tc.opts)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			ns, secret, cm := s.Names()
			assert.Equal(t, tc.opts.Namespace, ns)
			assert.Equal(t, tc.secret, secret)
			assert.Equal(t, tc.configMap, cm)
			r, i, k := s.Keys()
			assert.Equal(t, []string{tc.rootKey, tc.issuerKey, tc.keyK}, []string{r, i, k})
			role := s.Role("sentry")
			assert.Equal(t, ns, role.Namespace)
			assert.Equal(t, []string{tc.secret}, role.Rules[0].ResourceNames)
			assert.Equal(t, []string{tc.configMap}, role.Rules[2].ResourceNames)
		})
	}
}

func TestDiffRootsNamesWhatDiffers(t *testing.T) {
	a, b, c := newCA(t, nil), newCA(t, nil), newCA(t, nil)
	subj := func(x *testca.CA) string { return `"` + x.Cert.Subject.String() + `"` }
	tests := map[string]struct {
		cm, secret []byte
		same       bool
		want       []string
		notWant    []string
	}{
		"the same roots in another order and with text around them are the same": {
			cm: joinPEM([]byte("# comment\n"), b.CertPEM(), a.CertPEM()), secret: joinPEM(a.CertPEM(), b.CertPEM()),
			same: true, want: []string{"the same roots in other bytes"},
		},
		"a root only in the ConfigMap is named": {
			cm: joinPEM(a.CertPEM(), c.CertPEM()), secret: a.CertPEM(),
			want: []string{"roots only in the ConfigMap: " + subj(c)}, notWant: []string{"only in the Secret"},
		},
		"roots on both sides are named": {
			cm: a.CertPEM(), secret: b.CertPEM(),
			want: []string{"roots only in the Secret: " + subj(b), "roots only in the ConfigMap: " + subj(a)},
		},
		"an unreadable ConfigMap says why": {
			cm: []byte("not a certificate"), secret: a.CertPEM(),
			want: []string{"the ConfigMap's roots cannot be read: no PEM CERTIFICATE block found"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, same := kubernetes.DiffRoots(tc.cm, tc.secret)
			assert.Equal(t, tc.same, same)
			for _, w := range tc.want {
				assert.Contains(t, got, w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, got, w)
			}
		})
	}
}

func TestDiffRootsListsAtMostFour(t *testing.T) {
	var many [][]byte
	for range 6 {
		many = append(many, newCA(t, nil).CertPEM())
	}
	got, _ := kubernetes.DiffRoots(joinPEM(many...), newCA(t, nil).CertPEM())
	assert.Contains(t, got, "and 2 more")
}

func FuzzDiffRoots(f *testing.F) {
	a := newCA(f, nil)
	f.Add(a.CertPEM())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, cm []byte) {
		got, same := kubernetes.DiffRoots(cm, a.CertPEM())
		if same != (got == "the same roots in other bytes") {
			t.Fatalf("same=%v but %q", same, got)
		}
	})
}

func TestEventsOnlyForRefusedBundles(t *testing.T) {
	root := newCA(t, nil)
	partial := bundleData(t, root.CertPEM(), newCA(t, root))
	delete(partial, "issuer.key")
	tests := map[string]struct {
		data       map[string][]byte
		wantErr    error
		wantReason string
	}{
		"an empty Secret is not found and records no Event": {
			data: map[string][]byte{"ca.crt": nil, "issuer.crt": []byte(" "), "other": []byte("x")}, wantErr: kubernetes.ErrNotFound,
		},
		"a partial Secret records a Warning": {data: partial, wantErr: kubernetes.ErrIncomplete, wantReason: kubernetes.ReasonIncomplete},
		"an invalid Secret records a Warning": {
			data:    map[string][]byte{"ca.crt": []byte("x"), "issuer.crt": []byte("y"), "issuer.key": []byte("z")},
			wantErr: kubernetes.ErrInvalid, wantReason: kubernetes.ReasonInvalid,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			client := fake.NewClientset(&corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "dapr-trust-bundle", Namespace: "dapr-system"}, Data: tc.data,
			})
			recorder := record.NewFakeRecorder(10)
			s, err := kubernetes.New(kubernetes.Options{Client: client, Namespace: "dapr-system", Recorder: recorder})
			require.NoError(t, err)
			_, err = s.Load()
			require.ErrorIs(t, err, tc.wantErr)
			close(recorder.Events)
			var events []string
			for e := range recorder.Events {
				events = append(events, e)
			}
			if tc.wantReason == "" {
				assert.Empty(t, events)
				return
			}
			require.Len(t, events, 1)
			assert.Equal(t, "Warning "+tc.wantReason+" "+err.Error(), events[0])
			cms, err := client.CoreV1().ConfigMaps("dapr-system").List(t.Context(), metav1.ListOptions{})
			require.NoError(t, err)
			assert.Empty(t, cms.Items, "nothing is published for a refused bundle")
		})
	}
}
