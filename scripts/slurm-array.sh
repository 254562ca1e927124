#!/usr/bin/env bash
# scripts/slurm-array.sh: run `sdesample sample` as a Slurm job array on a
# throw-away one-node cluster and check that the merged shards are bit for bit
# the unsharded run.
#
# What it does, in order:
#   1. installs munge and Slurm from Debian if they are missing (apt-get update
#      first); services are not started by the packages;
#   2. builds cmd/sdesample once;
#   3. makes a private directory under /tmp (munge key and socket, slurm.conf,
#      state, spool, logs, job outputs) and free TCP ports, so it clashes with
#      nothing else on the machine;
#   4. starts munged, slurmctld and slurmd (in that order) and waits for the
#      node to be idle;
#   5. submits `sdesample sample ... -shard auto/4` with sbatch --array=0-3
#      (each task takes its shard index from SLURM_ARRAY_TASK_ID, -workers 1)
#      and waits; checks every task COMPLETED with exit 0 and that its -record
#      says shard i/4 came from SLURM_ARRAY_TASK_ID;
#   6. merges the 4 shard files with `sdesample merge`, runs the same sample
#      unsharded (default -workers), and compares the two files with cmp;
#   7. on exit, success or failure, cancels its jobs, stops the daemons it
#      started (by their process ids) and removes the directory. On failure it
#      prints the Slurm, munge and job logs first.
#
# Usage: scripts/slurm-array.sh [--smoke]
#   --smoke   only run a trivial array (each task writes SLURM_ARRAY_TASK_ID to
#             a file): checks the cluster without sdesample.
# Environment: N (rows, 2000), STEPS (200), JOB_TIMEOUT (seconds to wait for the
#   array, 120; each task also has a 2-minute Slurm time limit), START_TIMEOUT
#   (seconds for each daemon to come up, 60), KEEP=1 keeps the private directory.
# Needs root and Debian (apt). Exit status 0 when the files are identical.
set -euo pipefail
cd "$(dirname "$0")/.."

SHARDS=4
N=${N:-2000}
STEPS=${STEPS:-200}
JOB_TIMEOUT=${JOB_TIMEOUT:-120}
START_TIMEOUT=${START_TIMEOUT:-60}
SMOKE=0
case "${1:-}" in
  --smoke) SMOKE=1 ;;
  "") ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "slurm-array: unknown argument $1 (use --smoke or nothing)" >&2; exit 2 ;;
esac

t_start=$(date +%s)
say() { printf '== slurm-array [%3ds]: %s\n' "$(( $(date +%s) - t_start ))" "$*"; }
die() { printf 'slurm-array: FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it installs packages and starts munged, slurmctld, slurmd)"

# ---------------------------------------------------------------- packages
PKGS=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get update first)"
  # Keep the packages from starting their own daemons: this script starts
  # private ones. policy-rc.d is only added if the machine has none.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt_ok=1
  apt-get -o DPkg::Lock::Timeout=600 update -qq || apt_ok=0
  if [ $apt_ok = 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null || apt_ok=0
  fi
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $apt_ok = 1 ] || die "apt-get could not install ${missing[*]}"
else
  say "packages present: ${PKGS[*]}"
fi
for c in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
  command -v "$c" >/dev/null || die "$c not found after installing ${PKGS[*]}"
done
say "$(slurmctld -V), munge $(dpkg-query -W -f='${Version}' munge)"

