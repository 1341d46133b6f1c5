package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/spiffe"
)

// Field paths used in errors.
const (
	pathTTL  = pathMTLS + ".workloadCertTTL"
	pathSkew = pathMTLS + ".allowedClockSkew"
	pathTD   = pathMTLS + ".controlPlaneTrustDomain"
)

// FromSpec checks spec and returns its Config, with defaults for what is
// unset (Default when spec is nil). An empty duration string counts as
// unset, as Helm renders one for an empty value. It reports every problem
// it finds, each naming its field path under spec.mtls and wrapping
// ErrInvalid. It is shared by the file loader and a Kubernetes watch of
// the Configuration object.
func FromSpec(spec *v1alpha1.MTLSSpec) (Config, error) {
	cfg := Default()
	if spec == nil {
		return cfg, nil
	}
	var errs []error
	if spec.Enabled != nil {
		cfg.MTLSEnabled = *spec.Enabled
	}

	ttl, ttlSet, err := duration(pathTTL, spec.WorkloadCertTTL)
	if err == nil && ttlSet && (ttl < MinWorkloadCertTTL || ttl > MaxWorkloadCertTTL) {
		err = fieldErr(pathTTL, "must be from %s to %s, got %q", MinWorkloadCertTTL, MaxWorkloadCertTTL, *spec.WorkloadCertTTL)
	}
	if err != nil {
		errs = append(errs, err)
	} else if ttlSet {
		cfg.WorkloadCertTTL = ttl
	}

	skew, skewSet, err := duration(pathSkew, spec.AllowedClockSkew)
	if err == nil && skewSet && (skew < 0 || skew > MaxAllowedClockSkew) {
		err = fieldErr(pathSkew, "must be from 0s to %s, got %q", MaxAllowedClockSkew, *spec.AllowedClockSkew)
	}
	if err != nil {
		errs = append(errs, err)
	} else if skewSet {
		cfg.AllowedClockSkew = skew
	}
	if spec.ControlPlaneTrustDomain != "" {
		td, err := spiffe.TrustDomain(spec.ControlPlaneTrustDomain)
		if err != nil {
			errs = append(errs, &FieldError{Path: pathTD, Err: err})
		} else {
			cfg.ControlPlaneTrustDomain = td
		}
	}

	cfg.TokenValidators, err = tokenValidators(spec.TokenValidators)
	if err != nil {
		errs = append(errs, err)
	}
	if err := join(errs); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// duration parses an optional Go duration string; set is false when s is
// nil or empty.
func duration(path string, s *string) (d time.Duration, set bool, err error) {
	if s == nil || *s == "" {
		return 0, false, nil
	}
	d, err = time.ParseDuration(*s)
	if err != nil {
		return 0, false, fieldErr(path, "%q is not a Go duration such as \"24h\" or \"90s\"", *s)
	}
	return d, true, nil
}

func tokenValidators(specs []v1alpha1.ValidatorSpec) ([]TokenValidator, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	var errs []error
	out := make([]TokenValidator, 0, len(specs))
	seen := map[string]int{}
	for i, s := range specs {
		path := fmt.Sprintf("%s[%d]", pathValidators, i)
		switch {
		case s.Name == "":
			errs = append(errs, fieldErr(path+".name", "is required; supported values: '%s'", ValidatorJWKS))
			continue
		case s.Name == "kubernetes" || s.Name == "insecure":
			// Built in and always on (one of them, depending on the mode).
			errs = append(errs, fieldErr(path+".name",
				"only '%s' can be configured; the built-in 'kubernetes' and 'insecure' validators cannot be configured manually", ValidatorJWKS))
			continue
		case s.Name != ValidatorJWKS:
			errs = append(errs, fieldErr(path+".name",
				"invalid token validator name '%s'; supported values: '%s'", s.Name, ValidatorJWKS))
			continue
		}
		if first, dup := seen[s.Name]; dup {
			errs = append(errs, fieldErr(path+".name", "'%s' is already configured at tokenValidators[%d]", s.Name, first))
			continue
		}
		seen[s.Name] = i
		var raw []byte
		if s.Options != nil {
			raw = s.Options.Raw
		}
		opts, err := options(path+".options", raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, TokenValidator{Name: s.Name, Options: opts})
	}
	if err := join(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// options turns a free-form JSON object into text values: strings as they
// are, numbers in decimal, booleans as "true"/"false".
func options(path string, raw []byte) (map[string]string, error) {
	if len(raw) == 0 || isNull(raw) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fieldErr(path, "must be an object")
	}
	if len(m) == 0 {
		return nil, nil
	}
	var errs []error
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		var s string
		switch v := m[k].(type) {
		case string:
			s = v
		case bool:
			s = strconv.FormatBool(v)
		case json.Number:
			n, ok := decimal(v)
			if !ok {
				errs = append(errs, fieldErr(optionPath(path, k), "%s is not a finite number", v))
				continue
			}
			s = n
		default:
			errs = append(errs, fieldErr(optionPath(path, k), "must be a string, number or boolean, got %s", jsonKind(v)))
			continue
		}
		out[k] = s
	}
	if err := join(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// decimal writes n in plain decimal: "600" for 600, 600.0 or 6e2; "1.5"
// for 1.5.
func decimal(n json.Number) (string, bool) {
	if i, err := n.Int64(); err == nil {
		return strconv.FormatInt(i, 10), true
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", false
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// optionPath appends key to path, quoted when it is not a plain name.
func optionPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
		}
	}
	if plain {
		return path + "." + key
	}
	return fmt.Sprintf("%s[%q]", path, key)
}
