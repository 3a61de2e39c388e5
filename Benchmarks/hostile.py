#!/usr/bin/env python3
"""Hostile traffic against a running Airlock, with /healthz polled throughout (used by bench-hostile.sh and soak.sh).

  hostile.py burst URL          1 MiB prompt of e-mail addresses (alone, then 8 at once), three ~50 MB streams
  hostile.py soak URL SECONDS PID   mixed normal and hostile traffic; RSS of PID sampled throughout

Figures only: what a run measured, printed; the shell scripts decide nothing from timings.
"""
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
import urllib.parse


class HealthPoller:
    """GET /healthz on a new connection every `interval` seconds, as a kubelet probe does; keeps every latency."""

    def __init__(self, base, interval=0.02):
        self.base = urllib.parse.urlsplit(base)
        self.interval = interval
        self.latencies = []
        self.failures = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30)
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status != 200:
                    self.failures += 1
            except OSError:
                self.failures += 1
            self.latencies.append(time.monotonic() - started)
            self.stopping.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()

    def summary(self):
        values = sorted(self.latencies) or [0.0]
        over = sum(1 for value in values if value > 0.1)
        return (f"/healthz: {len(values)} polls, p50 {values[len(values) // 2] * 1000:.1f} ms, "
                f"max {values[-1] * 1000:.1f} ms, {over} over 100 ms, {self.failures} failed")


