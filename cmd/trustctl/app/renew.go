package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trustplane/trustplane/pkg/sentry/ca/bundle"
	"github.com/trustplane/trustplane/pkg/spiffe"
	"github.com/trustplane/trustplane/pkg/trustctl/renew"
	"github.com/trustplane/trustplane/pkg/trustctl/restart"
	"github.com/trustplane/trustplane/pkg/trustctl/status"
)

// renewOptions are the flags of `mtls renew-certificate`.
type renewOptions struct {
	// privateKey is the root private key file to reuse. Default: none.
	privateKey string
	// rootCert, issuerKey, issuerCert are the files of a provided bundle.
	rootCert, issuerKey, issuerCert string
	// validDays is the lifetime of generated certificates. Default 365.
	validDays uint
	// trustDomain is used when daprsystem sets none, or when given
	// explicitly. Default cluster.local.
	trustDomain string
	// restart restarts the control plane after the rotation. Default false.
	restart bool
	// restartApps then restarts every workload running daprd. Default false.
	restartApps bool
	// format is table or json.
	format string
	// timeout is how many seconds --restart waits for the rollouts; 0
	// does not wait. Default 300, as Dapr's.
	timeout uint
	// imageVariant is Dapr's flag, accepted and unused.
	imageVariant string
}

// byoMissing is Dapr's text for an incomplete set of certificate flags.
const byoMissing = `all required flags for this certificate rotation path, "ca-root-certificate", "issuer-private-key" and "issuer-public-certificate" are not present`

func (o *renewOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.privateKey, "private-key", "",
		"The root private key file (PEM: PKCS#8, SEC1 or PKCS#1; ECDSA, RSA or Ed25519) to sign a new root certificate with; workloads keep trusting the new issuer")
	fs.StringVar(&o.rootCert, "ca-root-certificate", "", "The root certificate(s) file, ca.crt, of a bundle you provide")
	fs.StringVar(&o.issuerKey, "issuer-private-key", "", "The issuer private key file, issuer.key, of a bundle you provide")
	fs.StringVar(&o.issuerCert, "issuer-public-certificate", "", "The issuer certificate (chain) file, issuer.crt, of a bundle you provide")
	fs.UintVar(&o.validDays, "valid-until", 365, "Lifetime in days of the generated root and issuer certificates")
	fs.StringVar(&o.trustDomain, "trust-domain", "cluster.local",
		"Control-plane trust domain of generated certificates, used when daprsystem sets no spec.mtls.controlPlaneTrustDomain (an explicit value wins)")
	fs.BoolVar(&o.restart, "restart", false,
		"Restart the control plane (dapr-sentry, dapr-sidecar-injector, dapr-operator, dapr-placement-server, dapr-scheduler-server) afterwards")
	fs.BoolVar(&o.restartApps, "restart-apps", false,
		"With --restart: then restart every Deployment, StatefulSet and DaemonSet whose pods run daprd (pod template annotated dapr.io/enabled), for a new root")
	outputFlag(fs, &o.format)
	fs.UintVar(&o.timeout, "timeout", 300,
		"With --restart: seconds to wait for every restarted workload to roll out (as kubectl rollout status judges it); 0 does not wait")
	fs.StringVar(&o.imageVariant, "image-variant", "", "Accepted for compatibility with the Dapr CLI; unused (no Helm chart is involved)")
	_ = fs.MarkHidden("image-variant")
}

func (o *renewOptions) byo() bool { return o.rootCert != "" || o.issuerKey != "" || o.issuerCert != "" }

func (o *renewOptions) validate() error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	if o.byo() && (o.rootCert == "" || o.issuerKey == "" || o.issuerCert == "") {
		return usageErr(errors.New(byoMissing))
	}
	if o.byo() && o.privateKey != "" {
		return usageErr(errors.New("--private-key cannot be combined with --ca-root-certificate, --issuer-private-key and --issuer-public-certificate"))
	}
	if o.validDays == 0 {
		return usageErr(errors.New("--valid-until must be at least 1 day"))
	}
	if o.restartApps && !o.restart {
		return usageErr(errors.New("--restart-apps needs --restart: applications must reconnect to a control plane that already uses the new certificates"))
	}
	return nil
}

