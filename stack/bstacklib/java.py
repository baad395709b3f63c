"""The jar cache: each Java server's jars fetched by Maven from its fetch-only pom.xml,
and its Java helpers compiled against them, under BSOCIAL_STACK_CACHE (default
~/.cache/bsocial-stack/<name>-<version>/{lib,classes})."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .common import StackError, log, tail, terminate

STACK_DIR = Path(__file__).resolve().parent.parent
NS = "{http://maven.apache.org/POM/4.0.0}"


@dataclass(frozen=True)
class Component:
    pom_dir: Path           # holds pom.xml and the Java sources
    version_property: str   # the pom property that names the version
    sources: tuple[str, ...] = ()  # Java helpers to compile (relative to pom_dir)


# A new Java server adds its line here (and its pom.xml and helpers in stack/<name>/).
COMPONENTS: dict[str, Component] = {
    "kafka": Component(STACK_DIR / "kafka", "kafka.version", ("TopicSetup.java",)),
    "opensearch": Component(STACK_DIR / "opensearch", "opensearch.version",
                            ("Launcher.java", "../common/NodeLauncher.java")),
    "elasticsearch": Component(STACK_DIR / "elasticsearch", "elasticsearch.version",
                               ("Launcher.java", "../common/NodeLauncher.java", "BsocialNode.java",
                                "ClasspathPluginsService.java", "RootInfoPlugin.java")),
}


def cache_root() -> Path:
    env = os.environ.get("BSOCIAL_STACK_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "bsocial-stack"


def component_version(name: str) -> str:
    c = COMPONENTS[name]
    root = ET.parse(c.pom_dir / "pom.xml").getroot()
    el = root.find(f"{NS}properties/{NS}{c.version_property}")
    if el is None or not (el.text or "").strip():
        raise StackError(f"{c.pom_dir / 'pom.xml'}: property {c.version_property} missing")
    return el.text.strip()


def component_dir(name: str) -> Path:
    return cache_root() / f"{name}-{component_version(name)}"


def _sha(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


_fetch_lock = threading.Lock()


def fetch(name: str, quiet: bool = False) -> Path:
    """Make sure the jars of `name` (a key of COMPONENTS) are in the cache and its
    Java helpers compiled. Returns the component's cache dir (with lib/ and
    classes/). Does nothing when already done for the same pom and sources."""
    with _fetch_lock:
        c = COMPONENTS[name]
        cdir = component_dir(name)
        lib = cdir / "lib"
        pom = c.pom_dir / "pom.xml"
        marker = cdir / ".lib-complete"
        pom_hash = _sha(pom)
        if not (marker.exists() and marker.read_text().strip() == pom_hash and lib.is_dir()):
            mvn = shutil.which("mvn")
            if not mvn:
                raise StackError("mvn not found (apt-get install maven)")
            if not quiet:
                log(f"fetching {name} {component_version(name)} jars into {lib}")
            cdir.mkdir(parents=True, exist_ok=True)
            tmp = cdir / "lib.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            r = subprocess.run(
                [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                 f"-DoutputDirectory={tmp}"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if r.returncode != 0 or not tmp.is_dir():
                raise StackError(f"mvn failed for {name}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
            shutil.rmtree(lib, ignore_errors=True)
            tmp.rename(lib)
            marker.write_text(pom_hash + "\n")
        classes = cdir / "classes"
        srcs = [c.pom_dir / s for s in c.sources]
        cmarker = cdir / ".classes-complete"
        src_hash = _sha(*srcs) if srcs else ""
        if srcs and not (cmarker.exists() and cmarker.read_text().strip() == src_hash):
            javac = java_tool("javac")
            shutil.rmtree(classes, ignore_errors=True)
            classes.mkdir(parents=True)
            r = subprocess.run(
                [javac, "-nowarn", "-d", str(classes), "-cp", str(lib / "*"), *map(str, srcs)],
                stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if r.returncode != 0:
                raise StackError(f"javac failed for {name}:\n{r.stdout}\n{r.stderr}")
            cmarker.write_text(src_hash + "\n")
        return cdir


def fetch_all(quiet: bool = False) -> dict[str, Path]:
    return {n: fetch(n, quiet=quiet) for n in COMPONENTS}


def java_tool(tool: str) -> str:
    jh = os.environ.get("JAVA_HOME")
    if jh and (Path(jh) / "bin" / tool).exists():
        return str(Path(jh) / "bin" / tool)
    found = shutil.which(tool)
    if not found:
        raise StackError(f"{tool} not found (install a Java 17 JDK)")
    return found


def classpath(cdir: Path) -> str:
    return f"{cdir / 'classes'}{os.pathsep}{cdir / 'lib' / '*'}"


# ---- embedded search nodes (OpenSearch, Elasticsearch): one JVM, started by a Launcher

_LOG4J2 = """\
# generated by stack/bstack.py
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = @LOGFILE@
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %marker%m%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.deprecation.name = @DEPRECATION@
logger.deprecation.level = error
"""


def node_settings(node_name: str, home: Path, data: Path, logs: Path, http_port: int,
                  transport_port: int) -> dict:
    """The settings of a single-node cluster on 127.0.0.1 (the Launcher's arguments)."""
    return {
        "path.home": home, "path.data": data, "path.logs": logs,
        "http.port": http_port, "transport.port": transport_port,
        "cluster.name": "bsocial-local", "node.name": node_name,
        "discovery.type": "single-node", "network.host": "127.0.0.1",
        "http.type": "netty4", "transport.type": "netty4",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        "action.auto_create_index": "true",
    }


def node_command(cdir: Path, base: Path, heap: str, logfile: Path, deprecation_logger: str,
                 settings: dict) -> list[str]:
    """The java command line of an embedded search node: `Launcher setting=value ...`
    with its log4j2 configuration (written to base/log4j2.properties) logging to logfile."""
    log4j = base / "log4j2.properties"
    log4j.write_text(_LOG4J2.replace("@LOGFILE@", str(logfile)).replace("@DEPRECATION@", deprecation_logger))
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    return [java_tool("java"), f"-Xms{heap}", f"-Xmx{heap}",
            "-XX:+UseG1GC", "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8",
            f"-Djava.io.tmpdir={base / 'tmp'}",
            f"-Dlog4j.configurationFile={log4j}", "-Dlog4j2.disable.jmx=true",
            "-Dlog4j.shutdownHookEnabled=false", "-Dio.netty.allocator.numDirectArenas=0",
            "-cp", classpath(cdir), "Launcher", *[f"{k}={v}" for k, v in settings.items()]]


def wait_health_yellow(name: str, url: str, proc, out: Path, log_file: Path, timeout: float) -> None:
    """Wait until `url`/_cluster/health is yellow or green; StackError (with the logs'
    tails) when the process exits first or after `timeout` seconds (the process is
    then stopped)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise StackError(f"{name} exited ({proc.returncode}):\n{tail(out)}\n{tail(log_file)}")
        try:
            with urllib.request.urlopen(
                    f"{url}/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10) as r:
                if json.loads(r.read()).get("status") in ("yellow", "green"):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            terminate([proc.pid], timeout=5)
            raise StackError(f"{name} not ready after {timeout}s:\n{tail(out)}")
        time.sleep(0.2)
