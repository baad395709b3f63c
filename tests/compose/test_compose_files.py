"""The container files agree with each other and with the project (no podman needed):

- deploy/compose.test.yaml changes image names and nothing else, so `make test-compose`
  runs exactly the compose file users run;
- .env.example lists exactly the variables compose.yaml reads, with its defaults;
- the Dockerfile's build stage installs only packages the Makefile installs;
- every `depends_on` waits on a condition that the depended-on service can meet.
"""
from __future__ import annotations

import copy
import re
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


def compose_defaults() -> dict[str, str]:
    return dict(re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", COMPOSE.read_text()))


def test_env_example_lists_every_variable_with_the_compose_default():
    example = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    defaults = compose_defaults()
    assert defaults, "compose.yaml reads no variable?"
    assert example == defaults


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
