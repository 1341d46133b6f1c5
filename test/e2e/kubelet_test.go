package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/trustplane/trustplane/test/envtest"
)

// cluster is envtest with an admin client.
type cluster struct {
	env    *envtest.Env
	client kubernetes.Interface
}

// startCluster starts envtest without CRDs (the chart installs its own).
func startCluster(t *testing.T) (*envtest.Env, *cluster) {
	t.Helper()
	env := envtest.Start(t)
	return env, &cluster{env: env, client: kubernetes.NewForConfigOrDie(env.Config)}
}

func cctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// process is what a kubelet would run for the first container of a pod:
// its args and env with every mount path moved under a directory where
// the pod's volumes were written, and a kubeconfig with a token of the
// pod's ServiceAccount bound to the pod (the in-cluster credentials).
type process struct {
	pod        *corev1.Pod
	container  corev1.Container
	args       []string
	env        []string
	kubeconfig string
	root       string
}

// runDeployment creates the Pod the ReplicaSet controller would create
// from the installed Deployment's template, and prepares its process.
func (c *cluster) runDeployment(t *testing.T, ns, name string) *process {
	t.Helper()
	d, err := c.client.AppsV1().Deployments(ns).Get(cctx(t), name, metav1.GetOptions{})
	require.NoError(t, err)
	tmpl := d.Spec.Template
	require.True(t, labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(tmpl.Labels)))
	pod, err := c.client.CoreV1().Pods(ns).Create(cctx(t), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-e2e", Labels: tmpl.Labels, Annotations: tmpl.Annotations},
		Spec:       tmpl.Spec,
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return c.process(t, pod, &pod.Spec.Containers[0])
}

// process materializes the volumes container mounts and resolves its env.
func (c *cluster) process(t *testing.T, pod *corev1.Pod, ctr *corev1.Container) *process {
	t.Helper()
	p := &process{pod: pod, container: *ctr, root: t.TempDir()}
	var mounts []string
	for _, m := range ctr.VolumeMounts {
		c.writeVolume(t, pod, volumeNamed(t, pod, m.Name), filepath.Join(p.root, m.MountPath))
		mounts = append(mounts, m.MountPath)
	}
	relocate := func(s string) string {
		for _, m := range mounts {
			if s == m || strings.HasPrefix(s, m+"/") {
				return filepath.Join(p.root, s)
			}
			if k, v, ok := strings.Cut(s, "="); ok && (v == m || strings.HasPrefix(v, m+"/")) {
				return k + "=" + filepath.Join(p.root, v)
			}
		}
		return s
	}
	for _, a := range ctr.Args {
		p.args = append(p.args, relocate(a))
	}
	for _, e := range ctr.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			s, err := c.client.CoreV1().Secrets(pod.Namespace).Get(cctx(t), ref.Name, metav1.GetOptions{})
			require.NoError(t, err, "env %s", e.Name)
			v = string(s.Data[ref.Key])
		} else if e.ValueFrom != nil {
			require.NotNil(t, e.ValueFrom.FieldRef, "env %s: only the downward API and Secrets are played", e.Name)
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.namespace":
				v = pod.Namespace
			case "metadata.name":
				v = pod.Name
			default:
				t.Fatalf("env %s: field %s is not played", e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		}
		p.env = append(p.env, e.Name+"="+relocate(v))
	}
	p.kubeconfig = c.podKubeconfig(t, pod)
	return p
}

func volumeNamed(t *testing.T, pod *corev1.Pod, name string) corev1.Volume {
	t.Helper()
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("pod %s mounts volume %s that it does not have", pod.Name, name)
	return corev1.Volume{}
}

// writeVolume writes what the kubelet would mount at dir.
func (c *cluster) writeVolume(t *testing.T, pod *corev1.Pod, v corev1.Volume, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	write := func(name string, data []byte) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	switch {
	case v.ConfigMap != nil:
		cm, err := c.client.CoreV1().ConfigMaps(pod.Namespace).Get(cctx(t), v.ConfigMap.Name, metav1.GetOptions{})
		require.NoError(t, err, "the kubelet cannot start %s without ConfigMap %s", pod.Name, v.ConfigMap.Name)
		for k, d := range cm.Data {
			write(k, []byte(d))
		}
	case v.Secret != nil:
		s, err := c.client.CoreV1().Secrets(pod.Namespace).Get(cctx(t), v.Secret.SecretName, metav1.GetOptions{})
		require.NoError(t, err)
		for k, d := range s.Data {
			write(k, d)
		}
	case v.Projected != nil:
		for _, src := range v.Projected.Sources {
			require.NotNil(t, src.ServiceAccountToken, "volume %s: only token projections are played", v.Name)
			tok := src.ServiceAccountToken
			write(tok.Path, []byte(c.token(t, pod, tok.ExpirationSeconds, tok.Audience)))
		}
	default:
		t.Fatalf("volume %s of pod %s: kind not played", v.Name, pod.Name)
	}
}

