#!/usr/bin/env python3
"""Checks manifests rendered from deploy/helm/rookery for what the chart promises.

Usage: deploy/check_rendered.py PROFILE RENDERED.yaml
PROFILE is a values profile of deploy/helm/rookery/ci/ (standalone, sentinel, cluster, hpa);
RENDERED.yaml is `helm template` of it. Run by scripts/check-helm; needs PyYAML.
"""

import base64
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# What each profile must render: the Redis mode, whether the chart makes the Secret (or reads
# an existing one), the HPA, the NetworkPolicy.
PROFILES = {
    "standalone": dict(redis="standalone", own_secret=False, hpa=False, netpol=True),
    "sentinel": dict(redis="sentinel", own_secret=True, hpa=False, netpol=True),
    "cluster": dict(redis="cluster", own_secret=True, hpa=False, netpol=True),
    "hpa": dict(redis="standalone", own_secret=True, hpa=True, netpol=False),
}

REDIS_FORMS = {
    "standalone": ("REDIS_URL", re.compile(r"^rediss?://[^,]+$")),
    "sentinel": ("REDIS_URL", re.compile(r"^redis\+sentinel://[^/,:]+:\d+(,[^/,:]+:\d+)*/[^/]+$")),
    "cluster": ("REDIS_CLUSTER_URLS", re.compile(r"^rediss?://[^,]+(,rediss?://[^,]+)*$")),
}


def const_seconds(path, name):
    """A `const NAME: Duration = Duration::from_secs(N)` (or from_millis) of the node, in s."""
    text = (ROOT / path).read_text()
    m = re.search(rf"const {name}: Duration = Duration::from_(secs|millis)\((\d[\d_]*)\)", text)
    if not m:
        sys.exit(f"{path}: no `const {name}: Duration` found; the drain arithmetic of the chart "
                 "(deploy/helm/rookery/templates/_helpers.tpl, rookery.nodeDrainSeconds) needs it")
    value = int(m.group(2).replace("_", ""))
    return value if m.group(1) == "secs" else value / 1000


def node_drain_seconds():
    """What Shutdown::trigger (src/startup.rs) may take before the HTTP server's timeout:
    the actors, then the sockets (DRAIN_WAIT each), the audit flush, leaving the cluster."""
    return (2 * const_seconds("src/startup.rs", "DRAIN_WAIT")
            + const_seconds("src/audit/recorder.rs", "FLUSH_WAIT")
            + const_seconds("src/cluster/redis.rs", "COMMAND_TIMEOUT"))


