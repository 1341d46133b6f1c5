//go:build !standalone

package app

import (
	"context"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
)

// events records Kubernetes Events for Sentry and can wait for them to be
// written: the Event that explains why Sentry refuses to start must reach
// the apiserver before the process exits. Without the RBAC to create
// Events it drops them (what they report is logged anyway).
type events struct {
	broadcaster record.EventBroadcaster // nil when Events are off
	recorder    record.EventRecorder
	counting    *countingRecorder
	sink        *countingSink
}

// newEvents records Events in namespace through client; off drops them.
func newEvents(client typedcorev1.EventsGetter, namespace string, off bool) *events {
	if off {
		return &events{recorder: discardRecorder{}}
	}
	e := &events{
		broadcaster: record.NewBroadcaster(record.WithContext(context.Background())),
		sink:        &countingSink{EventSink: &typedcorev1.EventSinkImpl{Interface: client.Events(namespace)}},
	}
	e.broadcaster.StartRecordingToSink(e.sink)
	e.counting = &countingRecorder{EventRecorder: e.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "dapr-sentry"})}
	e.recorder = e.counting
	return e
}

// shutdown waits up to timeout for recorded Events to be written, then
// stops the broadcaster.
func (e *events) shutdown(timeout time.Duration) {
	if e.broadcaster == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for e.sink.written.Load() < e.counting.recorded.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	e.broadcaster.Shutdown()
}

// discardRecorder drops every Event.
type discardRecorder struct{}

var _ record.EventRecorder = discardRecorder{}

func (discardRecorder) Event(runtime.Object, string, string, string)          {}
func (discardRecorder) Eventf(runtime.Object, string, string, string, ...any) {}
func (discardRecorder) AnnotatedEventf(runtime.Object, map[string]string, string, string, string, ...any) {
}

type countingRecorder struct {
	record.EventRecorder
	recorded atomic.Int64
}

func (r *countingRecorder) Event(o runtime.Object, eventtype, reason, message string) {
	r.recorded.Add(1)
	r.EventRecorder.Event(o, eventtype, reason, message)
}

func (r *countingRecorder) Eventf(o runtime.Object, eventtype, reason, format string, args ...any) {
	r.recorded.Add(1)
	r.EventRecorder.Eventf(o, eventtype, reason, format, args...)
}

func (r *countingRecorder) AnnotatedEventf(o runtime.Object, annotations map[string]string, eventtype, reason, format string, args ...any) {
	r.recorded.Add(1)
	r.EventRecorder.AnnotatedEventf(o, annotations, eventtype, reason, format, args...)
}

type countingSink struct {
	record.EventSink
	written atomic.Int64
}

func (s *countingSink) Create(e *corev1.Event) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Create(e)
}

func (s *countingSink) Update(e *corev1.Event) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Update(e)
}

func (s *countingSink) Patch(e *corev1.Event, data []byte) (*corev1.Event, error) {
	defer s.written.Add(1)
	return s.EventSink.Patch(e, data)
}
