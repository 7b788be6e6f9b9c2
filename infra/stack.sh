#!/usr/bin/env bash
# infra/stack.sh — the LiveTally backing services on this machine, without Docker.
#
#   bash infra/stack.sh up       start Kafka (KRaft, from Maven Central jars), Redis and the
#                                ClickHouse stand-in (chDB server); idempotent
#   bash infra/stack.sh down     stop them (chdb server, Kafka, Redis), data kept
#   bash infra/stack.sh status   up/down of each service (exit 1 if any is down)
#   bash infra/stack.sh reset    down + delete all data (.data/)
#
# Everything lives under .data/ at the repo root (git-ignored), or under LT_DATA_DIR:
#   .data/kafka .data/redis .data/clickhouse .data/logs/*.log .data/pids/*.pid .data/stack.env
#   .data/clickhouse.credentials   the stand-in's two accounts, generated on the first up (mode 0600)
# Only loopback addresses are used.
#
# Environment:
#   KAFKA_BROKERS / REDIS_URL / CLICKHOUSE_URL   if set, that service is NOT started, only checked
#                                                (Kafka: topics are still ensured on it; an external
#                                                ClickHouse keeps the CLICKHOUSE_USER/PASSWORD you set)
#   LT_DATA_DIR (<repo>/.data)  a second stack needs its own, and its own ports:
#   LT_KAFKA_PORT (9092)  LT_KAFKA_CONTROLLER_PORT (LT_KAFKA_PORT+1)
#   LT_REDIS_PORT (6379)  LT_CLICKHOUSE_PORT (8123)  LT_KAFKA_HEAP (768m; 512m per broker of three)
#   LT_CHDB_ENTRY (packages/chdb-server/src/main.ts)
#   LT_REDIS_LOAD_WAIT_S (600)  how long start-up waits for a Redis still loading a large
#       dataset (it answers LOADING), beyond the 30 s any Redis gets to answer PING
#   LT_CLICKHOUSE_NICE (10)  CPU niceness of the stand-in, 0–19: on one machine its inserts
#       are buffered background work, so the live path (workers, Redis, gateway) comes first;
#       0 shares the CPU evenly (docs/benchmarks.md has the latency of both)
#   LT_KAFKA_BROKERS (1, or the count of the brokers running)  1 or 3 KRaft nodes (each broker
#       and controller). Three: broker n on LT_KAFKA_PORT+2(n-1), controller on
#       LT_KAFKA_CONTROLLER_PORT+2(n-1) (9092/9093, 9094/9095, 9096/9097), data in
#       .data/kafka-3/node-n, topics with replication factor 3 and min.insync.replicas=2,
#       KAFKA_BROKERS in stack.env naming all three. The one-broker data (.data/kafka) is
#       kept apart; switching modes needs a `down` first.
#   LT_REDIS (single, or the layout running)  single: one redis-server on LT_REDIS_PORT.
#       cluster: a Redis Cluster of three masters and three replicas, node n on
#       LT_REDIS_PORT+(n-1) (6379…6384; cluster bus +10000), data in .data/redis-cluster/node-n,
#       created once with `redis-cli --cluster create … --cluster-replicas 1`; stack.env
#       then also sets REDIS_CLUSTER_NODES (every node's host:port, comma-separated) and
#       REDIS_URL names node 1. Same settings as the single Redis (noeviction, append-only
#       file, Redis's listpack thresholds). Switching layouts needs a `down` first.
# .data/stack.env sets LT_STACK_MANAGED=1 next to the three URLs and the stand-in's
# credentials (CLICKHOUSE_USER/PASSWORD for services, CLICKHOUSE_SQL_USER/PASSWORD read-only);
# with it in the environment (i.e. after `source .data/stack.env`) a URL equal to our own
# local endpoint is taken as ours (started here), not as an external service.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${LT_DATA_DIR:-$ROOT/.data}"
[[ "$DATA" == /* ]] || DATA="$PWD/$DATA"
DATA="${DATA%/}"
[[ -n "$DATA" && "$DATA" != "$ROOT" && "$DATA" != "$HOME" ]] || { echo "stack.sh: ERROR: LT_DATA_DIR must be a folder of its own, got '${LT_DATA_DIR:-}'" >&2; exit 1; }
SHOWN="${DATA#"$ROOT"/}" # for messages: .data, or the absolute LT_DATA_DIR
LOGS="$DATA/logs"
PIDS="$DATA/pids"
ENV_FILE="$DATA/stack.env"
CH_CREDENTIALS="$DATA/clickhouse.credentials"

KAFKA_VERSION=3.9.1
KAFKA_DIR="$ROOT/infra/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_JAR="kafka_2.13-$KAFKA_VERSION.jar"
KAFKA_DATA="$DATA/kafka"

KAFKA_PORT="${LT_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${LT_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REDIS_PORT="${LT_REDIS_PORT:-6379}"
CH_PORT="${LT_CLICKHOUSE_PORT:-8123}"
CHDB_ENTRY="${LT_CHDB_ENTRY:-packages/chdb-server/src/main.ts}"
[[ "$CHDB_ENTRY" == /* ]] || CHDB_ENTRY="$ROOT/$CHDB_ENTRY"
REDIS_LOAD_WAIT_S="${LT_REDIS_LOAD_WAIT_S:-600}"
[[ "$REDIS_LOAD_WAIT_S" =~ ^[0-9]+$ ]] || { echo "stack.sh: ERROR: LT_REDIS_LOAD_WAIT_S must be a whole number of seconds, got '$REDIS_LOAD_WAIT_S'" >&2; exit 1; }
CH_NICE="${LT_CLICKHOUSE_NICE:-10}"
[[ "$CH_NICE" =~ ^[0-9]+$ && "$CH_NICE" -le 19 ]] || { echo "stack.sh: ERROR: LT_CLICKHOUSE_NICE must be a whole number from 0 to 19, got '$CH_NICE'" >&2; exit 1; }

# Kafka runs as 1 or 3 nodes (resolve_kafka_nodes, once the helpers exist); these are
# the client addresses of each layout.
LOCAL_KAFKA_1="127.0.0.1:$KAFKA_PORT"
LOCAL_KAFKA_3="127.0.0.1:$KAFKA_PORT,127.0.0.1:$((KAFKA_PORT + 2)),127.0.0.1:$((KAFKA_PORT + 4))"
LOCAL_REDIS="redis://127.0.0.1:$REDIS_PORT"
LOCAL_CH="http://127.0.0.1:$CH_PORT"

# External services: a URL in the environment means "use it, don't start ours",
# unless it came from our own stack.env.
EXT_KAFKA="${KAFKA_BROKERS:-}" EXT_REDIS="${REDIS_URL:-}" EXT_CH="${CLICKHOUSE_URL:-}"
REDIS_CLUSTER_NODES_ENV="${REDIS_CLUSTER_NODES:-}" # passed on with an external REDIS_URL
if [[ "${LT_STACK_MANAGED:-}" == 1 ]]; then
  [[ "$EXT_KAFKA" == "$LOCAL_KAFKA_1" || "$EXT_KAFKA" == "$LOCAL_KAFKA_3" ]] && EXT_KAFKA=""
  [[ "$EXT_REDIS" == "$LOCAL_REDIS" ]] && EXT_REDIS=""
  [[ "$EXT_CH" == "$LOCAL_CH" ]] && EXT_CH=""
fi

# process patterns (checked against /proc/PID/cmdline so a recycled pid is never taken for ours)
declare -A PATTERN=([redis]=redis-server [redis-1]=redis-server [redis-2]=redis-server [redis-3]=redis-server
  [redis-4]=redis-server [redis-5]=redis-server [redis-6]=redis-server [kafka]=kafka.Kafka [kafka-1]=kafka.Kafka [kafka-2]=kafka.Kafka [kafka-3]=kafka.Kafka [clickhouse]=node)

# ---------------------------------------------------------------------------- output / timing
T0=$(date +%s%N)
STEP=0
STEPS=7
since() { # t0_ns -> seconds since, one decimal
  local ds=$((($(date +%s%N) - $1) / 100000000))
  printf '%d.%ds' $((ds / 10)) $((ds % 10))
}
elapsed() { since "$T0"; }
step() { STEP=$((STEP + 1)); printf '[%d/%d +%s] %s\n' "$STEP" "$STEPS" "$(elapsed)" "$*"; }
info() { printf '        %s\n' "$*"; }
warn() { printf 'stack.sh: WARNING: %s\n' "$*" >&2; }
die() { printf 'stack.sh: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2154  # rc is assigned inside the trap
trap 'rc=$?; printf "stack.sh: failed (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

log_tail() { # name logfile [lines]
  local f="$2" n="${3:-40}"
  if [[ -s "$f" ]]; then
    printf -- '----- %s (this start, last %s lines at most) -----\n' "${f#"$ROOT"/}" "$n" >&2
    # only what was logged since our latest "===== stack.sh: starting" marker
    awk '/^===== stack.sh: starting/ { n = 0; delete l; next } { l[++n] = $0 } END { for (i = 1; i <= n; i++) print l[i] }' "$f" |
      tail -n "$n" >&2
    printf -- '-----\n' >&2
  else
    printf 'stack.sh: (%s: no log output in %s)\n' "$1" "${f#"$ROOT"/}" >&2
  fi
}
fail_service() { # name logfile message
  log_tail "$1" "$2"
  die "$1: $3"
}

# ---------------------------------------------------------------------------- helpers
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

pid_of() { [[ -s "$PIDS/$1.pid" ]] && tr -dc '0-9' <"$PIDS/$1.pid" || true; }

alive() { # pid — exists and is not a zombie (our daemons are reparented to pid 1, which may reap late)
  local st
  [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
  st="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ -n "$st" && "$st" != Z ]]
}

is_ours() { # name pid
  local pid="$2"
  alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "${PATTERN[$1]}"
}

running() { is_ours "$1" "$(pid_of "$1")"; }

APT_UPDATED=0
apt_install() { # package...
  if [[ $EUID -ne 0 ]]; then
    die "missing: $*. Install it first, e.g.: sudo apt-get update && sudo apt-get install -y $*"
  fi
  command -v apt-get >/dev/null || die "missing: $* (and no apt-get to install it with)"
  mkdir -p "$LOGS"
  info "installing $* with apt-get (log: $SHOWN/logs/apt.log)…"
  if [[ $APT_UPDATED == 0 ]]; then
    apt-get update >>"$LOGS/apt.log" 2>&1 || { log_tail apt "$LOGS/apt.log" 20; die "apt-get update failed"; }
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$LOGS/apt.log" 2>&1 ||
    { log_tail apt "$LOGS/apt.log" 20; die "apt-get install $* failed"; }
}

redis_ping() { # url-or-empty -> prints the reply
  local url="${1:-$LOCAL_REDIS}"
  if command -v redis-cli >/dev/null; then
    timeout 3 redis-cli -u "$url" ping 2>/dev/null || true
  else # raw RESP ping over /dev/tcp (no auth/TLS)
    local hp="${url#*://}"; hp="${hp##*@}"; hp="${hp%%/*}"
    timeout 3 bash -c "exec 3<>/dev/tcp/${hp%%:*}/${hp##*:}; printf 'PING\r\n' >&3; head -c 5 <&3" 2>/dev/null | tr -d '+\r\n' || true
  fi
}

ch_ping() { # url
  curl -fsS --max-time 3 "${1%/}/ping" 2>/dev/null || true
}

stop_service() { # name
  local name="$1" pid
  pid="$(pid_of "$name")"
  if ! is_ours "$name" "$pid"; then
    rm -f "$PIDS/$name.pid"
    printf '  %-11s not running\n' "$name"
    return 0
  fi
  local t target="$pid"
  t=$(date +%s%N)
  # our processes run in their own session/process group: signal the whole group
  [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] && target="-$pid"
  kill -TERM -- "$target" 2>/dev/null || true
  local i
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -KILL -- "$target" 2>/dev/null || true
    sleep 0.2
    printf '  %-11s killed (pid %s did not stop within 15s of SIGTERM)\n' "$name" "$pid"
  else
    printf '  %-11s stopped (pid %s, %s)\n' "$name" "$pid" "$(since "$t")"
  fi
  rm -f "$PIDS/$name.pid"
}

# Every broker of either layout at once: stopped one by one, the last ones of three would
# lose their controller quorum and wait out their controlled shutdown.
stop_kafka() { stop_all kafka kafka kafka-1 kafka-2 kafka-3; }

# stop_all <label> <name>…: stops every one of the named services that runs as ours, all at
# once, and forgets the pid files of the others; says "<label> not running" when none does.
stop_all() {
  local label="$1" name names=()
  shift
  for name in "$@"; do
    if is_ours "$name" "$(pid_of "$name")"; then names+=("$name"); else rm -f "$PIDS/$name.pid"; fi
  done
  if ((${#names[@]} == 0)); then
    printf '  %-11s not running\n' "$label"
    return 0
  fi
  for name in "${names[@]}"; do stop_service "$name" & done
  wait
}

lock() { # serialise up/down/reset (fd 9; every service we start gets 9>&- so it does not inherit the lock)
  mkdir -p "$DATA"
  exec 9>"$DATA/.lock"
  if ! flock -n 9; then
    echo "stack.sh: another stack.sh is running, waiting for it…"
    flock -w 600 9 || die "could not get the lock $DATA/.lock within 600s"
  fi
}

need_node_modules() {
  [[ -f "$ROOT/node_modules/kafkajs/package.json" && -f "$ROOT/node_modules/tsx/package.json" ]] ||
    die "node_modules is missing kafkajs/tsx: run 'npm ci' at the repo root first"
}

# ---------------------------------------------------------------------------- Kafka
kafka_jars() {
  if [[ -f "$KAFKA_LIBS/$KAFKA_JAR" ]]; then
    step "Kafka $KAFKA_VERSION jars: cached in infra/kafka/libs ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars)"
    return 0
  fi
  step "fetching Kafka $KAFKA_VERSION jars from Maven Central… (~20-30 s on a cold Maven cache)"
  command -v mvn >/dev/null || apt_install maven
  local tmp="$KAFKA_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_DIR/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$LOGS/maven.log" 2>&1; then
    rm -rf "$tmp"
    fail_service maven "$LOGS/maven.log" "fetching the Kafka jars failed"
  fi
  [[ -f "$tmp/$KAFKA_JAR" ]] || { rm -rf "$tmp"; die "maven did not produce $KAFKA_JAR"; }
  # complete set only: libs/ appears atomically, so "$KAFKA_JAR present" means "all jars present"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  info "$(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in infra/kafka/libs ($(du -sh "$KAFKA_LIBS" | cut -f1))"
}

# One node (kafka: .data/kafka, the layout of every earlier version) or three (kafka-1..3:
# .data/kafka-3/node-n, cluster id in .data/kafka-3/cluster.id); set by resolve_kafka_nodes.
KAFKA_NODES="" KAFKA_HEAP="" LOCAL_KAFKA=""

resolve_kafka_nodes() {
  local running_nodes=""
  if running kafka; then
    running_nodes=1
  elif running kafka-1 || running kafka-2 || running kafka-3; then
    running_nodes=3
  fi
  KAFKA_NODES="${LT_KAFKA_BROKERS:-${running_nodes:-1}}"
  [[ "$KAFKA_NODES" == 1 || "$KAFKA_NODES" == 3 ]] || die "LT_KAFKA_BROKERS must be 1 or 3, got '$KAFKA_NODES'"
  if [[ -n "$running_nodes" && "$running_nodes" != "$KAFKA_NODES" && "${1:-}" == up ]]; then
    die "kafka: this stack runs $running_nodes broker(s) but LT_KAFKA_BROKERS=$KAFKA_NODES; 'bash infra/stack.sh down' first (each layout keeps its own data)"
  fi
  if [[ $KAFKA_NODES == 1 ]]; then
    KAFKA_HEAP="${LT_KAFKA_HEAP:-768m}" LOCAL_KAFKA="$LOCAL_KAFKA_1"
  else
    KAFKA_HEAP="${LT_KAFKA_HEAP:-512m}" LOCAL_KAFKA="$LOCAL_KAFKA_3"
    local ports
    ports="$(for n in 1 2 3; do echo "$(node_port "$n")"; echo "$(node_controller_port "$n")"; done | sort -u | wc -l)"
    [[ "$ports" == 6 ]] ||
      die "kafka: three brokers use LT_KAFKA_PORT+0/2/4 and LT_KAFKA_CONTROLLER_PORT+0/2/4 ($KAFKA_PORT, $KAFKA_CONTROLLER_PORT): they overlap"
  fi
}

kafka_node_ids() { if [[ $KAFKA_NODES == 1 ]]; then echo 1; else echo 1 2 3; fi; }
node_name() { if [[ $KAFKA_NODES == 1 ]]; then echo kafka; else echo "kafka-$1"; fi; }
node_dir() { if [[ $KAFKA_NODES == 1 ]]; then echo "$KAFKA_DATA"; else echo "$DATA/kafka-3/node-$1"; fi; }
cluster_dir() { if [[ $KAFKA_NODES == 1 ]]; then echo "$KAFKA_DATA"; else echo "$DATA/kafka-3"; fi; }
node_port() { echo $((KAFKA_PORT + 2 * ($1 - 1))); }
node_controller_port() { echo $((KAFKA_CONTROLLER_PORT + 2 * ($1 - 1))); }
node_log() { echo "$LOGS/$(node_name "$1").log"; }

kafka_voters() {
  local n out=""
  for n in $(kafka_node_ids); do out+="${out:+,}$n@127.0.0.1:$(node_controller_port "$n")"; done
  echo "$out"
}

kafka_render_props() { # node
  local dir props
  dir="$(node_dir "$1")" props="$(node_dir "$1")/server.properties"
  mkdir -p "$dir/data"
  {
    sed -e "s|@NODE_ID@|$1|g" \
      -e "s|@KAFKA_PORT@|$(node_port "$1")|g" \
      -e "s|@CONTROLLER_PORT@|$(node_controller_port "$1")|g" \
      -e "s|@VOTERS@|$(kafka_voters)|g" \
      -e "s|@LOG_DIRS@|$dir/data|g" \
      "$KAFKA_DIR/server.properties.template"
    if [[ $KAFKA_NODES != 1 ]]; then
      printf '\n'
      cat "$KAFKA_DIR/cluster.properties"
    fi
  } >"$props.tmp"
  mv "$props.tmp" "$props"
}

kafka_java() { # args...
  java -Xmx256m -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" -cp "$KAFKA_LIBS/*" "$@"
}

kafka_format() {
  local n dir cluster_id_file unformatted=""
  cluster_id_file="$(cluster_dir)/cluster.id"
  for n in $(kafka_node_ids); do
    kafka_render_props "$n"
    dir="$(node_dir "$n")"
    if [[ -f "$dir/data/meta.properties" ]]; then
      [[ -s "$cluster_id_file" ]] || sed -n 's/^cluster\.id=//p' "$dir/data/meta.properties" >"$cluster_id_file"
    else
      unformatted+=" $n"
    fi
  done
  if [[ -z "$unformatted" ]]; then
    step "Kafka storage already formatted (cluster id $(cat "$cluster_id_file"))"
    return 0
  fi
  step "formatting Kafka storage (KRaft, once; node(s)$unformatted)…"
  if [[ ! -s "$cluster_id_file" ]]; then
    local uuid
    uuid="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log" | tr -d '\r\n')" || true
    [[ "$uuid" =~ ^[A-Za-z0-9_-]{22}$ ]] || fail_service kafka "$LOGS/kafka-format.log" "StorageTool random-uuid failed (got '$uuid')"
    printf '%s\n' "$uuid" >"$cluster_id_file"
  fi
  for n in $unformatted; do
    kafka_java kafka.tools.StorageTool format -t "$(cat "$cluster_id_file")" -c "$(node_dir "$n")/server.properties" \
      >>"$LOGS/kafka-format.log" 2>&1 || fail_service kafka "$LOGS/kafka-format.log" "formatting the storage of node $n failed"
  done
  info "cluster id $(cat "$cluster_id_file") → ${cluster_id_file#"$ROOT"/}"
}

kafka_start() {
  local n name started=0
  for n in $(kafka_node_ids); do
    name="$(node_name "$n")"
    running "$name" && continue
    rm -f "$PIDS/$name.pid"
    if port_open 127.0.0.1 "$(node_port "$n")" || port_open 127.0.0.1 "$(node_controller_port "$n")"; then
      die "$name: port $(node_port "$n") or $(node_controller_port "$n") on 127.0.0.1 is taken by a process that is not ours; stop it, or set LT_KAFKA_PORT, or point KAFKA_BROKERS at it"
    fi
    kafka_render_props "$n"
    printf '\n===== stack.sh: starting Kafka %s at %s =====\n' "$KAFKA_VERSION" "$(date -Is)" >>"$(node_log "$n")"
    setsid java -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j.configuration="file:$KAFKA_DIR/log4j.properties" \
      -cp "$KAFKA_LIBS/*" kafka.Kafka "$(node_dir "$n")/server.properties" >>"$(node_log "$n")" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDS/$name.pid"
    started=$((started + 1))
  done
  if [[ $started == 0 ]]; then
    step "Kafka already running ($(kafka_pids))"
    return 0
  fi
  step "starting Kafka $KAFKA_VERSION on $LOCAL_KAFKA ($KAFKA_NODES node(s), controller :$(kafka_controller_ports), heap $KAFKA_HEAP each)…"
  for n in $(kafka_node_ids); do info "$(node_name "$n"): pid $(pid_of "$(node_name "$n")"), log ${SHOWN}/logs/$(node_name "$n").log"; done
}

kafka_pids() {
  local n out=""
  for n in $(kafka_node_ids); do out+="${out:+, }pid $(pid_of "$(node_name "$n")")"; done
  echo "$out"
}

kafka_controller_ports() {
  local n out=""
  for n in $(kafka_node_ids); do out+="${out:+,:}$(node_controller_port "$n")"; done
  echo "$out"
}

kafka_wait_port() {
  local i n
  for n in $(kafka_node_ids); do
    for ((i = 0; i < 900; i++)); do # 90 s
      port_open 127.0.0.1 "$(node_port "$n")" && break
      running "$(node_name "$n")" || fail_service "$(node_name "$n")" "$(node_log "$n")" "the broker process exited during start-up"
      sleep 0.1
    done
    port_open 127.0.0.1 "$(node_port "$n")" ||
      fail_service "$(node_name "$n")" "$(node_log "$n")" "port $(node_port "$n") did not open within 90s"
  done
}

kafka_topics() { # brokers
  # Our three brokers: every topic on all three, acknowledged writes on two (create-topics waits for all three).
  local replication=()
  [[ -z "$EXT_KAFKA" && $KAFKA_NODES == 3 ]] && replication=(KAFKA_REPLICATION_FACTOR=3)
  if ! (cd "$ROOT" && env KAFKA_BROKERS="$1" "${replication[@]}" node --import tsx infra/create-topics.ts 2>&1 | sed 's/^/        /'); then
    if [[ -z "$EXT_KAFKA" ]]; then
      local n
      for n in $(kafka_node_ids); do log_tail "$(node_name "$n")" "$(node_log "$n")"; done
    fi
    die "kafka: the broker at $1 did not answer metadata requests / topics could not be ensured"
  fi
}

# ---------------------------------------------------------------------------- Redis
# One redis-server (redis: .data/redis, the layout of every earlier version) or a cluster
# of six (redis-1..6: three masters, three replicas, .data/redis-cluster/node-n); set by
# resolve_redis_layout.
REDIS_LAYOUT="" REDIS_CLUSTER_NODES=""
REDIS_CLUSTER_SIZE=6
# Both layouts: loopback only, the data in an append-only file, and never an eviction
# (ingest refuses any other policy); the listpack thresholds stay Redis's own in both.
# rdbcompression no: the append-only file's rewrites (a fork writing the data as an RDB
# preamble) spent half their CPU in LZF on values it cannot shrink, the resend
# fingerprints' random bytes: −1 µs of Redis CPU an event in the month (docs/benchmarks.md).
REDIS_SETTINGS=(--bind 127.0.0.1 --protected-mode yes --appendonly yes --save "" --rdbcompression no --maxmemory-policy noeviction)

redis_node_ids() { seq 1 "$REDIS_CLUSTER_SIZE"; }
redis_node_port() { echo $((REDIS_PORT + $1 - 1)); }
redis_node_dir() { echo "$DATA/redis-cluster/node-$1"; }

resolve_redis_layout() {
  local running_layout="" n
  if running redis; then
    running_layout=single
  else
    for n in $(redis_node_ids); do running "redis-$n" && running_layout=cluster && break; done
  fi
  REDIS_LAYOUT="${LT_REDIS:-${running_layout:-single}}"
  [[ "$REDIS_LAYOUT" == single || "$REDIS_LAYOUT" == cluster ]] || die "LT_REDIS must be single or cluster, got '$REDIS_LAYOUT'"
  if [[ -n "$running_layout" && "$running_layout" != "$REDIS_LAYOUT" && "${1:-}" == up ]]; then
    die "redis: this stack runs a $running_layout Redis but LT_REDIS=$REDIS_LAYOUT; 'bash infra/stack.sh down' first (each layout keeps its own data)"
  fi
  if [[ $REDIS_LAYOUT == cluster ]]; then
    ((REDIS_PORT + REDIS_CLUSTER_SIZE - 1 + 10000 <= 65535)) ||
      die "redis: a cluster uses LT_REDIS_PORT…+$((REDIS_CLUSTER_SIZE - 1)) and each port +10000 (cluster bus); LT_REDIS_PORT=$REDIS_PORT is too high"
    REDIS_CLUSTER_NODES="$(for n in $(redis_node_ids); do echo "127.0.0.1:$(redis_node_port "$n")"; done | paste -sd,)"
  fi
}

redis_installed() { # returns 1 when it had to install redis-server just now
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  apt_install redis-server
  return 1
}

# A port of ours held by another process: first the system service the package may just
# have started, then give up naming what avoids it.
redis_port_free() { # port just_installed
  port_open 127.0.0.1 "$1" || return 0
  if [[ $2 == 1 ]]; then
    info "stopping the system redis-server service that the package started (we run our own)…"
    { invoke-rc.d redis-server stop || service redis-server stop; } >>"$LOGS/apt.log" 2>&1 || true
    sleep 1
  fi
  port_open 127.0.0.1 "$1" &&
    die "redis: port $1 on 127.0.0.1 is taken by a process that is not ours (system redis? 'service redis-server stop'); or set LT_REDIS_PORT, or point REDIS_URL at it"
  return 0
}

redis_up() {
  if [[ -n "$EXT_REDIS" ]]; then
    step "Redis: external REDIS_URL=$EXT_REDIS, checking…"
    [[ "$(redis_ping "$EXT_REDIS")" == PONG ]] || die "redis: $EXT_REDIS does not answer PING"
    info "PONG"
    return 0
  fi
  if [[ $REDIS_LAYOUT == cluster ]]; then
    redis_cluster_up
    return 0
  fi
  if running redis; then
    [[ "$(redis_ping)" == LOADING* ]] && redis_wait_pong redis "$REDIS_PORT"
    [[ "$(redis_ping)" == PONG ]] || die "redis: our redis-server (pid $(pid_of redis)) does not answer PING on :$REDIS_PORT"
    step "Redis already running (pid $(pid_of redis)), PONG"
    return 0
  fi
  step "starting Redis on $LOCAL_REDIS…"
  local just_installed=0
  redis_installed || just_installed=1
  rm -f "$PIDS/redis.pid"
  redis_port_free "$REDIS_PORT" "$just_installed"
  mkdir -p "$DATA/redis"
  printf '\n===== stack.sh: starting Redis at %s =====\n' "$(date -Is)" >>"$LOGS/redis.log"
  redis-server --daemonize yes --port "$REDIS_PORT" "${REDIS_SETTINGS[@]}" --dir "$DATA/redis" \
    --pidfile "$PIDS/redis.pid" --logfile "$LOGS/redis.log" </dev/null >>"$LOGS/redis.log" 2>&1 9>&- ||
    fail_service redis "$LOGS/redis.log" "redis-server did not start"
  redis_wait_pong redis "$REDIS_PORT"
  info "pid $(pid_of redis), PONG, data $SHOWN/redis (appendonly), log $SHOWN/logs/redis.log"
}

# 30 s for a PONG; a Redis still loading a large dataset (it answers LOADING) gets up to
# LT_REDIS_LOAD_WAIT_S more, with progress, rather than being reported dead.
redis_wait_pong() { # name port
  local i reply loading_since=0 told=0
  for ((i = 0; ; i++)); do
    reply="$(redis_ping "redis://127.0.0.1:$2")"
    [[ "$reply" == PONG ]] && running "$1" && return 0
    if [[ "$reply" == LOADING* ]] && running "$1"; then
      ((loading_since)) || loading_since=$SECONDS
      if ((SECONDS - loading_since >= REDIS_LOAD_WAIT_S)); then
        fail_service "$1" "$LOGS/$1.log" "still loading its dataset after ${REDIS_LOAD_WAIT_S}s (LT_REDIS_LOAD_WAIT_S)"
      fi
      if ((SECONDS - told >= 5)); then
        info "$1 is loading its dataset ($((SECONDS - loading_since)) s so far; see $SHOWN/logs/$1.log)"
        told=$SECONDS
      fi
    elif ((i >= 300)); then # 30 s
      fail_service "$1" "$LOGS/$1.log" "no PONG on :$2 within 30s"
    fi
    sleep 0.1
  done
}

redis_cluster_info() { # port field -> its value in CLUSTER INFO
  timeout 3 redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

redis_cluster_pids() {
  local n out=""
  for n in $(redis_node_ids); do out+="${out:+, }$(pid_of "redis-$n")"; done
  echo "pids $out"
}

redis_answering_port() { # the first node that answers PING (the cluster seen from there)
  local n
  for n in $(redis_node_ids); do
    [[ "$(redis_ping "redis://127.0.0.1:$(redis_node_port "$n")")" == PONG ]] && { redis_node_port "$n"; return 0; }
  done
  redis_node_port 1
}

redis_cluster_masters() { # the host:port of every master the cluster does not see as failed
  timeout 3 redis-cli -p "$(redis_answering_port)" cluster nodes 2>/dev/null |
    awk '$3 ~ /master/ && $3 !~ /fail/ { split($2, a, "@"); print a[1] }' | sort | paste -sd' '
}

redis_node_role() { # port -> master / slave
  timeout 3 redis-cli -p "$1" role 2>/dev/null | head -n 1
}

# Six nodes in cluster mode, created (slots assigned, replicas attached) only the first
# time: afterwards each node's nodes.conf brings the same cluster back.
redis_cluster_up() {
  local n name port missing=0 just_installed=0
  for n in $(redis_node_ids); do running "redis-$n" || missing=$((missing + 1)); done
  if ((missing == 0)); then
    step "Redis Cluster already running on $REDIS_CLUSTER_NODES ($(redis_cluster_pids))"
  else
    step "starting a Redis Cluster on $REDIS_CLUSTER_NODES (3 masters, 3 replicas)…"
    redis_installed || just_installed=1
    for n in $(redis_node_ids); do
      name="redis-$n" port="$(redis_node_port "$n")"
      running "$name" && continue
      rm -f "$PIDS/$name.pid"
      redis_port_free "$port" "$just_installed"
      port_open 127.0.0.1 $((port + 10000)) &&
        die "$name: cluster bus port $((port + 10000)) on 127.0.0.1 is taken by a process that is not ours; set LT_REDIS_PORT"
      mkdir -p "$(redis_node_dir "$n")"
      printf '\n===== stack.sh: starting Redis cluster node %s at %s =====\n' "$n" "$(date -Is)" >>"$LOGS/$name.log"
      redis-server --daemonize yes --port "$port" "${REDIS_SETTINGS[@]}" \
        --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
        --dir "$(redis_node_dir "$n")" --pidfile "$PIDS/$name.pid" --logfile "$LOGS/$name.log" \
        </dev/null >>"$LOGS/$name.log" 2>&1 9>&- || fail_service "$name" "$LOGS/$name.log" "redis-server did not start"
    done
    for n in $(redis_node_ids); do redis_wait_pong "redis-$n" "$(redis_node_port "$n")"; done
    info "$(redis_cluster_pids), data $SHOWN/redis-cluster/node-1…$REDIS_CLUSTER_SIZE (appendonly), logs $SHOWN/logs/redis-n.log"
  fi
  if [[ "$(redis_cluster_info "$(redis_node_port 1)" cluster_slots_assigned)" == 0 ]]; then
    info "creating the cluster (redis-cli --cluster create, log $SHOWN/logs/redis-cluster-create.log)…"
    # shellcheck disable=SC2046  # one argument per node
    redis-cli --cluster create $(tr ',' ' ' <<<"$REDIS_CLUSTER_NODES") --cluster-replicas 1 --cluster-yes \
      >"$LOGS/redis-cluster-create.log" 2>&1 ||
      fail_service redis-cluster "$LOGS/redis-cluster-create.log" "redis-cli --cluster create failed"
  fi
  redis_cluster_wait_ok
}

redis_replica_synced() { # port -> true unless it is a replica whose link to its master is not up
  local replication
  replication="$(timeout 3 redis-cli -p "$1" info replication 2>/dev/null | tr -d '\r')"
  grep -qx 'role:master' <<<"$replication" || grep -qx 'master_link_status:up' <<<"$replication"
}

# Every node sees cluster_state:ok (all 16384 slots served), there are three masters, and
# every replica has synced with its master: until then it could not take over from it.
redis_cluster_wait_ok() {
  local i n ok port
  for ((i = 0; i < 600; i++)); do # 60 s
    ok=1
    for n in $(redis_node_ids); do
      port="$(redis_node_port "$n")"
      [[ "$(redis_cluster_info "$port" cluster_state)" == ok ]] && redis_replica_synced "$port" || { ok=0; break; }
    done
    if [[ $ok == 1 && "$(redis_cluster_info "$(redis_node_port 1)" cluster_size)" == 3 ]]; then
      info "cluster_state:ok on all $REDIS_CLUSTER_SIZE nodes, replicas in sync; masters $(redis_cluster_masters) (+$(elapsed))"
      return 0
    fi
    sleep 0.1
  done
  for n in $(redis_node_ids); do log_tail "redis-$n" "$LOGS/redis-$n.log" 10; done
  die "redis: the cluster on $REDIS_CLUSTER_NODES did not reach cluster_state:ok within 60s ('redis-cli -p $(redis_node_port 1) cluster nodes' shows why)"
}

# Every node of either layout at once, as stop_kafka does.
stop_redis() {
  local n names=(redis)
  for n in $(redis_node_ids); do names+=("redis-$n"); done
  stop_all redis "${names[@]}"
}

# ---------------------------------------------------------------------------- ClickHouse (chDB stand-in)
CH_USER="" CH_PASSWORD="" CH_SQL_USER="" CH_SQL_PASSWORD="" CH_CREDENTIALS_NEW=0

random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

credential() { # name -> its value in the credentials file (read, not sourced)
  sed -n "s/^$1=//p" "$CH_CREDENTIALS" | tail -n 1
}

# The stand-in's two accounts: generated once (mode 0600), then reused by every up, so
# running services and a restarted stand-in always agree.
clickhouse_credentials() {
  if [[ ! -s "$CH_CREDENTIALS" ]]; then
    (
      umask 077
      cat >"$CH_CREDENTIALS.tmp" <<EOF
# ClickHouse stand-in accounts, generated by infra/stack.sh at $(date -Is); reused on every up.
# Delete this file and run 'stack.sh down' then 'up' for new passwords.
CLICKHOUSE_USER=livetally
CLICKHOUSE_PASSWORD=$(random_secret)
CLICKHOUSE_SQL_USER=livetally_reader
CLICKHOUSE_SQL_PASSWORD=$(random_secret)
EOF
      mv "$CH_CREDENTIALS.tmp" "$CH_CREDENTIALS"
    )
    CH_CREDENTIALS_NEW=1
  fi
  chmod 600 "$CH_CREDENTIALS"
  CH_USER="$(credential CLICKHOUSE_USER)" CH_PASSWORD="$(credential CLICKHOUSE_PASSWORD)"
  CH_SQL_USER="$(credential CLICKHOUSE_SQL_USER)" CH_SQL_PASSWORD="$(credential CLICKHOUSE_SQL_PASSWORD)"
  [[ -n "$CH_USER" && -n "$CH_PASSWORD" && -n "$CH_SQL_USER" && -n "$CH_SQL_PASSWORD" ]] ||
    die "clickhouse: $SHOWN/clickhouse.credentials lacks one of CLICKHOUSE_USER/_PASSWORD/_SQL_USER/_SQL_PASSWORD; delete it to have new ones generated"
}

clickhouse_up() {
  if [[ -n "$EXT_CH" ]]; then
    step "ClickHouse: external CLICKHOUSE_URL=$EXT_CH, checking /ping…"
    [[ -n "$(ch_ping "$EXT_CH")" ]] || die "clickhouse: $EXT_CH/ping does not answer"
    info "$(ch_ping "$EXT_CH" | tr -d '\r\n')"
    return 0
  fi
  clickhouse_credentials
  if running clickhouse; then
    [[ -n "$(ch_ping "$LOCAL_CH")" ]] || clickhouse_wait
    step "ClickHouse stand-in (chDB server) already running (pid $(pid_of clickhouse))"
    if [[ $CH_CREDENTIALS_NEW == 1 ]]; then
      warn "the running stand-in was started before $SHOWN/clickhouse.credentials existed; restart it ('stack.sh down' then 'up') so it requires them"
    fi
    return 0
  fi
  rm -f "$PIDS/clickhouse.pid"
  [[ -f "$CHDB_ENTRY" ]] ||
    die "clickhouse: ${CHDB_ENTRY#"$ROOT"/} (the chDB stand-in server) does not exist; set CLICKHOUSE_URL to use a real ClickHouse"
  port_open 127.0.0.1 "$CH_PORT" &&
    die "clickhouse: port $CH_PORT on 127.0.0.1 is taken by a process that is not ours; stop it, set LT_CLICKHOUSE_PORT, or point CLICKHOUSE_URL at it"
  step "starting the ClickHouse stand-in (chDB server) on $LOCAL_CH…"
  mkdir -p "$DATA/clickhouse"
  printf '\n===== stack.sh: starting chdb-server at %s =====\n' "$(date -Is)" >>"$LOGS/clickhouse.log"
  (cd "$ROOT" && CHDB_DATA_DIR="$DATA/clickhouse" CHDB_HTTP_PORT="$CH_PORT" CHDB_HTTP_HOST=127.0.0.1 \
    CHDB_USER="$CH_USER" CHDB_PASSWORD="$CH_PASSWORD" CHDB_READER_USER="$CH_SQL_USER" CHDB_READER_PASSWORD="$CH_SQL_PASSWORD" \
    exec setsid nice -n "$CH_NICE" node --import tsx "$CHDB_ENTRY" >>"$LOGS/clickhouse.log" 2>&1 </dev/null 9>&-) &
  echo $! >"$PIDS/clickhouse.pid"
  info "pid $(pid_of clickhouse), niceness $CH_NICE, data $SHOWN/clickhouse, log $SHOWN/logs/clickhouse.log"
}

clickhouse_wait() {
  local i
  for ((i = 0; i < 600; i++)); do # 60 s
    [[ -n "$(ch_ping "$LOCAL_CH")" ]] && return 0
    running clickhouse || fail_service clickhouse "$LOGS/clickhouse.log" "the chdb server exited during start-up"
    sleep 0.1
  done
  fail_service clickhouse "$LOGS/clickhouse.log" "$LOCAL_CH/ping did not answer within 60s"
}

# ---------------------------------------------------------------------------- commands
cmd_up() {
  mkdir -p "$DATA" "$LOGS" "$PIDS"
  lock
  echo "LiveTally stack: up (data in $SHOWN/)"

  step "preflight: tools and node_modules"
  need_node_modules
  command -v curl >/dev/null || apt_install curl
  if [[ -z "$EXT_KAFKA" ]] && ! command -v java >/dev/null; then apt_install openjdk-17-jre-headless; fi

  local kafka_brokers="$LOCAL_KAFKA"
  if [[ -n "$EXT_KAFKA" ]]; then
    kafka_brokers="$EXT_KAFKA"
    STEP=$((STEP + 3))
    info "Kafka: external KAFKA_BROKERS=$EXT_KAFKA (not started here)"
  else
    kafka_jars
    kafka_format
    kafka_start # does not wait: Redis and the chdb server start meanwhile
  fi

  redis_up
  clickhouse_up

  if [[ -n "$EXT_KAFKA" ]]; then
    step "Kafka: checking $EXT_KAFKA and ensuring topics…"
  else
    step "waiting for Kafka ($LOCAL_KAFKA) and ensuring topics…"
    kafka_wait_port
    info "port(s) of $LOCAL_KAFKA open (+$(elapsed))"
  fi
  kafka_topics "$kafka_brokers"
  if [[ -z "$EXT_CH" ]]; then
    clickhouse_wait
  fi

  local redis_url="${EXT_REDIS:-$LOCAL_REDIS}" ch_url="${EXT_CH:-$LOCAL_CH}" cluster_nodes=""
  if [[ -n "$EXT_REDIS" ]]; then cluster_nodes="$REDIS_CLUSTER_NODES_ENV"; elif [[ $REDIS_LAYOUT == cluster ]]; then cluster_nodes="$REDIS_CLUSTER_NODES"; fi
  (
    umask 077 # it holds the stand-in's passwords
    cat >"$ENV_FILE.tmp" <<EOF
# written by infra/stack.sh up at $(date -Is) — use: source $SHOWN/stack.env
export KAFKA_BROKERS=$kafka_brokers
export REDIS_URL=$redis_url
export CLICKHOUSE_URL=$ch_url
export LT_STACK_MANAGED=1
EOF
    # A cluster: REDIS_URL names one node (for redis-cli and one-node tools), this all of them.
    if [[ -n "$cluster_nodes" ]]; then echo "export REDIS_CLUSTER_NODES=$cluster_nodes" >>"$ENV_FILE.tmp"; fi
    # An external ClickHouse keeps whatever credentials the environment gives it.
    if [[ -z "$EXT_CH" ]]; then
      cat >>"$ENV_FILE.tmp" <<EOF
export CLICKHOUSE_USER=$CH_USER
export CLICKHOUSE_PASSWORD=$CH_PASSWORD
export CLICKHOUSE_SQL_USER=$CH_SQL_USER
export CLICKHOUSE_SQL_PASSWORD=$CH_SQL_PASSWORD
EOF
    fi
    mv "$ENV_FILE.tmp" "$ENV_FILE"
  )

  echo
  echo "LiveTally stack ready in $(elapsed)"
  printf '  %-11s %-28s %s\n' Kafka "$kafka_brokers" \
    "$([[ -n "$EXT_KAFKA" ]] && echo external || echo "$(kafka_pids), log(s) $SHOWN/logs/kafka*.log")"
  if [[ -z "$EXT_REDIS" && $REDIS_LAYOUT == cluster ]]; then
    printf '  %-11s %-28s %s\n' Redis "$redis_url" "cluster of 6 (masters $(redis_cluster_masters)), $(redis_cluster_pids), logs $SHOWN/logs/redis-n.log"
    echo "  cluster     REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES"
  else
    printf '  %-11s %-28s %s\n' Redis "$redis_url" \
      "$([[ -n "$EXT_REDIS" ]] && echo external || echo "pid $(pid_of redis), log $SHOWN/logs/redis.log")"
  fi
  printf '  %-11s %-28s %s\n' ClickHouse "$ch_url" \
    "$([[ -n "$EXT_CH" ]] && echo external || echo "chDB stand-in, pid $(pid_of clickhouse), log $SHOWN/logs/clickhouse.log")"
  if [[ -z "$EXT_CH" ]]; then echo "  accounts    $CH_USER (services), $CH_SQL_USER (read-only); passwords in $SHOWN/clickhouse.credentials"; fi
  echo "  topics      livetally.events (12 partitions), livetally.events.dlq (3 partitions)$(
    [[ -z "$EXT_KAFKA" && $KAFKA_NODES == 3 ]] && echo ", replication factor 3, min.insync.replicas=2")"
  echo "  env         source $SHOWN/stack.env"
}

cmd_down() {
  [[ -d "$DATA" ]] || { echo "LiveTally stack: nothing to stop (no $SHOWN/)"; return 0; }
  lock
  echo "LiveTally stack: down"
  stop_service clickhouse
  stop_kafka
  stop_redis
  rm -f "$ENV_FILE"
  if [[ "${1:-}" != --for-reset ]]; then echo "stopped in $(elapsed) (data kept in $SHOWN/; 'reset' deletes it)"; fi
}

cmd_status() {
  local all=0 pid
  status_line() { printf '  %-11s %-5s %-28s %s\n' "$@"; }
  echo "LiveTally stack: status"
  # Kafka
  if [[ -n "$EXT_KAFKA" ]]; then
    local hp="${EXT_KAFKA%%,*}"
    if port_open "${hp%:*}" "${hp##*:}"; then status_line kafka up "$EXT_KAFKA" external; else status_line kafka down "$EXT_KAFKA" external; all=1; fi
  else
    local n name address
    for n in $(kafka_node_ids); do
      name="$(node_name "$n")" address="127.0.0.1:$(node_port "$n")"
      if running "$name" && port_open 127.0.0.1 "$(node_port "$n")"; then
        status_line "$name" up "$address" "pid $(pid_of "$name"), cluster id $(cat "$(cluster_dir)/cluster.id" 2>/dev/null || echo '?')"
      elif running "$name"; then
        status_line "$name" down "$address" "pid $(pid_of "$name") running but port closed (starting?)"; all=1
      else
        status_line "$name" down "$address" ""; all=1
      fi
    done
  fi
  # Redis
  if [[ -n "$EXT_REDIS" ]]; then
    if [[ "$(redis_ping "$EXT_REDIS")" == PONG ]]; then status_line redis up "$EXT_REDIS" external; else status_line redis down "$EXT_REDIS" external; all=1; fi
  elif [[ $REDIS_LAYOUT == cluster ]]; then
    local n name port state
    for n in $(redis_node_ids); do
      name="redis-$n" port="$(redis_node_port "$n")"
      if running "$name" && [[ "$(redis_ping "redis://127.0.0.1:$port")" == PONG ]]; then
        status_line "$name" up "127.0.0.1:$port" "pid $(pid_of "$name"), $(redis_node_role "$port")"
      else
        status_line "$name" down "127.0.0.1:$port" ""; all=1
      fi
    done
    state="$(redis_cluster_info "$(redis_answering_port)" cluster_state)"
    if [[ "$state" == ok ]]; then
      status_line cluster up "${REDIS_CLUSTER_NODES%%,*},…" "cluster_state:ok, masters $(redis_cluster_masters)"
    else
      status_line cluster down "${REDIS_CLUSTER_NODES%%,*},…" "cluster_state:${state:-?}"; all=1
    fi
  elif running redis && [[ "$(redis_ping)" == PONG ]]; then
    status_line redis up "$LOCAL_REDIS" "pid $(pid_of redis)"
  else
    status_line redis down "$LOCAL_REDIS" ""; all=1
  fi
  # ClickHouse
  if [[ -n "$EXT_CH" ]]; then
    if [[ -n "$(ch_ping "$EXT_CH")" ]]; then status_line clickhouse up "$EXT_CH" external; else status_line clickhouse down "$EXT_CH" external; all=1; fi
  elif running clickhouse && [[ -n "$(ch_ping "$LOCAL_CH")" ]]; then
    status_line clickhouse up "$LOCAL_CH" "chDB stand-in, pid $(pid_of clickhouse)"
  else
    status_line clickhouse down "$LOCAL_CH" ""; all=1
  fi
  return $all
}

cmd_reset() {
  cmd_down --for-reset
  echo "LiveTally stack: deleting $SHOWN/"
  # keep the lock file's directory until we are done with it
  find "$DATA" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} +
  rm -f "$DATA/.lock"
  rmdir "$DATA" 2>/dev/null || true
  echo "reset done in $(elapsed)"
}

usage() {
  sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p'
}

resolve_kafka_nodes "${1:-}"
resolve_redis_layout "${1:-}"

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status && exit 0 || exit 1 ;;
  reset) cmd_reset ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