def post(base, body, stream=False, timeout=600):
    """POSTs a chat request; returns (status, bytes received, seconds)."""
    parts = urllib.parse.urlsplit(base)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    payload = json.dumps(body).encode()
    connection.request("POST", "/v1/chat/completions", body=payload,
                       headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
    response = connection.getresponse()
    received = 0
    while True:
        chunk = response.read(1 << 16)
        if not chunk:
            break
        received += len(chunk)
    connection.close()
    return response.status, received, time.monotonic() - started


def email_prompt(size):
    words = []
    total = 0
    index = 0
    while total < size:
        word = f"user{index}@example{index % 97}.com"
        words.append(word)
        total += len(word) + 1
        index += 1
    return " ".join(words)[:size], index


def chat(text, stream=False, max_tokens=24):
    body = {"model": "qwen-plus", "messages": [{"role": "user", "content": text}], "stream": stream}
    if max_tokens:
        body["max_tokens"] = max_tokens
    return body


def together(count, call):
    """Runs `call` on `count` threads at once; returns their results and the seconds until the last ended."""
    results = []
    lock = threading.Lock()

    def one():
        outcome = call()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - started


def burst(base):
    prompt, count = email_prompt(1 << 20)
    print(f"prompt: {len(prompt.encode())} bytes, {count} e-mail addresses")
    with HealthPoller(base) as health:
        status, _, seconds = post(base, chat(prompt))
    print(f"one 1 MiB prompt: status {status}, {seconds * 1000:.0f} ms end to end (inspection, upstream, answer)")
    print("  " + health.summary())

    with HealthPoller(base) as health:
        results, elapsed = together(8, lambda: post(base, chat(prompt)))
    statuses = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    slowest = max(seconds for _, _, seconds in results)
    print(f"8 at once: statuses {dict(sorted(statuses.items()))}, all done in {elapsed * 1000:.0f} ms "
          f"(slowest {slowest * 1000:.0f} ms)")
    print("  " + health.summary())

    with HealthPoller(base) as health:
        sizes, elapsed = together(3, lambda: post(base, chat("Tell me a long story.", stream=True, max_tokens=None)))
    total = sum(size for _, size, _ in sizes)
    print(f"3 streams: {[round(size / 1e6, 1) for _, size, _ in sizes]} MB, statuses {[s for s, _, _ in sizes]}, "
          f"{elapsed:.1f} s, {total / 1e6 / elapsed:.1f} MB/s together")
    print("  " + health.summary())


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def hostile_bodies():
    """Requests that must cost bounded work and be refused or answered cleanly."""
    return [
        ("emails-256k", lambda: chat(email_prompt(256 * 1024)[0])),
        ("long-model", lambda: {"model": "q" * 5000, "messages": [{"role": "user", "content": "hi"}]}),
        ("newline-model", lambda: {"model": "qwen\nforged log line", "messages": [{"role": "user", "content": "hi"}]}),
        ("many-messages", lambda: {"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}] * 5000}),
        ("deep-json", lambda: None),
        ("fresh-namespace", lambda: dict(chat(f"What is the capital of France? {random.random()}"),
                                         seed=random.randint(0, 1 << 40), temperature=random.random())),
        ("upstream-garbage", lambda: chat("[[fault:malformed_json]] hello")),
        ("cut-stream", lambda: chat("[[fault:disconnect_midstream]] hello", stream=True)),
    ]


def raw_post(base, payload):
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    connection.request("POST", "/v1/chat/completions", body=payload,
                       headers={"Content-Type": "application/json", "Authorization": "Bearer bench"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def slow_client(base):
    """Opens a connection, sends half a request head and goes quiet (the idle timeout must close it)."""
    parts = urllib.parse.urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=120)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    try:
        sock.recv(1)
    except OSError:
        pass
    sock.close()


def soak(base, seconds, pid):
    normal = [chat(q) for q in ["What is a cache?", "Explain TCP slow start.", "你好，请介绍一下杭州。",
                                "Summarise: the meeting moved to Tuesday."]]
    hostile = hostile_bodies()
    weights = {name: 1.0 for name, _ in hostile}
    weights.update({"upstream-garbage": 0.03, "cut-stream": 0.03})
    counts = {}
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def count(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1

    def worker(seed):
        generator = random.Random(seed)
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                if generator.random() < 0.6:
                    # Half repeats (cache hits), half new questions (upstream, then stored).
                    body = generator.choice(normal)
                    if generator.random() < 0.5:
                        text = body["messages"][0]["content"] + f" (#{generator.randrange(1 << 30)})"
                        body = dict(body, messages=[{"role": "user", "content": text}])
                    stream = generator.random() < 0.3
                    status, _, _ = post(base, dict(body, stream=stream))
                    count(f"normal {status}")
                else:
                    # Upstream faults are rare, as in life: often enough to be seen, not so often that the circuit
                    # breaker stays open and the soak measures nothing but 503s.
                    name, make = generator.choices(hostile, weights=[weights[n] for n, _ in hostile])[0]
                    if name == "deep-json":
                        status = raw_post(base, b'{"model":"q","messages":' + b"[" * 100000 + b"]" * 100000 + b"}")
                    else:
                        body = make()
                        status, _, _ = post(base, body, stream=body.get("stream", False))
                    count(f"{name} {status}")
            except (OSError, http.client.HTTPException) as error:
                count(f"error {type(error).__name__}")

    def slow_worker():
        while not stop.is_set() and time.monotonic() < deadline:
            slow_client(base)
            count("slow-client closed")

    samples = []
    with HealthPoller(base, interval=0.1) as health:
        threads = [threading.Thread(target=worker, args=(index,)) for index in range(6)]
        threads.append(threading.Thread(target=slow_worker))
        for thread in threads:
            thread.start()
        start = time.monotonic()
        while time.monotonic() < deadline:
            try:
                samples.append((time.monotonic() - start, rss_mb(pid)))
            except FileNotFoundError:
                print("the Airlock process is gone: it crashed")
                stop.set()
                break
            time.sleep(5)
        stop.set()
        for thread in threads:
            thread.join()
    alive = os.path.exists(f"/proc/{pid}")
    warm = next((rss for at, rss in samples if at >= 60), samples[0][1] if samples else 0)
    end = rss_mb(pid) if alive else 0
    print(f"soak: {seconds} s, requests by kind and status:")
    for key in sorted(counts):
        print(f"  {key}: {counts[key]}")
    print(f"RSS after warm-up (60 s): {warm:.0f} MB; at the end: {end:.0f} MB; growth {end - warm:+.0f} MB; "
          f"peak {max((rss for _, rss in samples), default=0):.0f} MB")
    print(f"process alive at the end: {alive}")
    print(health.summary())
    return 0 if alive else 1


if __name__ == "__main__":
    if sys.argv[1] == "burst":
        burst(sys.argv[2])
    elif sys.argv[1] == "soak":
        sys.exit(soak(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        sys.exit(__doc__)
