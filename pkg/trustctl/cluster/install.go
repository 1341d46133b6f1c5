package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
	"github.com/trustplane/trustplane/pkg/sentry/config"
)

// ConfigurationName is the name of the control plane's Configuration.
const ConfigurationName = "daprsystem"

// Errors callers branch on.
var (
	// ErrNoInstall means no Configuration named daprsystem was found in any
	// namespace.
	ErrNoInstall = errors.New("no Dapr control plane found")
	// ErrManyInstalls means daprsystem exists in more than one namespace and
	// none was chosen.
	ErrManyInstalls = errors.New("more than one Dapr control plane found")
	// ErrNoBundle means the trust bundle Secret is absent or empty.
	ErrNoBundle = errors.New("trust bundle not found")
	// ErrConflict means the Secret or ConfigMap changed between reading and
	// writing.
	ErrConflict = errors.New("trust bundle changed meanwhile")
)

// Options configures New.
type Options struct {
	// Kube reads and writes Secrets and ConfigMaps. Required.
	Kube kubernetes.Interface
	// Dynamic reads Configurations (configurations.dapr.io). Required.
	Dynamic dynamic.Interface
}

// Client reads and writes one cluster's control-plane trust objects.
type Client struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

// New returns a Client. It makes no API call.
func New(opts Options) (*Client, error) {
	if opts.Kube == nil || opts.Dynamic == nil {
		return nil, errors.New("cluster: Kube and Dynamic clients are required")
	}
	return &Client{kube: opts.Kube, dyn: opts.Dynamic}, nil
}

// Kube returns the typed client, for callers that act on other objects
// (restarting Deployments).
func (c *Client) Kube() kubernetes.Interface { return c.kube }

// Install is a Dapr control plane: its namespace and mTLS settings.
type Install struct {
	// Namespace is the control plane's namespace.
	Namespace string
	// Configuration is the daprsystem object; nil when --namespace named a
	// namespace without one (the defaults apply then, as in Sentry).
	Configuration *v1alpha1.Configuration
	// Config is spec.mtls checked and defaulted by config.FromSpec.
	Config config.Config
}

// FindInstall finds the control plane. With namespace set it reads
// daprsystem there (absent is fine: the defaults apply); otherwise it lists
// Configurations named daprsystem in all namespaces and wants exactly one
// (ErrNoInstall, ErrManyInstalls). An invalid spec.mtls is an error naming
// the field.
func (c *Client) FindInstall(ctx context.Context, namespace string) (*Install, error) {
	res := c.dyn.Resource(v1alpha1.GroupVersionResource)
	if namespace != "" {
		u, err := res.Namespace(namespace).Get(ctx, ConfigurationName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return &Install{Namespace: namespace, Config: config.Default()}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("get Configuration %s in namespace %s: %w", ConfigurationName, namespace, err)
		}
		return installOf(u)
	}
	list, err := res.List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", ConfigurationName).String(),
	})
	if apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("list Configurations named %s in all namespaces (name the namespace with --namespace instead): %w", ConfigurationName, err)
	}
	if err != nil {
		return nil, fmt.Errorf("list Configurations named %s: %w", ConfigurationName, err)
	}
	switch len(list.Items) {
	case 0:
		return nil, fmt.Errorf("%w: no Configuration named %s in any namespace; is Dapr installed? Name its namespace with --namespace",
			ErrNoInstall, ConfigurationName)
	case 1:
		return installOf(&list.Items[0])
	}
	nss := make([]string, len(list.Items))
	for i, u := range list.Items {
		nss[i] = u.GetNamespace()
	}
	sort.Strings(nss)
	return nil, fmt.Errorf("%w: Configuration %s exists in namespaces %s; choose one with --namespace",
		ErrManyInstalls, ConfigurationName, strings.Join(nss, ", "))
}

// installOf converts and checks a daprsystem object.
func installOf(u *unstructured.Unstructured) (*Install, error) {
	var cfg v1alpha1.Configuration
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cfg); err != nil {
		return nil, fmt.Errorf("decode Configuration %s in namespace %s: %w", u.GetName(), u.GetNamespace(), err)
	}
	mc, err := config.FromSpec(cfg.Spec.MTLSSpec)
	if err != nil {
		return nil, fmt.Errorf("check Configuration %s in namespace %s: %w", u.GetName(), u.GetNamespace(), err)
	}
	return &Install{Namespace: u.GetNamespace(), Configuration: &cfg, Config: mc}, nil
}
