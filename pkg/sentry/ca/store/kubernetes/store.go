package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	tplog "github.com/trustplane/trustplane/pkg/log"
	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/sentry/jwt"
)

// Defaults, as Dapr names the objects and keys.
const (
	DefaultSecretName    = "dapr-trust-bundle"
	DefaultConfigMapName = "dapr-trust-bundle"
	DefaultRootKey       = "ca.crt"
	DefaultIssuerKey     = "issuer.crt"
	DefaultKeyKey        = "issuer.key"
	// ConfigMapKey is the ConfigMap's key of the published roots, whatever
	// the Secret's roots key: the injector, daprd and trustctl read it.
	ConfigMapKey = "ca.crt"
	// DefaultTimeout bounds the API calls of one Load, Save or watch event.
	DefaultTimeout = 30 * time.Second
)

// Errors callers branch on.
var (
	// ErrNotFound means the Secret is absent or holds none of the three
	// keys: a bundle may be generated. It is bundle.ErrNotFound.
	ErrNotFound = bundle.ErrNotFound
	// ErrExists means Save found a bundle (or part of one) already stored.
	// It is bundle.ErrExists.
	ErrExists = bundle.ErrExists
	// ErrIncomplete is what every *PartialError matches with errors.Is.
	ErrIncomplete = bundle.ErrIncomplete
	// ErrInvalid is what every *InvalidError matches with errors.Is.
	ErrInvalid = errors.New("trust bundle invalid")
)

// Log field keys of this package.
const (
	logKeySecret    = "secret"
	logKeyConfigMap = "configmap"
)

// Options configures New.
type Options struct {
	// Client talks to the apiserver. Required.
	Client clientset.Interface
	// Namespace is Sentry's namespace, where both objects live. Required.
	Namespace string
	// SecretName and ConfigMapName name the objects. Default
	// dapr-trust-bundle for both.
	SecretName, ConfigMapName string
	// RootKey, IssuerKey and KeyKey are the Secret's keys. Defaults
	// ca.crt, issuer.crt and issuer.key. The ConfigMap's is always
	// ConfigMapKey.
	RootKey, IssuerKey, KeyKey string
	// Recorder receives a Warning Event on the Secret for every bundle the
	// store refuses. It must know core/v1 kinds (client-go's
	// kubernetes/scheme.Scheme). Default: no Events.
	Recorder record.EventRecorder
	// Timeout bounds the API calls of one Load, Save or watch event.
	// Default DefaultTimeout.
	Timeout time.Duration
	// PollSecret, when positive, makes Watch read the Secret with a GET
	// at this interval instead of listing and watching it: for a Role
	// that grants get and update of the Secret but not list and watch, as
	// Dapr's does. Default 0: list and watch.
	PollSecret time.Duration
	// PollConfigMap is PollSecret for the ConfigMap. Default 0: list and
	// watch.
	PollConfigMap time.Duration
	// JWT, when set, adds the JWT-SVID signing key and key set to the
	// Secret keys the store loads, saves and watches, and publishes the key
	// set in the ConfigMap. Default: off.
	JWT *JWTOptions
	// Logger receives the store's logs. Default: none.
	Logger *zap.Logger
}

// Store is a trust bundle kept in a Secret, with its roots published in a
// ConfigMap. It is safe for concurrent use.
type Store struct {
	client     clientset.Interface
	ns         string
	secretName string
	cmName     string
	keys       [3]string // in bundle part order: roots, issuer, key
	jwtKeys    [2]string // jwt.key, jwks.json; empty when JWT is off
	jwtParse   jwt.ParseOptions
	recorder   record.EventRecorder
	timeout    time.Duration
	pollSecret time.Duration // 0: list and watch
	pollCM     time.Duration // 0: list and watch
	log        *zap.Logger

	// last is the last valid bundle loaded or saved; Watch reports only
	// changes from it.
	last atomic.Pointer[bundle.Bundle]

	mu           sync.Mutex
	lastSecretRV string          // resourceVersion of the Secret last loaded or written
	lastCMRV     string          // resourceVersion of the ConfigMap last read or written
	warned       string          // "<ConfigMap rv>/<Secret rv>" of the last mismatch reported
	refusedCalls map[string]bool // calls refused as Forbidden and reported once

	// watching, when set, is called once Watch's informers have synced
	// (for tests).
	watching func()
}

