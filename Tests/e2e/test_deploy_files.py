"""Checks the deployment files in deploy/ against the real airlock binary.

No container engine runs in CI, so images are never built here. What can be tested is: every file parses; the
Dockerfile, compose file and Kubernetes manifest have the pieces an operator relies on (stages, health checks,
probes, the rules ConfigMap, the key from a Secret); every setting they name exists in `airlock config schema --json`
and the binary accepts their values; and every metric the Grafana dashboard and the Prometheus files query is one a
running Airlock exports (or one listed below as still to come).
"""
import json
import os
import re
import shutil
import subprocess
import urllib.request
import warnings

import pytest
import yaml

from conftest import BIN, ROOT, free_port, wait_http

DEPLOY = os.path.join(ROOT, "deploy")
AIRLOCK = os.path.join(BIN, "airlock")
DOCKERFILE = os.path.join(DEPLOY, "Dockerfile")
COMPOSE = os.path.join(DEPLOY, "docker-compose.yml")
KUBERNETES = os.path.join(DEPLOY, "kubernetes", "airlock-sidecar.yaml")
GRAFANA = os.path.join(DEPLOY, "grafana", "airlock.json")
PROMETHEUS_DIR = os.path.join(DEPLOY, "prometheus")
PENDING = os.path.join(DEPLOY, "pending-settings.txt")
README = os.path.join(DEPLOY, "README.md")

# Metrics the dashboard and alerts use before Airlock exports them: they arrive with open issues (cache, inspection,
# operator view). Name -> label names. Delete an entry once `GET /metrics` has the metric.
COMING_METRICS = {
    "airlock_cache_lookups_total": {"result", "layer"},  # result hit|miss|bypass, layer exact|semantic
    "airlock_blocks_total": {"rule", "scope"},
    "airlock_rules_version_info": {"version"},
    "airlock_redis_errors_total": set(),
}
# Labels Prometheus itself attaches to scraped series (job, instance) or that the scrape configurations add.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "app", "deployment"}
SETTING_NAME = re.compile(r"\b(AIRLOCK_[A-Z0-9_]+|DASHSCOPE_API_KEY)\b")
METRIC_NAME = re.compile(r"\bairlock_[a-z0-9_]+\b")
RUNTIME_LIBRARIES = ["libcurl4", "libhiredis0.14", "libpcre2-8-0", "libopenblas0"]
# Airlock's budget is 200 MB resident; the sidecar's memory limit may add headroom up to this.
MEMORY_LIMIT_CEILING = 256 * 2**20


def deploy_files():
    paths = []
    for directory, _, names in os.walk(DEPLOY):
        paths += [os.path.join(directory, name) for name in names]
    return sorted(paths)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_yaml(path):
    return [doc for doc in yaml.safe_load_all(read(path)) if doc is not None]


def relative(path):
    return os.path.relpath(path, ROOT)


