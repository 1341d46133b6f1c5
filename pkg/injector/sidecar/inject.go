package sidecar

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// Enabled reports whether the pod opts in: dapr.io/enabled is truthy
// (annotations.ParseBool).
func Enabled(pod *corev1.Pod) bool {
	return a.Of(pod.Annotations).Bool(a.KeyEnabled, false)
}

// HasSidecar reports whether the pod already has a container or init
// container named daprd, which makes injection a no-op (idempotency and
// webhook reinvocation).
func HasSidecar(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == ContainerName {
			return true
		}
	}
	for _, c := range pod.Spec.InitContainers {
		if c.Name == ContainerName {
			return true
		}
	}
	return false
}

// TokenSecrets returns the names of the Secrets the sidecar's token env vars
// read (dapr.io/api-token-secret, then dapr.io/app-token-secret), keyed by
// annotation; absent or empty annotations are left out. The webhook checks
// that they exist and hold key "token".
func TokenSecrets(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	m := a.Of(pod.Annotations)
	for _, key := range []string{a.KeyAPITokenSecret, a.KeyAppTokenSecret} {
		if v := strings.TrimSpace(m.String(key, "")); v != "" {
			out[key] = v
		}
	}
	return out
}

// Inject returns a deep copy of pod with the Dapr sidecar added. It returns
// pod itself, unchanged, when the pod does not opt in (Enabled) or already
// has a sidecar (HasSidecar). A pod annotation that cannot be used gives an
// *AnnotationError; a bad cfg gives an error wrapping ErrConfig.
//
// Inject is pure: it reads only its arguments. The namespace in NAMESPACE
// is pod.Namespace (the webhook fills it from the admission request), or a
// downward-API reference when empty. A pod asking for
// dapr.io/inject-pluggable-components gets no declared containers here;
// see InjectWith.
func Inject(pod *corev1.Pod, cfg Config) (*corev1.Pod, error) {
	return InjectWith(pod, cfg, nil)
}

