package app

import (
	"github.com/trustplane/trustplane/pkg/cli"

	"bytes"
	"context"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOptions(t *testing.T) {
	required := map[string]string{"NAMESPACE": "dapr-system", "SIDECAR_IMAGE": "daprd:1"}
	tests := map[string]struct {
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, o *Options)
	}{
		"the defaults are Dapr's chart's": {
			env: required,
			check: func(t *testing.T, o *Options) {
				assert.Equal(t, 4000, o.Port)
				assert.Equal(t, 8080, o.HealthzPort)
				assert.Equal(t, 9090, o.MetricsPort)
				assert.Equal(t, "/var/run/secrets/dapr.io/tls/ca.crt", o.TrustAnchorsFile)
				assert.Equal(t, "/var/run/secrets/dapr.io/sentrytoken/token", o.TokenFile)
				assert.Equal(t, "/var/run/secrets/kubernetes.io/serviceaccount/token", o.LegacyTokenFile, "Dapr's fallback token")
				assert.Equal(t, "rsa-2048", o.KeyType, "Dapr's injector serves with RSA 2048 (dapr/kit's spiffe.KeyAlgorithmRSA)")
				assert.Equal(t, "dapr-sentry.dapr-system.svc:443", o.SentryAddress, "derived from the namespace, any cluster domain")
				assert.Equal(t, "IfNotPresent", o.SidecarImagePullPolicy)
				assert.Equal(t, "cluster.local", o.ClusterDomain)
			},
		},
		"the chart's environment is read": {
			env: map[string]string{
				"NAMESPACE": "cp", "SIDECAR_IMAGE": "daprd:2", "SIDECAR_IMAGE_PULL_POLICY": "Always",
				"KUBE_CLUSTER_DOMAIN": "corp.local", "DAPR_CONTROL_PLANE_TRUST_DOMAIN": "corp",
				"DAPR_SENTRY_ADDRESS": "sentry:443", "DAPR_TRUST_ANCHORS_FILE": "/a.crt",
				"ALLOWED_SERVICE_ACCOUNTS": "argo:argo-workflows,ci-*:runner", "SIDECAR_RUN_AS_USER": "1000",
				"ACTORS_ENABLED": "false", "NATIVE_SIDECAR_ENABLED": "true", "DAPR_COMPONENT_SOCKETS_FOLDER": "/sockets",
			},
			check: func(t *testing.T, o *Options) {
				assert.Equal(t, "cp", o.Namespace)
				assert.True(t, o.NativeSidecar)
				assert.Equal(t, "/sockets", o.ComponentSocketsFolder)
				assert.Equal(t, "daprd:2", o.SidecarImage)
				assert.Equal(t, "Always", o.SidecarImagePullPolicy)
				assert.Equal(t, "corp.local", o.ClusterDomain)
				assert.Equal(t, "corp", o.ControlPlaneTrustDomain)
				assert.Equal(t, "sentry:443", o.SentryAddress)
				assert.Equal(t, "/a.crt", o.TrustAnchorsFile)
				assert.Equal(t, []string{"argo:argo-workflows", "ci-*:runner"}, o.AllowedServiceAccounts)
				assert.Equal(t, int64(1000), o.SidecarRunAsUser)
				assert.False(t, o.ActorsEnabled)
				sc := sidecarConfig(o)
				require.NotNil(t, sc.RunAsUser)
				assert.Equal(t, int64(1000), *sc.RunAsUser)
				assert.Nil(t, sc.RunAsGroup, "an unset group stays unset")
				assert.True(t, sc.DisablePlacement)
			},
		},
		"the sidecar is hardened unless the environment says otherwise": {
			env: required,
			check: func(t *testing.T, o *Options) {
				sc := sidecarConfig(o)
				assert.False(t, sc.AllowRoot)
				assert.False(t, sc.WritableRootFilesystem)
				assert.False(t, sc.KeepCapabilities)
				assert.False(t, sc.HostIPEnv)
				assert.Empty(t, sc.EntrypointTolerations)
			},
		},
		"Dapr's sidecar security and downward-API variables are read": {
			env: map[string]string{
				"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "SIDECAR_RUN_AS_NON_ROOT": "false", "SIDECAR_RUN_AS_USER": "0",
				"SIDECAR_READ_ONLY_ROOT_FILESYSTEM": "false", "SIDECAR_DROP_ALL_CAPABILITIES": "false",
				"ENABLE_K8S_DOWNWARD_APIS": "true", "IGNORE_ENTRYPOINT_TOLERATIONS": `[{"key":"azure.com/aci","effect":"NoSchedule"}]`,
			},
			check: func(t *testing.T, o *Options) {
				sc := sidecarConfig(o)
				assert.True(t, sc.AllowRoot)
				assert.True(t, sc.WritableRootFilesystem)
				assert.True(t, sc.KeepCapabilities)
				assert.True(t, sc.HostIPEnv)
				require.Len(t, sc.EntrypointTolerations, 1)
				assert.Equal(t, "azure.com/aci", sc.EntrypointTolerations[0].Key)
				require.NotNil(t, sc.RunAsUser)
				assert.Zero(t, *sc.RunAsUser)
			},
		},
		"root as the sidecar user while non-root is required is refused": {
			env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "SIDECAR_RUN_AS_USER": "0"}, wantErr: "--sidecar-run-as-user 0 is root",
		},
		"tolerations that are not JSON are refused on the command line": {
			args: []string{"--ignore-entrypoint-tolerations", "azure.com/aci"}, env: required, wantErr: "--ignore-entrypoint-tolerations: not a JSON array",
		},
		"Dapr's chart's default tolerations (escaped quotes) are a warning and ignored, as Dapr's injector does": {
			env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i",
				"IGNORE_ENTRYPOINT_TOLERATIONS": `[{\"effect\":\"NoSchedule\",\"key\":\"alibabacloud.com/eci\"},{\"effect\":\"NoSchedule\",\"key\":\"azure.com/aci\"}]`},
			check: func(t *testing.T, o *Options) {
				assert.Empty(t, sidecarConfig(o).EntrypointTolerations)
				require.Len(t, o.warnings, 1)
				assert.Contains(t, o.warnings[0], "Ignoring $IGNORE_ENTRYPOINT_TOLERATIONS, as Dapr's injector does: not a JSON array of tolerations")
			},
		},
		"a boolean variable that is no boolean is refused": {
			env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "ENABLE_K8S_DOWNWARD_APIS": "sure"}, wantErr: "$ENABLE_K8S_DOWNWARD_APIS",
		},
		"the key type stays selectable": {
			args: []string{"--key-type", "ecdsa-p256"}, env: required,
			check: func(t *testing.T, o *Options) { assert.Equal(t, "ecdsa-p256", o.KeyType) },
		},
		"Dapr's DAPR_SENTRY_TOKEN_FILE names the token file": {
			env:   map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "DAPR_SENTRY_TOKEN_FILE": "/t/token"},
			check: func(t *testing.T, o *Options) { assert.Equal(t, "/t/token", o.TokenFile) },
		},
		"the legacy token fallback can be turned off": {
			args: []string{"--legacy-token-file", ""}, env: required,
			check: func(t *testing.T, o *Options) { assert.Empty(t, o.LegacyTokenFile) },
		},
		"a flag beats the environment": {
			args: []string{"--namespace", "mine"}, env: required,
			check: func(t *testing.T, o *Options) { assert.Equal(t, "mine", o.Namespace) },
		},
		"outside a cluster $KUBECONFIG is used": {
			env:   map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "KUBECONFIG": "/k"},
			check: func(t *testing.T, o *Options) { assert.Equal(t, "/k", o.Kubeconfig) },
		},
		"the namespace is required":                  {env: map[string]string{"SIDECAR_IMAGE": "i"}, wantErr: "--namespace (or $NAMESPACE) is required"},
		"the sidecar image is required":              {env: map[string]string{"NAMESPACE": "ns"}, wantErr: "--sidecar-image"},
		"an unknown pull policy is refused":          {args: []string{"--sidecar-image-pull-policy", "Sometimes"}, env: required, wantErr: `"Sometimes"`},
		"an unknown key type is refused":             {args: []string{"--key-type", "dsa"}, env: required, wantErr: "--key-type"},
		"an allowlist entry without : is refused":    {env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "ALLOWED_SERVICE_ACCOUNTS": "argo"}, wantErr: `"argo": want namespace:name`},
		"a run-as user that is no number is refused": {env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i", "SIDECAR_RUN_AS_USER": "root"}, wantErr: "$SIDECAR_RUN_AS_USER"},
		"a port out of range is refused":             {args: []string{"--port", "70000"}, env: required, wantErr: "--port 70000"},
		"a sentry address without port is refused":   {args: []string{"--sentry-address", "sentry"}, env: required, wantErr: "--sentry-address"},
		"no anchors source is refused":               {args: []string{"--trust-anchors-file", ""}, env: required, wantErr: "--trust-anchors-file or --trust-anchors-configmap"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			o := NewOptions()
			fs := pflag.NewFlagSet("injector", pflag.ContinueOnError)
			o.AddFlags(fs)
			require.NoError(t, fs.Parse(tc.args))
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			err := o.Complete(fs, lookup)
			if err == nil {
				err = o.Validate()
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	tests := map[string]struct {
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
	}{
		"a missing required setting is a usage error": {wantCode: cli.ExitUsage, wantOut: "--namespace (or $NAMESPACE) is required"},
		"an unknown flag is a usage error":            {args: []string{"--nope"}, wantCode: cli.ExitUsage, wantOut: "unknown flag"},
		"Dapr's single-dash flags are accepted":       {args: []string{"-port", "0"}, env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i"}, wantCode: cli.ExitUsage, wantOut: "--port 0"},
		"a kubeconfig that does not exist fails the run": {
			args: []string{"--kubeconfig", "/nonexistent/kubeconfig"}, env: map[string]string{"NAMESPACE": "ns", "SIDECAR_IMAGE": "i"},
			wantCode: cli.ExitError, wantOut: "--kubeconfig /nonexistent/kubeconfig",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			code := Main(context.Background(), tc.args, lookup, &out)
			assert.Equal(t, tc.wantCode, code, out.String())
			assert.Contains(t, out.String(), tc.wantOut)
		})
	}
}