// token is a token of the pod's ServiceAccount bound to the pod.
func (c *cluster) token(t *testing.T, pod *corev1.Pod, seconds *int64, audiences ...string) string {
	t.Helper()
	if seconds == nil {
		seconds = ptr.To[int64](3600)
	}
	var aud []string
	for _, a := range audiences {
		if a != "" {
			aud = append(aud, a)
		}
	}
	tr, err := c.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(cctx(t), pod.Spec.ServiceAccountName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences: aud, ExpirationSeconds: seconds,
			BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err, "token of %s/%s for pod %s", pod.Namespace, pod.Spec.ServiceAccountName, pod.Name)
	return tr.Status.Token
}

// podKubeconfig is the pod's in-cluster identity as a kubeconfig.
func (c *cluster) podKubeconfig(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.env.Config.Host, CertificateAuthorityData: c.env.Config.CAData}
	cfg.AuthInfos["pod"] = &clientcmdapi.AuthInfo{Token: c.token(t, pod, nil)}
	cfg.Contexts["pod"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "pod"}
	cfg.CurrentContext = "pod"
	path := filepath.Join(t.TempDir(), pod.Name+".kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// takePortFlags removes flag/value pairs for the listen ports (the test
// picks free ones on 127.0.0.1), checking first that each equals the
// container port of that name: a probe or Service pointing at a named port
// then reaches what the flag opened.
func (p *process) takePortFlags(t *testing.T, flagToPort map[string]string) {
	t.Helper()
	var out []string
	for i := 0; i < len(p.args); i++ {
		name, ok := flagToPort[p.args[i]]
		if !ok {
			out = append(out, p.args[i])
			continue
		}
		require.Less(t, i+1, len(p.args), p.args[i])
		require.Equal(t, strconv.Itoa(int(containerPort(&p.container, name))), p.args[i+1], "%s is the container port %q", p.args[i], name)
		i++
	}
	p.args = out
}

// setEnv replaces (or adds) an env var.
func (p *process) setEnv(name, value string) {
	for i, e := range p.env {
		if strings.HasPrefix(e, name+"=") {
			p.env[i] = name + "=" + value
			return
		}
	}
	p.env = append(p.env, name+"="+value)
}

func (p *process) getEnv(name string) string {
	for _, e := range p.env {
		if v, ok := strings.CutPrefix(e, name+"="); ok {
			return v
		}
	}
	return ""
}

// resolveService plays cluster DNS and kube-proxy for a
// <service>.<namespace>.svc[...]:<port> address: the Service must exist,
// expose that port, and select target's pod, whose container port named by
// the Service's targetPort is then reachable at local.
func (c *cluster) resolveService(t *testing.T, addr string, target *process, local string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	parts := strings.Split(host, ".")
	require.GreaterOrEqual(t, len(parts), 3, addr)
	require.Equal(t, "svc", parts[2], addr)
	svc, err := c.client.CoreV1().Services(parts[1]).Get(cctx(t), parts[0], metav1.GetOptions{})
	require.NoError(t, err, "address %s names a Service", addr)
	require.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(target.pod.Labels)), "Service %s selects pod %s", svc.Name, target.pod.Name)
	for _, sp := range svc.Spec.Ports {
		if strconv.Itoa(int(sp.Port)) == port {
			require.NotZero(t, containerPort(&target.container, sp.TargetPort.String()), "Service %s port %s targets %s, a port of the container", svc.Name, port, sp.TargetPort.String())
			return local
		}
	}
	t.Fatalf("Service %s has no port %s", svc.Name, port)
	return ""
}

// routeWebhook plays kube-proxy for the webhook: the API server reaches the
// injector on 127.0.0.1:port while checking its certificate against the
// Service name. It swaps the chart's Service for an ExternalName one and the
// webhook's Service port for port; restore puts both back as installed.
func (c *cluster) routeWebhook(t *testing.T, injector *process, port int) (restore func()) {
	t.Helper()
	mwcs := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	mwc, err := mwcs.Get(cctx(t), "dapr-sidecar-injector", metav1.GetOptions{})
	require.NoError(t, err)
	ref := mwc.Webhooks[0].ClientConfig.Service
	require.NotNil(t, ref)
	c.resolveService(t, fmt.Sprintf("%s.%s.svc:%d", ref.Name, ref.Namespace, *ref.Port), injector, "")
	services := c.client.CoreV1().Services(ref.Namespace)
	orig, err := services.Get(cctx(t), ref.Name, metav1.GetOptions{})
	require.NoError(t, err)
	swap := func(svc *corev1.Service, webhookPort int32) {
		require.NoError(t, services.Delete(cctx(t), ref.Name, metav1.DeleteOptions{}))
		_, err := services.Create(cctx(t), svc, metav1.CreateOptions{})
		require.NoError(t, err)
		patch := fmt.Sprintf(`[{"op":"replace","path":"/webhooks/0/clientConfig/service/port","value":%d}]`, webhookPort)
		_, err = mwcs.Patch(cctx(t), mwc.Name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	meta := metav1.ObjectMeta{Name: orig.Name, Namespace: orig.Namespace, Labels: orig.Labels, Annotations: orig.Annotations}
	swap(&corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"}}, int32(port))
	return func() {
		spec := orig.Spec.DeepCopy()
		spec.ClusterIP, spec.ClusterIPs = "", nil
		swap(&corev1.Service{ObjectMeta: meta, Spec: *spec}, *ref.Port)
	}
}
