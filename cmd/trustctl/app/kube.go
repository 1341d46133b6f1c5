package app

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	// kubeconfig is the kubeconfig file. Default: $KUBECONFIG, else
	// ~/.kube/config (client-go's loading rules).
	kubeconfig string
	// context is the kubeconfig context. Default: the current one.
	context string
	// namespace is the control plane's namespace. Default: found by listing
	// Configurations named daprsystem in all namespaces.
	namespace string
	// requestTimeout bounds each API request. Default 30s.
	requestTimeout time.Duration
	// kubernetes is Dapr's -k flag, accepted and ignored: trustctl always
	// works on Kubernetes.
	kubernetes bool
}

func (g *globalOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&g.context, "context", "", "The kubeconfig context to use (default: the current context)")
	fs.StringVarP(&g.namespace, "namespace", "n", "",
		"Namespace of the Dapr control plane (default: the namespace of the Configuration named daprsystem)")
	fs.DurationVar(&g.requestTimeout, "request-timeout", 30*time.Second, "Time limit of each Kubernetes API request")
	fs.BoolVarP(&g.kubernetes, "kubernetes", "k", true, "Accepted for compatibility with the Dapr CLI; trustctl always works on Kubernetes")
	_ = fs.MarkHidden("kubernetes")
}

// client builds a cluster client from the kubeconfig.
func (g *globalOptions) client() (*cluster.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: g.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.Timeout = g.requestTimeout
	cfg.UserAgent = "trustctl"
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return cluster.New(cluster.Options{Kube: kube, Dynamic: dyn})
}

// target is a found control plane and its trust bundle.
type target struct {
	client  *cluster.Client
	install *cluster.Install
	bundle  *cluster.TrustBundle
}

// load finds the control plane and reads its trust bundle.
func (g *globalOptions) load(ctx context.Context) (*target, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	in, err := c.FindInstall(ctx, g.namespace)
	if err != nil {
		return nil, err
	}
	tb, err := c.ReadBundle(ctx, in.Namespace)
	if err != nil {
		return nil, err
	}
	return &target{client: c, install: in, bundle: tb}, nil
}
