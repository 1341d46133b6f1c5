package sidecar

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	a "github.com/trustplane/trustplane/pkg/injector/annotations"
)

// DeclaredComponent is a Dapr Component resource (components.dapr.io) of
// the pod's namespace, as far as dapr.io/inject-pluggable-components needs
// it.
type DeclaredComponent struct {
	// Name is the Component's metadata.name.
	Name string
	// Scopes are the app IDs the Component is scoped to; empty: every app.
	Scopes []string
	// Container is the Component's dapr.io/component-container
	// annotation, a JSON corev1.Container; "" when it has none.
	Container string
}

// InjectsComponents reports whether the pod asks for the containers
// declared on Component resources (dapr.io/inject-pluggable-components), so
// that the webhook must list them for InjectWith (which it calls only for
// pods that are Enabled and have no sidecar yet).
func InjectsComponents(pod *corev1.Pod) bool {
	return a.Of(pod.Annotations).Bool(a.KeyInjectPluggableComponents, false)
}

// ParseComponentContainer decodes a dapr.io/component-container value: one
// JSON object holding a corev1.Container, with an image; its name defaults
// to component and must be a DNS-1123 label. Unknown fields are refused,
// so a misspelt field is not silently dropped.
func ParseComponentContainer(component, raw string) (corev1.Container, error) {
	var c corev1.Container
	if err := decodeJSON(raw, &c); err != nil {
		return c, fmt.Errorf("not a JSON Container: %w", err)
	}
	if c.Name == "" {
		c.Name = component
	}
	if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 {
		return c, fmt.Errorf("container name %q: %s", c.Name, strings.Join(errs, "; "))
	}
	if strings.TrimSpace(c.Image) == "" {
		return c, fmt.Errorf("container %q has no image", c.Name)
	}
	return c, nil
}

// declaredContainers returns the containers of the declared components
// scoped to appID that InjectWith appends, in the order given: one per
// image (the first component wins), each a pluggable component. A
// component whose container cannot be used, or whose container name the
// pod already has, is an *AnnotationError naming the component.
func declaredContainers(pod *corev1.Pod, appID string, declared []DeclaredComponent) ([]corev1.Container, error) {
	var out []corev1.Container
	images := map[string]bool{}
	names := map[string]string{ContainerName: "the Dapr sidecar"}
	for _, c := range pod.Spec.Containers {
		names[c.Name] = "a container of the pod"
	}
	for _, d := range declared {
		if d.Container == "" || (len(d.Scopes) > 0 && !slices.Contains(d.Scopes, appID)) {
			continue
		}
		c, err := ParseComponentContainer(d.Name, d.Container)
		if err == nil && names[c.Name] != "" {
			err = fmt.Errorf("container name %q is already taken by %s", c.Name, names[c.Name])
		}
		if err != nil {
			return nil, &AnnotationError{Annotation: a.KeyComponentContainer, Value: d.Container,
				Reason: fmt.Sprintf("on Component %s/%s, read for %s: %v", pod.Namespace, d.Name, a.KeyInjectPluggableComponents, err)}
		}
		if images[c.Image] {
			continue
		}
		images[c.Image] = true
		names[c.Name] = "Component " + d.Name
		out = append(out, c)
	}
	return out, nil
}

// mountedEmptyDirs returns an emptyDir for every volume the containers
// mount that the pod does not have (nor the sidecar's own volumes), once
// each and in order of appearance.
func mountedEmptyDirs(pod *corev1.Pod, containers []corev1.Container) []corev1.Volume {
	var out []corev1.Volume
	seen := map[string]bool{ComponentsVolumeName: true, TokenVolumeName: true, UDSVolumeName: true}
	for _, c := range containers {
		for _, mt := range c.VolumeMounts {
			if seen[mt.Name] || hasVolume(pod, mt.Name) {
				continue
			}
			seen[mt.Name] = true
			out = append(out, corev1.Volume{Name: mt.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
	}
	return out
}

// decodeJSON decodes raw, exactly one JSON value, into v; unknown fields
// and text after the value are refused.
func decodeJSON(raw string, v any) error {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("text after the JSON value")
	}
	return nil
}
