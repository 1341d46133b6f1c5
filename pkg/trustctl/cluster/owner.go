package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SentryDeployment is the Deployment whose flags name the Secret's keys.
const SentryDeployment = "dapr-sentry"

// ErrExternallyOwned means the trust bundle Secret belongs to another
// controller (cert-manager, external-secrets): a write by trustctl would be
// reverted, so nothing is written.
var ErrExternallyOwned = errors.New("trust bundle Secret is managed by another controller")

// annotationCertificateName marks a Secret cert-manager issues into.
const annotationCertificateName = "cert-manager.io/certificate-name"

// Keys are the Secret's key names for the roots, the issuer and its key.
type Keys struct{ Root, Issuer, Key string }

// DefaultKeys are Dapr's key names.
var DefaultKeys = Keys{Root: RootKey, Issuer: IssuerKey, Key: KeyKey}

func (k Keys) list() []string { return []string{k.Root, k.Issuer, k.Key} }

// sentryKeys reads the key names from the --issuer-ca-filename,
// --issuer-certificate-filename and --issuer-key-filename flags of the
// dapr-sentry Deployment in namespace (the chart's global.issuerFilenames);
// Dapr's names when it or the flags cannot be read.
func (c *Client) sentryKeys(ctx context.Context, namespace string) Keys {
	k := DefaultKeys
	d, err := c.kube.AppsV1().Deployments(namespace).Get(ctx, SentryDeployment, metav1.GetOptions{})
	if err != nil {
		return k
	}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		args := append(append([]string{}, ctr.Command...), ctr.Args...)
		for flag, dst := range map[string]*string{"issuer-ca-filename": &k.Root, "issuer-certificate-filename": &k.Issuer, "issuer-key-filename": &k.Key} {
			if v, ok := flagValue(args, flag); ok && v != "" {
				*dst = v
			}
		}
	}
	return k
}

// flagValue finds --name (or -name) as "--name value" or "--name=value".
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// externalOwner describes the controller that owns sec, or "" when none
// does.
func externalOwner(sec *corev1.Secret) string {
	if name := sec.Annotations[annotationCertificateName]; name != "" {
		return fmt.Sprintf("cert-manager Certificate %q (renew it there, for example: cmctl renew -n %s %s)", name, sec.Namespace, name)
	}
	if ref := metav1.GetControllerOf(sec); ref != nil {
		return fmt.Sprintf("%s %q (%s; change the CA at its source)", ref.Kind, ref.Name, ref.APIVersion)
	}
	return ""
}