def strings_in(value):
    """Every string inside a parsed YAML or JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def flatten_keys(mapping, prefix=""):
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten_keys(value, path + ".")
        else:
            yield path


def memory_bytes(quantity):
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i?)?", str(quantity))
    assert match, f"unreadable memory quantity {quantity!r}"
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


# ---------------------------------------------------------------------------------------------------------------------
# Parsed files

class Dockerfile:
    """Instructions with continuation lines joined, stages, and the ARG defaults before the first FROM."""

    def __init__(self, path):
        lines, current = [], ""
        for raw in read(path).splitlines():
            stripped = raw.strip()
            if not current and (not stripped or stripped.startswith("#")):
                continue
            if current and stripped.startswith("#"):
                continue
            current += " " + stripped if current else stripped
            if current.endswith("\\"):
                current = current[:-1].rstrip()
                continue
            lines.append(current)
            current = ""
        self.instructions = [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
                             for line in lines]
        self.args = {}
        self.stages = []  # (image, name, [instructions])
        for keyword, rest in self.instructions:
            if keyword == "FROM":
                words = rest.split()
                words = [w for w in words if not w.startswith("--platform")]
                image = re.sub(r"\$\{?(\w+)\}?", lambda m: self.args.get(m.group(1), m.group(0)), words[0])
                name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
                self.stages.append((image, name, []))
            elif not self.stages and keyword == "ARG" and "=" in rest:
                key, value = rest.split("=", 1)
                self.args[key.strip()] = value.strip()
            elif self.stages:
                self.stages[-1][2].append((keyword, rest))

    def env(self, stage):
        """ENV of a stage as a dict (the `ENV KEY=VALUE KEY=VALUE` form)."""
        values = {}
        for keyword, rest in self.stages[stage][2]:
            if keyword == "ENV":
                for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', rest):
                    values[key] = value.strip('"')
        return values


@pytest.fixture(scope="module")
def dockerfile():
    return Dockerfile(DOCKERFILE)


@pytest.fixture(scope="module")
def compose():
    (document,) = load_yaml(COMPOSE)
    return document


@pytest.fixture(scope="module")
def kubernetes():
    return load_yaml(KUBERNETES)


def objects(documents, kind):
    return {doc["metadata"]["name"]: doc for doc in documents if doc.get("kind") == kind}


def airlock_pod(documents):
    """The Deployment that runs the Airlock sidecar, its pod spec and the sidecar container."""
    for name, deployment in objects(documents, "Deployment").items():
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"]:
            if container["name"] == "airlock":
                return name, spec, container
    pytest.fail(f"{relative(KUBERNETES)}: no Deployment has a container named airlock")


# Secrets the operator creates and the manifest must not define (so no placeholder can serve as their value).
OPERATOR_SECRETS = {"airlock-admin"}


def container_env(container, secrets):
    """The container's environment, with secretKeyRef values read from the manifest's Secrets."""
    env = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            if ref["name"] in OPERATOR_SECRETS:
                # Created by the operator, never in the manifest: stand in a generated value.
                env[item["name"]] = "3f9c2a7be81d4c06a5f1e2d9b7c4a810"
                continue
            secret = secrets[ref["name"]]
            data = secret.get("stringData") or {}
            env[item["name"]] = str(data.get(ref["key"], "placeholder"))
    return env


@pytest.fixture(scope="module")
def schema():
    result = subprocess.run([AIRLOCK, "config", "schema", "--json"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings, "airlock config schema --json listed no settings"
    keys = {setting["key"] for setting in settings}
    environment = {name for setting in settings for name in setting["environment"]}
    return keys, environment


@pytest.fixture(scope="module")
def pending():
    names = set()
    for line in read(PENDING).splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.add(name)
    return names


def config_print(config_path, env, tmp_path):
    """`airlock config print` in a clean environment: the binary's own validation of a deployment's settings."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    clean.update(env)
    command = [AIRLOCK, "config", "print"] + (["--config", config_path] if config_path else [])
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=clean, cwd=tmp_path)


# ---------------------------------------------------------------------------------------------------------------------
# Every file parses

def test_the_deployment_files_exist():
    for path in (DOCKERFILE, COMPOSE, KUBERNETES, GRAFANA, os.path.join(PROMETHEUS_DIR, "scrape.yml"), README,
                 PENDING):
        assert os.path.isfile(path), f"{relative(path)} is missing"


def test_every_yaml_and_json_file_parses():
    parsed = 0
    for path in deploy_files():
        if path.endswith((".yml", ".yaml")):
            documents = load_yaml(path)
            assert documents, f"{relative(path)} holds no YAML document"
            assert all(isinstance(doc, dict) for doc in documents), f"{relative(path)}: a document is not a mapping"
            parsed += 1
        elif path.endswith(".json"):
            with open(path, encoding="utf-8") as f:
                assert isinstance(json.load(f), dict), f"{relative(path)} is not a JSON object"
            parsed += 1
    assert parsed >= 5


# ---------------------------------------------------------------------------------------------------------------------
# Dockerfile and compose

