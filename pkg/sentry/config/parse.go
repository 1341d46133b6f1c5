package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
)

// Field paths used in errors.
const (
	pathMTLS       = "spec.mtls"
	pathValidators = pathMTLS + ".tokenValidators"
)

// Parse reads a Configuration document (YAML or JSON, apiVersion
// dapr.io/v1alpha1, kind Configuration; like Dapr, an empty document or one
// without apiVersion and kind gives the defaults) and returns the Config of
// its spec.mtls. Duplicate keys anywhere, and unknown fields under spec.mtls,
// are errors. Every error wraps ErrInvalid and names the field path.
func Parse(data []byte) (Config, error) {
	spec, err := decodeMTLS(data)
	if err != nil {
		return Config{}, fmt.Errorf("parse configuration: %w", err)
	}
	cfg, err := FromSpec(spec)
	if err != nil {
		return Config{}, fmt.Errorf("parse configuration: %w", err)
	}
	return cfg, nil
}

// LoadFile reads and parses the Configuration file at path. Errors reading
// the file wrap the os error (errors.Is(err, fs.ErrNotExist) works);
// errors in its content wrap ErrInvalid. Environment variables are not
// expanded; FileWatcherOptions.LookupEnv does that.
func LoadFile(path string) (Config, error) {
	_, cfg, err := loadFile(path, nil)
	return cfg, err
}

// loadFile reads and parses path. data is nil when the file could not be
// read, and holds the raw content otherwise, valid or not.
func loadFile(path string, lookupEnv func(string) (string, bool)) (data []byte, cfg Config, err error) {
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, Config{}, fmt.Errorf("read configuration file: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	cfg, err = Parse(ExpandEnv(data, lookupEnv))
	if err != nil {
		return data, Config{}, fmt.Errorf("load %s: %w", path, err)
	}
	return data, cfg, nil
}

// ExpandEnv replaces $VAR and ${VAR} in data with lookup's value, or with
// nothing when lookup does not know VAR, as Dapr does for self-hosted
// configuration files. A nil lookup returns data unchanged.
func ExpandEnv(data []byte, lookup func(string) (string, bool)) []byte {
	if lookup == nil || !bytes.Contains(data, []byte("$")) {
		return data
	}
	return []byte(os.Expand(string(data), func(name string) string {
		v, _ := lookup(name)
		return v
	}))
}

// decodeMTLS checks the document's type and returns its spec.mtls, nil
// when there is none.
func decodeMTLS(data []byte) (*v1alpha1.MTLSSpec, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, &FieldError{Err: fmt.Errorf("not valid YAML or JSON: %w", err)}
	}
	if isNull(js) {
		return nil, nil // an empty file: Dapr's defaults, as Dapr's sentry starts on one
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil || doc == nil {
		return nil, &FieldError{Err: fmt.Errorf("want a %s %s object", v1alpha1.APIVersion, v1alpha1.Kind)}
	}
	// Like Dapr, a document without apiVersion or kind is read as a
	// Configuration; one that names another type is a mistake (the wrong
	// file) and refused.
	var errs []error
	for _, f := range []struct{ name, want string }{
		{"apiVersion", v1alpha1.APIVersion},
		{"kind", v1alpha1.Kind},
	} {
		var got string
		if raw, ok := doc[f.name]; ok && (json.Unmarshal(raw, &got) != nil || got != f.want) {
			errs = append(errs, fieldErr(f.name, "want %q, got %s", f.want, raw))
		}
	}
	if err := join(errs); err != nil {
		return nil, err
	}

	var spec map[string]json.RawMessage
	if raw, ok := doc["spec"]; ok {
		if err := json.Unmarshal(raw, &spec); err != nil {
			return nil, fieldErr("spec", "must be an object")
		}
	}
	raw, ok := spec["mtls"]
	if !ok || isNull(raw) {
		return nil, nil
	}
	if err := checkFields(raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var m v1alpha1.MTLSSpec
	if err := dec.Decode(&m); err != nil {
		return nil, typeError(err)
	}
	return &m, nil
}

// checkFields reports every unknown field of spec.mtls and of its
// tokenValidators entries: a misspelt field is a mistake worth reporting
// rather than ignoring.
func checkFields(raw json.RawMessage) error {
	mtlsFields := jsonFields(reflect.TypeFor[v1alpha1.MTLSSpec]())
	validatorFields := jsonFields(reflect.TypeFor[v1alpha1.ValidatorSpec]())
	var mtls map[string]json.RawMessage
	if err := json.Unmarshal(raw, &mtls); err != nil {
		return fieldErr(pathMTLS, "must be an object")
	}
	errs := unknownFields(pathMTLS, mtls, mtlsFields)
	var entries []json.RawMessage
	if v, ok := mtls["tokenValidators"]; ok && json.Unmarshal(v, &entries) == nil {
		for i, e := range entries {
			var entry map[string]json.RawMessage
			if json.Unmarshal(e, &entry) == nil {
				errs = append(errs, unknownFields(fmt.Sprintf("%s[%d]", pathValidators, i), entry, validatorFields)...)
			}
		}
	}
	return join(errs)
}

func unknownFields(path string, got map[string]json.RawMessage, known []string) []error {
	var errs []error
	for _, k := range sortedKeys(got) {
		if slices.Contains(known, k) {
			continue
		}
		hint := ""
		for _, f := range known {
			if strings.EqualFold(f, k) {
				hint = fmt.Sprintf(" (did you mean %q?)", f)
			}
		}
		errs = append(errs, fieldErr(path, "unknown field %q%s", k, hint))
	}
	return errs
}

// typeError names the field of a JSON type mismatch.
func typeError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return &FieldError{Path: pathMTLS, Err: err}
	}
	path := pathMTLS
	if te.Field != "" {
		path += "." + te.Field
	}
	want := "a " + te.Type.String()
	switch te.Type.Kind() {
	case reflect.String:
		want = "a string"
		if strings.HasSuffix(te.Field, "TTL") || strings.HasSuffix(te.Field, "Skew") {
			want = `a string holding a Go duration such as "24h" or "90s"`
		}
	case reflect.Bool:
		want = "a boolean"
	case reflect.Slice:
		want = "a list"
	case reflect.Struct, reflect.Map:
		want = "an object"
	}
	return fieldErr(path, "must be %s, got %s", want, te.Value)
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// jsonFields lists the JSON names of t's fields.
func jsonFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
