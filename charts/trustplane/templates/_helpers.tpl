{{/* Labels on every object. */}}
{{- define "trustplane.labels" -}}
app.kubernetes.io/name: trustplane
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: trustplane
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.global.labels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* image renders registry/name:tag; a name with "/" is used as is. Args: dict "image" "root". */}}
{{- define "trustplane.image" -}}
{{- $g := .root.Values.global -}}
{{- $name := .image.name -}}
{{- if not (contains "/" $name) -}}{{- $name = printf "%s/%s" $g.registry $name -}}{{- end -}}
{{- $tag := .image.tag | default $g.tag | default .root.Chart.AppVersion -}}
{{- if contains "@" $name -}}{{ $name }}{{- else -}}{{ printf "%s:%s" $name $tag }}{{- end -}}
{{- end }}

{{/* daprd's image. A name with a "/" is used as is, with image.tag, else
1.18.3 (the Dapr release trustplane is tested with). A bare name (Dapr's
values say "daprd") is taken as Dapr's chart takes it: under global.registry,
with image.tag, else global.tag, else 1.18.3. */}}
{{- define "trustplane.daprdImage" -}}
{{- $g := .Values.global -}}
{{- $img := .Values.dapr_sidecar_injector.image -}}
{{- $name := $img.name -}}
{{- $tag := $img.tag | default "1.18.3" -}}
{{- if not (contains "/" $name) -}}
{{- $name = printf "%s/%s" $g.registry $name -}}
{{- $tag = $img.tag | default $g.tag | default "1.18.3" -}}
{{- end -}}
{{- if or (contains "@" $name) (regexMatch ":[^/]+$" $name) -}}{{ $name }}{{- else -}}{{ printf "%s:%s" $name $tag }}{{- end -}}
{{- end }}

{{/* replicas under HA or not. Args: dict "root" "replicaCount". */}}
{{- define "trustplane.replicas" -}}
{{- if .root.Values.global.ha.enabled -}}{{ .root.Values.global.ha.replicaCount }}{{- else -}}{{ .replicaCount }}{{- end -}}
{{- end }}

{{/* Sentry's SPIFFE ID: the audience of control-plane tokens. */}}
{{- define "trustplane.sentryID" -}}
spiffe://{{ .Values.global.mtls.controlPlaneTrustDomain }}/ns/{{ .Release.Namespace }}/dapr-sentry
{{- end }}

{{- define "trustplane.sentryAddress" -}}
{{- .Values.global.mtls.sentryAddress | default (printf "dapr-sentry.%s.svc:%v" .Release.Namespace .Values.dapr_sentry.ports.port) -}}
{{- end }}

