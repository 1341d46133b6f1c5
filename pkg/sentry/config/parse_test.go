package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/trustplane/trustplane/api/config/v1alpha1"
)

const header = "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: daprsystem\n"

// withMTLS returns a Configuration whose spec.mtls body is mtls (indented
// by the caller as it would be under "  mtls:").
func withMTLS(mtls string) string {
	return header + "spec:\n  mtls:\n" + mtls
}

// with returns Default changed by f.
func with(f func(*Config)) Config {
	c := Default()
	f(&c)
	return c
}

func TestParse(t *testing.T) {
	tests := map[string]struct {
		doc     string
		want    Config
		wantErr []string // substrings of the error; empty means success
	}{
		"a Configuration without spec gives the defaults": {
			doc:  header,
			want: Default(),
		},
		"a Configuration without spec.mtls gives the defaults and ignores other sections": {
			doc:  header + "spec:\n  tracing:\n    samplingRate: \"1\"\n  accessControl:\n    trustDomain: public\n",
			want: Default(),
		},
		"an empty file gives the defaults, as Dapr's sentry starts on one": {
			doc:  "",
			want: Default(),
		},
		"a file of comments only gives the defaults": {
			doc:  "# nothing yet\n",
			want: Default(),
		},
		"a document without apiVersion and kind is read as a Configuration, as Dapr does": {
			doc:  "spec:\n  mtls:\n    workloadCertTTL: 2h\n",
			want: with(func(c *Config) { c.WorkloadCertTTL = 2 * time.Hour }),
		},
		"a null spec.mtls gives the defaults": {
			doc:  header + "spec:\n  mtls: null\n",
			want: Default(),
		},
		"Helm's daprsystem Configuration is read": {
			doc: withMTLS("    enabled: true\n    workloadCertTTL: 24h\n    allowedClockSkew: 15m\n" +
				"    controlPlaneTrustDomain: cluster.local\n    sentryAddress: dapr-sentry.dapr-system.svc.cluster.local:443\n"),
			want: with(func(c *Config) { c.ControlPlaneTrustDomain = spiffeid.RequireTrustDomainFromString("cluster.local") }),
		},
		"enabled false is kept": {
			doc:  withMTLS("    enabled: false\n"),
			want: with(func(c *Config) { c.MTLSEnabled = false }),
		},
		"a null enabled means true": {
			doc:  withMTLS("    enabled: null\n"),
			want: Default(),
		},
		"workloadCertTTL and allowedClockSkew are Go durations": {
			doc: withMTLS("    workloadCertTTL: 1h30m\n    allowedClockSkew: 90s\n"),
			want: with(func(c *Config) {
				c.WorkloadCertTTL = 90 * time.Minute
				c.AllowedClockSkew = 90 * time.Second
			}),
		},
		"empty duration strings count as unset": {
			doc:  withMTLS("    workloadCertTTL: \"\"\n    allowedClockSkew: \"\"\n"),
			want: Default(),
		},
		"a zero clock skew is allowed": {
			doc:  withMTLS("    allowedClockSkew: 0s\n"),
			want: with(func(c *Config) { c.AllowedClockSkew = 0 }),
		},
		"a TTL of a year is allowed": {
			doc: withMTLS("    workloadCertTTL: 8760h\n"),
			want: with(func(c *Config) {
				c.WorkloadCertTTL = MaxWorkloadCertTTL
			}),
		},
		"a one-second TTL with no skew is allowed": {
			doc: withMTLS("    workloadCertTTL: 1s\n    allowedClockSkew: 0s\n"),
			want: with(func(c *Config) {
				c.WorkloadCertTTL = time.Second
				c.AllowedClockSkew = 0
			}),
		},
		"a JSON document is read": {
			doc:  `{"apiVersion":"dapr.io/v1alpha1","kind":"Configuration","spec":{"mtls":{"workloadCertTTL":"2h"}}}`,
			want: with(func(c *Config) { c.WorkloadCertTTL = 2 * time.Hour }),
		},
		"jwks options become strings": {
			doc: withMTLS("    tokenValidators:\n    - name: jwks\n      options:\n" +
				"        source: https://issuer.example/jwks.json\n        minRefreshInterval: 600\n" +
				"        requestTimeout: 1.5\n        big: 6e2\n        insecure: true\n        enabled: false\n"),
			want: with(func(c *Config) {
				c.TokenValidators = []TokenValidator{{Name: "jwks", Options: map[string]string{
					"source": "https://issuer.example/jwks.json", "minRefreshInterval": "600",
					"requestTimeout": "1.5", "big": "600", "insecure": "true", "enabled": "false",
				}}}
			}),
		},
		"a jwks validator without options has nil options": {
			doc:  withMTLS("    tokenValidators:\n    - name: jwks\n"),
			want: with(func(c *Config) { c.TokenValidators = []TokenValidator{{Name: "jwks"}} }),
		},

		"a bad duration names its field": {
			doc:     withMTLS("    workloadCertTTL: one day\n"),
			wantErr: []string{`spec.mtls.workloadCertTTL: "one day" is not a Go duration`},
		},
		"a duration written as a number is rejected with a hint": {
			doc:     withMTLS("    allowedClockSkew: 900\n"),
			wantErr: []string{"spec.mtls.allowedClockSkew: must be a string holding a Go duration", "got number"},
		},
		"a negative skew is rejected": {
			doc:     withMTLS("    allowedClockSkew: -5m\n"),
			wantErr: []string{`spec.mtls.allowedClockSkew: must be from 0s to 24h0m0s, got "-5m"`},
		},
		"a zero TTL is rejected": {
			doc:     withMTLS("    workloadCertTTL: 0s\n"),
			wantErr: []string{`spec.mtls.workloadCertTTL: must be from 1s to 8760h0m0s, got "0s"`},
		},
		"a negative TTL is rejected": {
			doc:     withMTLS("    workloadCertTTL: -1h\n"),
			wantErr: []string{`spec.mtls.workloadCertTTL: must be from 1s`},
		},
		"a TTL over a year is rejected": {
			doc:     withMTLS("    workloadCertTTL: 8761h\n"),
			wantErr: []string{`spec.mtls.workloadCertTTL: must be from 1s to 8760h0m0s, got "8761h"`},
		},
		"a skew over a day is rejected": {
			doc:     withMTLS("    allowedClockSkew: 25h\n"),
			wantErr: []string{`spec.mtls.allowedClockSkew: must be from 0s to 24h0m0s, got "25h"`},
		},
		"enabled must be a boolean": {
			doc:     withMTLS("    enabled: \"yes\"\n"),
			wantErr: []string{"spec.mtls.enabled: must be a boolean, got string"},
		},
		"an invalid controlPlaneTrustDomain is rejected": {
			doc:     withMTLS("    controlPlaneTrustDomain: Not/A Domain\n"),
			wantErr: []string{"spec.mtls.controlPlaneTrustDomain: trust domain"},
		},
		"an unknown field under spec.mtls is named, with the likely spelling": {
			doc:     withMTLS("    workloadCertTtl: 1h\n    colour: blue\n"),
			wantErr: []string{`spec.mtls: unknown field "colour"`, `spec.mtls: unknown field "workloadCertTtl" (did you mean "workloadCertTTL"?)`},
		},
		"an unknown field in a tokenValidators entry is named": {
			doc:     withMTLS("    tokenValidators:\n    - name: jwks\n      option:\n        source: x\n"),
			wantErr: []string{`spec.mtls.tokenValidators[0]: unknown field "option"`},
		},
		"spec.mtls must be an object": {
			doc:     header + "spec:\n  mtls: true\n",
			wantErr: []string{"spec.mtls: must be an object"},
		},
		"spec must be an object": {
			doc:     header + "spec: [1]\n",
			wantErr: []string{"spec: must be an object"},
		},
		"a wrong kind is rejected": {
			doc:     "apiVersion: dapr.io/v1alpha1\nkind: Component\n",
			wantErr: []string{`kind: want "Configuration", got "Component"`},
		},
		"a wrong apiVersion is rejected": {
			doc:     "apiVersion: v1\nkind: Configuration\n",
			wantErr: []string{`apiVersion: want "dapr.io/v1alpha1", got "v1"`},
		},
		"a wrong apiVersion and kind are both reported": {
			doc:     "apiVersion: v1\nkind: Pod\n",
			wantErr: []string{`apiVersion: want`, `kind: want`},
		},
		"a list document is rejected": {
			doc:     "- a\n- b\n",
			wantErr: []string{"want a dapr.io/v1alpha1 Configuration object"},
		},
		"malformed YAML is rejected": {
			doc:     header + "spec:\n  mtls: [\n",
			wantErr: []string{"not valid YAML or JSON"},
		},
		"duplicate keys are rejected": {
			doc:     withMTLS("    workloadCertTTL: 1h\n    workloadCertTTL: 2h\n"),
			wantErr: []string{"not valid YAML or JSON", "workloadCertTTL"},
		},
		"the kubernetes validator cannot be configured": {
			doc:     withMTLS("    tokenValidators:\n    - name: kubernetes\n"),
			wantErr: []string{"spec.mtls.tokenValidators[0].name: only 'jwks' can be configured; the built-in 'kubernetes' and 'insecure' validators cannot be configured manually"},
		},
		"the insecure validator cannot be configured": {
			doc:     withMTLS("    tokenValidators:\n    - name: jwks\n    - name: insecure\n"),
			wantErr: []string{"spec.mtls.tokenValidators[1].name: only 'jwks' can be configured"},
		},
		"an unknown validator name is rejected": {
			doc:     withMTLS("    tokenValidators:\n    - name: oidc\n"),
			wantErr: []string{"spec.mtls.tokenValidators[0].name: invalid token validator name 'oidc'; supported values: 'jwks'"},
		},
		"a validator without a name is rejected": {
			doc:     withMTLS("    tokenValidators:\n    - options: {source: x}\n"),
			wantErr: []string{"spec.mtls.tokenValidators[0].name: is required"},
		},
		"jwks configured twice is rejected": {
			doc:     withMTLS("    tokenValidators:\n    - name: jwks\n    - name: jwks\n"),
			wantErr: []string{"spec.mtls.tokenValidators[1].name: 'jwks' is already configured at tokenValidators[0]"},
		},
		"a nested option is rejected with its key named": {
			doc:     withMTLS("    tokenValidators:\n    - name: jwks\n      options:\n        source:\n          url: x\n        list: [1]\n        \"odd key\": null\n"),
			wantErr: []string{"spec.mtls.tokenValidators[0].options.source: must be a string, number or boolean, got an object", "options.list: must be a string, number or boolean, got a list", `options["odd key"]: must be a string, number or boolean, got null`},
		},
		"options must be an object": {
			doc:     withMTLS("    tokenValidators:\n    - name: jwks\n      options: source\n"),
			wantErr: []string{"spec.mtls.tokenValidators[0].options: must be an object"},
		},
		"several problems are reported together": {
			doc:     withMTLS("    workloadCertTTL: soon\n    allowedClockSkew: -1s\n    tokenValidators:\n    - name: insecure\n"),
			wantErr: []string{"spec.mtls.workloadCertTTL:", "; spec.mtls.allowedClockSkew: must be from 0s to 24h0m0s", "; spec.mtls.tokenValidators[0].name:"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(tc.doc))
			if len(tc.wantErr) == 0 {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalid)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
			assert.Equal(t, Config{}, got)
		})
	}
}

