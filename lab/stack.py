#!/usr/bin/env python3
"""Start, stop and inspect the monlab lab stack.

The lab stack is a local Prometheus, Alertmanager and node exporter, run as
plain background processes bound to 127.0.0.1, with the configuration from
this directory and data in a fresh temporary directory. Standard library only.

Usage: python3 lab/stack.py up|down|status|env

Environment variables:
  LAB_PROMETHEUS_PORT     Prometheus port (default 19090)
  LAB_ALERTMANAGER_PORT   Alertmanager port (default 19093)
  LAB_NODE_EXPORTER_PORT  node exporter port (default 19100)
  LAB_DOWN_PORT           port of the scrape target that must stay down
                          (default 19199)
  LAB_STATE_DIR           directory of state.json (default lab/.run)
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Dict, List, Optional

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
TEMP_DIR_PREFIX = "monlab-lab-"

READY_TIMEOUT_S = 30.0
ALERTS_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.5
HTTP_TIMEOUT_S = 2.0
LOG_TAIL_LINES = 20

# The always-firing rule in rules.yml that `up` silences in Alertmanager.
SILENCED_ALERT = "Watchdog"
SILENCE_DURATION = datetime.timedelta(days=365)

# Debian installs the binaries under these names. The upstream release
# tarballs name two of them differently, so those names are tried second.
BINARIES = {
    "node_exporter": ["prometheus-node-exporter", "node_exporter"],
    "alertmanager": ["prometheus-alertmanager", "alertmanager"],
    "prometheus": ["prometheus"],
}
DEBIAN_PACKAGES = {
    "node_exporter": "prometheus-node-exporter",
    "alertmanager": "prometheus-alertmanager",
    "prometheus": "prometheus",
}
DISPLAY_NAMES = {
    "node_exporter": "node exporter",
    "alertmanager": "Alertmanager",
    "prometheus": "Prometheus",
}

# Processes start in this order and stop in the reverse order.
START_ORDER = ["node_exporter", "alertmanager", "prometheus"]

# Port settings: key, environment variable, default. The defaults are the
# ports written in lab/prometheus.yml.
PORT_SETTINGS = [
    ("prometheus", "LAB_PROMETHEUS_PORT", 19090),
    ("alertmanager", "LAB_ALERTMANAGER_PORT", 19093),
    ("node_exporter", "LAB_NODE_EXPORTER_PORT", 19100),
    ("down_target", "LAB_DOWN_PORT", 19199),
]

# Loopback URLs only: a proxy from http_proxy must never see these requests.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LabError(Exception):
    """A failure that ends the command with a one-line message.

    log_paths lists the process logs whose last lines help explain it.
    """

    def __init__(self, message: str, log_paths: Optional[List[str]] = None):
        super().__init__(message)
        self.log_paths = log_paths or []


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings


def read_ports() -> Dict[str, int]:
    """Read the ports from the LAB_*_PORT variables, falling back to defaults."""
    ports = {}
    for key, variable, default in PORT_SETTINGS:
        raw = os.environ.get(variable, "").strip()
        if not raw:
            ports[key] = default
            continue
        try:
            port = int(raw)
        except ValueError:
            raise LabError(f"invalid {variable}={raw!r}: expected a port number from 1 to 65535")
        if not 1 <= port <= 65535:
            raise LabError(f"invalid {variable}={raw!r}: expected a port number from 1 to 65535")
        ports[key] = port

    if len(set(ports.values())) != len(ports):
        listing = ", ".join(f"{variable}={ports[key]}" for key, variable, _ in PORT_SETTINGS)
        raise LabError(f"invalid ports: each LAB_*_PORT must be different ({listing})")
    return ports


def state_path() -> str:
    state_dir = os.environ.get("LAB_STATE_DIR") or os.path.join(LAB_DIR, ".run")
    return os.path.join(os.path.abspath(state_dir), "state.json")


def urls_for(ports: Dict[str, int]) -> Dict[str, str]:
    return {
        "prometheus": f"http://{HOST}:{ports['prometheus']}",
        "alertmanager": f"http://{HOST}:{ports['alertmanager']}",
        "node_exporter": f"http://{HOST}:{ports['node_exporter']}",
    }


def env_lines(ports: Dict[str, int]) -> str:
    urls = urls_for(ports)
    return f"PROMETHEUS_URL={urls['prometheus']}\nALERTMANAGER_URL={urls['alertmanager']}"


# ------------------------------------------------------------------- state


def load_state() -> Optional[dict]:
    path = state_path()
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise LabError(f"failed to read state file {path}: {error}; delete it after stopping any lab processes by hand")


def save_state(state: dict) -> None:
    path = state_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)


def remove_state() -> None:
    try:
        os.remove(state_path())
    except FileNotFoundError:
        pass


# -------------------------------------------------------------------- HTTP


def http_get(url: str) -> bytes:
    with _HTTP.open(url, timeout=HTTP_TIMEOUT_S) as response:
        return response.read()


def http_get_json(url: str):
    return json.loads(http_get(url).decode("utf-8"))


def http_post_json(url: str, payload: dict):
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _HTTP.open(request, timeout=HTTP_TIMEOUT_S) as response:
        return json.loads(response.read().decode("utf-8"))


def is_ready(url: str) -> bool:
    """Return True if GET url returns 200. Prometheus returns 503 while it starts."""
    try:
        http_get(url)
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def readiness_url(key: str, urls: Dict[str, str]) -> str:
    if key == "node_exporter":
        return urls["node_exporter"] + "/metrics"
    return urls[key] + "/-/ready"


# ----------------------------------------------------------------- network


def port_is_free(port: int) -> bool:
    """Return True if nothing listens on HOST:port.

    SO_REUSEADDR lets the test bind succeed over TIME_WAIT connections left by
    a stack that was just stopped, but it still fails on a live listener.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def check_ports_free(ports: Dict[str, int]) -> None:
    for key, variable, _ in PORT_SETTINGS:
        port = ports[key]
        if not port_is_free(port):
            target_name = "the down target" if key == "down_target" else DISPLAY_NAMES[key]
            raise LabError(
                f"port {HOST}:{port} for {target_name} is already in use; "
                f"stop the process that listens there or set {variable} to a free port"
            )