{{/* Pod-level settings shared by the control-plane pods. Args: dict "root" "app". */}}
{{- define "trustplane.podSpec" -}}
{{- $g := .root.Values.global -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ $g.runAsUser }}
  runAsGroup: {{ $g.runAsGroup }}
  fsGroup: {{ $g.runAsGroup }}
  {{- with $g.seccompProfile }}
  seccompProfile:
    type: {{ . }}
  {{- end }}
{{- with $g.imagePullSecrets }}
imagePullSecrets:
  {{- include "trustplane.imagePullSecrets" . | nindent 2 }}
{{- end }}
{{- with $g.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $g.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if $g.ha.enabled }}
affinity:
  podAntiAffinity:
    {{- if eq ($g.ha.podAntiAffinityPolicy | default "") "requiredDuringSchedulingIgnoredDuringExecution" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: {{ $g.ha.topologyKey }}
        labelSelector:
          matchLabels:
            app: {{ .app }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: {{ $g.ha.topologyKey }}
          labelSelector:
            matchLabels:
              app: {{ .app }}
    {{- end }}
{{- end }}
{{- end }}

{{/* Container security context of the control-plane containers. */}}
{{- define "trustplane.containerSecurityContext" -}}
securityContext:
  runAsNonRoot: true
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
{{- end }}

{{/* Probes on the healthz port. Args: dict "liveness" "readiness" and "livenessPath" (default /healthz). */}}
{{- define "trustplane.probes" -}}
livenessProbe:
  httpGet:
    path: {{ .livenessPath | default "/healthz" }}
    port: healthz
  {{- toYaml .liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: healthz
  {{- toYaml .readiness | nindent 2 }}
{{- end }}

{{/* Prometheus scrape annotations of a pod. */}}
{{- define "trustplane.prometheusAnnotations" -}}
{{- if .Values.global.prometheus.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.global.prometheus.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* The PDB of app. Args: dict "root" "app" "name". */}}
{{- define "trustplane.pdb" -}}
{{- $d := .root.Values.global.ha.disruption -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    app: {{ .app }}
    {{- include "trustplane.labels" .root | nindent 4 }}
spec:
  {{- if $d.minimumAvailable }}
  minAvailable: {{ $d.minimumAvailable }}
  {{- else }}
  maxUnavailable: {{ $d.maximumUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ .app }}
{{- end }}

{{/*
trustplane.sentryJWTArgs renders Sentry's JWT-SVID and OIDC discovery flags
from dapr_sentry.jwt and dapr_sentry.oidc, and fails on combinations Sentry
would refuse to start with.
*/}}
{{- define "trustplane.sentryJWTArgs" -}}
{{- $j := .Values.dapr_sentry.jwt -}}
{{- $o := .Values.dapr_sentry.oidc -}}
{{- if and $o.enabled (not $j.enabled) -}}
{{- fail "dapr_sentry.oidc.enabled needs dapr_sentry.jwt.enabled" -}}
{{- end -}}
{{- if $j.enabled }}
- --jwt-enabled
{{- with $j.issuer }}
- --jwt-issuer
- {{ . | quote }}
{{- end }}
{{- with $j.signingAlgorithm }}
- --jwt-signing-algorithm
- {{ . | quote }}
{{- end }}
{{- with $j.keyID }}
- --jwt-key-id
- {{ . | quote }}
{{- end }}
{{- with $j.ttl }}
- --jwt-ttl
- {{ . | quote }}
{{- end }}
{{- with $j.keyFilename }}
- --jwt-key-filename
- {{ . | quote }}
{{- end }}
{{- with $j.jwksFilename }}
- --jwks-filename
- {{ . | quote }}
{{- end }}
{{- end }}
{{- if $o.enabled }}
{{- if and $o.tls.enabled (not $o.tls.secretName) (or (not $o.tls.certFile) (not $o.tls.keyFile)) -}}
{{- fail "dapr_sentry.oidc.tls.enabled needs dapr_sentry.oidc.tls.secretName (a kubernetes.io/tls Secret) or certFile and keyFile (or tls.enabled=false behind a TLS-terminating proxy)" -}}
{{- end }}
- --oidc-enabled
- --oidc-server-listen-address=
- --oidc-server-listen-port
- {{ $o.server.port | quote }}
- --oidc-server-tls-enabled={{ $o.tls.enabled }}
{{- if $o.tls.enabled }}
- --oidc-server-tls-cert-file
- {{ include "trustplane.oidcTLSFile" (dict "tls" $o.tls "file" $o.tls.certFile "default" "tls.crt") | quote }}
- --oidc-server-tls-key-file
- {{ include "trustplane.oidcTLSFile" (dict "tls" $o.tls "file" $o.tls.keyFile "default" "tls.key") | quote }}
{{- end }}
{{- with $o.pathPrefix }}
- --oidc-path-prefix
- {{ . | quote }}
{{- end }}
{{- with $o.allowedHosts }}
- --oidc-allowed-hosts
- {{ join "," . | quote }}
{{- end }}
{{- with $o.jwksURI }}
- --oidc-jwks-uri
- {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/*
trustplane.oidcTLSFile is the path of an OIDC TLS file: an absolute file as
given; with tls.secretName, a file name (default: the Secret's key) inside
the Secret's mount.
*/}}
{{- define "trustplane.oidcTLSFile" -}}
{{- if and .tls.secretName (not (hasPrefix "/" .file)) -}}
{{- printf "%s/%s" (include "trustplane.oidcTLSDir" .) (default .default .file) -}}
{{- else -}}
{{- .file -}}
{{- end -}}
{{- end }}

{{/*
trustplane.oidcTLSDir is where dapr_sentry.oidc.tls.secretName is mounted.
*/}}
{{- define "trustplane.oidcTLSDir" -}}
/var/run/secrets/dapr.io/oidc-tls
{{- end }}

{{/*
trustplane.issuerKeys is the trust bundle Secret's key names as JSON
({"ca","cert","key"}): global.issuerFilenames (all three or none), else
Dapr's ca.crt, issuer.crt and issuer.key.
*/}}
{{- define "trustplane.issuerKeys" -}}
{{- $f := .Values.global.issuerFilenames | default dict -}}
{{- $set := list -}}
{{- range $k := list "ca" "cert" "key" }}{{ if get $f $k }}{{ $set = append $set $k }}{{ end }}{{ end -}}
{{- if and (gt (len $set) 0) (lt (len $set) 3) -}}
{{- fail "global.issuerFilenames: set all three of ca, cert and key, or none" -}}
{{- end -}}
{{- if $set -}}
{{- if or (eq $f.ca $f.cert) (eq $f.ca $f.key) (eq $f.cert $f.key) -}}
{{- fail "global.issuerFilenames: ca, cert and key must be three different names" -}}
{{- end -}}
{{- dict "ca" $f.ca "cert" $f.cert "key" $f.key | toJson -}}
{{- else -}}
{{- dict "ca" "ca.crt" "cert" "issuer.crt" "key" "issuer.key" | toJson -}}
{{- end -}}
{{- end -}}

{{/* global.imagePullSecrets as Dapr's chart takes it: one name as a string, a list of names, or a list of {name: ...}. */}}
{{- define "trustplane.imagePullSecrets" -}}
{{- if kindIs "string" . -}}
- name: {{ . }}
{{- else -}}
{{- range . }}
{{- if kindIs "map" . }}
- name: {{ .name }}
{{- else }}
- name: {{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Dapr's values that trustplane's chart accepts and ignores: NOTES.txt names those a values file sets. */}}
{{- define "trustplane.ignoredDaprValues" -}}
{{- $g := .Values.global -}}
{{- $out := list -}}
{{- range $k := list "dnsSuffix" "extraContainers" "initContainers" "daprControlPlaneOs" "daprControlPlaneArch" "k8sLabels" "argoRolloutServiceReconciler" "operator" -}}
{{- if hasKey $g $k }}{{ $out = append $out (printf "global.%s" $k) }}{{ end -}}
{{- end -}}
{{- range $k := list "dapr_operator" "dapr_placement" "dapr_scheduler" "dapr_rbac" "dapr_config" -}}
{{- if hasKey $.Values $k }}{{ $out = append $out $k }}{{ end -}}
{{- end -}}
{{- range $k := list "component" "nameOverride" "fullnameOverride" "debug" "runAsNonRoot" "mode" -}}
{{- if hasKey $.Values.dapr_sentry $k }}{{ $out = append $out (printf "dapr_sentry.%s" $k) }}{{ end -}}
{{- if hasKey $.Values.dapr_sidecar_injector $k }}{{ $out = append $out (printf "dapr_sidecar_injector.%s" $k) }}{{ end -}}
{{- end -}}
{{- join ", " $out -}}
{{- end }}
