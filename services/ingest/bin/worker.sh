#!/usr/bin/env bash
# Starts one ingest worker (services/ingest/src/main.ts) with the Node flags it is meant to
# run with. Every launcher goes through here (npm start, docker compose, the tests that
# spawn workers, the bench), so the flags live in one place. Arguments are extra Node
# flags (the bench passes --cpu-prof). `exec` keeps the pid: signals and CPU accounting
# reach the worker itself.
#
# --max-semi-space-size=64 (MiB; V8's default is 16 on 64-bit): a batch's decoded events,
# claims and rows stay alive from the fetch until the batch is applied (its rows until the
# flush), so a small young generation promotes much of them to the old generation, where
# they cost marking and compaction. A larger one lets more of it die young; the profile's
# GC share and CPU per event with and without are in docs/benchmarks.md. Cost: up to
# 3 x 64 MiB of young generation (both semi-spaces and the large-object space) per worker.
set -euo pipefail
cd "$(dirname "$0")/../../.."
exec node --max-semi-space-size=64 "$@" --import tsx services/ingest/src/main.ts
