package app

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/spf13/cobra"

	"github.com/trustplane/trustplane/pkg/trustctl/cluster"
	"github.com/trustplane/trustplane/pkg/trustctl/jwtrotate"
	"github.com/trustplane/trustplane/pkg/trustctl/phase"
)

// rotateJWTOptions are the flags shared by the rotate-jwt-key steps.
type rotateJWTOptions struct {
	propagationDelay time.Duration
	jwtTTL           time.Duration
	format           string
}

func newRotateJWTKeyCommand(env Env, g *globalOptions) *cobra.Command {
	o := &rotateJWTOptions{}
	cmd := &cobra.Command{
		Use:   "rotate-jwt-key",
		Short: "Replace Sentry's JWT signing key in three phases without breaking a token",
		Long: `Replace Sentry's JWT-SVID signing key, in three steps:

  add-key         a new key is generated; its public key joins jwks.json, so
                  Sentry publishes both keys (ConfigMap and OIDC endpoint),
                  and its private key waits in the Secret as pending-jwt.key;
                  Sentry keeps signing with the old key
  switch-signing  the new key becomes jwt.key and signs every new token;
                  refused until the published key set holds the new key and
                  --propagation-delay has passed since add-key, so relying
                  parties that cache the key set know it
  retire-old-key  the old public key leaves jwks.json; refused until the
                  longest token lifetime + allowedClockSkew has passed since
                  switch-signing, so that no token signed with the old key is
                  still valid. A token never outlives its certificate, so the
                  longest lifetime is workloadCertTTL (daprsystem's, the larger
                  of its values at the switch and now), or --jwt-ttl — Sentry's
                  --jwt-ttl, if you know it — when that is shorter

A refused step writes nothing and exits with code 5. status shows the keys,
the phase, the next step and what it waits for. The phase and its times are
annotations of the Secret dapr-trust-bundle. Sentry must run without a fixed
--jwt-key-id (the new key's kid is its thumbprint).`,
		Example: `  trustctl mtls rotate-jwt-key status
  trustctl mtls rotate-jwt-key add-key
  trustctl mtls rotate-jwt-key switch-signing --propagation-delay 10m
  trustctl mtls rotate-jwt-key retire-old-key --jwt-ttl 1h`,
		Args: cobra.NoArgs,
	}
	fs := cmd.PersistentFlags()
	fs.DurationVar(&o.propagationDelay, "propagation-delay", jwtrotate.DefaultPropagationDelay,
		"Least time between add-key and switch-signing, for relying parties to refresh their cached key set")
	fs.DurationVar(&o.jwtTTL, "jwt-ttl", 0, "Sentry's --jwt-ttl, to wait less than workloadCertTTL before retire-old-key when it is shorter (default: unknown; tokens never outlive their certificate)")
	step := func(step jwtrotate.Step, short string, run func(*jwtrotate.Rotator, context.Context, *cluster.TrustBundle) error) *cobra.Command {
		return newPhaseStepCommand(env, "rotate-jwt-key", string(step), short, func(ctx context.Context) error {
			t, r, err := o.rotator(ctx, env, g)
			if err != nil {
				return err
			}
			return run(r, ctx, t.bundle)
		})
	}
	cmd.AddCommand(
		newPhaseStatusCommand(env, &o.format, "Show the JWT keys, the rotation phase, the next step and whether it may run",
			func(ctx context.Context) (*jwtrotate.Status, error) {
				t, r, err := o.rotator(ctx, env, g)
				if err != nil {
					return nil, err
				}
				return r.Status(ctx, t.bundle)
			}, writeRotateJWTStatus),
		newAddKeyCommand(env, g, o),
		step(jwtrotate.StepSwitchSigning, "Sign with the new key (phase 2)", (*jwtrotate.Rotator).SwitchSigning),
		step(jwtrotate.StepRetireOldKey, "Unpublish the old key once no token it signed is valid (phase 3)", (*jwtrotate.Rotator).RetireOldKey))
	return cmd
}

// rotator loads the control plane and returns a jwtrotate.Rotator for it.
func (o *rotateJWTOptions) rotator(ctx context.Context, env Env, g *globalOptions) (*target, *jwtrotate.Rotator, error) {
	t, err := g.load(ctx)
	if err != nil {
		return nil, nil, err
	}
	if o.jwtTTL < 0 {
		return nil, nil, usageErr(fmt.Errorf("--jwt-ttl %s: must not be negative", o.jwtTTL))
	}
	r, err := jwtrotate.New(jwtrotate.Options{Client: t.client, Install: t.install, Clock: env.Clock, PropagationDelay: phase.Delay(o.propagationDelay), JWTTTL: o.jwtTTL})
	if err != nil {
		return nil, nil, err
	}
	return t, r, nil
}

func writeRotateJWTStatus(w io.Writer, s *jwtrotate.Status) {
	writePhaseHeader(w, s.Namespace, string(s.State.Phase), fmt.Sprintf("Signing:    kid %s\n", s.SigningKeyID),
		phaseTime{"Key added", s.State.KeyAddedAt}, phaseTime{"Signing switched", s.State.SigningSwitchedAt},
		phaseTime{"Old key retired", s.State.OldKeyRetiredAt})
	writeNextStep(w, string(s.Next), s.Ready, s.Checks)
	fmt.Fprintln(w, "Keys:")
	for _, k := range s.Keys {
		pub := "published"
		if !k.Published {
			pub = "not yet published"
		}
		fmt.Fprintf(w, "  %-45s %-6s %-9s %s\n", k.KeyID, k.Algorithm, k.Role, pub)
	}
}

func newAddKeyCommand(env Env, g *globalOptions, o *rotateJWTOptions) *cobra.Command {
	var alg string
	cmd := &cobra.Command{
		Use:   string(jwtrotate.StepAddKey),
		Short: "Generate a new JWT key, publish its public key and keep it aside (phase 1)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, r, err := o.rotator(cmd.Context(), env, g)
			if err != nil {
				return err
			}
			return stepResult(env, "rotate-jwt-key", string(jwtrotate.StepAddKey), r.AddKey(cmd.Context(), t.bundle, jwa.SignatureAlgorithm(alg)))
		},
	}
	cmd.Flags().StringVar(&alg, "algorithm", "",
		"Signing algorithm of the new key (RS256, ES256, EdDSA, ...); default: the current key's. Sentry must not pin another with --jwt-signing-algorithm")
	return cmd
}
