package sidecar

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Env var names daprd and the app containers read.
const (
	envNamespace     = "NAMESPACE"
	envPodName       = "POD_NAME"
	envTrustAnchors  = "DAPR_TRUST_ANCHORS"
	envCPNamespace   = "DAPR_CONTROLPLANE_NAMESPACE"
	envCPTrustDomain = "DAPR_CONTROLPLANE_TRUST_DOMAIN"
	envEnvKeys       = "DAPR_ENV_KEYS"
	envAPIToken      = "DAPR_API_TOKEN"
	envAppToken      = "APP_API_TOKEN"
	envHTTPPort      = "DAPR_HTTP_PORT"
	envGRPCPort      = "DAPR_GRPC_PORT"
	envAppProtocol   = "APP_PROTOCOL"
	envHostIP        = "DAPR_HOST_IP"
)

// args builds daprd's command line in Dapr's order. The first element is
// the binary, so an image ENTRYPOINT wrapper (if any) still runs.
func args(o *podOptions, cfg Config) []string {
	itoa := func(n int32) string { return strconv.Itoa(int(n)) }
	out := []string{"/daprd",
		"--dapr-http-port", itoa(HTTPPort),
		"--dapr-grpc-port", itoa(o.grpcPort),
		"--dapr-internal-grpc-port", itoa(o.internalPort),
		"--dapr-listen-addresses", o.listenAddresses,
		"--dapr-public-port", itoa(PublicPort),
		"--app-id", o.appID,
		"--app-protocol", o.appProtocol,
		"--log-level", o.logLevel,
		"--dapr-graceful-shutdown-seconds", itoa(o.gracefulShutdown),
		"--mode", "kubernetes",
		"--control-plane-address", cfg.ControlPlaneAddress,
		"--sentry-address", cfg.SentryAddress,
	}
	if o.appPort > 0 {
		out = append(out, "--app-port", itoa(o.appPort))
	}
	if o.metrics {
		out = append(out, "--enable-metrics", "--metrics-port", itoa(o.metricsPort))
	} else {
		out = append(out, "--enable-metrics=false")
	}
	if o.config != "" {
		out = append(out, "--config", o.config)
	}
	if o.channelAddress != "" {
		out = append(out, "--app-channel-address", o.channelAddress)
	}
	if o.placement != "" {
		out = append(out, "--placement-host-address", o.placement)
	}
	out = append(out, o.flagsBefore...)
	if cfg.MTLSEnabled {
		out = append(out, "--enable-mtls")
	}
	out = append(out, o.flagsAfter...)
	if o.scheduler != "" {
		out = append(out, "--scheduler-host-address", o.scheduler)
	}
	if o.disableInitEndpoints != nil {
		out = append(out, "--disable-init-endpoints", *o.disableInitEndpoints)
	}
	return out
}

// daprdEnv builds daprd's env in Dapr's order.
func daprdEnv(o *podOptions, cfg Config, namespace string) []corev1.EnvVar {
	ns := corev1.EnvVar{Name: envNamespace, Value: namespace}
	if namespace == "" {
		ns.ValueFrom = &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}
	}
	env := []corev1.EnvVar{
		ns,
		{Name: envTrustAnchors, Value: cfg.TrustAnchors},
		{Name: envPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: envCPNamespace, Value: cfg.ControlPlaneNamespace},
		{Name: envCPTrustDomain, Value: cfg.ControlPlaneTrustDomain},
	}
	if cfg.HostIPEnv {
		env = append(env, corev1.EnvVar{Name: envHostIP, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}})
	}
	env = append(env, o.env...)
	env = append(env, o.secretEnv...)
	if keys := envNames(o.env, o.secretEnv); keys != "" {
		env = append(env, corev1.EnvVar{Name: envEnvKeys, Value: keys})
	}
	if o.apiTokenSecret != "" {
		env = append(env, tokenEnv(envAPIToken, o.apiTokenSecret))
	}
	if o.appTokenSecret != "" {
		env = append(env, tokenEnv(envAppToken, o.appTokenSecret))
	}
	return env
}

// envNames lists the names of the user env vars, space separated.
func envNames(lists ...[]corev1.EnvVar) string {
	var names []string
	for _, l := range lists {
		for _, e := range l {
			names = append(names, e.Name)
		}
	}
	return strings.Join(names, " ")
}