class Checks:
    def __init__(self):
        self.failures, self.count = [], 0

    def __call__(self, ok, what):
        self.count += 1
        if not ok:
            self.failures.append(what)
        return ok


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in PROFILES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(PROFILES)}}} RENDERED.yaml")
    profile, expect = sys.argv[1], PROFILES[sys.argv[1]]
    docs = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
    check = Checks()
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)

    def one(kind, present=True):
        found = by_kind.get(kind, [])
        check(len(found) == (1 if present else 0),
              f"{'one' if present else 'no'} {kind} expected, found {len(found)}")
        return found[0] if found else None

    deploy = one("Deployment")
    if deploy is None:
        return report(profile, check)
    pod = deploy["spec"]["template"]
    spec = pod["spec"]
    pod_labels = pod["metadata"]["labels"]
    selector = deploy["spec"]["selector"]["matchLabels"]
    check(selector.items() <= pod_labels.items(), "the Deployment's selector matches its pods")
    [c] = spec["containers"]
    port = next((p["containerPort"] for p in c.get("ports", []) if p["name"] == "http"), None)
    check(port is not None, "the container names its port http")
    check(":latest" not in c["image"], f"a pinned image tag ({c['image']})")

    # Probes: liveness on /healthz, readiness on /readyz, on the node's port.
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"),
                        ("startupProbe", "/healthz")]:
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") in ("http", port),
              f"{probe} on {path} (found {get})")

    # Config: the ConfigMap the container reads, and its env.
    cm = one("ConfigMap")
    config = cm["data"] if cm else {}
    check(any(e.get("configMapRef", {}).get("name") == cm["metadata"]["name"]
              for e in c.get("envFrom", [])) if cm else False, "the container reads the ConfigMap")
    check(config.get("ROOKERY_BIND") == f"0.0.0.0:{port}",
          f"ROOKERY_BIND is 0.0.0.0:{port} (found {config.get('ROOKERY_BIND')})")
    check(config.get("ROOKERY_LOG_FORMAT") == "json", "ROOKERY_LOG_FORMAT=json")
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("ROOKERY_NODE_ID", {}).get("valueFrom", {}).get("fieldRef", {})
          .get("fieldPath") == "metadata.name", "ROOKERY_NODE_ID from the pod's name")
    redis_env, redis_form = REDIS_FORMS[expect["redis"]]
    other = "REDIS_URL" if redis_env == "REDIS_CLUSTER_URLS" else "REDIS_CLUSTER_URLS"
    check(other not in env and other not in config, f"no {other} in {expect['redis']} mode")
    secret_names = set()
    for name in ["ROOKERY_JWT_SECRET", redis_env, "MONGODB_URI"]:
        ref = env.get(name, {}).get("valueFrom", {}).get("secretKeyRef")
        if check(ref is not None and ref.get("key") == name, f"{name} from a Secret"):
            secret_names.add(ref["name"])
        check(name not in config, f"{name} is not in the ConfigMap")
    check(len(secret_names) == 1, f"one Secret holds the secrets (found {secret_names})")
    secret = one("Secret", present=expect["own_secret"])
    if secret is not None:
        check(secret["metadata"]["name"] in secret_names, "the env reads the chart's Secret")
        data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        check(len(data.get("ROOKERY_JWT_SECRET", "")) >= 32, "a JWT secret of 32+ bytes")
        check(bool(redis_form.match(data.get(redis_env, ""))),
              f"{redis_env} in the {expect['redis']} form (found {data.get(redis_env)!r})")
        check(re.match(r"^mongodb(\+srv)?://", data.get("MONGODB_URI", "")) is not None,
              "MONGODB_URI is a mongodb:// URI")

    # Draining: a preStop sleep, and preStop + the node's drain + its HTTP shutdown timeout
    # inside the grace period.
    command = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if check(len(command) == 2 and command[0] == "sleep", f"a preStop sleep (found {command})"):
        pre_stop = float(command[1])
        drain = node_drain_seconds()
        http = float(config.get("ROOKERY_SHUTDOWN_TIMEOUT_SECS", 10))
        grace = spec.get("terminationGracePeriodSeconds", 30)
        check(pre_stop + drain + http < grace,
              f"preStop {pre_stop:g} + drain {drain:g} + shutdown {http:g} s < grace {grace} s")
        helpers = (ROOT / "deploy/helm/rookery/templates/_helpers.tpl").read_text()
        m = re.search(r'define "rookery.nodeDrainSeconds" -}}(\d+)', helpers)
        check(m is not None and float(m.group(1)) == drain,
              f"the chart's rookery.nodeDrainSeconds is the node's drain, {drain:g} s")

    # Scheduling and hardening.
    terms = (spec.get("affinity", {}).get("podAntiAffinity", {})
             .get("preferredDuringSchedulingIgnoredDuringExecution", []))
    check(any(t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
              and t["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= pod_labels.items()
              for t in terms), "preferred pod anti-affinity by hostname")
    psc, csc = spec.get("securityContext", {}), c.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int)
          and psc["runAsUser"] > 0, "runAsNonRoot with a numeric non-root user")
    check(csc.get("readOnlyRootFilesystem") is True, "a read-only root filesystem")
    data_dir = config.get("ROOKERY_DATA_DIR", "")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    check(any(data_dir.startswith(path.rstrip("/") + "/") and "emptyDir" in volumes.get(name, {})
              for path, name in mounts.items()),
          f"the data dir {data_dir} is a subdirectory of an emptyDir (the node chmods it)")
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics"
          and ann.get("prometheus.io/port") == str(port), "Prometheus scrape annotations")
    check(deploy["spec"].get("strategy", {}).get("rollingUpdate", {}).get("maxUnavailable") == 0,
          "a rolling update keeps every node until its replacement is ready")

    # The Service: the node's port, no stickiness.
    svc = one("Service")
    if svc:
        check(svc["spec"]["selector"].items() <= pod_labels.items(), "the Service selects the pods")
        check(svc["spec"].get("sessionAffinity", "None") == "None", "no session affinity")
        check([p["targetPort"] for p in svc["spec"]["ports"]] in (["http"], [port]),
              "the Service targets the node's port")

    pdb = one("PodDisruptionBudget")
    if pdb:
        check(pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(),
              "the PDB selects the pods")
        check(("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"]),
              "the PDB sets minAvailable or maxUnavailable")

    hpa = one("HorizontalPodAutoscaler", present=expect["hpa"])
    if hpa:
        target = hpa["spec"]["scaleTargetRef"]
        check(target["kind"] == "Deployment" and target["name"] == deploy["metadata"]["name"],
              "the HPA scales the Deployment")
        check(any(m["resource"]["name"] == "cpu" for m in hpa["spec"]["metrics"]), "the HPA on CPU")
        check("replicas" not in deploy["spec"], "the Deployment leaves replicas to the HPA")
        check("cpu" in c.get("resources", {}).get("requests", {}), "a CPU request for the HPA")
    else:
        check("replicas" in deploy["spec"], "a replica count without the HPA")
    requests = c.get("resources", {}).get("requests", {})
    check("cpu" in requests and "memory" in requests, "CPU and memory requests")

    netpol = one("NetworkPolicy", present=expect["netpol"])
    if netpol:
        ns = netpol["spec"]
        check(ns["podSelector"]["matchLabels"].items() <= pod_labels.items(),
              "the NetworkPolicy selects the pods")
        check(set(ns.get("policyTypes", [])) == {"Ingress", "Egress"},
              "the NetworkPolicy restricts ingress and egress")
        check(all(p.get("port") in ("http", port) for rule in ns.get("ingress", [])
                  for p in rule.get("ports", [])) and ns.get("ingress"),
              "ingress only on the node's port")
        check(any(r.get("from") for r in ns.get("ingress", [])),
              "ingress from the load balancer's peers only")
        egress_ports = {p.get("port") for r in ns.get("egress", []) for p in r.get("ports", [])}
        check(53 in egress_ports, "egress to DNS")
        check(27017 in egress_ports, "egress to MongoDB")
        check(bool(egress_ports & {6379, 26379, 7000}), "egress to Redis")
        check(all(r.get("ports") for r in ns.get("egress", [])), "every egress rule names ports")

    return report(profile, check, len(docs))


def report(profile, check, objects=0):
    for failure in check.failures:
        print(f"  FAIL {profile}: {failure}")
    print(f"{profile}: {objects} objects, {check.count - len(check.failures)} of {check.count} "
          "checks passed")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
