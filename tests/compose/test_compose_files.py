"""The container files agree with each other and with the project (no podman needed):

- deploy/compose.test.yaml changes image names and nothing else, so `make test-compose`
  runs exactly the compose file users run;
- .env.example lists exactly the variables compose.yaml reads, with its defaults;
- the Dockerfile's build stage installs only packages the Makefile installs;
- every `depends_on` waits on a condition that the depended-on service can meet;
- nothing public by default: the secrets have no default (compose refuses to start without
  them), .env.example carries none, .env is ignored by git and by the image build;
- Elasticsearch runs with security on, and serve and telemetry log in;
- serve's and the notifier's healthchecks are readiness (/readyz); bsocial-healthcheck takes
  the path;
- nginx has a fixed address on a fixed subnet, and it is the one proxy serve trusts;
- the compose test names no Debian mirror (it reads the machine's apt sources).
"""
from __future__ import annotations

import copy
import http.server
import ipaddress
import re
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
OVERRIDE = ROOT / "deploy/compose.test.yaml"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def merge(base: dict, override: dict) -> dict:
    """Compose's merge for mappings: the override's keys win, recursively."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def without_images(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for svc in doc["services"].values():
        svc.pop("image", None)
    return doc


def test_override_changes_only_image_names():
    base, override = load(COMPOSE), load(OVERRIDE)
    assert set(override) == {"services"}, "the override may only touch services"
    for name, svc in override["services"].items():
        assert name in base["services"], f"the override names an unknown service {name}"
        assert set(svc) == {"image"}, f"the override changes more than {name}'s image: {set(svc)}"
        assert svc["image"] != base["services"][name]["image"]
    merged = merge(base, override)
    assert without_images(merged) == without_images(base)


def test_the_check_above_catches_a_changed_setting():
    base = load(COMPOSE)
    changed = merge(base, {"services": {"kafka": {"image": "x", "environment": {"KAFKA_NODE_ID": 2}}}})
    assert without_images(changed) != without_images(base)


def test_override_swaps_every_infrastructure_image_and_not_the_app():
    base, override = load(COMPOSE), load(OVERRIDE)
    official = {n for n, s in base["services"].items() if "build" not in s}
    assert set(override["services"]) == official


SECRETS = ("BSOCIAL_JWT_SECRET", "POSTGRES_PASSWORD", "ELASTIC_PASSWORD")


def compose_defaults() -> dict[str, str]:
    return dict(re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", COMPOSE.read_text()))


def compose_required() -> set[str]:
    """The variables compose.yaml reads as ${VAR:?message}: no default, start refused."""
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?[^}]*\}", COMPOSE.read_text()))


def env_example() -> dict[str, str]:
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    return example


def test_env_example_lists_every_variable_with_the_compose_default():
    defaults = compose_defaults()
    assert defaults, "compose.yaml reads no variable?"
    # the secrets are listed with no value: compose.yaml has no default for them
    assert env_example() == {**defaults, **{k: "" for k in compose_required()}}


def test_secrets_have_no_default_and_compose_refuses_to_start_without_them():
    text = COMPOSE.read_text()
    assert compose_required() == set(SECRETS)
    for var in SECRETS:
        # compose's interpolations of var ($$VAR is a literal $VAR for the container's shell)
        uses = re.findall(r"(?<!\$)\$(?:\{" + var + r"\b[^}]*\}|" + var + r"\b)", text)
        assert uses, f"compose.yaml does not use {var}"
        for use in uses:  # never ${VAR:-default}, ${VAR-default} or a bare ${VAR}
            assert use.startswith("${" + var + ":?"), f"{var} used as {use!r}"
            assert ".env.example" in use, f"the message of {use!r} does not say where to look"


def test_env_example_carries_no_secret_and_says_how_to_make_them():
    text = (ROOT / ".env.example").read_text()
    example = env_example()
    for var in SECRETS:
        assert example[var] == "", f".env.example gives {var} a value: it would be public"
    assert "openssl rand" in text
    # the old published development values are gone from every file compose reads
    for path in (COMPOSE, ROOT / ".env.example"):
        assert "dev-only-jwt-secret" not in path.read_text()
        assert "bsocial-dev-password" not in path.read_text()


def test_dotenv_is_ignored_by_git_and_by_the_image_build():
    r = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert r.returncode == 0, ".env (compose's secrets) is not in .gitignore"
    r = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert r.returncode == 1, ".env.example must stay tracked"
    assert ".env" in (ROOT / ".dockerignore").read_text().split(), \
        ".env must not reach the image's build context"


def environment(service: str) -> dict:
    return load(COMPOSE)["services"][service]["environment"]  # YAML merge keys resolved


def test_elasticsearch_runs_with_security_on_and_its_clients_log_in():
    es = load(COMPOSE)["services"]["elasticsearch"]
    env = es["environment"]
    assert env["xpack.security.enabled"] == "true"
    assert env["xpack.security.http.ssl.enabled"] == "false"  # http inside the network (docs)
    assert env["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    assert "ports" not in es, "Elasticsearch must not be published"
    healthcheck = " ".join(es["healthcheck"]["test"])
    assert '-u "elastic:$$ELASTIC_PASSWORD"' in healthcheck
    for service in ("serve", "telemetry"):
        env = environment(service)
        assert env["BSOCIAL_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        assert env["BSOCIAL_ELASTICSEARCH_USER"] == "elastic"
        assert env["BSOCIAL_ELASTICSEARCH_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")
    for service in ("migrate", "notifier"):  # no need, no password
        assert "BSOCIAL_ELASTICSEARCH_PASSWORD" not in environment(service)


def test_the_elasticsearch_stand_in_reuses_the_stack_proxy():
    stand_in = ROOT / "deploy/test-images/elasticsearch"
    assert "bstacklib/tls_proxy.py" in (stand_in / "Dockerfile").read_text()
    assert "from bstacklib.tls_proxy import" in (stand_in / "security.py").read_text()
    assert "nginx" not in (stand_in / "run").read_text().replace("stack/", "")  # no second proxy


def test_serve_and_notifier_healthchecks_are_readiness():
    services = load(COMPOSE)["services"]
    for service, port in (("serve", "8080"), ("notifier", "8081")):
        assert services[service]["healthcheck"]["test"] == ["CMD", "bsocial-healthcheck", port, "/readyz"]


class _Probe(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_healthcheck_script_asks_for_the_path_it_is_given():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Probe)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = str(server.server_port)

        def rc(*args: str) -> int:
            return subprocess.run(["bash", str(ROOT / "deploy/healthcheck.sh"), *args],
                                  capture_output=True, timeout=10).returncode
        assert rc(port, "/readyz") == 0
        assert rc(port) == 1  # /healthz by default: this server answers 503 there
        assert rc(port, "/healthz") == 1
        assert rc(port, "readyz") == 2  # not a path
    finally:
        server.shutdown()


def interpolate(value: str) -> str:
    """compose's ${VAR:-default} with nothing set."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_nginx_is_the_one_trusted_proxy_on_a_fixed_subnet():
    doc = load(COMPOSE)
    ipam = doc["networks"]["default"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(interpolate(ipam["subnet"]))
    ip_range = ipaddress.ip_network(interpolate(ipam["ip_range"]))
    nginx = ipaddress.ip_address(interpolate(
        doc["services"]["nginx"]["networks"]["default"]["ipv4_address"]))
    trusted = [ipaddress.ip_network(c.strip())
               for c in interpolate(environment("serve")["BSOCIAL_TRUSTED_PROXIES"]).split(",")]
    assert nginx in subnet and nginx not in ip_range, "another container could take nginx's address"
    assert ip_range.subnet_of(subnet)
    assert trusted == [ipaddress.ip_network(f"{nginx}/32")]
    # the gateway (published ports may reach nginx from it) and the other containers are
    # not trusted: their X-Forwarded-For would be believed
    gateway = next(subnet.hosts())
    assert not any(gateway in t for t in trusted)
    assert not any(ip_range.overlaps(t) for t in trusted)
    # every service is on that network: none names another one
    for name, svc in doc["services"].items():
        assert set(svc.get("networks", {"default": None})) == {"default"}, name


def test_compose_test_names_no_debian_mirror():
    text = (ROOT / "tests/compose/compose_test.py").read_text()
    assert not re.search(r"https?://[a-z0-9.-]*debian", text), "a mirror host in the repository"
    assert "/etc/apt/sources.list" in text


def makefile_packages() -> set[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    m = re.search(r"^DEB_PACKAGES\s*:=(.*)$", text, re.M)
    return set(m.group(1).split())


def dockerfile_build_packages() -> set[str]:
    text = (ROOT / "Dockerfile").read_text()
    stage = text[text.index("AS build"):]
    install = stage[stage.index("apt-get install"):].replace("\\\n", " ").split("&&")[0]
    return {w for w in install.split()[1:] if not w.startswith("-") and w != "install"}


def test_dockerfile_builds_with_the_makefile_packages():
    packages = dockerfile_build_packages()
    assert "libboost1.81-dev" in packages and "cmake" in packages
    assert packages - {"ccache"} <= makefile_packages()


@pytest.mark.parametrize("service", sorted(load(COMPOSE)["services"]))
def test_depends_on_conditions_can_be_met(service):
    services = load(COMPOSE)["services"]
    for dep, cond in services[service].get("depends_on", {}).items():
        assert dep in services
        condition = cond["condition"]
        if condition == "service_healthy":
            hc = services[dep].get("healthcheck", {})
            assert hc.get("test") and not hc.get("disable"), f"{dep} has no healthcheck"
        else:
            assert condition == "service_completed_successfully"
            assert services[dep].get("restart") == "no", f"{dep} must be a one-shot service"


def test_nginx_proxies_websockets_to_the_serve_replicas():
    conf = (ROOT / "deploy/nginx/bsocial.conf").read_text()
    assert "server serve:8080" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    services = load(COMPOSE)["services"]
    assert services["serve"]["deploy"]["replicas"]
    assert "./deploy/nginx/bsocial.conf:/etc/nginx/conf.d/default.conf:ro" in services["nginx"]["volumes"]


def pom_version(component: str, prop: str) -> str:
    m = re.search(rf"<{prop}>([^<]+)</{prop}>", (ROOT / "stack" / component / "pom.xml").read_text())
    return m.group(1)


def test_infrastructure_versions_are_the_ones_our_tests_run():
    services = load(COMPOSE)["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{pom_version('kafka', 'kafka.version')}"
    es = pom_version("elasticsearch", "elasticsearch.version")
    assert services["elasticsearch"]["image"] == f"docker.elastic.co/elasticsearch/elasticsearch:{es}"


def first_run(dockerfile: Path) -> str:
    """The first RUN instruction of a Dockerfile, continuation lines joined."""
    text = re.sub(r"^#.*\n", "", dockerfile.read_text(), flags=re.M).replace("\\\n", " ")
    return next(ln for ln in text.splitlines() if ln.startswith("RUN "))


def test_kafka_and_elasticsearch_test_images_share_their_java_layer():
    # compose_test.py builds kafka first; elasticsearch reuses its first layer only when the
    # two instructions are the same text
    images = ROOT / "deploy/test-images"
    kafka, es = first_run(images / "kafka/Dockerfile"), first_run(images / "elasticsearch/Dockerfile")
    assert "openjdk-17-jre-headless" in kafka
    assert kafka == es