// tokenEnv reads env var name from key "token" of Secret secret.
func tokenEnv(name, secret string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret},
		Key:                  TokenSecretKey,
	}}}
}

// container builds the daprd container for pod.
func container(o *podOptions, cfg Config, pod *corev1.Pod) corev1.Container {
	ports := []corev1.ContainerPort{
		{Name: "dapr-http", ContainerPort: HTTPPort, Protocol: corev1.ProtocolTCP},
		{Name: "dapr-grpc", ContainerPort: o.grpcPort, Protocol: corev1.ProtocolTCP},
		{Name: "dapr-internal", ContainerPort: o.internalPort, Protocol: corev1.ProtocolTCP},
	}
	if o.metrics {
		ports = append(ports, corev1.ContainerPort{Name: "dapr-metrics", ContainerPort: o.metricsPort, Protocol: corev1.ProtocolTCP})
	}
	if o.debug {
		ports = append(ports, corev1.ContainerPort{Name: "dapr-debug", ContainerPort: o.debugPort, Protocol: corev1.ProtocolTCP})
	}
	mounts := append([]corev1.VolumeMount{}, o.mounts...)
	if o.udsPath != "" {
		mounts = append(mounts, corev1.VolumeMount{Name: UDSVolumeName, MountPath: UDSMountPath})
	}
	mounts = append(mounts, corev1.VolumeMount{Name: TokenVolumeName, MountPath: TokenMountPath, ReadOnly: true})
	var command []string
	cmdline := underDebugger(o, args(o, cfg))
	if ignoresEntrypoint(pod, cfg.EntrypointTolerations) {
		command, cmdline = cmdline[:1], cmdline[1:]
	}
	var caps *corev1.Capabilities
	if !cfg.KeepCapabilities {
		caps = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	}
	return corev1.Container{
		Name:            ContainerName,
		Image:           o.image,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Command:         command,
		Args:            cmdline,
		Ports:           ports,
		Env:             daprdEnv(o, cfg, pod.Namespace),
		Resources:       o.resources,
		VolumeMounts:    mounts,
		ReadinessProbe: probe(o.readiness, corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: HealthzPath, Port: intstr.FromInt32(PublicPort), Scheme: corev1.URISchemeHTTP,
		}}),
		LivenessProbe: probe(o.liveness, corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{
			Port: intstr.FromInt32(PublicPort),
		}}),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Privileged:               ptr.To(false),
			RunAsNonRoot:             ptr.To(!cfg.AllowRoot),
			RunAsUser:                cfg.RunAsUser,
			RunAsGroup:               cfg.RunAsGroup,
			ReadOnlyRootFilesystem:   ptr.To(!cfg.WritableRootFilesystem),
			Capabilities:             caps,
			SeccompProfile:           &corev1.SeccompProfile{Type: o.seccomp},
		},
	}
}

// probe builds a probe from its settings.
func probe(s probeSettings, h corev1.ProbeHandler) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:        h,
		InitialDelaySeconds: s.delay,
		TimeoutSeconds:      s.timeout,
		PeriodSeconds:       s.period,
		FailureThreshold:    s.threshold,
		SuccessThreshold:    1,
	}
}

// tokenVolume is the projected service account token daprd presents to
// sentry, with sentry's SPIFFE ID as audience.
func tokenVolume(cfg Config) corev1.Volume {
	return corev1.Volume{Name: TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o644),
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience:          cfg.SentryID,
			ExpirationSeconds: ptr.To(cfg.TokenExpirationSeconds),
			Path:              TokenSecretKey,
		}}},
	}}}
}

// udsVolume is the in-memory volume daprd's Unix domain sockets live in,
// shared with the app containers.
func udsVolume() corev1.Volume {
	return corev1.Volume{Name: UDSVolumeName, VolumeSource: corev1.VolumeSource{
		EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory},
	}}
}

// underDebugger runs daprd under dlv, headless on the debug port, when the
// pod asks for it (dapr.io/enable-debug). The sidecar image must hold /dlv:
// a debug build of daprd.
func underDebugger(o *podOptions, daprdArgs []string) []string {
	if !o.debug {
		return daprdArgs
	}
	out := []string{"/dlv", "--listen", ":" + strconv.Itoa(int(o.debugPort)), "--accept-multiclient",
		"--headless=true", "--log", "--api-version=2", "exec", daprdArgs[0], "--"}
	return append(out, daprdArgs[1:]...)
}
