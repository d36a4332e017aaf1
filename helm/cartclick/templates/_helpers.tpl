{{/*
Names, labels, the rendered cartclick.toml, and the checks that refuse
values cartclick could not run with.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "cartclick.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The resource name prefix: fullnameOverride, or <release>-<name>. */}}
{{- define "cartclick.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "cartclick.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "cartclick.labels" -}}
helm.sh/chart: {{ include "cartclick.chart" . }}
{{ include "cartclick.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the pods: must never change between upgrades. */}}
{{- define "cartclick.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cartclick.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "cartclick.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cartclick.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding cartclick.toml, and its key. */}}
{{- define "cartclick.configSecretName" -}}
{{- .Values.existingConfigSecret | default (printf "%s-config" (include "cartclick.fullname" .)) }}
{{- end }}
{{- define "cartclick.configSecretKey" -}}
{{- if .Values.existingConfigSecret }}{{ .Values.existingConfigSecretKey }}{{ else }}cartclick.toml{{ end }}
{{- end }}

{{/* The Secret holding the store URL. */}}
{{- define "cartclick.redisSecretName" -}}
{{- .Values.redis.existingSecret | default (printf "%s-redis" (include "cartclick.fullname" .)) }}
{{- end }}

{{/* In-flight calls get this long after SIGTERM (the binary's default is 10). */}}
{{- define "cartclick.shutdownGraceSeconds" -}}
{{- $grace := dig "shutdown_grace_seconds" 10 .Values.config }}
{{- if not (regexMatch "^[0-9]+$" (toString $grace)) }}
{{- fail "config.shutdown_grace_seconds must be a whole number of seconds" }}
{{- end }}
{{- int64 $grace }}
{{- end }}

{{/*
terminationGracePeriodSeconds: the preStop sleep plus the drain deadline
plus a margin, or the value given, which must be above the first two.
*/}}
{{- define "cartclick.terminationGracePeriodSeconds" -}}
{{- $drain := add (int64 .Values.preStopSleepSeconds) (int64 (include "cartclick.shutdownGraceSeconds" .)) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $drain (int64 .Values.terminationGraceMarginSeconds) }}
{{- else }}
{{- $given := int64 .Values.terminationGracePeriodSeconds }}
{{- if le $given $drain }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above preStopSleepSeconds + config.shutdown_grace_seconds (%d), or in-flight calls are killed before their drain deadline" $given $drain) }}
{{- end }}
{{- $given }}
{{- end }}
{{- end }}

{{/*
One TOML value: string, boolean, number (whole numbers as integers: YAML
numbers reach templates as float64) or an array of those.
*/}}
{{- define "cartclick.toml.value" -}}
{{- $v := . }}
{{- if kindIs "string" $v }}
{{- toJson $v }}
{{- else if kindIs "bool" $v }}
{{- $v }}
{{- else if kindIs "float64" $v }}
{{- if eq $v (float64 (int64 $v)) }}{{ int64 $v }}{{ else }}{{ $v }}{{ end }}
{{- else if regexMatch "^u?int" (kindOf $v) }}
{{- $v }}
{{- else if kindIs "slice" $v }}
{{- $items := list }}
{{- range $v }}{{ $items = append $items (include "cartclick.toml.value" .) }}{{ end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- fail (printf "cannot write %v (%s) into cartclick.toml" $v (kindOf $v)) }}
{{- end }}
{{- end }}

{{/* A TOML key: bare when it can be, quoted otherwise. */}}
{{- define "cartclick.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{/* Whether a value is a non-empty list of maps: an array of tables. */}}
{{- define "cartclick.toml.isTableArray" -}}
{{- if and (kindIs "slice" .) (gt (len .) 0) }}{{ if kindIs "map" (first .) }}true{{ end }}{{ end }}
{{- end }}

{{/*
The body of one TOML table: its plain keys first, then its sub-tables, then
its arrays of tables (TOML needs that order). Nulls are left out.
Takes (dict "prefix" "<dotted path>." "map" <map>).
*/}}
{{- define "cartclick.toml.table" -}}
{{- $prefix := .prefix }}
{{- $map := .map }}
{{- range $k, $v := $map }}
{{- if not (or (kindIs "invalid" $v) (kindIs "map" $v) (include "cartclick.toml.isTableArray" $v)) }}
{{ include "cartclick.toml.key" $k }} = {{ include "cartclick.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $k, $v := $map }}
{{- if kindIs "map" $v }}

[{{ $prefix }}{{ include "cartclick.toml.key" $k }}]
{{- include "cartclick.toml.table" (dict "prefix" (printf "%s%s." $prefix (include "cartclick.toml.key" $k)) "map" $v) }}
{{- end }}
{{- end }}
{{- range $k, $v := $map }}
{{- if include "cartclick.toml.isTableArray" $v }}
{{- range $v }}

[[{{ $prefix }}{{ include "cartclick.toml.key" $k }}]]
{{- include "cartclick.toml.table" (dict "prefix" (printf "%s%s." $prefix (include "cartclick.toml.key" $k)) "map" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
How many bytes a base64 secret decodes to; 0 when it is not base64 (sprig's
b64dec answers an error message instead of failing).
*/}}
{{- define "cartclick.b64len" -}}
{{- $text := toString (. | default "") | trim }}
{{- if and $text (regexMatch "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$" $text) }}
{{- len (b64dec $text) }}
{{- else }}0{{ end }}
{{- end }}

{{/* The whole cartclick.toml: `config` and `secrets`, checked. */}}
{{- define "cartclick.toml" -}}
{{- include "cartclick.validateConfig" . -}}
# cartclick.toml, rendered by the cartclick Helm chart from the values
# `config` and `secrets`. Edit those values, not this file.
{{- include "cartclick.toml.table" (dict "prefix" "" "map" (merge (deepCopy .Values.config) (deepCopy .Values.secrets))) }}
{{ end }}

{{/*
Refuses, at render time, a config the server would refuse at start (so a
bad value fails `helm install`, not a rollout), and secrets in the wrong
place.
*/}}
{{- define "cartclick.validateConfig" -}}
{{- range $key := list "listen" "http_listen" "store" }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s: not set through config: the chart sets the listen addresses from containerPort and httpPort and the store from redis.url or redis.existingSecret" $key) }}
{{- end }}
{{- end }}
{{- range $key, $_ := .Values.secrets }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s: a secret; set it under secrets, not config" $key) }}
{{- end }}
{{- end }}
{{- $s := .Values.secrets }}
{{- $pepper := $s.viewer_pepper_base64 | default "" | toString }}
{{- if not $pepper }}
{{- fail "secrets.viewer_pepper_base64 is required (base64 of >= 32 random bytes: openssl rand -base64 32), or set existingConfigSecret" }}
{{- end }}
{{- if lt (int (include "cartclick.b64len" $pepper)) 32 }}
{{- fail "secrets.viewer_pepper_base64 must be base64 of at least 32 bytes" }}
{{- end }}
{{- $keys := $s.signing_keys | default list }}
{{- if not $keys }}
{{- fail "secrets.signing_keys is required: [{kid, secret_base64, active: true}], or set existingConfigSecret" }}
{{- end }}
{{- $active := 0 }}
{{- range $i, $k := $keys }}
{{- if not (regexMatch "^[A-Za-z0-9_-]{1,8}$" (toString ($k.kid | default ""))) }}
{{- fail (printf "secrets.signing_keys[%d].kid must be 1 to 8 of [A-Za-z0-9_-]" $i) }}
{{- end }}
{{- if lt (int (include "cartclick.b64len" $k.secret_base64)) 32 }}
{{- fail (printf "secrets.signing_keys[%d].secret_base64 must be base64 of at least 32 bytes" $i) }}
{{- end }}
{{- if $k.active }}{{ $active = add1 $active }}{{ end }}
{{- end }}
{{- if ne (int $active) 1 }}
{{- fail (printf "secrets.signing_keys: exactly one key must be active: true (found %d)" (int $active)) }}
{{- end }}
{{- range $i, $k := ($s.api_keys | default list) }}
{{- if not (has ($k.role | default "") (list "feed" "merchant" "dashboard" "admin")) }}
{{- fail (printf "secrets.api_keys[%d].role must be feed, merchant, dashboard or admin" $i) }}
{{- end }}
{{- if not (regexMatch "^[0-9a-fA-F]{64}$" (toString ($k.sha256 | default ""))) }}
{{- fail (printf "secrets.api_keys[%d].sha256 must be the 64 hex digits of the secret's SHA-256, never the secret" $i) }}
{{- end }}
{{- if and (eq $k.role "merchant") (not $k.merchant_id) }}
{{- fail (printf "secrets.api_keys[%d].merchant_id is required for role merchant" $i) }}
{{- end }}
{{- if and (ne $k.role "merchant") $k.merchant_id }}
{{- fail (printf "secrets.api_keys[%d].merchant_id is only for role merchant" $i) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The store URL, checked: Redis only (memory:// shares nothing between replicas). */}}
{{- define "cartclick.redisUrl" -}}
{{- $url := .Values.redis.url | default "" | toString }}
{{- if not $url }}
{{- fail "redis.url is required (redis://host:6379/0, rediss://…, redis+cluster://h:p,h:p), or set redis.existingSecret" }}
{{- end }}
{{- if not (regexMatch "^(redis|rediss|redis\\+cluster)://" $url) }}
{{- fail "redis.url must start with redis://, rediss:// or redis+cluster:// (the memory store keeps nothing and shares nothing between replicas)" }}
{{- end }}
{{- $url }}
{{- end }}

{{/* Checks of values that span templates. */}}
{{- define "cartclick.validate" -}}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not be above autoscaling.maxReplicas" }}
{{- end }}
{{- if and .Values.existingConfigSecret (or .Values.secrets.viewer_pepper_base64 .Values.secrets.signing_keys .Values.secrets.api_keys) }}
{{- fail "existingConfigSecret is set: secrets.* would be ignored; leave them empty (the file in that Secret is used as is)" }}
{{- end }}
{{- end }}
