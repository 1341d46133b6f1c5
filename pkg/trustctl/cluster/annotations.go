package cluster

import (
	"fmt"
	"time"
)

// Annotations reads and writes the typed values trustctl records on the
// trust bundle Secret (rotation phases, their times). Writing an empty or
// zero value removes the annotation.
type Annotations map[string]string

// Time reads an RFC 3339 time; a missing annotation is the zero time.
func (a Annotations) Time(key string) (time.Time, error) {
	v := a[key]
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("annotation %s: %w", key, err)
	}
	return t, nil
}

// Duration reads a Go duration; a missing annotation is zero.
func (a Annotations) Duration(key string) (time.Duration, error) {
	v := a[key]
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("annotation %s: %w", key, err)
	}
	return d, nil
}

// Set writes v, or removes the annotation when v is empty.
func (a Annotations) Set(key, v string) {
	if v == "" {
		delete(a, key)
		return
	}
	a[key] = v
}

// SetTime writes t with sub-second precision, or removes the annotation
// when t is zero.
func (a Annotations) SetTime(key string, t time.Time) {
	if t.IsZero() {
		delete(a, key)
		return
	}
	a[key] = t.UTC().Format(time.RFC3339Nano)
}

// SetDuration writes d, or removes the annotation when d is not positive.
func (a Annotations) SetDuration(key string, d time.Duration) {
	if d <= 0 {
		delete(a, key)
		return
	}
	a[key] = d.String()
}
