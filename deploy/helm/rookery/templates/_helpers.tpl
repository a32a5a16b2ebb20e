{{/* The chart's name, and the release's full name (63 characters at most, DNS labels). */}}
{{- define "rookery.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rookery.fullname" -}}
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

{{- define "rookery.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rookery.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rookery.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "rookery.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: node
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rookery.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "rookery.secretName" -}}
{{- .Values.secret.existingSecret | default (include "rookery.fullname" .) }}
{{- end }}

{{/* The environment variable that names the Redis: REDIS_CLUSTER_URLS in cluster mode. */}}
{{- define "rookery.redisEnv" -}}
{{- if eq .Values.redis.mode "cluster" }}REDIS_CLUSTER_URLS{{ else }}REDIS_URL{{ end }}
{{- end }}

{{/* Its value, for the chart's Secret, from redis.mode; refuses an incomplete mode. */}}
{{- define "rookery.redisValue" -}}
{{- $r := .Values.redis }}
{{- if eq $r.mode "standalone" }}
{{- if not (regexMatch "^rediss?://" ($r.url | default "")) }}
{{- fail "redis.url must be a redis:// or rediss:// URL (redis.mode=standalone)" }}
{{- end }}
{{- $r.url }}
{{- else if eq $r.mode "sentinel" }}
{{- if or (empty $r.sentinel.hosts) (empty $r.sentinel.masterName) }}
{{- fail "redis.sentinel.hosts (host:port, ...) and redis.sentinel.masterName are required (redis.mode=sentinel)" }}
{{- end }}
{{- printf "redis+sentinel://%s/%s" (join "," $r.sentinel.hosts) $r.sentinel.masterName }}
{{- else if eq $r.mode "cluster" }}
{{- if empty $r.cluster.urls }}
{{- fail "redis.cluster.urls (redis://host:port, ...) is required (redis.mode=cluster)" }}
{{- end }}
{{- join "," $r.cluster.urls }}
{{- else }}
{{- fail (printf "redis.mode must be standalone, sentinel or cluster, not %q" $r.mode) }}
{{- end }}
{{- end }}

{{/*
What the node takes to drain after SIGTERM before the HTTP server's own shutdown timeout
(src/startup.rs: DRAIN_WAIT twice, for the actors then the sockets; src/audit/recorder.rs:
FLUSH_WAIT; src/cluster/redis.rs: COMMAND_TIMEOUT, for leaving the cluster). scripts/check-helm
recomputes it from those constants.
*/}}
{{- define "rookery.nodeDrainSeconds" -}}15{{- end }}

{{/* Refuses values the chart cannot deploy safely (included by the Deployment and the Secret,
whichever Helm renders first). */}}
{{- define "rookery.validate" -}}
{{- $s := .Values.secret }}
{{- if and (empty $s.existingSecret) (empty $s.jwtSecret) }}
{{- fail "a JWT secret is required (ROOKERY_JWT_SECRET): set secret.jwtSecret to 32+ random bytes (openssl rand -hex 32), or secret.existingSecret to a Secret holding ROOKERY_JWT_SECRET" }}
{{- end }}
{{- if and $s.jwtSecret (lt (len $s.jwtSecret) 32) }}
{{- fail (printf "secret.jwtSecret is %d bytes long; a cluster node refuses fewer than 32" (len $s.jwtSecret)) }}
{{- end }}
{{- if not (has .Values.redis.mode (list "standalone" "sentinel" "cluster")) }}
{{- fail (printf "redis.mode must be standalone, sentinel or cluster, not %q" .Values.redis.mode) }}
{{- end }}
{{- range $key, $_ := .Values.config }}
{{- if has $key (list "ROOKERY_BIND" "ROOKERY_DATA_DIR" "ROOKERY_LOG_FORMAT" "ROOKERY_SHUTDOWN_TIMEOUT_SECS" "ROOKERY_REDIS_PREFIX" "ROOKERY_MONGODB_DB" "ROOKERY_NODE_ID" "ROOKERY_JWT_SECRET" "REDIS_URL" "REDIS_CLUSTER_URLS" "MONGODB_URI") }}
{{- fail (printf "config.%s: the chart sets it from its own values (see values.yaml)" $key) }}
{{- end }}
{{- end }}
{{- $d := .Values.drain }}
{{- $budget := add $d.preStopSleepSeconds (include "rookery.nodeDrainSeconds" . | atoi) $d.shutdownTimeoutSeconds }}
{{- if ge (int $budget) (int $d.terminationGracePeriodSeconds) }}
{{- fail (printf "drain: preStopSleepSeconds %v + the node's drain %ss + shutdownTimeoutSeconds %v = %v s, which does not fit in terminationGracePeriodSeconds %v" $d.preStopSleepSeconds (include "rookery.nodeDrainSeconds" .) $d.shutdownTimeoutSeconds $budget $d.terminationGracePeriodSeconds) }}
{{- end }}
{{- end }}