def test_dockerfile_is_multi_stage_with_a_slim_runtime_and_a_health_check(dockerfile):
    assert len(dockerfile.stages) >= 2, "the Dockerfile must build in one stage and run in another"
    build_image = dockerfile.stages[0][0]
    assert re.fullmatch(r"swift:6\.\d+(\.\d+)?(-[a-z0-9]+)?", build_image), f"build stage image {build_image}"
    runtime_image, _, runtime = dockerfile.stages[-1]
    assert runtime_image == "debian:bookworm-slim"
    installs = " ".join(rest for keyword, rest in runtime if keyword == "RUN")
    for library in RUNTIME_LIBRARIES:
        assert re.search(rf"(^|\s){re.escape(library)}(\s|$)", installs), f"runtime stage lacks {library}"
    assert not re.search(r"\S+-dev\b", installs), "the runtime stage installs -dev packages"

    copies_from = [rest for keyword, rest in runtime if keyword == "COPY" and "--from=" in rest]
    assert any("all-MiniLM-L6-v2" in rest for rest in copies_from), "the model is not copied into the runtime image"
    assert any("fetch-model.sh" in rest for _, _, stage in dockerfile.stages for keyword, rest in stage
               if keyword == "RUN"), "the model is not fetched with scripts/fetch-model.sh"

    checks = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert checks and "/healthz" in checks[0], "the runtime stage needs a HEALTHCHECK on /healthz"
    assert dockerfile.env(-1).get("AIRLOCK_LISTEN", "").startswith("0.0.0.0:"), \
        "in a container Airlock must listen on 0.0.0.0"


def test_dockerfile_copies_only_what_the_repository_has(dockerfile):
    stage_names = {name for _, name, _ in dockerfile.stages if name}
    for _, _, instructions in dockerfile.stages:
        for keyword, rest in instructions:
            if keyword not in ("COPY", "ADD"):
                continue
            words = [w for w in rest.split() if not w.startswith("--")]
            if any(w.startswith("--from=") for w in rest.split()):
                source_stage = re.search(r"--from=(\S+)", rest).group(1)
                if source_stage not in stage_names:
                    # A named build context: every documented build command and the compose file must pass it.
                    guide = read(os.path.join(DEPLOY, "README.md"))
                    builds = re.findall(r"docker build [^\n]*", guide)
                    assert builds and all(f"--build-context {source_stage}=" in b for b in builds), \
                        f"COPY --from={source_stage}: no such stage, and not a build context every build passes"
                    assert f"{source_stage}: " in read(os.path.join(DEPLOY, "docker-compose.yml")), \
                        f"docker-compose.yml does not pass the {source_stage} build context"
                continue
            for source in words[:-1]:
                assert os.path.exists(os.path.join(ROOT, source)), f"Dockerfile COPY source {source} is not in the repo"


def test_compose_runs_app_airlock_and_redis_with_health_checks(compose):
    services = compose["services"]
    assert {"app", "airlock", "redis"} <= set(services)
    for name in ("airlock", "redis"):
        assert services[name].get("healthcheck", {}).get("test"), f"compose service {name} has no healthcheck"
    assert any(path in " ".join(services["airlock"]["healthcheck"]["test"]) for path in ("/healthz", "/readyz"))
    build = services["airlock"]["build"]
    context = os.path.normpath(os.path.join(DEPLOY, build["context"]))
    assert os.path.samefile(os.path.join(context, build["dockerfile"]), DOCKERFILE)
    assert services["airlock"]["environment"]["AIRLOCK_LISTEN"].startswith("0.0.0.0:")
    assert "airlock" in services["app"].get("depends_on", {}), "the app should start after Airlock"
    for volume in services["airlock"].get("volumes", []):
        host = volume.split(":", 1)[0]
        if host.startswith("."):
            assert os.path.isdir(os.path.join(DEPLOY, host)), f"compose mounts {host}, which does not exist"


