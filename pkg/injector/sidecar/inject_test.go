package sidecar_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
	"github.com/trustplane/trustplane/pkg/injector/sidecar"
)

func testPod(ann map[string]string) *corev1.Pod {
	all := map[string]string{a.KeyEnabled: "true", a.KeyAppID: "orders"}
	for k, v := range ann {
		all[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orders-1", Namespace: "shop", Annotations: all},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
}

func daprd(t *testing.T, pod *corev1.Pod) corev1.Container {
	t.Helper()
	for _, c := range pod.Spec.Containers {
		if c.Name == sidecar.ContainerName {
			return c
		}
	}
	t.Fatal("no daprd container")
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// flagValue returns the argument after flag, or "" when flag is absent.
func flagValue(c corev1.Container, flag string) (string, bool) {
	i := slices.Index(c.Args, flag)
	if i < 0 {
		return "", false
	}
	if i+1 < len(c.Args) && !strings.HasPrefix(c.Args[i+1], "--") {
		return c.Args[i+1], true
	}
	return "", true
}

func TestInjectSkips(t *testing.T) {
	tests := map[string]*corev1.Pod{
		"a pod without dapr.io/enabled is returned as is":      {Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}},
		"a pod with a falsy dapr.io/enabled is returned as is": testPod(map[string]string{a.KeyEnabled: "nope"}),
		"a pod with a daprd init container is returned as is": func() *corev1.Pod {
			p := testPod(nil)
			p.Spec.InitContainers = []corev1.Container{{Name: "daprd"}}
			return p
		}(),
	}
	for name, pod := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := sidecar.Inject(pod, goldenConfig())
			require.NoError(t, err)
			assert.Same(t, pod, out)
		})
	}
}

func TestInjectIsIdempotent(t *testing.T) {
	once, err := sidecar.Inject(testPod(nil), goldenConfig())
	require.NoError(t, err)
	twice, err := sidecar.Inject(once, goldenConfig())
	require.NoError(t, err)
	assert.Same(t, once, twice, "a reinvocation changes nothing")
}

func TestInjectTruthyEnabled(t *testing.T) {
	for _, v := range []string{"y", "YES", "True", "t", "On", "1"} {
		out, err := sidecar.Inject(testPod(map[string]string{a.KeyEnabled: v}), goldenConfig())
		require.NoError(t, err)
		assert.True(t, sidecar.HasSidecar(out), "dapr.io/enabled=%q injects", v)
	}
}

