package annotations

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/trustplane/trustplane/pkg/spiffe"
)

// maxShownValue caps how much of an offending value an Error repeats, so a
// huge annotation does not end up verbatim in an admission response.
const maxShownValue = 80

// Error reports an annotation whose value cannot be used. The webhook turns
// it into an admission denial whose message names the annotation.
type Error struct {
	// Annotation is the key, for example "dapr.io/app-port".
	Annotation string
	// Value is the value as written on the pod.
	Value string
	// Reason says what is wrong and what would be accepted.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	v := e.Value
	if len(v) > maxShownValue {
		v = v[:maxShownValue] + "..."
	}
	return fmt.Sprintf("annotation %s=%q: %s", e.Annotation, v, e.Reason)
}

// ParseBool reports whether s is "truthy": y, yes, true, t, on or 1, in any
// case and with surrounding white space ignored. Everything else is false;
// ParseBool never fails, matching how Dapr reads boolean annotations.
func ParseBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "true", "t", "on", "1":
		return true
	}
	return false
}

// ParsePort parses a TCP port number from 1 to 65535.
func ParsePort(s string) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("not a port number; use an integer from 1 to 65535")
	}
	return int32(n), nil
}

// ParseInt32 parses a base-10 integer of at least minimum that fits an
// int32.
func ParseInt32(s string, minimum int32) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n > math.MaxInt32 {
		return 0, fmt.Errorf("not an integer; use a whole number from %d to %d", minimum, math.MaxInt32)
	}
	if n < int64(minimum) {
		return 0, fmt.Errorf("must be at least %d", minimum)
	}
	return int32(n), nil
}

// ParseQuantity parses a non-negative Kubernetes resource quantity such as
// "100m", "0.5" or "128Mi".
func ParseQuantity(s string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("not a resource quantity; use for example 100m, 0.5 or 128Mi")
	}
	if q.Sign() < 0 {
		return resource.Quantity{}, fmt.Errorf("must not be negative")
	}
	return q, nil
}

// ValidateAppID checks an app ID. Dapr names a Service "<app-id>-dapr" after
// it, so "<app-id>-dapr" must be a DNS-1123 label of at most 63 characters,
// and the ID must be a SPIFFE ID segment Sentry accepts
// (spiffe.ValidateAppID): together, 1 to 58 lower-case letters, digits and
// inner '-'.
func ValidateAppID(id string) error {
	if id == "" {
		return fmt.Errorf("app ID is empty")
	}
	if spiffe.ValidateAppID(id) != nil || len(validation.IsDNS1123Label(id+"-dapr")) > 0 {
		return fmt.Errorf("app ID %q: use 1 to 58 lower-case letters, digits and '-', starting and ending "+
			"with a letter or digit (it names the Service %q and the workload's SPIFFE ID)", id, id+"-dapr")
	}
	return nil
}

// NormalizeProtocol maps an app protocol to the value Dapr exports as
// APP_PROTOCOL: http, https, grpc, grpcs or h2c. ssl upgrades http to https
// and grpc to grpcs. ok is false for an unknown protocol.
func NormalizeProtocol(protocol string, ssl bool) (p string, ok bool) {
	switch p = strings.ToLower(strings.TrimSpace(protocol)); p {
	case "http":
		if ssl {
			return "https", true
		}
		return p, true
	case "grpc":
		if ssl {
			return "grpcs", true
		}
		return p, true
	case "https", "grpcs", "h2c":
		return p, true
	}
	return "", false
}
