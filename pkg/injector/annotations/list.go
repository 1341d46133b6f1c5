package annotations

import (
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// splitAssignments splits "A=1,B=x,y,C=3" into ["A=1", "B=x,y", "C=3"]: a
// comma separates two entries only when what follows it starts with an
// identifier and '=', so values may contain commas.
func splitAssignments(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if len(out) == 0 || startsWithAssignment(part) {
			out = append(out, part)
			continue
		}
		out[len(out)-1] += "," + part
	}
	return out
}

// startsWithAssignment reports whether s (after leading blanks) is
// IDENT=..., with IDENT = [A-Za-z_][A-Za-z0-9_]*.
func startsWithAssignment(s string) bool {
	s = strings.TrimLeft(s, " \t")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		case c == '=' && i > 0:
			return true
		default:
			return false
		}
	}
	return false
}

// ParseEnv parses "NAME=value,NAME2=value2" into literal env vars. Values may
// contain commas (see splitAssignments) and '='; names and values are trimmed
// of surrounding white space. Empty input gives no vars.
func ParseEnv(s string) ([]corev1.EnvVar, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []corev1.EnvVar
	seen := map[string]bool{}
	for _, entry := range splitAssignments(s) {
		name, value, ok := strings.Cut(entry, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %q is not NAME=value; separate entries with ','", entry)
		}
		if errs := validation.IsEnvVarName(name); len(errs) > 0 {
			return nil, fmt.Errorf("env var name %q: %s", name, strings.Join(errs, "; "))
		}
		if seen[name] {
			return nil, fmt.Errorf("env var %q is set twice", name)
		}
		seen[name] = true
		out = append(out, corev1.EnvVar{Name: name, Value: strings.TrimSpace(value)})
	}
	return out, nil
}

// ParseEnvFromSecret parses "NAME=secret:key,NAME2=secret" into env vars read
// from Secrets in the pod's namespace. Without ":key" the key equals the
// Secret's name, as in Dapr.
func ParseEnvFromSecret(s string) ([]corev1.EnvVar, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []corev1.EnvVar
	seen := map[string]bool{}
	for _, entry := range strings.Split(s, ",") {
		name, ref, ok := strings.Cut(entry, "=")
		name, ref = strings.TrimSpace(name), strings.TrimSpace(ref)
		if !ok || name == "" || ref == "" {
			return nil, fmt.Errorf("entry %q is not NAME=secret or NAME=secret:key", entry)
		}
		if errs := validation.IsEnvVarName(name); len(errs) > 0 {
			return nil, fmt.Errorf("env var name %q: %s", name, strings.Join(errs, "; "))
		}
		if seen[name] {
			return nil, fmt.Errorf("env var %q is set twice", name)
		}
		seen[name] = true
		secret, key, hasKey := strings.Cut(ref, ":")
		if !hasKey {
			key = secret
		}
		if errs := validation.IsDNS1123Subdomain(secret); len(errs) > 0 {
			return nil, fmt.Errorf("secret name %q: %s", secret, strings.Join(errs, "; "))
		}
		if errs := validation.IsConfigMapKey(key); len(errs) > 0 {
			return nil, fmt.Errorf("secret key %q: %s", key, strings.Join(errs, "; "))
		}
		out = append(out, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret},
				Key:                  key,
			},
		}})
	}
	return out, nil
}

// ParseVolumeMounts parses "volume:/path,volume2:/other" into mounts with
// the given read-only flag. Paths must be absolute and clean.
func ParseVolumeMounts(s string, readOnly bool) ([]corev1.VolumeMount, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []corev1.VolumeMount
	for _, entry := range strings.Split(s, ",") {
		name, p, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || name == "" || p == "" {
			return nil, fmt.Errorf("entry %q is not volume:/path", entry)
		}
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			return nil, fmt.Errorf("volume name %q: %s", name, strings.Join(errs, "; "))
		}
		if !path.IsAbs(p) || path.Clean(p) != p {
			return nil, fmt.Errorf("mount path %q must be absolute and clean (no '..', no trailing '/')", p)
		}
		out = append(out, corev1.VolumeMount{Name: name, MountPath: p, ReadOnly: readOnly})
	}
	return out, nil
}