# ---------------------------------------------------------------------------------------------------------------------
# Kubernetes

def test_kubernetes_runs_airlock_as_a_sidecar_with_probes(kubernetes):
    _, pod, airlock = airlock_pod(kubernetes)
    names = [container["name"] for container in pod["containers"]]
    assert len(names) >= 2 and "app" in names and "airlock" in names, f"containers: {names}"

    ports = {port.get("name"): port["containerPort"] for port in airlock.get("ports", [])}
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        http = airlock.get(probe, {}).get("httpGet")
        assert http and http["path"] == path, f"airlock {probe} must GET {path}"
        port = http["port"]
        assert port in ports or port in ports.values(), f"{probe} port {port} is not a container port"


def test_kubernetes_mounts_rules_from_a_configmap_and_the_key_from_a_secret(kubernetes):
    _, pod, airlock = airlock_pod(kubernetes)
    configmaps, secrets = objects(kubernetes, "ConfigMap"), objects(kubernetes, "Secret")
    env = {item["name"]: item for item in airlock.get("env", [])}

    key = env.get("DASHSCOPE_API_KEY", {}).get("valueFrom", {}).get("secretKeyRef")
    assert key, "DASHSCOPE_API_KEY must come from a secretKeyRef"
    assert key["name"] in secrets, f"Secret {key['name']} is not defined in the manifest"
    assert key["key"] in (secrets[key["name"]].get("stringData") or secrets[key["name"]].get("data") or {})

    rules_dir = env["AIRLOCK_RULES_DIR"]["value"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in airlock["volumeMounts"]}
    assert rules_dir in mounts, f"nothing is mounted at the rules directory {rules_dir}"
    rules_volume = volumes[mounts[rules_dir]["name"]]
    assert "configMap" in rules_volume, "the rules directory must be a ConfigMap volume"
    assert rules_volume["configMap"]["name"] in configmaps

    # Every ConfigMap and Secret the pod names is defined alongside it.
    for volume in pod["volumes"]:
        if "configMap" in volume:
            assert volume["configMap"]["name"] in configmaps
        if "secret" in volume:
            assert volume["secret"]["secretName"] in secrets
    for container in pod["containers"]:
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef") or item.get("valueFrom", {}).get("configMapKeyRef")
            if ref and ref["name"] not in OPERATOR_SECRETS:
                assert ref["name"] in secrets or ref["name"] in configmaps, f"{ref['name']} is not defined"


def test_kubernetes_admin_token_is_required_and_has_no_placeholder(kubernetes):
    _, _, airlock = airlock_pod(kubernetes)
    secrets = objects(kubernetes, "Secret")
    env = {item["name"]: item for item in airlock.get("env", [])}
    ref = env["AIRLOCK_ADMIN_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert not ref.get("optional", False), "without the token the pod must not start (admin routes would be off)"
    assert ref["name"] in OPERATOR_SECRETS and ref["name"] not in secrets, "the manifest must not ship the token"
    for secret in secrets.values():
        assert "AIRLOCK_ADMIN_TOKEN" not in (secret.get("stringData") or secret.get("data") or {})
    with open(KUBERNETES) as handle:
        assert f"create secret generic {ref['name']}" in handle.read(), "the file says how to create it"


def test_kubernetes_sidecar_is_sized_for_its_memory_budget(kubernetes):
    _, _, airlock = airlock_pod(kubernetes)
    resources = airlock["resources"]
    request = memory_bytes(resources["requests"]["memory"])
    limit = memory_bytes(resources["limits"]["memory"])
    assert 150 * 2**20 <= request <= limit <= MEMORY_LIMIT_CEILING, (request, limit)
    assert resources["requests"].get("cpu"), "the sidecar needs a CPU request"


def test_kubernetes_services_select_the_pods(kubernetes):
    deployments = objects(kubernetes, "Deployment")
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for name, service in objects(kubernetes, "Service").items():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pod_labels), f"Service {name} selects no pod"
    for deployment in deployments.values():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