# --------------------------------------------------------------- processes


def find_binary(key: str) -> str:
    for name in BINARIES[key]:
        path = shutil.which(name)
        if path:
            return path
    names = " or ".join(BINARIES[key])
    raise LabError(
        f"{DISPLAY_NAMES[key]} binary not found ({names} on PATH); "
        f"install the Debian package {DEBIAN_PACKAGES[key]} (apt-get install {DEBIAN_PACKAGES[key]})"
    )


def process_is_running(pid: int, binary: str) -> bool:
    """Return True if pid is a live, non-zombie process started from binary.

    Checking the command line keeps `down` from signalling an unrelated
    process that reused the pid. Where /proc is missing (not Linux), only
    the pid is checked.
    """
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False

    proc_dir = f"/proc/{pid}"
    if not os.path.isdir("/proc/self"):
        return True
    try:
        with open(f"{proc_dir}/stat", encoding="utf-8", errors="replace") as handle:
            # The state letter follows the command name, which is in brackets.
            process_state = handle.read().rsplit(")", 1)[1].split()[0]
        with open(f"{proc_dir}/cmdline", "rb") as handle:
            argv0 = handle.read().split(b"\0", 1)[0].decode("utf-8", "replace")
    except (OSError, IndexError):
        return False
    return process_state not in ("Z", "X") and argv0 == binary


def build_command(key: str, binary: str, ports: Dict[str, int], run_dir: str) -> List[str]:
    urls = urls_for(ports)
    if key == "node_exporter":
        return [
            binary,
            f"--web.listen-address={HOST}:{ports['node_exporter']}",
            # Debian's build enables the systemd collector by default. Without
            # systemd's D-Bus socket, as in most containers, it logs an error
            # on every scrape.
            "--no-collector.systemd",
        ]
    if key == "alertmanager":
        return [
            binary,
            f"--config.file={os.path.join(LAB_DIR, 'alertmanager.yml')}",
            f"--storage.path={os.path.join(run_dir, 'alertmanager-data')}",
            f"--web.listen-address={HOST}:{ports['alertmanager']}",
            f"--web.external-url={urls['alertmanager']}",
            # The gossip cluster listens on 0.0.0.0:9094 by default. An empty
            # address turns clustering off, which a single instance does not need.
            "--cluster.listen-address=",
        ]
    return [
        binary,
        f"--config.file={os.path.join(run_dir, 'prometheus.yml')}",
        f"--storage.tsdb.path={os.path.join(run_dir, 'prometheus-data')}",
        f"--web.listen-address={HOST}:{ports['prometheus']}",
        # Used in each alert's generatorURL. The default is built from the
        # host name, which is not a loopback address.
        f"--web.external-url={urls['prometheus']}",
        # Prometheus sends a firing alert again only after this delay (default
        # 1m). An alert that fires at the first evaluation can be sent before
        # Prometheus has set up its Alertmanager target, and would then reach
        # Alertmanager only a minute later.
        "--rules.alert.resend-delay=2s",
    ]


