package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestRefusalLog_RateLimitsEachReasonAndTellsWhatItDropped(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	core, logs := observer.New(zap.InfoLevel)
	r := newRefusalLog(zap.New(core), clk)

	for range 12 {
		r.refused("authentication", zap.String("app_id", "orders"))
	}
	for range 2 {
		r.refused("invalid_csr")
	}
	assert.Equal(t, refusalBurst+2, logs.FilterMessage(msgRefused).Len(), "a burst per reason, the other reason unaffected")
	assert.Zero(t, logs.FilterMessage(msgSuppressed).Len(), "the summary waits for the end of the interval")

	clk.Step(refusalInterval)
	summaries := logs.FilterMessage(msgSuppressed).AllUntimed()
	if assert.Len(t, summaries, 1, "one summary, for the reason that dropped lines") {
		assert.Equal(t, map[string]any{"reason": "authentication", "suppressed": int64(12 - refusalBurst), "interval": refusalInterval},
			summaries[0].ContextMap())
	}

	r.refused("authentication")
	assert.Equal(t, refusalBurst+3, logs.FilterMessage(msgRefused).Len(), "a new interval has a new burst")

	for range refusalBurst + 3 {
		r.refused("authentication")
	}
	r.stop()
	summaries = logs.FilterMessage(msgSuppressed).AllUntimed()
	if assert.Len(t, summaries, 2, "stop writes the pending summary") {
		assert.Equal(t, int64(4), summaries[1].ContextMap()["suppressed"])
	}
	clk.Step(refusalInterval)
	assert.Equal(t, 2, logs.FilterMessage(msgSuppressed).Len(), "stop cancelled the timer")
}

func TestRefusalLog_AFloodWritesBoundedLines(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	core, logs := observer.New(zap.InfoLevel)
	r := newRefusalLog(zap.New(core), clk)
	const seconds, perSecond = 10, 1000
	for range seconds {
		for range perSecond {
			r.refused("authentication")
		}
		clk.Step(refusalInterval)
	}
	assert.Equal(t, seconds*refusalBurst, logs.FilterMessage(msgRefused).Len())
	var dropped int64
	for _, e := range logs.FilterMessage(msgSuppressed).AllUntimed() {
		dropped += e.ContextMap()["suppressed"].(int64)
	}
	assert.Equal(t, int64(seconds*(perSecond-refusalBurst)), dropped, "every dropped line is counted in a summary")
	assert.Equal(t, seconds, logs.FilterMessage(msgSuppressed).Len())
}