func newRenewCommand(env Env, g *globalOptions) *cobra.Command {
	o := &renewOptions{}
	cmd := &cobra.Command{
		Use:     "renew-certificate",
		Aliases: []string{"renew-cert", "rnc"},
		Short:   "Replace the root and issuer certificates in the cluster",
		Long: `Replace the trust bundle in the Secret dapr-trust-bundle and publish its roots
in the ConfigMap dapr-trust-bundle. One of three sources:

  (none)         a fresh root and issuer, valid --valid-until days; workloads
                 must be restarted to trust the new root
  --private-key  a new root certificate for your existing root key and a new
                 issuer; workloads keep trusting the new issuer without a restart
  --ca-root-certificate, --issuer-private-key, --issuer-public-certificate
                 your own bundle, checked before anything is written

The trust domain is daprsystem's spec.mtls.controlPlaneTrustDomain (else
--trust-domain) and NotBefore is backdated by spec.mtls.allowedClockSkew.
The Secret is updated only if nobody changed it since it was read.

--restart then rolls the control plane (as kubectl rollout restart does) and
waits up to --timeout seconds until every restarted Deployment and
StatefulSet has rolled out (as kubectl rollout status judges it), failing
with what each one still waits for when time is up.`,
		Example: `  trustctl mtls renew-certificate --valid-until 730 --restart
  trustctl mtls renew-certificate --private-key root.key
  trustctl mtls rnc --ca-root-certificate ca.crt --issuer-private-key issuer.key --issuer-public-certificate issuer.crt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if err := runRenew(cmd.Context(), env, g, o, cmd.Flags().Changed("trust-domain")); err != nil {
				return fmt.Errorf("certificate rotation failed: %w", err)
			}
			return nil
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runRenew(ctx context.Context, env Env, g *globalOptions, o *renewOptions, tdGiven bool) error {
	progress := env.Out
	if o.format == formatJSON {
		progress = env.Err
	}
	fmt.Fprintln(progress, "Starting certificate rotation")
	t, err := g.load(ctx)
	if err != nil {
		return err
	}
	ns := t.install.Namespace
	fmt.Fprintf(progress, "Dapr control plane detected in namespace %s\n", ns)
	now := env.Clock.Now()
	nb, err := o.build(progress, env.Err, t, now, tdGiven)
	if err != nil {
		return err
	}
	fmt.Fprintln(progress, "Updating certificates in your Kubernetes cluster")
	if err := t.client.WriteBundle(ctx, t.bundle, nb); err != nil {
		return err
	}
	certs := status.Certificates(nb, now)
	for _, c := range certs {
		if c.SigningRoot {
			fmt.Fprintf(progress, "Certificate rotation is successful! Your new certificate is valid through %s\n", c.NotAfter.Format(time.RFC1123))
			break
		}
	}
	if o.format == formatJSON {
		if err := status.WriteJSON(env.Out, status.New(status.Input{
			Namespace: ns, ConfigurationFound: t.install.Configuration != nil, Config: t.install.Config,
			Bundle: nb, PublishedRoots: nb.RootsPEM,
		}, now)); err != nil {
			return err
		}
	}
	warn(env.Err, certs, now)
	if !o.restart {
		fmt.Fprintln(progress, restartAdvice(o, t.bundle.Bundle, nb))
		return nil
	}
	wait := time.Duration(o.timeout) * time.Second
	if err := restartGroup(ctx, progress, t.client.Kube(), ns, restart.ControlPlane, now, wait, controlPlaneGroup); err != nil {
		return err
	}
	if !o.restartApps {
		return nil
	}
	apps, err := restart.DaprApps(ctx, t.client.Kube())
	if err != nil {
		return fmt.Errorf("the certificates were rotated and the control plane restarted, but the Dapr applications could not be listed: %w", err)
	}
	return restartGroup(ctx, progress, t.client.Kube(), ns, apps, now, wait, appsGroup)
}

// build makes the new bundle from the chosen source.
func (o *renewOptions) build(progress, stderr io.Writer, t *target, now time.Time, tdGiven bool) (*bundle.Bundle, error) {
	if o.byo() {
		fmt.Fprintln(progress, "Using provided certificates")
		if tdGiven || o.validDays != 365 {
			fmt.Fprintln(stderr, "Note: --trust-domain and --valid-until do not apply to provided certificates; they are ignored")
		}
		var data [3][]byte
		for i, p := range []string{o.rootCert, o.issuerCert, o.issuerKey} {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read provided certificates: %w", err)
			}
			data[i] = b
		}
		return renew.BringYourOwn(data[0], data[1], data[2], now)
	}
	tdName := o.trustDomain
	if cfgTD := t.install.Config.ControlPlaneTrustDomain; !cfgTD.IsZero() && !tdGiven {
		tdName = cfgTD.Name()
	} else if !cfgTD.IsZero() && cfgTD.Name() != tdName {
		fmt.Fprintf(stderr, "Note: using --trust-domain %s although daprsystem sets controlPlaneTrustDomain %s\n", tdName, cfgTD.Name())
	}
	td, err := spiffe.TrustDomain(tdName)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--trust-domain: %w", err))
	}
	opts := renew.Options{
		TrustDomain:      td,
		Namespace:        t.install.Namespace,
		Now:              now,
		AllowedClockSkew: t.install.Config.AllowedClockSkew,
		ValidFor:         time.Duration(o.validDays) * 24 * time.Hour,
	}
	if o.privateKey == "" {
		fmt.Fprintln(progress, "Generating fresh certificates")
		return renew.Generate(opts)
	}
	fmt.Fprintf(progress, "Using the root private key %s to generate the root certificate\n", o.privateKey)
	data, err := os.ReadFile(o.privateKey)
	if err != nil {
		return nil, fmt.Errorf("read root private key: %w", err)
	}
	if opts.RootKey, err = renew.ParseKey(data); err != nil {
		return nil, fmt.Errorf("read root private key %s: %w", o.privateKey, err)
	}
	if t.bundle.Bundle != nil {
		opts.CurrentRoots = t.bundle.Bundle.Roots
	}
	return renew.Generate(opts)
}

// restartAdvice says what to restart when --restart was not given.
func restartAdvice(o *renewOptions, old, nb *bundle.Bundle) string {
	keptKey := false
	if old != nil {
		for _, r := range old.Roots {
			if renew.SameKey(r, nb.Roots[0]) {
				keptKey = true
			}
		}
	}
	if keptKey {
		return "The root key is unchanged, so workloads keep trusting the new issuer. " +
			"Restart the control plane to pick it up at once: run again with --restart, or use kubectl rollout restart."
	}
	if o.byo() {
		return "If the new issuer does not chain to the roots workloads already trust, restart the control plane " +
			"and then every Dapr application (--restart --restart-apps)."
	}
	return "The root is new: restart the control plane and then every Dapr application so that they trust it (--restart --restart-apps)."
}