# ---------------------------------------------------------------------------------------------------------------------
# Every setting the files name exists, and the binary accepts the values

def test_every_setting_named_in_deploy_exists_in_airlock_configuration(schema, pending):
    _, environment = schema
    unknown = {}
    for path in deploy_files():
        if path == PENDING:
            continue
        for name in set(SETTING_NAME.findall(read(path))):
            if name not in environment and name not in pending:
                unknown.setdefault(name, []).append(relative(path))
    assert not unknown, (f"deploy files name settings that `airlock config schema` does not list: {unknown}; "
                         "fix the name, or add it to deploy/pending-settings.txt if an open issue is adding it")


def test_every_key_of_the_kubernetes_airlock_yaml_exists(schema, pending, kubernetes):
    keys, _ = schema
    configs = [(name, key, text) for name, configmap in objects(kubernetes, "ConfigMap").items()
               for key, text in (configmap.get("data") or {}).items() if key.endswith(("airlock.yaml", "airlock.yml"))]
    assert configs, "expected an airlock.yaml in a ConfigMap"
    for name, key, text in configs:
        for path in flatten_keys(yaml.safe_load(text)):
            assert path in keys or path in pending, f"ConfigMap {name}/{key}: unknown key {path}"


def test_pending_settings_are_few_used_and_documented(schema, pending):
    keys, environment = schema
    assert len(pending) <= 3, "keep deploy/pending-settings.txt to the settings open issues are adding"
    readme = read(README)
    used = "\n".join(read(p) for p in deploy_files() if p not in (PENDING, README))
    for name in pending:
        assert re.search(rf"\b{re.escape(name)}\b", used), f"{name} is in pending-settings.txt but no file uses it"
        assert name in readme, f"deploy/README.md should say which issue adds {name}"
        if name in environment or name in keys:
            # Harmless (the name is valid now) but stale; a warning, so that landing the setting breaks nothing.
            warnings.warn(f"{name} now exists in airlock's configuration: remove it from deploy/pending-settings.txt")


def test_airlock_accepts_the_kubernetes_settings(kubernetes, dockerfile, pending, tmp_path):
    _, pod, airlock = airlock_pod(kubernetes)
    args = airlock.get("args", [])
    assert "--config" in args, "the sidecar should read its airlock.yaml from the ConfigMap"
    config_path = args[args.index("--config") + 1]
    mount = next(m for m in airlock["volumeMounts"] if m["mountPath"] == config_path)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    configmap = objects(kubernetes, "ConfigMap")[volume["configMap"]["name"]]
    local = tmp_path / "airlock.yaml"
    local.write_text(configmap["data"][mount.get("subPath", "airlock.yaml")])

    env = dockerfile.env(-1)
    env.update(container_env(airlock, objects(kubernetes, "Secret")))
    env = {k: v for k, v in env.items() if k not in pending}
    result = config_print(str(local), env, tmp_path)
    assert result.returncode == 0, f"airlock rejects the Kubernetes settings: {result.stderr}"
    assert re.search(r"^listen: 0\.0\.0\.0:8080\b", result.stdout, re.M)
    assert re.search(r"^\s+api_key: .*# env DASHSCOPE_API_KEY$", result.stdout, re.M), "the key comes from the Secret"
    assert env["DASHSCOPE_API_KEY"] not in result.stdout


def test_airlock_accepts_the_compose_and_image_settings(compose, dockerfile, pending, tmp_path):
    def resolve(value):
        # Compose interpolation: ${VAR:-default} takes the default, ${VAR:?message} a stand-in for the required value.
        value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
        return re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: "sk-compose-" + m.group(1).lower(), value)

    environment = compose["services"]["airlock"]["environment"]
    env = dockerfile.env(-1)
    env.update({key: resolve(value) for key, value in environment.items()})
    env = {k: v for k, v in env.items() if k not in pending}
    result = config_print(None, env, tmp_path)
    assert result.returncode == 0, f"airlock rejects the compose settings: {result.stderr}"
    assert "redis://redis:6379/0" in result.stdout

    image_only = {k: v for k, v in dockerfile.env(-1).items() if k not in pending}
    image_only["DASHSCOPE_API_KEY"] = "sk-image"
    result = config_print(None, image_only, tmp_path)
    assert result.returncode == 0, f"airlock rejects the image's ENV: {result.stderr}"