func TestFromSpec(t *testing.T) {
	ptr := func(s string) *string { return &s }
	f := false
	tests := map[string]struct {
		spec     *v1alpha1.MTLSSpec
		want     Config
		wantErr  string
		wantPath string
	}{
		"a nil spec gives the defaults": {
			want: Default(),
		},
		"an empty spec gives the defaults": {
			spec: &v1alpha1.MTLSSpec{},
			want: Default(),
		},
		"every field is taken": {
			spec: &v1alpha1.MTLSSpec{Enabled: &f, WorkloadCertTTL: ptr("2h"), AllowedClockSkew: ptr("1m"), ControlPlaneTrustDomain: "cp.example"},
			want: Config{WorkloadCertTTL: 2 * time.Hour, AllowedClockSkew: time.Minute,
				ControlPlaneTrustDomain: spiffeid.RequireTrustDomainFromString("cp.example")},
		},
		"a problem names its path under spec.mtls": {
			spec:     &v1alpha1.MTLSSpec{WorkloadCertTTL: ptr("x")},
			wantErr:  `spec.mtls.workloadCertTTL: "x" is not a Go duration`,
			wantPath: "spec.mtls.workloadCertTTL",
		},
		"an option number too large for a float is rejected": {
			spec: &v1alpha1.MTLSSpec{TokenValidators: []v1alpha1.ValidatorSpec{{
				Name: "jwks", Options: &runtime.RawExtension{Raw: []byte(`{"n":1e999}`)},
			}}},
			wantErr:  "spec.mtls.tokenValidators[0].options.n: 1e999 is not a finite number",
			wantPath: "spec.mtls.tokenValidators[0].options.n",
		},
		"JSON options from a Kubernetes object are converted": {
			spec: &v1alpha1.MTLSSpec{TokenValidators: []v1alpha1.ValidatorSpec{{
				Name: "jwks", Options: &runtime.RawExtension{Raw: []byte(`{"requestTimeout":30,"source":"/jwks.json"}`)},
			}}},
			want: with(func(c *Config) {
				c.TokenValidators = []TokenValidator{{Name: "jwks", Options: map[string]string{"requestTimeout": "30", "source": "/jwks.json"}}}
			}),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FromSpec(tc.spec)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalid)
				assert.ErrorContains(t, err, tc.wantErr)
				var fe *FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, tc.wantPath, fe.Path)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(withMTLS("    workloadCertTTL: 3h\n")), 0o600))
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(withMTLS("    workloadCertTTL: 0s\n")), 0o600))

	t.Run("a valid file is parsed", func(t *testing.T) {
		cfg, err := LoadFile(good)
		require.NoError(t, err)
		assert.Equal(t, 3*time.Hour, cfg.WorkloadCertTTL)
	})
	t.Run("a missing file wraps fs.ErrNotExist", func(t *testing.T) {
		_, err := LoadFile(filepath.Join(dir, "missing.yaml"))
		require.ErrorIs(t, err, fs.ErrNotExist)
		assert.NotErrorIs(t, err, ErrInvalid)
	})
	t.Run("an invalid file names the file and the field", func(t *testing.T) {
		_, err := LoadFile(bad)
		require.ErrorIs(t, err, ErrInvalid)
		assert.ErrorContains(t, err, bad)
		assert.ErrorContains(t, err, "spec.mtls.workloadCertTTL")
	})
	t.Run("environment variables are not expanded", func(t *testing.T) {
		p := filepath.Join(dir, "env.yaml")
		require.NoError(t, os.WriteFile(p, []byte(withMTLS("    workloadCertTTL: $TTL\n")), 0o600))
		_, err := LoadFile(p)
		assert.ErrorContains(t, err, `"$TTL" is not a Go duration`)
	})
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"TTL": "2h", "TD": "example.org"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := map[string]struct {
		in, want string
		lookup   func(string) (string, bool)
	}{
		"$VAR and ${VAR} are replaced":      {in: "a: $TTL\nb: ${TD}\n", want: "a: 2h\nb: example.org\n", lookup: lookup},
		"an unknown variable becomes empty": {in: "a: x${NOPE}y", want: "a: xy", lookup: lookup},
		"text without $ is unchanged":       {in: "a: b", want: "a: b", lookup: lookup},
		"a nil lookup changes nothing":      {in: "a: $TTL", want: "a: $TTL"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, string(ExpandEnv([]byte(tc.in), tc.lookup)))
		})
	}
}

func TestFieldErrorUnwrapsItsCause(t *testing.T) {
	cause := errors.New("cause")
	err := &FieldError{Path: "spec.mtls.x", Err: cause}
	assert.ErrorIs(t, err, cause)
	assert.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, "spec.mtls.x: cause", err.Error())
	assert.Equal(t, "cause", (&FieldError{Err: cause}).Error())
}

func TestStaticSource(t *testing.T) {
	cfg := with(func(c *Config) { c.WorkloadCertTTL = time.Hour })
	s := Static(cfg)
	assert.Equal(t, cfg, s.Current())

	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx, func(Config) { t.Error("onChange called by a static source") }) }()
	select {
	case err := <-done:
		t.Fatalf("Start returned before ctx was done: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	require.NoError(t, <-done)
}
