package sentry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"go.uber.org/zap"

	"github.com/trustplane/trustplane/pkg/sentry/config"
	"github.com/trustplane/trustplane/pkg/sentry/validator"
	"github.com/trustplane/trustplane/pkg/sentry/validator/insecure"
	"github.com/trustplane/trustplane/pkg/sentry/validator/jwks"
)

// validators keeps the validator set in force and rebuilds it when the
// configured tokenValidators change. With a platform validator (Kubernetes
// mode) it is always enabled and the default, and configured validators are
// added beside it. Without one (self-hosted), insecure is the default while
// no validator is configured; once one is, insecure is off and requests must
// name their validator.
type validators struct {
	sentryID spiffeid.ID
	platform PlatformValidator
	logger   *zap.Logger

	current atomic.Pointer[validator.Set]

	mu      sync.Mutex
	applied []config.TokenValidator
	jwks    []*jwks.Validator
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// Get returns the set in force.
func (v *validators) Get() *validator.Set { return v.current.Load() }

// apply builds the validators of cfg and, if that works, puts them in
// force, stopping the ones they replace. A broken configuration leaves the
// current set in force and returns why.
func (v *validators) apply(ctx context.Context, specs []config.TokenValidator) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.current.Load() != nil && reflect.DeepEqual(specs, v.applied) {
		return nil
	}
	byName := map[validator.Name]validator.Validator{}
	var started []*jwks.Validator
	for i, spec := range specs {
		if validator.Name(spec.Name) != validator.JWKS {
			return fmt.Errorf("tokenValidators[%d]: unsupported validator %q", i, spec.Name)
		}
		opts, err := jwks.OptionsFromMap(spec.Options)
		if err != nil {
			return fmt.Errorf("tokenValidators[%d] (jwks): %w", i, err)
		}
		opts.SentryID = v.sentryID
		opts.Logger = v.logger.Named("jwks")
		j, err := jwks.New(opts)
		if err != nil {
			return fmt.Errorf("tokenValidators[%d] (jwks): %w", i, err)
		}
		byName[validator.JWKS] = j
		started = append(started, j)
	}
	def := validator.Name("")
	switch {
	case v.platform != nil:
		byName[v.platform.Name()] = v.platform
		def = v.platform.Name()
	case len(byName) == 0:
		byName[validator.Insecure] = insecure.New()
		def = validator.Insecure
	}
	set, err := validator.NewSet(byName, def)
	if err != nil {
		return err
	}

	runCtx, stop := context.WithCancel(ctx)
	for _, j := range started {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			if err := j.Start(runCtx); err != nil {
				v.logger.Error("JWKS validator stopped", zap.Error(err))
			}
		}()
	}
	if v.stop != nil {
		v.stop()
	}
	v.stop, v.jwks, v.applied = stop, started, specs
	v.current.Store(set)
	for _, n := range set.Names() {
		v.logger.Info("Adding validator", zap.String("validator", string(n)))
	}
	if def != "" {
		v.logger.Info("Using default validator", zap.String("validator", string(def)))
	}
	return nil
}

// ready reports whether every validator in force has what it needs.
func (v *validators) ready() error {
	if v.platform != nil && !v.platform.Ready() {
		return fmt.Errorf("%s validator is not ready", v.platform.Name())
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, j := range v.jwks {
		if !j.Ready() {
			return errors.New("jwks validator has not loaded its key set")
		}
	}
	return nil
}

// wait stops the running validators and waits for them.
func (v *validators) wait() {
	v.mu.Lock()
	if v.stop != nil {
		v.stop()
	}
	v.mu.Unlock()
	v.wg.Wait()
}
