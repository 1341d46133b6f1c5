package phase

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors a refused step wraps; the caller exits 5 and writes nothing.
var (
	// ErrNotReady means the previous phase has not reached everyone yet.
	ErrNotReady = errors.New("the previous phase has not propagated yet")
	// ErrWrongPhase means the rotation is not at the phase this step
	// follows.
	ErrWrongPhase = errors.New("the rotation is not at this step")
)

// Check is one condition a step waits for.
type Check struct {
	// Name says what is checked.
	Name string `json:"name"`
	// OK is whether it holds.
	OK bool `json:"ok"`
	// Detail says what was found, and what to do when it does not hold.
	Detail string `json:"detail,omitempty"`
}

// AllOK reports whether every check holds.
func AllOK(checks []Check) bool {
	for _, c := range checks {
		if !c.OK {
			return false
		}
	}
	return true
}

// Refuse returns nil when every check holds, else the error of a refused
// step: it wraps ErrNotReady and lists the checks that fail.
func Refuse(step string, checks []Check) error {
	var failed []string
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w:\n  - %s", step, ErrNotReady, strings.Join(failed, "\n  - "))
}

// Delay turns a --propagation-delay flag into a rotator option: the flag's
// 0 means "no delay", which the options spell as a negative duration (their
// zero value selects the default).
func Delay(flag time.Duration) time.Duration {
	if flag == 0 {
		return -1
	}
	return flag
}
