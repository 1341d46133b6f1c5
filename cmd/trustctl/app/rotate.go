package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/phase"
	"github.com/trustplane/trustplane/pkg/trustctl/restart"
	"github.com/trustplane/trustplane/pkg/trustctl/rotate"
)

// ExitNotReady is a `mtls rotate-root` step refused because the previous
// phase has not propagated yet: run it again later.
const ExitNotReady = 5

// rotateOptions are the flags shared by the rotate-root steps.
type rotateOptions struct {
	propagationDelay time.Duration
	format           string
	// timeout is how many seconds restart-apps waits for the rollouts.
	timeout uint
}

// daprdRestartAdvice is said after add-root: daprd (Dapr v1.18) reads its
// trust anchors only at pod start, from DAPR_TRUST_ANCHORS.
const daprdRestartAdvice = "daprd reads its trust anchors only when its pod starts (DAPR_TRUST_ANCHORS): restart every Dapr application now, " +
	"rolling, so that they trust the new root before anything is signed under it — `trustctl mtls rotate-root restart-apps` does it " +
	"(or add-root --restart-apps); switch-issuer waits until no daprd is older than the new root."

// restartApps restarts every workload running daprd and waits for them.
func (o *rotateOptions) restartApps(ctx context.Context, env Env, t *target) error {
	apps, err := restart.DaprApps(ctx, t.client.Kube())
	if err != nil {
		return fmt.Errorf("list the Dapr applications: %w", err)
	}
	return restartGroup(ctx, env.Out, t.client.Kube(), t.bundle.Namespace, apps, env.Clock.Now(),
		time.Duration(o.timeout)*time.Second, appsGroup)
}

func newRotateRootCommand(env Env, g *globalOptions) *cobra.Command {
	o := &rotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate-root",
		Short: "Replace the root certificate in three phases, without downtime",
		Long: `Replace the root certificate without restarting workloads, in three steps:

  add-root         a new root joins the old one in ca.crt; Sentry publishes both
                   (its responses, its ConfigMap and the ConfigMap dapr-trust-bundle
                   of every namespace with Dapr pods) and keeps signing with the
                   old issuer
  restart-apps     daprd reads its trust anchors only at pod start
                   (DAPR_TRUST_ANCHORS): restart every Dapr application, rolling,
                   so that they trust both roots (add-root --restart-apps does it)
  switch-issuer    Sentry signs with a new issuer under the new root; refused
                   until every anchors ConfigMap holds both roots,
                   --propagation-delay has passed since add-root and no pod with
                   daprd is older than the new root
  remove-old-root  the old root leaves ca.crt; refused until workloadCertTTL +
                   allowedClockSkew has passed since switch-issuer, so that no
                   leaf of the old issuer is still valid

A refused step writes nothing and exits with code 5. status shows the phase,
the next step and what it waits for. The phase and its times are annotations
of the Secret dapr-trust-bundle.`,
		Example: `  trustctl mtls rotate-root status
  trustctl mtls rotate-root add-root --valid-until 730 --restart-apps
  trustctl mtls rotate-root switch-issuer
  trustctl mtls rotate-root remove-old-root`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().DurationVar(&o.propagationDelay, "propagation-delay", rotate.DefaultPropagationDelay,
		"Least time between add-root and switch-issuer, for the kubelet to update mounted ConfigMaps")
	cmd.PersistentFlags().UintVar(&o.timeout, "timeout", 300,
		"Seconds restart-apps (and add-root --restart-apps) waits for the restarted workloads to roll out; 0: do not wait")
	step := func(step rotate.Step, short string, run func(*rotate.Rotator, context.Context, *cluster.TrustBundle) error) *cobra.Command {
		return newPhaseStepCommand(env, "rotate-root", string(step), short, func(ctx context.Context) error {
			t, r, err := o.rotator(ctx, env, g)
			if err != nil {
				return err
			}
			return run(r, ctx, t.bundle)
		})
	}
	cmd.AddCommand(
		newPhaseStatusCommand(env, &o.format, "Show the rotation phase, the next step and whether it may run",
			func(ctx context.Context) (*rotate.Status, error) {
				t, r, err := o.rotator(ctx, env, g)
				if err != nil {
					return nil, err
				}
				return r.Status(ctx, t.bundle)
			}, writeRotateStatus),
		newAddRootCommand(env, g, o),
		&cobra.Command{
			Use:   "restart-apps",
			Short: "Restart every Dapr application, rolling, and wait for it (daprd reads its anchors only at start)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				t, err := g.load(cmd.Context())
				if err != nil {
					return err
				}
				return o.restartApps(cmd.Context(), env, t)
			},
		},
		step(rotate.StepSwitchIssuer, "Sign with the new issuer under the new root (phase 2)", (*rotate.Rotator).SwitchIssuer),
		step(rotate.StepRemoveOldRoot, "Remove the old root once no leaf of the old issuer is valid (phase 3)", (*rotate.Rotator).RemoveOldRoot))
	return cmd
}

