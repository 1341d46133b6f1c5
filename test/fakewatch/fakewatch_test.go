package fakewatch_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/trustplane/trustplane/test/fakewatch"
)

func TestAChangeAfterWaitReachesTheWatch(t *testing.T) {
	client := fake.NewClientset()
	watches := fakewatch.Track(client)
	opened := make(chan watch.Interface, 1)
	go func() {
		w, err := client.CoreV1().ConfigMaps("shop").Watch(t.Context(), metav1.ListOptions{})
		assert.NoError(t, err)
		opened <- w
	}()
	watches.Wait(t, "configmaps")
	_, err := client.CoreV1().ConfigMaps("shop").Create(t.Context(),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "a"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	w := <-opened
	require.NotNil(t, w)
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		assert.Equal(t, watch.Added, ev.Type)
	case <-time.After(fakewatch.Timeout):
		t.Fatal("the watch opened before the change did not see it")
	}
}

func TestWaitFailsWhenNoWatchOpens(t *testing.T) {
	watches := fakewatch.Track(fake.NewClientset())
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		watches.WaitWithin(ft, "pods", 50*time.Millisecond)
	}()
	select {
	case <-done:
	case <-time.After(fakewatch.Timeout):
		t.Fatal("Wait did not give up")
	}
	assert.Contains(t, ft.msg, "no watch on pods")
}

// fatalRecorder records Fatalf and stops the goroutine as testing.T does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}

func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
