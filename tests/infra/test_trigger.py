"""scripts/trigger: one collection now, here against the broker (summary on stdout; a live
progress bar only on a terminal), or by invoking a Lambda function by name (moto's server:
a name that does not exist fails with a clear message)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path

from handler.stores.local import LocalStore
from tests.integration.test_collect import log_lines
from tests.support import runs
from tests.support.reconcile import committed, produce, reconcile, stored_records

TRIGGER = Path(__file__).resolve().parents[2] / "scripts" / "trigger"


def settings(bootstrap: str, topic: str, tmp_path: Path) -> dict[str, str]:
    return runs.environment(
        bootstrap_servers=bootstrap,
        group_id=f"trigger-{topic}",
        topics=topic,
        destination=str(tmp_path / "out"),
        max_object_records=500,
    )


def test_local_run_prints_the_summary_and_passes_logs_through(
    topic_factory, producer, bootstrap, admin, tmp_path
) -> None:
    topic = topic_factory(partitions=2)
    produced = produce(producer, topic, log_lines(3_000, 2))

    first = subprocess.run(
        [str(TRIGGER), "--max-records", "1000", "--topics", topic],
        env=settings(bootstrap, topic, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    rest = subprocess.run(
        [str(TRIGGER)],
        env=settings(bootstrap, topic, tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["records"] == 1000 and summary["stop_reason"] == "max_records"
    logs = [json.loads(line) for line in first.stderr.splitlines()]
    assert [e for e in logs if e["message"] == "stored object"], "JSON logs, no progress bar"
    assert "\r" not in first.stderr
    assert rest.returncode == 0 and json.loads(rest.stdout)["records"] == 2000
    reconcile(produced, stored_records(LocalStore(tmp_path / "out")))
    assert committed(admin, f"trigger-{topic}") == {(topic, 0): 1500, (topic, 1): 1500}


def test_on_a_terminal_a_progress_bar_counts_stored_records_against_the_lag(
    topic_factory, producer, bootstrap, tmp_path
) -> None:
    topic = topic_factory(partitions=2)
    produce(producer, topic, log_lines(6_000, 2))
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(TRIGGER), "--max-seconds", "60"],
        env=settings(bootstrap, topic, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    stdout, _ = process.communicate(timeout=120)
    os.close(controller)

    assert process.returncode == 0
    assert json.loads(stdout)["records"] == 6000
    text = screen.decode()
    frames = [frame for frame in re.split(r"\r\x1b\[K|\n", text) if frame.strip()]
    assert frames[-1].startswith("[########################] 100%"), frames[-1]
    assert "6,000 / 6,000 records" in frames[-1]
    assert re.search(r"[\d,]+/s", frames[-1]) and "left" in frames[-1]
    progress = [int(m.group(1).replace(",", "")) for m in re.finditer(r"([\d,]+) / 6,000", text)]
    assert progress == sorted(progress) and progress[0] < 6000, "it moved while running"
    assert '"message"' not in text, "no raw JSON logs on the terminal"


def test_invoking_a_lambda_function_that_does_not_exist_says_so(s3_server, tmp_path) -> None:
    env = {
        **runs.environment(),
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [str(TRIGGER), "--function", "kafka-beat-no-such-function", "--max-seconds", "60"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        "trigger: there is no Lambda function 'kafka-beat-no-such-function' in us-east-1"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
