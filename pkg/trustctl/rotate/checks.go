package rotate

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trustplane/trustplane/pkg/sentry/anchors"
	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/phase"
)

// Check is one condition a step waits for.
type Check = phase.Check

// Anchors is the trust anchors ConfigMap of one namespace as found.
type Anchors struct {
	// Namespace is the ConfigMap's namespace.
	Namespace string `json:"namespace"`
	// Current is whether it holds exactly the Secret's roots.
	Current bool `json:"current"`
	// Problem says why not ("absent", "missing root ...", ...).
	Problem string `json:"problem,omitempty"`
}

// parsePEM returns the certificates of a PEM list, skipping other blocks.
func parsePEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
}

// compareRoots says how the published PEM differs from want ("" when it
// holds the same set of roots).
func compareRoots(published []byte, want []string) string {
	if len(published) == 0 {
		return "absent or empty"
	}
	certs, err := parsePEM(published)
	if err != nil {
		return err.Error()
	}
	got := fingerprints(certs)
	got = slices.Compact(got)
	for _, w := range want {
		if !slices.Contains(got, w) {
			return "lacks root " + short(w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			return "still holds root " + short(g)
		}
	}
	return ""
}

func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16]
	}
	return fp
}

// AnchorsStatus checks the anchors ConfigMap of the control plane's
// namespace (tb's) and of every namespace with a Dapr pod against the
// Secret's roots.
func AnchorsStatus(ctx context.Context, c *cluster.Client, tb *cluster.TrustBundle, roots []*x509.Certificate) ([]Anchors, error) {
	want := slices.Compact(fingerprints(roots))
	out := []Anchors{{Namespace: tb.Namespace}}
	if p := compareRoots(tb.PublishedRoots(), want); p != "" {
		out[0].Problem = p
	} else {
		out[0].Current = true
	}
	pods, err := c.Kube().CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods to find the namespaces of Dapr workloads: %w", err)
	}
	seen := map[string]bool{tb.Namespace: true}
	var nss []string
	for _, p := range pods.Items {
		if !seen[p.Namespace] && anchors.OptedIn(p.Annotations) {
			seen[p.Namespace] = true
			nss = append(nss, p.Namespace)
		}
	}
	sort.Strings(nss)
	for _, ns := range nss {
		a := Anchors{Namespace: ns}
		cm, err := c.Kube().CoreV1().ConfigMaps(ns).Get(ctx, anchors.ConfigMapName, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			a.Problem = "absent"
		case err != nil:
			return nil, fmt.Errorf("get ConfigMap %s in namespace %s: %w", anchors.ConfigMapName, ns, err)
		default:
			data := []byte(cm.Data[anchors.RootsKey])
			if len(data) == 0 {
				data = cm.BinaryData[anchors.RootsKey]
			}
			a.Problem = compareRoots(data, want)
		}
		a.Current = a.Problem == ""
		out = append(out, a)
	}
	return out, nil
}

// anchorsCheck summarizes AnchorsStatus as one Check.
func anchorsCheck(as []Anchors) Check {
	c := Check{Name: "every trust anchors ConfigMap holds the Secret's roots", OK: true}
	var lag []string
	for _, a := range as {
		if !a.Current {
			lag = append(lag, a.Namespace+" ("+a.Problem+")")
		}
	}
	if len(lag) > 0 {
		c.OK = false
		c.Detail = fmt.Sprintf("not yet in %d of %d namespaces: %v; Sentry updates them, wait and run again", len(lag), len(as), lag)
	} else {
		c.Detail = fmt.Sprintf("%d namespaces up to date", len(as))
	}
	return c
}

// daprdCheck holds when no daprd started before the new root was added:
// daprd (Dapr v1.18) reads its trust anchors once, from DAPR_TRUST_ANCHORS
// at pod start, so an older one would refuse every peer and Sentry
// certificate signed under the new root.
func daprdCheck(pods []cluster.DaprdPod, rootAddedAt time.Time) Check {
	c := Check{Name: "every daprd started after the new root was added (daprd reads its anchors only at start)", OK: true}
	var old []string
	for _, p := range pods {
		if p.Started.Before(rootAddedAt) {
			old = append(old, p.String())
		}
	}
	if len(old) > 0 {
		c.OK = false
		shown := old
		if len(shown) > 5 {
			shown = shown[:5]
		}
		c.Detail = fmt.Sprintf("%d pods with daprd are older than the new root (%s%s); restart every Dapr application: "+
			"trustctl mtls rotate-root restart-apps (or kubectl rollout restart them)", len(old), strings.Join(shown, ", "), more(len(old)-len(shown)))
	}
	return c
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
