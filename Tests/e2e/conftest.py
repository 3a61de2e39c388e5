"""Starts the real binaries (qwen-emulator, then airlock in front of it) for the end-to-end tests."""
import contextlib
import os
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AIRLOCK_BIN_DIR", os.path.join(ROOT, ".build", "debug"))
API_KEY = "sk-e2e-secret-key-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


class Stack:
    def __init__(self, tmp):
        # A real Redis for the cache and the fleet stats.
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.emulator_port = free_port()
        self.airlock_port = free_port()
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}/compatible-mode/v1"
        self.airlock_url = f"http://127.0.0.1:{self.airlock_port}/v1"
        self.log_path = os.path.join(tmp, "airlock.log")
        self.emulator = subprocess.Popen(
            [os.path.join(BIN, "qwen-emulator"), "--listen", f"127.0.0.1:{self.emulator_port}",
             "--tokens-per-second", "400"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(self.emulator_url + "/models")
        env = dict(os.environ, AIRLOCK_LISTEN=f"127.0.0.1:{self.airlock_port}",
                   AIRLOCK_UPSTREAM_URL=self.emulator_url, DASHSCOPE_API_KEY=API_KEY,
                   AIRLOCK_UPSTREAM_FORWARD_HEADERS="x-dashscope-,x-emulator-",
                   AIRLOCK_UPSTREAM_FIRST_BYTE_TIMEOUT_MS="3000", AIRLOCK_UPSTREAM_BREAKER_FAILURES="1000",
                   AIRLOCK_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
                   AIRLOCK_MODEL_DIR=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"),
                   AIRLOCK_RULES_NER_MODEL_DIR=os.path.join(ROOT, "models", "lac-2.1.2"),
                   AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR=os.path.join(ROOT, "models", "english-ner"),
                   AIRLOCK_RULES_DIR=os.path.join(ROOT, "rules"),
                   AIRLOCK_PRICING_FILE=os.path.join(ROOT, "prices", "qwen.yaml"),
                   AIRLOCK_PRICING_REGION="international")
        env.pop("AIRLOCK_CONFIG", None)
        self.log = open(self.log_path, "w")
        self.airlock = subprocess.Popen([os.path.join(BIN, "airlock"), "serve"], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)
        wait_http(f"http://127.0.0.1:{self.airlock_port}/healthz")

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        for p in (self.airlock, self.emulator, self.redis):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    s = Stack(str(tmp_path_factory.mktemp("airlock")))
    yield s
    s.stop()


@contextlib.contextmanager
def fleet_of_two(stack, tmp_path, rules_dir, **extra_env):
    """Two `airlock serve` processes on the session's emulator sharing one fresh Redis; yields (ports, redis_port)."""
    redis_port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes, ports = [redis], []
    try:
        for index in range(2):
            port = free_port()
            env = dict(os.environ, AIRLOCK_LISTEN=f"127.0.0.1:{port}", AIRLOCK_UPSTREAM_URL=stack.emulator_url,
                       DASHSCOPE_API_KEY=API_KEY, AIRLOCK_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                       AIRLOCK_MODEL_DIR=os.path.join(ROOT, "models", "all-MiniLM-L6-v2"),
                   AIRLOCK_RULES_NER_MODEL_DIR=os.path.join(ROOT, "models", "lac-2.1.2"),
                   AIRLOCK_RULES_NER_ENGLISH_MODEL_DIR=os.path.join(ROOT, "models", "english-ner"),
                       AIRLOCK_RULES_DIR=str(rules_dir), AIRLOCK_UPSTREAM_RETRIES="0", **extra_env)
            env.pop("AIRLOCK_CONFIG", None)
            log = open(tmp_path / f"airlock-{index}.log", "w")
            processes.append(subprocess.Popen([os.path.join(BIN, "airlock"), "serve"], env=env, cwd=str(tmp_path),
                                              stdout=log, stderr=subprocess.STDOUT))
            ports.append(port)
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        yield ports, redis_port
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def cache_entries(redis_port):
    """How many answers the cache in this Redis holds."""
    out = subprocess.run(["redis-cli", "-p", str(redis_port), "--scan", "--pattern", "airlock:{*}:e:*"],
                         capture_output=True, text=True, timeout=10).stdout
    return len([line for line in out.splitlines() if line.strip()])


def wait_stored(redis_port, count):
    """Waits (up to 15 s) until the cache holds `count` answers."""
    deadline = time.time() + 15
    while cache_entries(redis_port) < count and time.time() < deadline:
        time.sleep(0.05)
    assert cache_entries(redis_port) >= count
