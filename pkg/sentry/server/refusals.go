package server

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"

	"github.com/trustplane/trustplane/pkg/log"
)

// The refusal log lines.
const (
	msgRefused    = "Refused to sign certificate"
	msgSuppressed = "Refused to sign certificate: repeated lines suppressed"
)

// The refusal log's rate: per reason, refusalBurst lines per
// refusalInterval. A flood of bad requests writes at most (refusalBurst+1)
// lines per second per reason, whatever their rate; the metric
// dapr_sentry_cert_sign_failure_total counts every one.
const (
	refusalBurst    = 5
	refusalInterval = time.Second
)

// refusalLog writes the "Refused to sign certificate" lines, at most burst
// per reason per interval. The lines it drops are counted, and their count
// is written in one summary line per reason at the end of the interval in
// which they were dropped (or when the server stops), so that the log
// tells how many refusals it does not show.
//
// zapcore.NewSamplerWithOptions was the alternative: it samples by message
// (not by reason), reports drops only to a hook, and wraps a core, where
// this keeps the logger's core (and Dapr's JSON line shape) untouched.
type refusalLog struct {
	logger   *zap.Logger
	clock    clock.WithDelayedExecution
	burst    int
	interval time.Duration

	mu      sync.Mutex
	reasons map[string]*refusalWindow
}

// refusalWindow is the state of one reason.
type refusalWindow struct {
	start      time.Time   // of the current interval
	logged     int         // lines written in it
	suppressed int         // lines dropped and not yet reported
	summary    clock.Timer // the pending summary, if any
}

func newRefusalLog(logger *zap.Logger, clk clock.WithDelayedExecution) *refusalLog {
	return &refusalLog{logger: logger, clock: clk, burst: refusalBurst, interval: refusalInterval, reasons: map[string]*refusalWindow{}}
}

// refused writes a refusal line for reason with fields, unless reason has
// had its burst of lines in this interval.
func (r *refusalLog) refused(reason string, fields ...zap.Field) {
	now := r.clock.Now() // outside mu: a fake clock runs summaries holding its own lock
	r.mu.Lock()
	w := r.reasons[reason]
	if w == nil {
		w = &refusalWindow{}
		r.reasons[reason] = w
	}
	if !now.Before(w.start.Add(r.interval)) {
		w.start, w.logged = now, 0
	}
	if w.logged < r.burst {
		w.logged++
		r.mu.Unlock()
		r.logger.Info(msgRefused, fields...)
		return
	}
	w.suppressed++
	if w.summary == nil {
		w.summary = r.clock.AfterFunc(w.start.Add(r.interval).Sub(now), func() { r.summarize(reason) })
	}
	r.mu.Unlock()
}

// summarize writes the count of lines of reason dropped since the last
// summary, if any.
func (r *refusalLog) summarize(reason string) {
	r.mu.Lock()
	w := r.reasons[reason]
	n := w.suppressed
	w.suppressed, w.summary = 0, nil
	r.mu.Unlock()
	if n > 0 {
		r.logger.Info(msgSuppressed, zap.String(log.KeyReason, reason), zap.Int("suppressed", n),
			zap.Duration("interval", r.interval))
	}
}

// stop writes the pending summaries now and cancels their timers.
func (r *refusalLog) stop() {
	r.mu.Lock()
	var pending []string
	for reason, w := range r.reasons {
		if w.summary != nil {
			w.summary.Stop()
			pending = append(pending, reason)
		}
	}
	r.mu.Unlock()
	for _, reason := range pending {
		r.summarize(reason)
	}
}