// rotator loads the control plane and returns a Rotator for it.
func (o *rotateOptions) rotator(ctx context.Context, env Env, g *globalOptions) (*target, *rotate.Rotator, error) {
	t, err := g.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := rotate.New(rotate.Options{Client: t.client, Install: t.install, Clock: env.Clock, PropagationDelay: phase.Delay(o.propagationDelay)})
	if err != nil {
		return nil, nil, err
	}
	return t, r, nil
}

func writeRotateStatus(w io.Writer, s *rotate.Status) {
	writePhaseHeader(w, s.Namespace, string(s.State.Phase), "",
		phaseTime{"Root added", s.State.RootAddedAt}, phaseTime{"Issuer switched", s.State.IssuerSwitchedAt},
		phaseTime{"Old root removed", s.State.OldRootRemovedAt})
	writeNextStep(w, string(s.Next), s.Ready, s.Checks)
	fmt.Fprintln(w, "Trust anchors:")
	for _, a := range s.Anchors {
		state := "current"
		if !a.Current {
			state = a.Problem
		}
		fmt.Fprintf(w, "  %-30s %s\n", a.Namespace, state)
	}
}

func newAddRootCommand(env Env, g *globalOptions, o *rotateOptions) *cobra.Command {
	ro := &renewOptions{validDays: 365, trustDomain: "cluster.local", format: formatTable}
	var restartApps bool
	cmd := &cobra.Command{
		Use:   string(rotate.StepAddRoot),
		Short: "Add a new root next to the old one and keep its issuer aside (phase 1)",
		Long: `Add a new root next to the old one (phase 1). The new root and its issuer are
generated (a fresh root key, thrown away, or --private-key), or read from
--ca-root-certificate, --issuer-public-certificate and --issuer-private-key.
Sentry keeps signing with the current issuer until switch-issuer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ro.validate(); err != nil {
				return err
			}
			t, r, err := o.rotator(cmd.Context(), env, g)
			if err != nil {
				return err
			}
			nb, err := ro.build(env.Out, env.Err, t, env.Clock.Now(), cmd.Flags().Changed("trust-domain"))
			if err != nil {
				return err
			}
			if err := stepResult(env, "rotate-root", string(rotate.StepAddRoot), r.AddRoot(cmd.Context(), t.bundle, nb)); err != nil {
				return err
			}
			if !restartApps {
				fmt.Fprintln(env.Out, daprdRestartAdvice)
				return nil
			}
			return o.restartApps(cmd.Context(), env, t)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&ro.privateKey, "private-key", "", "A root private key file (PEM) to sign the new root with; default: a fresh key, thrown away")
	fs.StringVar(&ro.rootCert, "ca-root-certificate", "", "The new root certificate file of a bundle you provide")
	fs.StringVar(&ro.issuerKey, "issuer-private-key", "", "The new issuer private key file of a bundle you provide")
	fs.StringVar(&ro.issuerCert, "issuer-public-certificate", "", "The new issuer certificate (chain) file of a bundle you provide")
	fs.UintVar(&ro.validDays, "valid-until", 365, "Lifetime in days of the generated root and issuer")
	fs.StringVar(&ro.trustDomain, "trust-domain", "cluster.local",
		"Control-plane trust domain of generated certificates, used when daprsystem sets none")
	fs.BoolVar(&restartApps, "restart-apps", false,
		"Then restart every Dapr application, rolling, and wait up to --timeout: daprd reads its trust anchors only at start")
	return cmd
}

// stepResult reports a step of `mtls <command>`: done, refused
// (ExitNotReady, nothing written) or failed.
func stepResult(env Env, command, step string, err error) error {
	if errors.Is(err, phase.ErrNotReady) || errors.Is(err, phase.ErrWrongPhase) {
		return &exitError{code: ExitNotReady, err: err}
	}
	if err != nil {
		return fmt.Errorf("%s failed: %w", step, err)
	}
	fmt.Fprintf(env.Out, "%s done. Run `trustctl mtls %s status` to see when the next step may run.\n", step, command)
	return nil
}

// writeNextStep prints a rotation's next step and the checks it waits for.
func writeNextStep(w io.Writer, next string, ready bool, checks []phase.Check) {
	state := "ready"
	if !ready {
		state = "waiting"
	}
	fmt.Fprintf(w, "Next step:  %s (%s)\n", next, state)
	for _, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark = "WAIT"
		}
		fmt.Fprintf(w, "  [%s] %s: %s\n", mark, c.Name, c.Detail)
	}
}
