# Airlock — every set-up step an operator or CI needs. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := libcurl4-openssl-dev libhiredis-dev libpcre2-dev libopenblas-dev redis-server wrk curl prometheus \
	python3-yaml python3-numpy wamerican
SWIFT ?= swift
RELEASE_BIN := .build/release

.PHONY: help deps models redis8 build run test test-swift test-e2e bench-proxy bench-ttfb bench-embed clean

help:
	@echo "make run          install what is missing, fetch the model, start Redis (and qwen-emulator without a key), serve"
	@echo "make test         install what is missing, fetch the model, build and run every test"
	@echo "make bench-proxy  wrk against qwen-emulator directly and through Airlock (rules off, regex only, default)"
	@echo "make bench-ttfb   streamed time to first byte and first answer text, inspection on versus off"
	@echo "make bench-embed  embedding latency, throughput and memory"

deps:
	@bash scripts/install-deps.sh $(APT_PACKAGES)

models:
	@bash scripts/fetch-model.sh
	@bash scripts/fetch-e5.sh
	@bash scripts/fetch-lac.sh
	@bash scripts/fetch-english-ner.sh

# Redis 8 (vector sets) for the `redis` semantic-index backend's tests: pinned and sha256-checked, into .tools/.
redis8:
	@bash scripts/fetch-redis8.sh

build: deps
	$(SWIFT) build -c release --product airlock
	$(SWIFT) build -c release --product qwen-emulator

run: deps models build
	@bash scripts/run.sh

test: deps models redis8
	$(MAKE) test-swift
	$(MAKE) test-e2e

test-swift:
	$(SWIFT) build --build-tests
	# Every suite in one parallel run: no test asserts a wall-clock bound, so none depends on what runs beside it.
	$(SWIFT) test --skip-build

test-e2e:
	$(SWIFT) build --product airlock
	$(SWIFT) build --product qwen-emulator
	.build/debug/airlock rules check rules
	.build/debug/airlock rules test rules
	python3 -m pytest -q Tests/e2e

bench-proxy: deps models build
	@bash Benchmarks/bench-proxy.sh

bench-ttfb: deps models build
	@bash Benchmarks/bench-ttfb.sh

bench-embed: deps models
	@bash Benchmarks/bench-embed.sh

clean:
	rm -rf .build