# ---------------------------------------------------------------- private dir
WORK=$(mktemp -d /tmp/sdekit-slurm.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK"/{munge,state,spool,log,out,bin}
export SLURM_CONF=$WORK/slurm.conf
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT JOB_COMPLETION_INDEX || true
PIDS=()   # daemons this script started, stopped in reverse order
JOBID=""
ok=0

print_logs() {
  local d f
  for d in munged slurmctld slurmd; do
    # the daemon's own log; its stdout/stderr only when that is empty
    for f in "$WORK/log/$d.log" "$WORK/log/$d-stdout.log"; do
      [ -s "$f" ] || continue
      echo "---------------- $f (last 40 lines)"
      tail -n 40 "$f"
      break
    done
  done
  for f in "$WORK"/out/slurm-*.out; do
    [ -s "$f" ] || continue
    echo "---------------- $f (last 20 lines)"
    tail -n 20 "$f"
  done
  if [ -n "$JOBID" ]; then
    echo "---------------- scontrol show job $JOBID"
    timeout 10 scontrol show job "$JOBID" 2>&1 || true
  fi
  echo "---------------- sinfo"
  timeout 10 sinfo -N -l 2>&1 || true
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM HUP
  trap '' PIPE   # a closed stdout must not stop the clean-up half way
  if [ $ok != 1 ]; then
    echo "slurm-array: failed (exit $rc); logs follow" >&2
    print_logs >&2
  fi
  if [ -n "$JOBID" ] && [ ${#PIDS[@]} -gt 0 ]; then
    timeout 10 scancel "$JOBID" 2>/dev/null
    # give slurmstepd a moment to finish before slurmd goes away
    for _ in $(seq 20); do
      [ -z "$(timeout 5 squeue -h -j "$JOBID" 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  local i pid
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    pid=${PIDS[i]%%:*}
    kill -0 "$pid" 2>/dev/null || continue
    say "stopping ${PIDS[i]#*:} (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "slurm-array: ${PIDS[i]#*:} (pid $pid) ignored TERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  if [ $ok = 1 ]; then
    say "passed in $(( $(date +%s) - t_start ))s"
    exit 0
  fi
  [ $rc = 0 ] && rc=1
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# wait_for SECONDS WHAT CMD...: retry CMD every 0.5 s until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what: not ready after ${secs}s"
    sleep 0.5
  done
}

# free_port START: the first TCP port from START on that nothing listens on.
free_port() {
  local p=$1 used
  used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
  while grep -qx "$p" <<<"$used" || [ "$p" = "${CTLD_PORT:-}" ]; do p=$((p + 1)); done
  echo "$p"
}

# ---------------------------------------------------------------- build
if [ $SMOKE = 0 ]; then
  say "go build -o $WORK/bin/sdesample ./cmd/sdesample"
  go build -o "$WORK/bin/sdesample" ./cmd/sdesample
  BIN=$WORK/bin/sdesample
fi

# ---------------------------------------------------------------- munge
SOCK=$WORK/munge/munge.socket
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$WORK/munge"
chmod 755 "$WORK/munge"
chmod 400 "$WORK/munge/munge.key"
say "starting munged (socket $SOCK)"
setpriv --reuid=munge --regid=munge --init-groups -- \
  munged -F --key-file="$WORK/munge/munge.key" --socket="$SOCK" \
  --pid-file="$WORK/munge/munged.pid" --seed-file="$WORK/munge/munged.seed" \
  --num-threads=2 >"$WORK/log/munged.log" 2>&1 &
PIDS+=("$!:munged")
wait_for "$START_TIMEOUT" munged sh -c "munge -n -S '$SOCK' | unmunge -S '$SOCK'"

# ---------------------------------------------------------------- slurm.conf
HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REAL_MB=$(( MEM_MB > 2048 ? MEM_MB - 1024 : MEM_MB * 9 / 10 ))
CTLD_PORT=$(free_port 16817)
SLURMD_PORT=$(free_port $((CTLD_PORT + 1)))
cat >"$SLURM_CONF" <<EOF
# one-node cluster made by scripts/slurm-array.sh; everything under $WORK
ClusterName=sdekit
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=sdekit Nodes=$HOST Default=YES MaxTime=10 State=UP
EOF
say "slurm.conf: node $HOST, CPUs=$CPUS, RealMemory=$REAL_MB MB, ports $CTLD_PORT/$SLURMD_PORT"

# ---------------------------------------------------------------- daemons
say "starting slurmctld"
slurmctld -D -f "$SLURM_CONF" >"$WORK/log/slurmctld-stdout.log" 2>&1 &
PIDS+=("$!:slurmctld")
wait_for "$START_TIMEOUT" slurmctld timeout 10 scontrol ping
say "starting slurmd"
slurmd -D -f "$SLURM_CONF" >"$WORK/log/slurmd-stdout.log" 2>&1 &
PIDS+=("$!:slurmd")
node_idle() { timeout 10 sinfo -h -N -n "$HOST" -o %T | grep -qx idle; }
wait_for "$START_TIMEOUT" "slurmd (node $HOST idle)" node_idle
say "node $HOST is idle"

# ---------------------------------------------------------------- job array
# submit SCRIPT: sbatch --array=0-(SHARDS-1), then poll squeue until the array
# has left the queue (at most JOB_TIMEOUT s), then check that every task
# COMPLETED with exit code 0:0 (slurmctld keeps finished jobs for MinJobAge).
submit() {
  local script=$1 out rc=0
  out=$(timeout 20 sbatch --parsable --array=0-$((SHARDS - 1)) --time=2 --ntasks=1 \
        --cpus-per-task=1 --job-name=sdekit-array --chdir="$WORK/out" \
        --output="$WORK/out/slurm-%A_%a.out" "$script") || die "sbatch refused the job"
  JOBID=${out%%;*}
  say "submitted array job $JOBID (tasks 0-$((SHARDS - 1))); waiting up to ${JOB_TIMEOUT}s"
  local deadline=$(( $(date +%s) + JOB_TIMEOUT ))
  while [ -n "$(timeout 10 squeue -h -j "$JOBID" -o %i 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "job $JOBID still running after ${JOB_TIMEOUT}s"
    sleep 1
  done
  local states bad
  states=$(timeout 10 scontrol -o show job "$JOBID" |
    sed -n 's/.*\(ArrayTaskId=[^ ]*\).*\(JobState=[^ ]*\).*\(ExitCode=[^ ]*\).*/task \1 \2 \3/p' | sort)
  echo "$states" | sed 's/^/   /'
  [ "$(echo "$states" | grep -c 'JobState=COMPLETED ExitCode=0:0$')" = "$SHARDS" ] ||
    die "not all $SHARDS tasks of job $JOBID completed with exit code 0"
  say "array job $JOBID: all $SHARDS tasks completed"
}

if [ $SMOKE = 1 ]; then
  cat >"$WORK/task.sh" <<EOF
#!/bin/bash
set -eu
echo "\$SLURM_ARRAY_TASK_ID" >"$WORK/out/task-\$SLURM_ARRAY_TASK_ID.txt"
EOF
  submit "$WORK/task.sh"
  for i in $(seq 0 $((SHARDS - 1))); do
    f=$WORK/out/task-$i.txt
    [ -f "$f" ] || die "task $i wrote no $f"
    [ "$(cat "$f")" = "$i" ] || die "task $i wrote '$(cat "$f")' to $f"
  done
  say "smoke: all $SHARDS tasks ran and wrote their index"
  ok=1
  exit 0
fi

# The tasks use one goroutine each; the unsharded run uses the default (one per
# core): the rows must not depend on -workers either.
SAMPLE_ARGS=(sample -sde vp -score gmm8 -sampler em -steps "$STEPS" -n "$N" -seed 1)
cat >"$WORK/task.sh" <<EOF
#!/bin/bash
set -eu
exec "$BIN" ${SAMPLE_ARGS[*]} -workers 1 -shard auto/$SHARDS \
  -o "$WORK/out/shard-\$SLURM_ARRAY_TASK_ID.csv" -record "$WORK/out/shard-\$SLURM_ARRAY_TASK_ID.json"
EOF
say "each task: sdesample ${SAMPLE_ARGS[*]} -workers 1 -shard auto/$SHARDS -o shard-\$SLURM_ARRAY_TASK_ID.csv -record shard-\$SLURM_ARRAY_TASK_ID.json"
submit "$WORK/task.sh"
shards=()
for i in $(seq 0 $((SHARDS - 1))); do
  f=$WORK/out/shard-$i.csv
  [ -s "$f" ] || die "task $i wrote no $f"
  shards+=("$f")
  # the run record must say that the index came from Slurm
  r=$WORK/out/shard-$i.json
  if ! grep -q "\"shard\": *\"$i/$SHARDS\"" "$r" || ! grep -q '"shard_from": *"SLURM_ARRAY_TASK_ID"' "$r"; then
    die "task $i: run record $r does not say shard $i/$SHARDS from SLURM_ARRAY_TASK_ID ($(grep -o '"shard[^,]*' "$r" | tr '\n' ' '))"
  fi
done
say "run records: each task resolved -shard auto/$SHARDS from its own SLURM_ARRAY_TASK_ID"

say "sdesample merge -o merged.csv shard-{0..$((SHARDS - 1))}.csv"
"$BIN" merge -o "$WORK/merged.csv" "${shards[@]}"
say "unsharded: sdesample ${SAMPLE_ARGS[*]} -o full.csv"
"$BIN" "${SAMPLE_ARGS[@]}" -o "$WORK/full.csv"
rows=$(( $(wc -l <"$WORK/full.csv") - 1 ))
[ "$rows" = "$N" ] || die "unsharded run has $rows rows, want $N"
cmp "$WORK/merged.csv" "$WORK/full.csv" || die "merged shards differ from the unsharded run"
say "merged $SHARDS shards == unsharded run, bit for bit ($rows rows, $(wc -c <"$WORK/full.csv") bytes)"
ok=1
