"""Starts the whole Rexian stack in the foreground on embedded defaults.

desk (tickets, dispatch, pages), the action server, the Rasa server and, when
speech/setup.sh has built it, the speech service, each in its own process group with
prefixed logs. Ctrl-C (or SIGTERM) stops every process it started.
Ports: DESK_PORT (8000), ACTIONS_PORT (5055), RASA_PORT (5005), SPEECH_PORT (8010).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from model import ensure_model  # noqa: E402

from bot.channels.wechat_credentials import credentials_for_run  # noqa: E402

BIN = Path(sys.executable).parent
SPEECH_PYTHON = ROOT / "speech" / ".venv" / "bin" / "python"
COLOURS = {
    "desk": "\033[36m",
    "actions": "\033[33m",
    "rasa": "\033[35m",
    "speech": "\033[34m",
    "stack": "\033[32m",
}
_print_lock = threading.Lock()


def say(name: str, line: str) -> None:
    colour = COLOURS.get(name, "") if sys.stdout.isatty() else ""
    reset = "\033[0m" if colour else ""
    with _print_lock:
        sys.stdout.write(f"{colour}{name:<8}|{reset} {line.rstrip()}\n")
        sys.stdout.flush()


def environment() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DESK_PORT", "8000")
    env.setdefault("ACTIONS_PORT", "5055")
    env.setdefault("RASA_PORT", "5005")
    env.setdefault("DESK_URL", f"http://127.0.0.1:{env['DESK_PORT']}")
    env.setdefault("RASA_URL", f"http://127.0.0.1:{env['RASA_PORT']}")
    env.setdefault("SPEECH_PORT", "8010")
    if speech_ready():  # desk (web chat voice), Rasa (WeChat voice, voice channel) use it
        env.setdefault("SPEECH_URL", f"http://127.0.0.1:{env['SPEECH_PORT']}")
        env.setdefault("SPEECH_RASA_URL", env["RASA_URL"])
    # Rasa posts conversation events to desk with this token (a fresh one per start).
    env.setdefault("DESK_EVENTS_TOKEN", secrets.token_urlsafe(24))
    (ROOT / "var").mkdir(exist_ok=True)
    env.setdefault("RASA_TRACKER_DB", str(ROOT / "var" / "rasa_tracker.db"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    return env


def commands(env: Dict[str, str], model: Path) -> Dict[str, List[str]]:
    rasa = str(BIN / "rasa")
    found = {
        "desk": [sys.executable, "-m", "desk"],
        "actions": [rasa, "run", "actions", "--actions", "actions", "--port", env["ACTIONS_PORT"]],
        "rasa": [
            rasa,
            "run",
            "--model",
            str(model),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            str(credentials_for_run(ROOT / "credentials.yml", env, ROOT / "var")),
            "--port",
            env["RASA_PORT"],
            "--enable-api",
            "--cors",
            "*",
        ],
    }
    if "speech" in health_urls(env):  # its own Python 3.11 environment (speech/setup.sh)
        found["speech"] = [str(SPEECH_PYTHON), "-m", "rexian_speech"]
    return found


def speech_ready() -> bool:
    """speech/setup.sh has built the speech environment and its offline model."""
    return SPEECH_PYTHON.exists() and (ROOT / "speech" / ".cache" / "whisper-base").is_dir()


def health_urls(env: Dict[str, str]) -> Dict[str, str]:
    urls = {
        "desk": f"http://127.0.0.1:{env['DESK_PORT']}/health",
        "actions": f"http://127.0.0.1:{env['ACTIONS_PORT']}/health",
        "rasa": f"http://127.0.0.1:{env['RASA_PORT']}/status",
    }
    if env.get("SPEECH_URL", "").startswith("http://127.0.0.1"):
        urls["speech"] = f"{env['SPEECH_URL']}/health"
    return urls


class Stack:
    def __init__(self) -> None:
        self.processes: Dict[str, subprocess.Popen] = {}
        self.stopping = False

    def start(self, name: str, command: List[str], env: Dict[str, str]) -> None:
        process = subprocess.Popen(
            command,
            cwd=ROOT / "speech" if name == "speech" else ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        self.processes[name] = process
        threading.Thread(target=self._pump, args=(name, process), daemon=True).start()
        say("stack", f"started {name} (pid {process.pid})")

    @staticmethod
    def _pump(name: str, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            say(name, line)

    def exited(self) -> Optional[str]:
        return next((n for n, p in self.processes.items() if p.poll() is not None), None)

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for name, process in self.processes.items():
            if process.poll() is None:
                say("stack", f"stopping {name}")
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for process in self.processes.values():  # children the services may have left
            _signal_group(process, signal.SIGKILL)
        say("stack", "all processes stopped")


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def promoted_model(env: Dict[str, str], built: Path) -> Optional[Path]:
    """The model an admin promoted (or rolled back to) on desk's admin page, if it should run.

    It wins over the model built from the files unless the files changed after the promotion
    (the build is newer), so a restart neither undoes a promotion nor hides new data.
    """
    try:
        found = subprocess.run(
            [sys.executable, "-m", "desk.admin", "active", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if found.returncode != 0 or not found.stdout.strip():
        return None
    try:
        active = json.loads(found.stdout.strip().splitlines()[-1])
        path = Path(active["path"])
        promoted = datetime.fromisoformat(active["promoted_at"]).replace(tzinfo=timezone.utc).timestamp()
    except (ValueError, KeyError, TypeError):
        return None
    if not path.exists() or path.resolve() == built.resolve() or built.stat().st_mtime > promoted:
        return None
    return path


def main() -> int:
    model = ensure_model()
    env = environment()
    promoted = promoted_model(env, model)
    if promoted is not None:
        say("stack", f"using the model promoted on the admin page: {promoted.name}")
        model = promoted
    stack = Stack()

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Install for SIGINT too: a shell starts background jobs with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        for name, command in commands(env, model).items():
            stack.start(name, command, env)
        pending = health_urls(env)
        started = time.monotonic()
        while True:
            crashed = stack.exited()
            if crashed:
                say("stack", f"{crashed} exited with code {stack.processes[crashed].returncode}; stopping")
                return 1
            for name, url in list(pending.items()):
                if _healthy(url):
                    del pending[name]
                    say("stack", f"{name} ready at {url.rsplit('/', 1)[0]}")
                    if not pending:
                        say(
                            "stack",
                            f"ready in {time.monotonic() - started:.0f}s: chat with "
                            f"POST http://127.0.0.1:{env['RASA_PORT']}/webhooks/rest/webhook; Ctrl-C stops",
                        )
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
