package sidecar_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/trustplane/trustplane/pkg/injector/sidecar"
	"github.com/trustplane/trustplane/pkg/injector/webhook"
	"github.com/trustplane/trustplane/pkg/injector/webhook/fake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenAnchors stands in for the trust bundle; Inject never parses it.
const goldenAnchors = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"

func goldenConfig() sidecar.Config {
	virtual, err := sidecar.ParseTolerations(sidecar.VirtualNodeTolerations)
	if err != nil {
		panic(err)
	}
	return sidecar.Config{
		ControlPlaneNamespace:   "dapr-system",
		ControlPlaneTrustDomain: "cluster.local",
		SidecarImage:            "ghcr.io/dapr/daprd:1.16.0",
		TrustAnchors:            goldenAnchors,
		MTLSEnabled:             true,
		EntrypointTolerations:   virtual, // the chart's default
	}
}

// goldenComponents are the Component resources of namespace shop.
func goldenComponents() []sidecar.DeclaredComponent {
	return []sidecar.DeclaredComponent{
		{Name: "kv", Container: `{"image":"example.com/kv-component:1.0","volumeMounts":[{"name":"kv-data","mountPath":"/data"}]}`},
		{Name: "kv-copy", Container: `{"name":"kv-copy","image":"example.com/kv-component:1.0"}`},
		{Name: "queue", Scopes: []string{"orders"}, Container: `{"name":"queue-component","image":"example.com/queue-component:2.0","args":["--verbose"]}`},
		{Name: "mailer", Scopes: []string{"billing"}, Container: `{"image":"example.com/mailer:1.0"}`},
		{Name: "statestore"},
		{Name: "broken", Scopes: []string{"reports"}, Container: `{"image":"example.com/broken:1.0","imagePullPolcy":"Always"}`},
	}
}

func goldenSecrets() *fake.Secrets {
	sec := func(name string, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Data: data}
	}
	return fake.NewSecrets(
		sec("dapr-api-token", map[string][]byte{"token": []byte("api")}),
		sec("app-api-token", map[string][]byte{"token": []byte("app")}),
		sec("no-token-key", map[string][]byte{"password": []byte("x")}),
	)
}

// verdict is the part of the admission response kept in <case>.response.yaml.
type verdict struct {
	Allowed  bool     `json:"allowed"`
	Code     int32    `json:"code,omitempty"`
	Message  string   `json:"message,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// TestGolden runs every testdata/<case>.pod.yaml through the pure Inject and
// through the HTTP admission handler, compares both with the golden files
// and checks that the handler's patch applied to the pod gives exactly
// Inject's result.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.pod.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	srv := httptest.NewServer(&admission.Webhook{Handler: newHandler(t, webhook.Options{})})
	t.Cleanup(srv.Close)

	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".pod.yaml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			require.NoError(t, err)
			var pod corev1.Pod
			require.NoError(t, yaml.UnmarshalStrict(raw, &pod))
			before := pod.DeepCopy()

			out, injectErr := sidecar.InjectWith(&pod, goldenConfig(), goldenComponents())
			assert.Equal(t, before, &pod, "Inject must not modify its input")
			if injectErr != nil {
				var aerr *sidecar.AnnotationError
				require.ErrorAs(t, injectErr, &aerr)
				golden(t, name+".error.txt", []byte(injectErr.Error()+"\n"))
			} else {
				y, err := yaml.Marshal(out)
				require.NoError(t, err)
				golden(t, name+".injected.yaml", y)
			}

			resp := review(t, srv.URL, &pod)
			patch := []byte("[]")
			if len(resp.Patch) > 0 {
				patch = resp.Patch
			}
			var pretty bytes.Buffer
			require.NoError(t, json.Indent(&pretty, patch, "", "  "))
			pretty.WriteString("\n")
			golden(t, name+".patch.json", pretty.Bytes())

			v := verdict{Allowed: resp.Allowed, Warnings: resp.Warnings}
			if resp.Result != nil {
				v.Code, v.Message = resp.Result.Code, resp.Result.Message
			}
			y, err := yaml.Marshal(v)
			require.NoError(t, err)
			golden(t, name+".response.yaml", y)

			if injectErr != nil {
				assert.False(t, resp.Allowed, "an annotation error denies the pod")
				assert.Contains(t, resp.Result.Message, injectErr.Error())
				return
			}
			if !resp.Allowed {
				assert.Empty(t, resp.Patch, "a denial carries no patch")
				return
			}
			assertPatchGivesInjected(t, &pod, out, patch)
		})
	}
}

// assertPatchGivesInjected applies the webhook's patch to the pod and
// compares the result with Inject's output: the two paths cannot drift.
func assertPatchGivesInjected(t *testing.T, pod, injected *corev1.Pod, patch []byte) {
	t.Helper()
	var ops []map[string]any
	require.NoError(t, json.Unmarshal(patch, &ops))
	for _, op := range ops {
		assert.Equal(t, "add", op["op"], "the patch only adds (path %v)", op["path"])
	}
	p, err := jsonpatch.DecodePatch(patch)
	require.NoError(t, err)
	podJSON, err := json.Marshal(pod)
	require.NoError(t, err)
	patched, err := p.Apply(podJSON)
	require.NoError(t, err)
	want, err := json.Marshal(injected)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(patched))
}

func newHandler(t testing.TB, opts webhook.Options) *webhook.Handler {
	t.Helper()
	if opts.Config == nil {
		opts.Config = goldenConfig
	}
	if opts.Secrets == nil {
		opts.Secrets = goldenSecrets()
	}
	if opts.Components == nil {
		opts.Components = fake.NewComponents("shop", goldenComponents()...)
	}
	h, err := webhook.New(opts)
	require.NoError(t, err)
	return h
}

// review posts a real AdmissionReview for a Pod CREATE by the ReplicaSet
// controller and returns the response.
func review(t *testing.T, url string, pod *corev1.Pod) *admissionv1.AdmissionResponse {
	t.Helper()
	obj, err := json.Marshal(pod)
	require.NoError(t, err)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "5f4a1d3e-0000-4000-8000-000000000001",
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: pod.Namespace,
			Name:      pod.Name,
			Operation: admissionv1.Create,
			UserInfo: authenticationv1.UserInfo{
				Username: "system:serviceaccount:kube-system:replicaset-controller",
				Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
			},
			Object: runtime.RawExtension{Raw: obj},
		},
	})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out admissionv1.AdmissionReview
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.NotNil(t, out.Response)
	require.Equal(t, "5f4a1d3e-0000-4000-8000-000000000001", string(out.Response.UID))
	return out.Response
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("golden file %s is missing; run go test ./pkg/injector/... -update", path)
	}
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "golden file %s differs; review and run with -update", path)
}
