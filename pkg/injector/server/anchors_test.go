package server

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/trustplane/trustplane/test/fakewatch"
	"github.com/trustplane/trustplane/test/testca"
)

// receive waits for ch (what is what it brings) and fails the test after
// ten seconds.
func receive[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
	}
}

// leafPEM is a certificate signed by root that is not a CA.
func leafPEM(t *testing.T, root *testca.CA) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, testca.NewKey(t).Public(), root.Key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestValidateAnchors(t *testing.T) {
	root := testca.NewRoot(t)
	two := append(root.CertPEM(), testca.NewRoot(t).CertPEM()...)
	tests := map[string]struct {
		raw     []byte
		wantErr string
	}{
		"one root is valid":                            {raw: root.CertPEM()},
		"two roots are valid":                          {raw: two},
		"an issuer (a CA) is accepted":                 {raw: root.Issuer(t).CertPEM()},
		"nothing is refused":                           {raw: nil, wantErr: "no PEM certificate"},
		"a leaf is refused":                            {raw: leafPEM(t, root), wantErr: "is not a CA"},
		"a private key among the roots is refused":     {raw: append(root.CertPEM(), root.KeyPEM(t)...), wantErr: `type "PRIVATE KEY"`},
		"garbage after the roots is refused":           {raw: append(root.CertPEM(), "junk"...), wantErr: "text after certificate 1"},
		"a certificate that does not parse is refused": {raw: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}), wantErr: "certificate 0"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := ValidateAnchors(tc.raw)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidAnchors)
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func FuzzValidateAnchors(f *testing.F) {
	root := testca.NewRoot(f)
	f.Add(root.CertPEM())
	f.Add(append(root.CertPEM(), root.CertPEM()...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := ValidateAnchors(raw); err != nil {
			require.ErrorIs(t, err, ErrInvalidAnchors)
			return
		}
		a := NewAnchors(nil, nil)
		changed, err := a.Set(raw)
		require.NoError(t, err)
		assert.True(t, changed)
	})
}

func TestAnchorsSet(t *testing.T) {
	first, second := testca.NewRoot(t).CertPEM(), testca.NewRoot(t).CertPEM()
	a := NewAnchors(nil, nil)
	sub := a.Subscribe()
	select {
	case <-a.Ready():
		t.Fatal("ready before any anchors")
	default:
	}

	changed, err := a.Set(first)
	require.NoError(t, err)
	assert.True(t, changed, "the first anchors are a change")
	assert.Equal(t, first, a.Current())
	<-a.Ready()
	<-sub

	changed, err = a.Set(first)
	require.NoError(t, err)
	assert.False(t, changed, "the same anchors again are no change")
	select {
	case <-sub:
		t.Fatal("a subscriber was told about no change")
	default:
	}

	_, err = a.Set([]byte("junk"))
	require.ErrorIs(t, err, ErrInvalidAnchors)
	assert.Equal(t, first, a.Current(), "invalid anchors keep the current ones")

	changed, err = a.Set(second)
	require.NoError(t, err)
	assert.True(t, changed)
	<-sub
	assert.Equal(t, second, a.Current())
}

func TestAnchorsLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.crt")
	testca.WriteFile(t, good, testca.NewRoot(t).CertPEM())
	bad := filepath.Join(dir, "bad.crt")
	testca.WriteFile(t, bad, []byte("junk"))
	tests := map[string]struct {
		path    string
		wantErr string
	}{
		"a root file loads":     {path: good},
		"a missing file fails":  {path: filepath.Join(dir, "none"), wantErr: "read trust anchors"},
		"an invalid file fails": {path: bad, wantErr: "invalid trust anchors"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := NewAnchors(nil, nil).LoadFile(tc.path)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestAnchorsWatchFileFollowsASymlinkSwap(t *testing.T) {
	// The kubelet updates a mounted ConfigMap by writing a new directory
	// and swapping the ..data symlink.
	dir := t.TempDir()
	first, second := testca.NewRoot(t).CertPEM(), testca.NewRoot(t).CertPEM()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "v1"), 0o700))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "v2"), 0o700))
	testca.WriteFile(t, filepath.Join(dir, "v1", "ca.crt"), first)
	require.NoError(t, os.Symlink("v1", filepath.Join(dir, "..data")))
	require.NoError(t, os.Symlink(filepath.Join("..data", "ca.crt"), filepath.Join(dir, "ca.crt")))
	path := filepath.Join(dir, "ca.crt")

	a := NewAnchors(nil, clocktesting.NewFakeClock(time.Now()))
	require.NoError(t, a.LoadFile(path))
	sub := a.Subscribe()
	done := make(chan error)
	ctx := t.Context()
	go func() { done <- a.WatchFile(ctx, path) }()
	t.Cleanup(func() { assert.NoError(t, <-done) })

	testca.WriteFile(t, filepath.Join(dir, "v2", "ca.crt"), second)
	require.NoError(t, os.Symlink("v2", filepath.Join(dir, "..data_tmp")))
	require.NoError(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	select {
	case <-sub:
	case <-time.After(10 * time.Second):
		t.Fatal("the swap was not noticed")
	}
	assert.Equal(t, second, a.Current())
}

func TestAnchorsWatchConfigMapAndMirrorToFile(t *testing.T) {
	first, second := testca.NewRoot(t).CertPEM(), testca.NewRoot(t).CertPEM()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "dapr-trust-bundle", Namespace: "dapr-system"},
		Data:       map[string]string{"ca.crt": string(first)},
	}
	client := fake.NewClientset(cm)
	watches := fakewatch.Track(client)
	a := NewAnchors(nil, nil)
	ctx := t.Context()
	watchDone, mirrorDone := make(chan error), make(chan error)
	go func() { watchDone <- a.WatchConfigMap(ctx, client, "dapr-system", "dapr-trust-bundle", "ca.crt") }()
	t.Cleanup(func() { assert.NoError(t, <-watchDone) })
	receive(t, a.Ready(), "the anchors from the ConfigMap")
	assert.Equal(t, first, a.Current())

	copyPath := filepath.Join(t.TempDir(), "ca.crt")
	written := make(chan struct{})
	go func() { mirrorDone <- a.MirrorToFile(ctx, copyPath, written) }()
	t.Cleanup(func() { assert.NoError(t, <-mirrorDone) })
	receive(t, written, "the first copy")
	got, err := os.ReadFile(copyPath)
	require.NoError(t, err)
	assert.Equal(t, first, got, "the copy holds the anchors once written is closed")

	sub := a.Subscribe()
	watches.Wait(t, "configmaps")
	cm = cm.DeepCopy()
	cm.Data["ca.crt"] = "junk"
	_, err = client.CoreV1().ConfigMaps("dapr-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	cm.Data["ca.crt"] = string(second)
	_, err = client.CoreV1().ConfigMaps("dapr-system").Update(ctx, cm, metav1.UpdateOptions{})
	require.NoError(t, err)
	receive(t, sub, "the second anchors")
	assert.Equal(t, second, a.Current(), "an invalid edit is skipped and the next valid one applies")
	assert.Eventually(t, func() bool {
		got, err := os.ReadFile(copyPath)
		return err == nil && string(got) == string(second)
	}, 10*time.Second, 10*time.Millisecond, "the copy follows")
}