// InjectWith is Inject for a pod whose namespace holds the Component
// resources declared (read only when InjectsComponents): with
// dapr.io/inject-pluggable-components, the containers they declare for the
// pod's app ID are appended after the sidecar as pluggable components,
// with an emptyDir for every volume they mount that the pod lacks.
func InjectWith(pod *corev1.Pod, cfg Config, declared []DeclaredComponent) (*corev1.Pod, error) {
	if !Enabled(pod) || HasSidecar(pod) {
		return pod, nil
	}
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	m := a.Of(pod.Annotations)
	o, err := parseOptions(m, pod.Name, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkConfigName(o.config); err != nil {
		return nil, err
	}
	if o.components, err = pluggableComponents(m, pod); err != nil {
		return nil, err
	}
	var injected []corev1.Container
	if InjectsComponents(pod) {
		if injected, err = declaredContainers(pod, o.appID, declared); err != nil {
			return nil, err
		}
	}
	usesComponents := len(o.components) > 0 || len(injected) > 0
	if usesComponents {
		if o.componentsFolder, err = componentSocketsFolder(m, cfg); err != nil {
			return nil, err
		}
	}
	if err := checkMounts(pod, o.mounts, o.udsPath != "", o.componentsFolder); err != nil {
		return nil, err
	}
	for key, name := range TokenSecrets(pod) {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return nil, &AnnotationError{Annotation: key, Value: name, Reason: "not a Secret name: " + strings.Join(errs, "; ")}
		}
	}

	out := pod.DeepCopy()
	if !hasVolume(out, TokenVolumeName) {
		out.Spec.Volumes = append(out.Spec.Volumes, tokenVolume(cfg))
	}
	if o.udsPath != "" && !hasVolume(out, UDSVolumeName) {
		out.Spec.Volumes = append(out.Spec.Volumes, udsVolume())
	}
	if usesComponents && !hasVolume(out, ComponentsVolumeName) {
		out.Spec.Volumes = append(out.Spec.Volumes, componentsVolume())
	}
	out.Spec.Volumes = append(out.Spec.Volumes, mountedEmptyDirs(pod, injected)...)
	for i := range out.Spec.Containers {
		c := &out.Spec.Containers[i]
		if o.components[c.Name] {
			addComponentSockets(c, o.componentsFolder)
			continue
		}
		addAppEnv(c, o)
		addUDSMount(c, o.udsPath)
	}
	daprd := container(o, cfg, pod)
	if usesComponents {
		addComponentSockets(&daprd, o.componentsFolder)
	}
	if m.Bool(a.KeyEnableNativeSidecar, cfg.NativeSidecar) {
		// After the pod's own init containers, which therefore run
		// before daprd and cannot call it, as in Dapr.
		daprd.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		out.Spec.InitContainers = append(out.Spec.InitContainers, daprd)
	} else {
		out.Spec.Containers = append(out.Spec.Containers, daprd)
	}
	for _, c := range injected {
		addComponentSockets(&c, o.componentsFolder)
		out.Spec.Containers = append(out.Spec.Containers, c)
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	out.Labels[a.LabelSidecarInjected] = "true"
	out.Labels[a.LabelAppID] = o.appID
	out.Labels[a.LabelMetricsEnabled] = strconv.FormatBool(o.metrics)
	return out, nil
}

// addAppEnv gives an app container the sidecar's ports, protocol and, when
// asked, the app token, never overriding an env var the container sets.
// Values set through envFrom cannot be seen here; an explicit env var wins
// over them, so set those in env to keep them.
func addAppEnv(c *corev1.Container, o *podOptions) {
	add := func(e corev1.EnvVar) {
		for _, have := range c.Env {
			if have.Name == e.Name {
				return
			}
		}
		c.Env = append(c.Env, e)
	}
	add(corev1.EnvVar{Name: envHTTPPort, Value: strconv.Itoa(HTTPPort)})
	add(corev1.EnvVar{Name: envGRPCPort, Value: strconv.Itoa(int(o.grpcPort))})
	add(corev1.EnvVar{Name: envAppProtocol, Value: o.appProtocolEnv})
	if o.appTokenToApp && o.appTokenSecret != "" {
		add(tokenEnv(envAppToken, o.appTokenSecret))
	}
}

// addUDSMount mounts daprd's socket volume at path in an app container,
// unless the container already mounts that volume or something at path.
func addUDSMount(c *corev1.Container, path string) {
	if path != "" {
		addMount(c, UDSVolumeName, path)
	}
}

// addMount mounts volume at path in c unless c already mounts that volume
// or something at that path.
func addMount(c *corev1.Container, volume, path string) {
	for _, mt := range c.VolumeMounts {
		if mt.Name == volume || mt.MountPath == path {
			return
		}
	}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volume, MountPath: path})
}

// hasVolume reports whether the pod has a volume called name.
func hasVolume(pod *corev1.Pod, name string) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Name == name {
			return true
		}
	}
	return false
}

// checkConfigName rejects a dapr.io/config value that cannot name a
// Configuration object.
func checkConfigName(name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return &AnnotationError{Annotation: a.KeyConfig, Value: name, Reason: "not a Configuration name: " + strings.Join(errs, "; ")}
	}
	return nil
}

// checkMounts rejects user mounts of volumes the pod lacks and mounts that
// collide with each other, the token mount or, with uds, the socket mount,
// or the pluggable components' socket folder (when not "").
func checkMounts(pod *corev1.Pod, mounts []corev1.VolumeMount, uds bool, componentsFolder string) error {
	paths := map[string]bool{TokenMountPath: true, UDSMountPath: uds}
	if componentsFolder != "" {
		paths[componentsFolder] = true
	}
	for _, mt := range mounts {
		key := a.KeyVolumeMountsRW
		if mt.ReadOnly {
			key = a.KeyVolumeMounts
		}
		if !hasVolume(pod, mt.Name) {
			return &AnnotationError{Annotation: key, Value: mt.Name + ":" + mt.MountPath,
				Reason: fmt.Sprintf("volume %q is not in the pod's spec.volumes", mt.Name)}
		}
		if paths[mt.MountPath] {
			return &AnnotationError{Annotation: key, Value: mt.Name + ":" + mt.MountPath,
				Reason: fmt.Sprintf("mount path %q is used twice or is reserved", mt.MountPath)}
		}
		paths[mt.MountPath] = true
	}
	return nil
}