func TestInjectSettings(t *testing.T) {
	tests := map[string]struct {
		ann    map[string]string
		cfg    func(*sidecar.Config)
		check  func(t *testing.T, pod *corev1.Pod, c corev1.Container)
		errKey string // annotation named by the expected *AnnotationError
	}{
		"mTLS off omits --enable-mtls": {
			cfg: func(c *sidecar.Config) { c.MTLSEnabled = false },
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.NotContains(t, c.Args, "--enable-mtls")
			},
		},
		"the sentry address follows the namespace and cluster domain": {
			cfg: func(c *sidecar.Config) { c.ControlPlaneNamespace, c.ClusterDomain = "cp", "corp.example" },
			check: func(t *testing.T, pod *corev1.Pod, c corev1.Container) {
				v, _ := flagValue(c, "--sentry-address")
				assert.Equal(t, "dapr-sentry.cp.svc.corp.example:443", v)
				vol := pod.Spec.Volumes[len(pod.Spec.Volumes)-1]
				require.Equal(t, sidecar.TokenVolumeName, vol.Name)
				assert.Equal(t, "spiffe://cluster.local/ns/cp/dapr-sentry", vol.Projected.Sources[0].ServiceAccountToken.Audience)
			},
		},
		"metrics off is passed explicitly and labelled": {
			ann: map[string]string{a.KeyEnableMetrics: "false"},
			check: func(t *testing.T, pod *corev1.Pod, c corev1.Container) {
				assert.Contains(t, c.Args, "--enable-metrics=false")
				assert.Equal(t, "false", pod.Labels[a.LabelMetricsEnabled])
				for _, p := range c.Ports {
					assert.NotEqual(t, "dapr-metrics", p.Name)
				}
			},
		},
		"an empty placement annotation disables placement": {
			ann: map[string]string{a.KeyPlacementHostAddress: ""},
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.NotContains(t, c.Args, "--placement-host-address")
			},
		},
		"a placement annotation is honoured even when placement is off": {
			ann: map[string]string{a.KeyPlacementHostAddress: `"p:1"`},
			cfg: func(c *sidecar.Config) { c.DisablePlacement, c.DisableScheduler = true, true },
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				v, _ := flagValue(c, "--placement-host-address")
				assert.Equal(t, "p:1", v)
				assert.NotContains(t, c.Args, "--scheduler-host-address")
			},
		},
		"the image annotation overrides the configured image": {
			ann: map[string]string{a.KeySidecarImage: "registry.local/daprd:dev"},
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.Equal(t, "registry.local/daprd:dev", c.Image)
			},
		},
		"configured default resources are overlaid by annotations": {
			ann: map[string]string{a.KeyMemoryLimit: "512Mi"},
			cfg: func(c *sidecar.Config) {
				c.Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{
					corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("1"),
				}}
			},
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.Equal(t, "512Mi", c.Resources.Limits.Memory().String())
				assert.Equal(t, "1", c.Resources.Limits.Cpu().String())
			},
		},
		"app health checks add their flags": {
			ann: map[string]string{a.KeyEnableAppHealthCheck: "true", a.KeyAppHealthThreshold: "7"},
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.Contains(t, c.Args, "--enable-app-health-check")
				v, _ := flagValue(c, "--app-health-threshold")
				assert.Equal(t, "7", v)
			},
		},
		"the api token is not offered to app containers": {
			ann: map[string]string{a.KeyAPITokenSecret: "api", a.KeyAppTokenSecret: "app"},
			check: func(t *testing.T, pod *corev1.Pod, c corev1.Container) {
				e, ok := envValue(c, "DAPR_API_TOKEN")
				require.True(t, ok)
				assert.Equal(t, "api", e.ValueFrom.SecretKeyRef.Name)
				assert.Equal(t, "token", e.ValueFrom.SecretKeyRef.Key)
				_, ok = envValue(pod.Spec.Containers[0], "DAPR_API_TOKEN")
				assert.False(t, ok)
				_, ok = envValue(pod.Spec.Containers[0], "APP_API_TOKEN")
				assert.False(t, ok, "the app token reaches apps only when asked")
			},
		},
		"user mounts reach daprd when the volume exists": {
			ann: map[string]string{a.KeyVolumeMountsRW: "scratch:/scratch"},
			check: func(t *testing.T, _ *corev1.Pod, c corev1.Container) {
				assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "scratch", MountPath: "/scratch"})
			},
		},
		"a pod without a name falls back to nothing and is denied": {
			ann:    map[string]string{a.KeyAppID: ""},
			cfg:    nil,
			errKey: a.KeyAppID,
		},
		"a mount of a missing volume is denied":           {ann: map[string]string{a.KeyVolumeMounts: "nope:/x"}, errKey: a.KeyVolumeMounts},
		"a mount over the token path is denied":           {ann: map[string]string{a.KeyVolumeMountsRW: "scratch:" + sidecar.TokenMountPath}, errKey: a.KeyVolumeMountsRW},
		"a request above its limit is denied":             {ann: map[string]string{a.KeyCPURequest: "2", a.KeyCPULimit: "1"}, errKey: a.KeyCPURequest},
		"an env var the injector sets is denied":          {ann: map[string]string{a.KeyEnv: "DAPR_TRUST_ANCHORS=x"}, errKey: a.KeyEnv},
		"an unknown app protocol is denied":               {ann: map[string]string{a.KeyAppProtocol: "ftp"}, errKey: a.KeyAppProtocol},
		"an unknown log level is denied":                  {ann: map[string]string{a.KeyLogLevel: "loud"}, errKey: a.KeyLogLevel},
		"a Localhost seccomp profile is denied":           {ann: map[string]string{a.KeySeccompProfileType: "Localhost"}, errKey: a.KeySeccompProfileType},
		"a config name that is no object name is denied":  {ann: map[string]string{a.KeyConfig: "Bad Name"}, errKey: a.KeyConfig},
		"two sidecar ports on one number are denied":      {ann: map[string]string{a.KeyMetricsPort: "50001"}, errKey: a.KeyMetricsPort},
		"a bad duration is denied":                        {ann: map[string]string{a.KeyBlockShutdownDuration: "soon"}, errKey: a.KeyBlockShutdownDuration},
		"a bad probe value is denied":                     {ann: map[string]string{a.KeyLivenessPeriodSeconds: "0"}, errKey: a.KeyLivenessPeriodSeconds},
		"a token secret that is no Secret name is denied": {ann: map[string]string{a.KeyAppTokenSecret: "Not_A_Name"}, errKey: a.KeyAppTokenSecret},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := goldenConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			pod := testPod(tc.ann)
			if tc.ann[a.KeyAppID] == "" && tc.errKey == a.KeyAppID {
				pod.Name, pod.GenerateName = "", "orders-"
			}
			pod.Spec.Volumes = []corev1.Volume{{Name: "scratch"}}
			out, err := sidecar.Inject(pod, cfg)
			if tc.errKey != "" {
				var aerr *sidecar.AnnotationError
				require.ErrorAs(t, err, &aerr)
				assert.Equal(t, tc.errKey, aerr.Annotation)
				assert.Contains(t, err.Error(), tc.errKey)
				return
			}
			require.NoError(t, err)
			tc.check(t, out, daprd(t, out))
		})
	}
}

func TestInjectConfigErrors(t *testing.T) {
	tests := map[string]func(*sidecar.Config){
		"no trust anchors":           func(c *sidecar.Config) { c.TrustAnchors = "" },
		"no control plane namespace": func(c *sidecar.Config) { c.ControlPlaneNamespace = "" },
		"no sidecar image":           func(c *sidecar.Config) { c.SidecarImage = "" },
		"a token lifetime below 600": func(c *sidecar.Config) { c.TokenExpirationSeconds = 300 },
		"a bad trust domain":         func(c *sidecar.Config) { c.ControlPlaneTrustDomain = "Not A Domain" },
	}
	for name, mutate := range tests {
		t.Run(name+" is a config error", func(t *testing.T) {
			cfg := goldenConfig()
			mutate(&cfg)
			_, err := sidecar.Inject(testPod(nil), cfg)
			require.ErrorIs(t, err, sidecar.ErrConfig)
		})
	}
}

