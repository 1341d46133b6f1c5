package annotations

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Map reads typed values from a pod's annotations. A present annotation
// overrides the default even when its value is empty, as in Dapr; the typed
// readers return an *Error when a present value cannot be parsed.
type Map map[string]string

// Of wraps a pod's annotations. A nil map reads as all defaults.
func Of(m map[string]string) Map { return Map(m) }

// Get returns the raw value and whether the annotation is present.
func (m Map) Get(key string) (string, bool) {
	v, ok := m[key]
	return v, ok
}

// String returns the value, or def when the annotation is absent.
func (m Map) String(key, def string) string {
	if v, ok := m[key]; ok {
		return v
	}
	return def
}

// Trimmed returns the value with surrounding white space and quotes removed,
// or def when absent. Addresses are read this way.
func (m Map) Trimmed(key, def string) string {
	if v, ok := m[key]; ok {
		return strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return def
}

// Bool returns ParseBool of the value, or def when absent.
func (m Map) Bool(key string, def bool) bool {
	if v, ok := m[key]; ok {
		return ParseBool(v)
	}
	return def
}

// OptionalBool returns nil when absent, else ParseBool of the value.
func (m Map) OptionalBool(key string) *bool {
	if v, ok := m[key]; ok {
		b := ParseBool(v)
		return &b
	}
	return nil
}

// Port returns the port in the annotation, or def when absent.
func (m Map) Port(key string, def int32) (int32, error) {
	v, ok := m[key]
	if !ok {
		return def, nil
	}
	p, err := ParsePort(v)
	if err != nil {
		return 0, &Error{Annotation: key, Value: v, Reason: err.Error()}
	}
	return p, nil
}

// Int32 returns the integer in the annotation (at least minimum), or def
// when absent.
func (m Map) Int32(key string, def, minimum int32) (int32, error) {
	p, err := m.OptionalInt32(key, minimum)
	if err != nil || p == nil {
		return def, err
	}
	return *p, nil
}

// OptionalInt32 returns nil when absent, else the integer (at least
// minimum) in the annotation.
func (m Map) OptionalInt32(key string, minimum int32) (*int32, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	n, err := ParseInt32(v, minimum)
	if err != nil {
		return nil, &Error{Annotation: key, Value: v, Reason: err.Error()}
	}
	return &n, nil
}

// Quantity returns nil when absent, else the resource quantity in the
// annotation.
func (m Map) Quantity(key string) (*resource.Quantity, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	q, err := ParseQuantity(v)
	if err != nil {
		return nil, &Error{Annotation: key, Value: v, Reason: err.Error()}
	}
	return &q, nil
}

// wrap turns a parser error into an *Error for key, or returns nil.
func (m Map) wrap(key string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Annotation: key, Value: m[key], Reason: err.Error()}
}

// AppID returns the app ID: the annotation, else fallback (the pod name).
// It fails when the result is empty or not a valid app ID (ValidateAppID).
func (m Map) AppID(fallback string) (string, error) {
	id, ok := m[KeyAppID]
	if !ok || id == "" {
		id = fallback
	}
	if id == "" {
		return "", &Error{Annotation: KeyAppID, Value: m[KeyAppID],
			Reason: "no app ID: set the annotation (pods created by controllers have no name at admission to fall back on)"}
	}
	if err := ValidateAppID(id); err != nil {
		return "", &Error{Annotation: KeyAppID, Value: id, Reason: err.Error()}
	}
	return id, nil
}

// Env returns the literal env vars of KeyEnv.
func (m Map) Env() ([]corev1.EnvVar, error) {
	env, err := ParseEnv(m[KeyEnv])
	return env, m.wrap(KeyEnv, err)
}

// EnvFromSecret returns the Secret-backed env vars of KeyEnvFromSecret.
func (m Map) EnvFromSecret() ([]corev1.EnvVar, error) {
	env, err := ParseEnvFromSecret(m[KeyEnvFromSecret])
	return env, m.wrap(KeyEnvFromSecret, err)
}

// VolumeMounts returns the read-only mounts of KeyVolumeMounts followed by
// the read-write mounts of KeyVolumeMountsRW.
func (m Map) VolumeMounts() ([]corev1.VolumeMount, error) {
	ro, err := ParseVolumeMounts(m[KeyVolumeMounts], true)
	if err != nil {
		return nil, m.wrap(KeyVolumeMounts, err)
	}
	rw, err := ParseVolumeMounts(m[KeyVolumeMountsRW], false)
	if err != nil {
		return nil, m.wrap(KeyVolumeMountsRW, err)
	}
	return append(ro, rw...), nil
}