# ---------------------------------------------------------------------------------------------------------------------
# Every metric the dashboard and Prometheus files use is one Airlock exports

@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory):
    """Families from a running Airlock's GET /metrics: name -> (type, label names)."""
    tmp = tmp_path_factory.mktemp("airlock-metrics")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRLOCK_")}
    env.update(AIRLOCK_LISTEN=f"127.0.0.1:{port}", AIRLOCK_UPSTREAM_URL=f"http://127.0.0.1:{free_port()}/v1",
               DASHSCOPE_API_KEY="sk-deploy-test", AIRLOCK_LOG_LEVEL="warning")
    for shared in ("models", "rules"):
        if os.path.isdir(os.path.join(ROOT, shared)):
            os.symlink(os.path.join(ROOT, shared), os.path.join(tmp, shared))
    with open(os.path.join(tmp, "airlock.log"), "w") as log:
        process = subprocess.Popen([AIRLOCK, "serve"], env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                assert response.status == 200
                text = response.read().decode()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    families = {}
    for line in text.splitlines():
        match = re.match(r"# TYPE (\S+) (\S+)", line)
        if match:
            families[match.group(1)] = (match.group(2), set())
    for line in text.splitlines():
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not match or line.startswith("#"):
            continue
        name = match.group(1)
        family = name if name in families else re.sub(r"_(bucket|sum|count|total|created)$", "", name)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', match.group(3) or ""))
        families.setdefault(family, ("untyped", set()))[1].update(labels - {"le", "quantile"})
    assert families, "GET /metrics exported nothing"
    return families


def metric_references():
    """(file, string) for every string in the Grafana dashboard and the Prometheus files that names a metric."""
    sources = [(GRAFANA, json.loads(read(GRAFANA)))]
    for name in sorted(os.listdir(PROMETHEUS_DIR)):
        if name.endswith((".yml", ".yaml")):
            path = os.path.join(PROMETHEUS_DIR, name)
            sources += [(path, doc) for doc in load_yaml(path)]
    for path, document in sources:
        for text in strings_in(document):
            if METRIC_NAME.search(text):
                yield relative(path), text


def resolve_metric(name, live):
    """(family, label names, histogram part?) for a metric name, or None when neither live nor coming."""
    if name in live:
        return name, live[name][1], False
    base = re.sub(r"_(bucket|sum|count)$", "", name)
    if base != name and base in live and live[base][0] in ("histogram", "summary"):
        return base, live[base][1], name.endswith("_bucket")
    if name in COMING_METRICS:
        return name, COMING_METRICS[name], False
    return None


def test_every_metric_in_the_dashboard_and_prometheus_files_exists(live_metrics):
    references = list(metric_references())
    assert len(references) >= 10, "expected the dashboard and alerts to query Airlock's metrics"
    unknown = {}
    for path, text in references:
        for name in METRIC_NAME.findall(text):
            if resolve_metric(name, live_metrics) is None:
                unknown.setdefault(name, set()).add(path)
    assert not unknown, (f"metrics that Airlock's /metrics does not export and that are not listed as coming: "
                         f"{unknown}; exported: {sorted(live_metrics)}")
    used = {name for _, text in references for name in METRIC_NAME.findall(text)}
    for name in ("airlock_requests_total", "airlock_upstream_circuit_open", "airlock_request_duration_seconds_bucket",
                 "airlock_cache_lookups_total", "airlock_blocks_total"):
        assert name in used, f"the dashboard should show {name}"


def test_every_label_the_queries_use_belongs_to_their_metrics(live_metrics):
    problems = []
    for path, text in metric_references():
        resolved = [resolve_metric(name, live_metrics) for name in METRIC_NAME.findall(text)]
        resolved = [r for r in resolved if r]
        allowed_all = set(TARGET_LABELS)
        for _, labels, bucket in resolved:
            allowed_all |= labels | ({"le"} if bucket else set())
        # Label matchers directly after a metric name: airlock_x{label="..."}.
        for name, matchers in re.findall(r"\b(airlock_[a-z0-9_]+)\s*\{([^}]*)\}", text):
            family = resolve_metric(name, live_metrics)
            if not family:
                continue
            allowed = TARGET_LABELS | family[1] | ({"le"} if family[2] else set())
            for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", matchers):
                if label not in allowed:
                    problems.append(f"{path}: {name} has no label {label!r} ({text.strip()[:80]})")
        # Grouping: by (...) / without (...), and Grafana's label_values(metric, label).
        grouped = re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", text)
        grouped += [m for m in re.findall(r"label_values\(\s*airlock_[a-z0-9_]+[^,]*,\s*(\w+)\s*\)", text)]
        for group in grouped:
            for label in filter(None, (part.strip() for part in group.split(","))):
                if label not in allowed_all:
                    problems.append(f"{path}: no metric in the query has label {label!r} ({text.strip()[:80]})")
    assert not problems, "\n".join(problems)


def test_grafana_dashboard_shows_the_operator_numbers():
    dashboard = json.loads(read(GRAFANA))
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    exprs = " ".join(t.get("expr", "") for p in panels for t in p.get("targets", []))
    assert 'kind="refusal"' in exprs and 'kind="failure"' in exprs, "refusal vs failure split"
    assert 'kind="cache_hit"' in exprs or 'result="hit"' in exprs, "cache hit rate"
    assert 'kind="blocked"' in exprs, "block rate"
    assert "histogram_quantile(0.5" in exprs and "histogram_quantile(0.99" in exprs, "latency p50/p99"
    assert "sum by (kind)" in exprs, "request rate by outcome kind"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, f"panel {panel['title']} is wider than the grid"
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), f"panel {panel['title']}: duplicate refIds"