// New returns a store for the objects opts names. It makes no API call.
func New(opts Options) (*Store, error) {
	if opts.Client == nil {
		return nil, errors.New("trust bundle store: no Kubernetes client")
	}
	if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("trust bundle store: namespace %q: %s", opts.Namespace, strings.Join(errs, "; "))
	}
	s := &Store{
		client:     opts.Client,
		ns:         opts.Namespace,
		secretName: or(opts.SecretName, DefaultSecretName),
		cmName:     or(opts.ConfigMapName, DefaultConfigMapName),
		keys:       [3]string{or(opts.RootKey, DefaultRootKey), or(opts.IssuerKey, DefaultIssuerKey), or(opts.KeyKey, DefaultKeyKey)},
		recorder:   opts.Recorder,
		timeout:    opts.Timeout,
		pollSecret: opts.PollSecret,
		pollCM:     opts.PollConfigMap,
		log:        opts.Logger,
	}
	for _, n := range []string{s.secretName, s.cmName} {
		if errs := validation.IsDNS1123Subdomain(n); len(errs) > 0 {
			return nil, fmt.Errorf("trust bundle store: object name %q: %s", n, strings.Join(errs, "; "))
		}
	}
	for _, k := range s.keys {
		if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
			return nil, fmt.Errorf("trust bundle store: key %q: %s", k, strings.Join(errs, "; "))
		}
	}
	if s.keys[0] == s.keys[1] || s.keys[0] == s.keys[2] || s.keys[1] == s.keys[2] {
		return nil, fmt.Errorf("trust bundle store: the roots, issuer and key keys must differ: %s", strings.Join(s.keys[:], ", "))
	}
	if err := s.resolveJWT(opts.JWT); err != nil {
		return nil, err
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.log = s.log.With(zap.String(tplog.KeyNamespace, s.ns), zap.String(logKeySecret, s.secretName))
	return s, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Names returns the namespace, the Secret's and the ConfigMap's names.
func (s *Store) Names() (namespace, secret, configMap string) { return s.ns, s.secretName, s.cmName }

// Keys returns the roots, issuer and key keys.
func (s *Store) Keys() (roots, issuer, key string) { return s.keys[0], s.keys[1], s.keys[2] }

// Load reads and parses the Secret. It returns an error wrapping ErrNotFound
// when the Secret is absent or holds none of the three keys (or only empty
// values), a *PartialError when it holds only some, and an *InvalidError
// naming the key at fault when they do not make a valid bundle; the last two
// also go to the Recorder as Warning Events. Load never writes the Secret.
// With a valid bundle it publishes the roots to the ConfigMap where that
// replaces nothing a user wrote (see the package documentation); a
// ConfigMap problem is logged and reported, not returned. Load does not
// check validity periods: see bundle.Verify.
//
// With JWT on, a valid bundle also carries the JWT material when both JWT
// keys hold something (nil when neither does: see SaveJWT), and its public
// key set is published to the ConfigMap; one key without the other is an
// error wrapping ErrIncomplete, a pair that does not belong together one
// wrapping ErrInvalid, both naming the key.
func (s *Store) Load() (*bundle.Bundle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.load(ctx)
}

func (s *Store) load(ctx context.Context) (*bundle.Bundle, error) {
	sec, err := s.client.CoreV1().Secrets(s.ns).Get(ctx, s.secretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.setSecretRV("")
		return nil, fmt.Errorf("%w: Secret %s does not exist in namespace %s", ErrNotFound, s.secretName, s.ns)
	}
	if err != nil {
		return nil, fmt.Errorf("get Secret %s in namespace %s: %w", s.secretName, s.ns, err)
	}
	s.setSecretRV(sec.ResourceVersion)
	b, err := s.parse(sec)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.refused(sec, err)
		}
		return nil, err
	}
	s.last.Store(b)
	s.publishAll(ctx, sec, b)
	return b, nil
}

// parse turns the Secret's three keys into a bundle.
func (s *Store) parse(sec *corev1.Secret) (*bundle.Bundle, error) {
	var data [3][]byte
	partial := PartialError{Namespace: s.ns, Secret: s.secretName, keys: s.keys}
	for i, k := range s.keys {
		v, ok := sec.Data[k]
		switch {
		case !ok:
			partial.Missing = append(partial.Missing, k)
		case len(bytes.TrimSpace(v)) == 0:
			partial.Empty = append(partial.Empty, k)
		default:
			partial.Present = append(partial.Present, k)
			data[i] = v
		}
	}
	if len(partial.Present) == 0 {
		return nil, fmt.Errorf("%w: Secret %s in namespace %s holds none of %s with content",
			ErrNotFound, s.secretName, s.ns, strings.Join(s.keys[:], ", "))
	}
	if len(partial.Present) < len(s.keys) {
		return nil, &partial
	}
	b, err := bundle.Parse(data[0], data[1], data[2])
	if err != nil {
		return nil, &InvalidError{Namespace: s.ns, Secret: s.secretName, Key: s.keyOf(err), Err: err, keys: s.keys}
	}
	m, err := s.parseJWT(sec)
	if err != nil {
		return nil, err
	}
	if m != nil {
		b = b.WithJWT(m)
	}
	return b, nil
}

// keyOf returns the key a bundle error is about.
func (s *Store) keyOf(err error) string {
	var be *bundle.Error
	if errors.As(err, &be) {
		switch be.Part {
		case bundle.PartRoots:
			return s.keys[0]
		case bundle.PartIssuer:
			return s.keys[1]
		case bundle.PartKey:
			return s.keys[2]
		}
	}
	return strings.Join(s.keys[:], ", ")
}

// refused logs a refused bundle and records a Warning Event on the Secret.
func (s *Store) refused(sec *corev1.Secret, err error) {
	reason := ReasonInvalid
	if errors.Is(err, ErrIncomplete) {
		reason = ReasonIncomplete
	}
	s.log.Warn("Refusing the trust bundle in the Secret; nothing was written", zap.String(tplog.KeyReason, err.Error()))
	s.event(sec, corev1.EventTypeWarning, reason, err.Error())
}

// event records an Event on obj when a Recorder is set.
func (s *Store) event(obj *corev1.Secret, eventType, reason, msg string) {
	if s.recorder == nil || obj == nil {
		return
	}
	s.recorder.Event(obj, eventType, reason, msg)
}

func (s *Store) setSecretRV(rv string) {
	s.mu.Lock()
	s.lastSecretRV = rv
	s.mu.Unlock()
}

func (s *Store) secretRV() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSecretRV
}