def render_prometheus_config(ports: Dict[str, int], run_dir: str) -> None:
    """Write prometheus.yml with the configured ports, and rules.yml, into run_dir."""
    with open(os.path.join(LAB_DIR, "prometheus.yml"), encoding="utf-8") as handle:
        text = handle.read()

    replacements = {str(default): str(ports[key]) for key, _, default in PORT_SETTINGS}
    for default in replacements:
        if f"{HOST}:{default}" not in text:
            raise LabError(f"lab/prometheus.yml does not contain {HOST}:{default}, so its port cannot be set")
    # One pass, so that swapped ports (for example Prometheus on 19100 and
    # node exporter on 19090) are not replaced twice.
    pattern = re.compile(re.escape(HOST) + r":(" + "|".join(replacements) + r")\b")
    text = pattern.sub(lambda match: f"{HOST}:{replacements[match.group(1)]}", text)

    with open(os.path.join(run_dir, "prometheus.yml"), "w", encoding="utf-8") as handle:
        handle.write(text)
    # rule_files in prometheus.yml is relative to the config file's directory.
    shutil.copyfile(os.path.join(LAB_DIR, "rules.yml"), os.path.join(run_dir, "rules.yml"))


def stop_process(name: str, pid: int, binary: str, child: Optional[subprocess.Popen] = None) -> None:
    """Send SIGTERM, then SIGKILL if the process still runs after STOP_TIMEOUT_S.

    child is the Popen object when this script started the process, so that
    the exit is reaped and not seen as a live zombie.
    """

    def running() -> bool:
        if child is not None:
            return child.poll() is None
        return process_is_running(pid, binary)

    if not running():
        return
    log(f"Stopping {name} (pid {pid}).")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return

    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not running():
            return
        time.sleep(0.1)

    log(f"{name} (pid {pid}) still runs {STOP_TIMEOUT_S:.0f} s after SIGTERM; sending SIGKILL.")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if child is not None:
        child.wait(timeout=STOP_TIMEOUT_S)


def remove_run_dir(run_dir: Optional[str]) -> None:
    # Only remove directories that `up` created, whatever run_dir the state file contains.
    if run_dir and os.path.basename(run_dir.rstrip("/")).startswith(TEMP_DIR_PREFIX):
        shutil.rmtree(run_dir, ignore_errors=True)


def stop_all(state: dict, children: Optional[Dict[str, subprocess.Popen]] = None) -> None:
    children = children or {}
    for key in reversed(START_ORDER):
        process = state.get("processes", {}).get(key)
        if process:
            stop_process(DISPLAY_NAMES[key], process["pid"], process["binary"], children.get(key))
    remove_run_dir(state.get("run_dir"))
    remove_state()


def print_log_tail(path: str) -> None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()[-LOG_TAIL_LINES:]
    except OSError as error:
        log(f"(failed to read log {path}: {error})")
        return
    log(f"--- last {len(lines)} lines of {path} ---")
    for line in lines:
        log(line)
    log("---")


# ------------------------------------------------------------ waiting steps


def check_children_alive(state: dict, children: Dict[str, subprocess.Popen]) -> None:
    for key, child in children.items():
        code = child.poll()
        if code is not None:
            raise LabError(
                f"{DISPLAY_NAMES[key]} exited with code {code} during start",
                [state["processes"][key]["log"]],
            )


def wait_until_ready(state: dict, children: Dict[str, subprocess.Popen]) -> None:
    urls = urls_for(state["ports"])
    waiting = list(START_ORDER)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while waiting:
        check_children_alive(state, children)
        waiting = [key for key in waiting if not is_ready(readiness_url(key, urls))]
        if not waiting:
            return
        if time.monotonic() > deadline:
            names = ", ".join(DISPLAY_NAMES[key] for key in waiting)
            raise LabError(
                f"timed out after {READY_TIMEOUT_S:.0f} s waiting for {names} to become ready",
                [state["processes"][key]["log"] for key in waiting],
            )
        time.sleep(POLL_INTERVAL_S)


def alerting_rule_states(prometheus_url: str) -> Dict[str, str]:
    """Return the state (inactive, pending or firing) of each alerting rule."""
    body = http_get_json(prometheus_url + "/api/v1/rules")
    states = {}
    for group in body["data"]["groups"]:
        for rule in group["rules"]:
            if rule.get("type") == "alerting":
                states[rule["name"]] = rule.get("state", "")
    return states


def alertmanager_alerts(alertmanager_url: str) -> List[dict]:
    return http_get_json(alertmanager_url + "/api/v2/alerts")


