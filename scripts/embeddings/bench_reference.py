#!/usr/bin/env python3
"""The reference's figures for Benchmarks/bench-embed.sh: sentence-transformers (PyTorch, CPU) on the same
texts as the Swift benchmark, latency on one thread and batched throughput on one and two threads.

Usage: python3 scripts/embeddings/bench_reference.py TEXTS_JSON [ITERATIONS]
"""
import json, pathlib, resource, sys, time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import reference_model  # noqa: E402
import torch  # noqa: E402

texts = json.load(open(sys.argv[1], encoding="utf-8"))
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 300
engine = "sentence-transformers"


def row(metric, value):
    print(f"| {engine:<26} | {metric:<60} | {value:<16} |", flush=True)


def latency(model, text):
    for _ in range(20):
        model.encode([text])
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        model.encode([text])
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    pick = lambda p: samples[min(len(samples) - 1, round((len(samples) - 1) * p))]
    return pick(0.5), pick(0.99)


start = time.perf_counter()
model = reference_model.load()
row("model load", f"{(time.perf_counter() - start) * 1000:.1f} ms")
torch.set_num_threads(1)
with torch.inference_mode():
    for label, key in (("16 tokens", "short"), ("128 tokens", "long")):
        p50, p99 = latency(model, texts[key])
        row(f"latency {label}, 1 thread, p50", f"{p50:.2f} ms")
        row(f"latency {label}, 1 thread, p99", f"{p99:.2f} ms")
    words = texts["short"].split(" ")[:-1]
    batch = [" ".join(words + [str(i % 10)]) for i in range(texts["throughput_texts"])]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        model.encode(batch[:64], batch_size=32)
        best = 0.0
        for _ in range(3):
            start = time.perf_counter()
            model.encode(batch, batch_size=32)
            best = max(best, len(batch) / (time.perf_counter() - start))
        row(f"throughput 16 tokens, {threads} thread{'s' if threads > 1 else ''}, batched", f"{best:.0f} texts/s")
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
row("resident memory now (VmRSS)", f"{int(status['VmRSS'].split()[0]) / 1024:.1f} MB")
row("resident memory peak (VmHWM)", f"{int(status['VmHWM'].split()[0]) / 1024:.1f} MB")
