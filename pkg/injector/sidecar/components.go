package sidecar

import (
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// envComponentSockets tells daprd and pluggable components where their
// sockets are.
const envComponentSockets = "DAPR_COMPONENT_SOCKETS_FOLDER"

// pluggableComponents reads dapr.io/pluggable-components, the names of the
// pod's containers that are pluggable components. Every name must be a
// container of the pod.
func pluggableComponents(m a.Map, pod *corev1.Pod) (map[string]bool, error) {
	raw, ok := m.Get(a.KeyPluggableComponents)
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	names := map[string]bool{}
	for _, n := range strings.Split(raw, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !hasContainer(pod, n) {
			return nil, &AnnotationError{Annotation: a.KeyPluggableComponents, Value: raw,
				Reason: "container " + n + " is not in the pod's spec.containers"}
		}
		names[n] = true
	}
	return names, nil
}

// componentSocketsFolder is the folder pluggable components share their
// sockets with daprd in: dapr.io/pluggable-components-sockets-folder, else
// the cluster default.
func componentSocketsFolder(m a.Map, cfg Config) (string, error) {
	v, ok := m.Get(a.KeyComponentSocketsFolder)
	if !ok || strings.TrimSpace(v) == "" {
		return cfg.ComponentSocketsFolder, nil
	}
	folder := strings.TrimSpace(v)
	if !cleanAbsolute(folder) || folder == "/" {
		return "", &AnnotationError{Annotation: a.KeyComponentSocketsFolder, Value: v,
			Reason: "must be an absolute, clean directory path, for example /tmp/dapr-components-sockets"}
	}
	return folder, nil
}

// addComponentSockets gives a container (a pluggable component or daprd)
// the socket folder's env var and mount, never overriding an env var it
// sets nor a mount of the same volume or path.
func addComponentSockets(c *corev1.Container, folder string) {
	hasEnv := false
	for _, e := range c.Env {
		hasEnv = hasEnv || e.Name == envComponentSockets
	}
	if !hasEnv {
		c.Env = append(c.Env, corev1.EnvVar{Name: envComponentSockets, Value: folder})
	}
	addMount(c, ComponentsVolumeName, folder)
}

// componentsVolume is the emptyDir the sockets live in.
func componentsVolume() corev1.Volume {
	return corev1.Volume{Name: ComponentsVolumeName, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// cleanAbsolute reports whether p is an absolute path in clean form.
func cleanAbsolute(p string) bool { return path.IsAbs(p) && path.Clean(p) == p }