def wait_for_alerts(state: dict, children: Dict[str, subprocess.Popen], deadline: float) -> List[str]:
    """Wait until every alerting rule fires in Prometheus and its alert is in Alertmanager."""
    urls = urls_for(state["ports"])
    not_firing: List[str] = ["(rules not loaded yet)"]
    missing: List[str] = []
    while True:
        check_children_alive(state, children)
        try:
            rule_states = alerting_rule_states(urls["prometheus"])
            received = {alert["labels"].get("alertname") for alert in alertmanager_alerts(urls["alertmanager"])}
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            log(f"Retrying after a failed API request: {error}")
        else:
            not_firing = sorted(name for name, rule_state in rule_states.items() if rule_state != "firing")
            missing = sorted(name for name in rule_states if name not in received)
            if rule_states and SILENCED_ALERT not in rule_states:
                raise LabError(f"lab/rules.yml has no alerting rule named {SILENCED_ALERT}, which `up` silences")
            if rule_states and not not_firing and not missing:
                return sorted(rule_states)

        if time.monotonic() > deadline:
            details = []
            if not_firing:
                details.append("not firing in Prometheus: " + ", ".join(not_firing))
            if missing:
                details.append("not received by Alertmanager: " + ", ".join(missing))
            raise LabError(
                f"timed out after {ALERTS_TIMEOUT_S:.0f} s waiting for alerts ({'; '.join(details)})",
                [state["processes"]["prometheus"]["log"], state["processes"]["alertmanager"]["log"]],
            )
        time.sleep(POLL_INTERVAL_S)


