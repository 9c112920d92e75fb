"""Every scheduler runs the same command the tests run, `python -m handler`: the image's CMD,
the CronJob's command, the systemd service's ExecStart and the crontab line. Each is read from
its file and run for real against the broker (only the interpreter's and the files' paths are
mapped to this machine)."""

from __future__ import annotations

import configparser
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.integration.test_collect import log_lines
from tests.support import runs
from tests.support.reconcile import produce

INFRA = Path(__file__).resolve().parents[2] / "infra"
TESTED_COMMAND = ["-m", "handler"]  # after the interpreter, as tests/support/runs.py starts it


def dockerfile_command() -> list[str]:
    line = next(
        line
        for line in (INFRA / "k8s" / "Dockerfile").read_text().splitlines()
        if line.startswith("CMD ")
    )
    return list(json.loads(line.removeprefix("CMD ")))


def cronjob_command() -> list[str]:
    cronjob = yaml.safe_load((INFRA / "k8s" / "cronjob.yaml").read_text())
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return list(container["command"])


def systemd_command() -> list[str]:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((INFRA / "vm" / "kafka-beat.service").read_text())
    return shlex.split(unit["Service"]["ExecStart"])


def cron_line() -> str:
    lines = (INFRA / "vm" / "kafka-beat.cron").read_text().splitlines()
    (line,) = [line for line in lines if line.strip() and not line.startswith("#")]
    return line


def test_image_cronjob_and_timer_start_the_tested_command() -> None:
    for command in (dockerfile_command(), cronjob_command(), systemd_command()):
        assert Path(command[0]).name == "python" and command[1:] == TESTED_COMMAND
    assert cronjob_command() == dockerfile_command()
    assert f"python {' '.join(TESTED_COMMAND)}'" in cron_line()
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read_string((INFRA / "vm" / "kafka-beat.timer").read_text())
    assert timer["Timer"]["Unit"] == "kafka-beat.service"
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"


def test_the_service_gives_a_stopped_run_its_grace_and_ends_before_the_next_tick() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((INFRA / "vm" / "kafka-beat.service").read_text())
    service = unit["Service"]
    env = dict(
        line.split("=", 1)
        for line in (INFRA / "vm" / "kafka-beat.env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    grace = float(env["KAFKA_BEAT_STOP_GRACE_SECONDS"])
    assert float(service["TimeoutStopSec"]) >= grace + 5, "SIGKILL only after the grace"
    assert "143" in service["SuccessExitStatus"].split(), "a clean stop is not a failed unit"
    assert float(service["TimeoutStartSec"]) >= float(env["KAFKA_BEAT_MAX_SECONDS"]) + 120
    assert float(service["TimeoutStartSec"]) + float(service["TimeoutStopSec"]) < 15 * 60


@pytest.fixture
def backlog(topic_factory, producer, bootstrap):
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(300, 2))

    def settings(tmp_path: Path, name: str) -> dict[str, str]:
        return {
            "bootstrap_servers": bootstrap,
            "group_id": f"{name}-{topic}",
            "topics": topic,
            "destination": str(tmp_path / "out"),
        }

    return settings


@pytest.mark.parametrize("name", ["image", "cronjob", "systemd"])
def test_the_command_collects(name, backlog, tmp_path) -> None:
    command = {"image": dockerfile_command, "cronjob": cronjob_command}.get(name, systemd_command)()
    result = subprocess.run(
        [sys.executable, *command[1:]],
        env=runs.environment(**backlog(tmp_path, name)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "ok" and summary["records"] == 300


def test_the_crontab_line_collects(backlog, tmp_path) -> None:
    minute, hour, day, month, weekday, user, command = cron_line().split(maxsplit=6)
    assert (minute, hour, day, month, weekday, user) == ("*/15", "*", "*", "*", "*", "kafka-beat")
    env_file = tmp_path / "kafka-beat.env"
    env_file.write_text(
        "".join(f"KAFKA_BEAT_{k.upper()}={v}\n" for k, v in backlog(tmp_path, "cron").items())
    )
    (tmp_path / "work").mkdir()
    (tmp_path / "log").mkdir()
    for path, here in {
        "/etc/kafka-beat/kafka-beat.env": env_file,
        "/opt/kafka-beat/.venv/bin/python": sys.executable,
        "/var/lib/kafka-beat": tmp_path / "work",
        "/var/log/kafka-beat": tmp_path / "log",
        "/tmp/kafka-beat.lock": tmp_path / "lock",
    }.items():
        assert path in command
        command = command.replace(path, str(here))
    result = subprocess.run(["sh", "-c", command], env=runs.environment(), timeout=120, check=False)
    assert result.returncode == 0, (tmp_path / "log" / "run.log").read_text()[-3000:]
    summary = json.loads((tmp_path / "log" / "summary.jsonl").read_text().splitlines()[-1])
    assert summary["status"] == "ok" and summary["records"] == 300


def test_systemd_units_verify(tmp_path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    service = (INFRA / "vm" / "kafka-beat.service").read_text()
    # verify checks that ExecStart's program exists; the unit's path exists only on the VM.
    (tmp_path / "kafka-beat.service").write_text(
        service.replace("/opt/kafka-beat/.venv/bin/python", sys.executable)
    )
    shutil.copy(INFRA / "vm" / "kafka-beat.timer", tmp_path / "kafka-beat.timer")
    result = subprocess.run(
        [
            analyze,
            "verify",
            str(tmp_path / "kafka-beat.service"),
            str(tmp_path / "kafka-beat.timer"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