func TestInjectKeepsAnExistingTokenVolume(t *testing.T) {
	pod := testPod(nil)
	pod.Spec.Volumes = []corev1.Volume{{Name: sidecar.TokenVolumeName}}
	out, err := sidecar.Inject(pod, goldenConfig())
	require.NoError(t, err)
	assert.Equal(t, pod.Spec.Volumes, out.Spec.Volumes)
}

func TestInjectWithoutNamespaceUsesTheDownwardAPI(t *testing.T) {
	pod := testPod(nil)
	pod.Namespace = ""
	out, err := sidecar.Inject(pod, goldenConfig())
	require.NoError(t, err)
	e, ok := envValue(daprd(t, out), "NAMESPACE")
	require.True(t, ok)
	assert.Equal(t, "metadata.namespace", e.ValueFrom.FieldRef.FieldPath)
}

func FuzzInject(f *testing.F) {
	f.Add(a.KeyGRPCPort, "50001", a.KeyEnv, "A=1")
	f.Add(a.KeyCPULimit, "1", a.KeyCPURequest, "2")
	f.Add(a.KeyAppID, "Bad", a.KeyVolumeMounts, "x:/y")
	f.Add(a.KeyEnableAPILogging, "yes", a.KeyMaxBodySize, "4Mi")
	f.Add(a.KeyUnixDomainSocketPath, "/tmp/dapr-sockets", a.KeyVolumeMountsRW, "v:/var/run/dapr-sockets")
	f.Add(a.KeyEnableDebug, "true", a.KeyDebugPort, "3500")
	f.Add(a.KeyPluggableComponents, "app", a.KeyComponentSocketsFolder, "/tmp/../x")
	f.Add(a.KeyInjectPluggableComponents, "true", a.KeyAppID, "reports")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		pod := testPod(map[string]string{k1: v1, k2: v2})
		out, err := sidecar.InjectWith(pod, goldenConfig(), goldenComponents())
		if err != nil {
			var aerr *sidecar.AnnotationError
			if !assert.ErrorAs(t, err, &aerr) {
				t.Fatalf("Inject(%q=%q, %q=%q): %v is not an AnnotationError", k1, v1, k2, v2, err)
			}
			return
		}
		if out != pod && !sidecar.HasSidecar(out) {
			t.Fatalf("Inject returned a changed pod without daprd")
		}
	})
}

// The cluster default for native sidecars (Config.NativeSidecar) decides
// where daprd goes; dapr.io/enable-native-sidecar overrides it either way.
func TestInject_NativeSidecar(t *testing.T) {
	tests := map[string]struct {
		clusterDefault bool
		annotation     string // "" for none
		wantNative     bool
	}{
		"by default daprd is a regular container":           {},
		"the annotation makes it a native sidecar":          {annotation: "true", wantNative: true},
		"the cluster default makes it a native sidecar":     {clusterDefault: true, wantNative: true},
		"the annotation turns the cluster default off":      {clusterDefault: true, annotation: "false"},
		"a falsy annotation keeps a regular container":      {annotation: "no"},
		"any truthy spelling of the annotation is accepted": {annotation: "On", wantNative: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ann := map[string]string{}
			if tc.annotation != "" {
				ann[a.KeyEnableNativeSidecar] = tc.annotation
			}
			cfg := goldenConfig()
			cfg.NativeSidecar = tc.clusterDefault
			out, err := sidecar.Inject(testPod(ann), cfg)
			require.NoError(t, err)
			assert.True(t, sidecar.HasSidecar(out))
			if !tc.wantNative {
				require.Empty(t, out.Spec.InitContainers)
				assert.Nil(t, daprd(t, out).RestartPolicy)
				return
			}
			require.Len(t, out.Spec.InitContainers, 1)
			c := out.Spec.InitContainers[0]
			assert.Equal(t, sidecar.ContainerName, c.Name)
			require.NotNil(t, c.RestartPolicy)
			assert.Equal(t, corev1.ContainerRestartPolicyAlways, *c.RestartPolicy)
			assert.Len(t, out.Spec.Containers, 1, "the app container only")
			again, err := sidecar.Inject(out, cfg)
			require.NoError(t, err)
			assert.Same(t, out, again, "a native sidecar counts as injected")
		})
	}
}

func TestInject_AComponentSocketsFolderThatIsNotAnAbsolutePathIsAConfigError(t *testing.T) {
	cfg := goldenConfig()
	cfg.ComponentSocketsFolder = "sockets"
	_, err := sidecar.Inject(testPod(nil), cfg)
	require.ErrorIs(t, err, sidecar.ErrConfig)
	assert.ErrorContains(t, err, `component sockets folder "sockets"`)
}