def create_silence(alertmanager_url: str) -> str:
    """Create a silence for SILENCED_ALERT through the Alertmanager v2 API and return its id."""
    now = datetime.datetime.now(datetime.timezone.utc)
    payload = {
        "matchers": [{"name": "alertname", "value": SILENCED_ALERT, "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + SILENCE_DURATION).isoformat(),
        "createdBy": "lab/stack.py",
        "comment": f"Lab setup: silence the always-firing {SILENCED_ALERT} alert so that Alertmanager shows a suppressed alert.",
    }
    try:
        body = http_post_json(alertmanager_url + "/api/v2/silences", payload)
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace").strip()
        raise LabError(f"Alertmanager rejected the silence for {SILENCED_ALERT}: HTTP {error.code} {detail}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise LabError(f"failed to create the silence for {SILENCED_ALERT}: {error}")
    return body["silenceID"]


def wait_until_suppressed(state: dict, children: Dict[str, subprocess.Popen], deadline: float) -> None:
    urls = urls_for(state["ports"])
    while True:
        check_children_alive(state, children)
        try:
            alerts = alertmanager_alerts(urls["alertmanager"])
        except (urllib.error.URLError, OSError, ValueError) as error:
            log(f"Retrying after a failed API request: {error}")
        else:
            silenced = [
                alert
                for alert in alerts
                if alert["labels"].get("alertname") == SILENCED_ALERT and alert["status"]["state"] == "suppressed"
            ]
            if silenced:
                return
        if time.monotonic() > deadline:
            raise LabError(
                f"timed out after {ALERTS_TIMEOUT_S:.0f} s waiting for {SILENCED_ALERT} to show as suppressed in Alertmanager",
                [state["processes"]["alertmanager"]["log"]],
            )
        time.sleep(POLL_INTERVAL_S)


# ---------------------------------------------------------------- commands


def running_processes(state: dict) -> Dict[str, bool]:
    processes = state.get("processes", {})
    return {
        key: bool(processes.get(key)) and process_is_running(processes[key]["pid"], processes[key]["binary"])
        for key in START_ORDER
    }


def print_summary(state: dict) -> None:
    ports = state["ports"]
    urls = urls_for(ports)
    processes = state["processes"]
    print(f"Prometheus:    {urls['prometheus']}  (pid {processes['prometheus']['pid']})")
    print(f"Alertmanager:  {urls['alertmanager']}  (pid {processes['alertmanager']['pid']})")
    print(f"Node exporter: {urls['node_exporter']}/metrics  (pid {processes['node_exporter']['pid']})")
    print(f"Down target:   {HOST}:{ports['down_target']}  (job down-target, nothing listens there)")
    if state.get("silence_id"):
        print(f"Silenced:      {SILENCED_ALERT}  (silence {state['silence_id']})")
    print(f"Logs and data: {state['run_dir']}")
    print(env_lines(ports))


def start_stack(ports: Dict[str, int], binaries: Dict[str, str]) -> dict:
    """Start the three processes and wait for the alerts and the silence.

    Returns the state. On any failure it stops what it started and re-raises.
    """
    started_at = time.monotonic()
    run_dir = tempfile.mkdtemp(prefix=TEMP_DIR_PREFIX)
    state: dict = {"ports": ports, "run_dir": run_dir, "processes": {}}
    children: Dict[str, subprocess.Popen] = {}
    save_state(state)

    try:
        render_prometheus_config(ports, run_dir)
        for key in START_ORDER:
            log_path = os.path.join(run_dir, f"{key}.log")
            command = build_command(key, binaries[key], ports, run_dir)
            log(f"Starting {DISPLAY_NAMES[key]} on {HOST}:{ports[key]}.")
            with open(log_path, "wb") as log_file:
                children[key] = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=run_dir,
                    # A new session keeps Ctrl-C in this terminal from reaching
                    # the processes after `up` has returned.
                    start_new_session=True,
                )
            state["processes"][key] = {"pid": children[key].pid, "binary": binaries[key], "log": log_path}
            save_state(state)

        wait_until_ready(state, children)
        log("All processes are ready. Waiting for the alerts to fire and reach Alertmanager.")
        deadline = time.monotonic() + ALERTS_TIMEOUT_S
        alert_names = wait_for_alerts(state, children, deadline)
        log(f"Firing in Prometheus and received by Alertmanager: {', '.join(alert_names)}.")

        state["silence_id"] = create_silence(urls_for(ports)["alertmanager"])
        save_state(state)
        wait_until_suppressed(state, children, deadline)
        log(f"{SILENCED_ALERT} is silenced (silence {state['silence_id']}).")
    except BaseException as error:
        if isinstance(error, LabError):
            log(f"error: {error}")
            for path in error.log_paths:
                print_log_tail(path)
        elif isinstance(error, KeyboardInterrupt):
            log("Interrupted.")
        else:
            log(f"error: unexpected {type(error).__name__}: {error}")
        log("Stopping the processes that were started.")
        stop_all(state, children)
        raise

    log(f"Lab stack is up after {time.monotonic() - started_at:.1f} s.")
    return state


def cmd_up() -> int:
    state = load_state()
    if state is not None:
        running = running_processes(state)
        if all(running.values()):
            log("Lab stack is already up.")
            print_summary(state)
            return 0
        stopped = ", ".join(DISPLAY_NAMES[key] for key, alive in running.items() if not alive)
        log(f"Found a state file from an earlier run, but these processes no longer run: {stopped}. Cleaning up and starting again.")
        stop_all(state)

    ports = read_ports()
    binaries = {key: find_binary(key) for key in START_ORDER}
    check_ports_free(ports)
    try:
        state = start_stack(ports, binaries)
    except LabError:
        return 1
    print_summary(state)
    return 0


def cmd_down() -> int:
    state = load_state()
    if state is None:
        log("Lab stack is not running; nothing to stop.")
        return 0
    stop_all(state)
    log("Lab stack is down.")
    return 0


def cmd_status() -> int:
    state = load_state()
    if state is None:
        print(f"Lab stack is not running (no state file at {state_path()}).")
        return 1

    ports = state["ports"]
    urls = urls_for(ports)
    running = running_processes(state)
    all_up = True
    for key in START_ORDER:
        process = state["processes"].get(key)
        if not running[key]:
            description = "not running"
            all_up = False
        elif not is_ready(readiness_url(key, urls)):
            description = f"running (pid {process['pid']}) but not ready"
            all_up = False
        else:
            description = f"running (pid {process['pid']}), ready"
        print(f"{DISPLAY_NAMES[key] + ':':14} {description}  {urls[key]}")

    if port_is_free(ports["down_target"]):
        print(f"{'Down target:':14} nothing listens on {HOST}:{ports['down_target']}, as intended")
    else:
        print(f"{'Down target:':14} something listens on {HOST}:{ports['down_target']}, so the target will not show as down")
    print(f"{'Logs and data:':14} {state['run_dir']}")
    print(env_lines(ports))
    return 0 if all_up else 1


def cmd_env() -> int:
    state = load_state()
    if state is not None:
        ports = state["ports"]
    else:
        log("Lab stack is not running; printing the URLs it would use. Start it with: python3 lab/stack.py up")
        ports = read_ports()
    print(env_lines(ports))
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env}


def main(argv: List[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        log(f"usage: {os.path.basename(argv[0])} {{{'|'.join(COMMANDS)}}}")
        return 2
    try:
        return COMMANDS[argv[1]]()
    except LabError as error:
        log(f"error: {error}")
        for path in error.log_paths:
            print_log_tail(path)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
