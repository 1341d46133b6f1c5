package validator

import (
	"errors"
	"fmt"
	"sort"
)

// Errors of Set.Get, answered to the caller as InvalidArgument.
var (
	// ErrNoDefault means the request named no validator and the environment
	// has no default one (for example self-hosted with jwks configured).
	ErrNoDefault = errors.New("a validator name must be specified in this environment")
	// ErrNotEnabled means the request named a validator that is not enabled.
	ErrNotEnabled = errors.New("the requested validator is not enabled")
)

// Set is the enabled validators and the default one. A Set is immutable;
// configuration changes build a new one.
type Set struct {
	byName map[Name]Validator
	def    Name
}

// NewSet returns a Set of validators. def is the validator used when a
// request names none; empty means there is no default.
func NewSet(validators map[Name]Validator, def Name) (*Set, error) {
	if def != "" {
		if _, ok := validators[def]; !ok {
			return nil, fmt.Errorf("default validator %q is not enabled", def)
		}
	}
	m := make(map[Name]Validator, len(validators))
	for n, v := range validators {
		m[n] = v
	}
	return &Set{byName: m, def: def}, nil
}

// Get returns the validator called name; an empty name selects the default.
func (s *Set) Get(name Name) (Validator, Name, error) {
	if name == "" {
		if s.def == "" {
			return nil, "", ErrNoDefault
		}
		name = s.def
	}
	v, ok := s.byName[name]
	if !ok {
		return nil, name, fmt.Errorf("%w: %q", ErrNotEnabled, name)
	}
	return v, name, nil
}

// Names lists the enabled validators, sorted.
func (s *Set) Names() []Name {
	names := make([]Name, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

// Default is the default validator's name, or "" when there is none.
func (s *Set) Default() Name { return s.def }