# ---------------------------------------------------------------------------------------------------------------------
# promtool (Debian package `prometheus`)

def promtool():
    path = shutil.which("promtool")
    assert path, "promtool is missing: install the Debian package prometheus (make deps)"
    return path


def test_promtool_accepts_the_scrape_configuration_and_alerts():
    result = subprocess.run([promtool(), "check", "config", os.path.join(PROMETHEUS_DIR, "scrape.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_every_dashboard_query(tmp_path):
    dashboard = json.loads(read(GRAFANA))
    rules = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            # Grafana's variables, as Grafana would expand them.
            expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
            expr = re.sub(r"\$\{?\w+\}?", ".*", expr)
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    assert rules
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_grace_period_outlasts_the_drain(kubernetes):
    """Airlock's drain bound (default or set in the ConfigMap) leaves time inside the pod's grace period."""
    _, pod, airlock = airlock_pod(kubernetes)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    result = subprocess.run([AIRLOCK, "config", "schema", "--json"], capture_output=True, text=True, timeout=30)
    settings = json.loads(result.stdout)
    drain_ms = int(next(s for s in settings if s["key"] == "limits.drain_timeout_ms")["default"])
    configmap_text = "\n".join(str(v) for v in objects(kubernetes, "ConfigMap")["airlock-config"]["data"].values())
    match = re.search(r"drain_timeout_ms:\s*(\d+)", configmap_text)
    if match:
        drain_ms = int(match.group(1))
    for item in airlock.get("env", []):
        if item["name"] == "AIRLOCK_DRAIN_TIMEOUT_MS":
            drain_ms = int(item["value"])
    assert drain_ms / 1000 + 5 <= grace, f"drain {drain_ms} ms leaves under 5 s of the {grace} s grace period"
