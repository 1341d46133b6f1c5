package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// DaprdPod is a running pod with an injected daprd sidecar.
type DaprdPod struct {
	Namespace, Name string
	// Started is when the pod was created: daprd read DAPR_TRUST_ANCHORS
	// then, and never again.
	Started time.Time
}

func (p DaprdPod) String() string { return p.Namespace + "/" + p.Name }

// DaprdPods lists the pods of every namespace labelled
// dapr.io/sidecar-injected=true (Dapr's injector and ours set it) that are not terminating, oldest first.
// One paginated LIST by label (500 a page).
func (c *Client) DaprdPods(ctx context.Context) ([]DaprdPod, error) {
	var out []DaprdPod
	opts := metav1.ListOptions{LabelSelector: a.LabelSidecarInjected + "=true", Limit: 500}
	for {
		list, err := c.kube.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pods with daprd: %w", err)
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" {
				continue
			}
			out = append(out, DaprdPod{Namespace: p.Namespace, Name: p.Name, Started: p.CreationTimestamp.Time})
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}
