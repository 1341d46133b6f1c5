package webhook_test

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/webhook"
	"github.com/trustplane/trustplane/pkg/injector/webhook/fake"
)

// slowSecrets takes 30 ms of the fake clock per read.
type slowSecrets struct {
	*fake.Secrets
	clk *clocktesting.FakeClock
}

func (s slowSecrets) GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	s.clk.Step(30 * time.Millisecond)
	return s.Secrets.GetSecret(ctx, namespace, name)
}

// histogram returns the sample count and sum of MetricDuration{result}.
func (f fixture) histogram(t *testing.T, result string) (uint64, float64) {
	t.Helper()
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != webhook.MetricDuration {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, "result", result) {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue() == value
		}
	}
	return false
}

func TestHandleTimesEachDaprPodAdmission(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	f := newFixture(t, webhook.Options{Secrets: slowSecrets{Secrets: secrets(), clk: clk}, Clock: clk})
	user := sa("kube-system:replicaset-controller")

	resp := f.h.Handle(t.Context(), request(t, pod(map[string]string{a.KeyAPITokenSecret: "api"}), user))
	require.True(t, resp.Allowed)
	n, sum := f.histogram(t, webhook.ResultInjected)
	assert.Equal(t, uint64(1), n)
	assert.InDelta(t, 0.030, sum, 1e-9, "one Secret read of 30 ms")

	resp = f.h.Handle(t.Context(), request(t, pod(map[string]string{a.KeyAPITokenSecret: "missing"}), user))
	require.False(t, resp.Allowed)
	n, sum = f.histogram(t, webhook.ResultDenied)
	assert.Equal(t, uint64(1), n)
	assert.InDelta(t, 0.030, sum, 1e-9)

	resp = f.h.Handle(t.Context(), request(t, &corev1.Pod{}, user))
	require.True(t, resp.Allowed)
	n, _ = f.histogram(t, webhook.ResultInjected)
	assert.Equal(t, uint64(1), n, "a pod that did not opt in is not timed")
}
