#!/usr/bin/env bash
# Chord vs Koorde on EKS: for each protocol and ring size, run the same workload against the
# in-cluster origin, collect every pod's /metrics, and build the report of the local benchmark.
# Each run asks for its own URLs (?run=<protocol>-n<replicas>, ignored by the origin), so every
# run starts from a cold cache whatever ran before it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/eks/benchmark-eks.sh [--dry-run] [options]

Needs both namespaces deployed (deploy-eks.sh koorde; deploy-eks.sh chord). For each protocol
and replica count: scale (pinning the optional HPA to that count, if applied), wait until every
pod is ready and the ring has settled, run deploy/eks/workload-job.yaml, save its summary and CSV,
save every pod's /metrics. Afterwards an HPA gets its limits back. Results go to OUT:
  <protocol>-n<replicas>.json          cache-workload --json summary
  <protocol>-n<replicas>.csv           one row per request
  <protocol>-n<replicas>-metrics.json  array of each pod's /metrics JSON
  requests.csv                         every run's rows, with protocol and replicas columns
then: node --import tsx bench/report.ts --eks OUT

  --dry-run                print the commands without running any (no AWS or cluster access)
  --protocols "P…"         default "koorde chord"
  --replicas "N…"          ring sizes, default "4 8 12" (fits 3 m5.large nodes)
  --requests N             per run, default 20000
  --rate R                 requests per second (open loop), default 200
  --concurrency C          default 32
  --urls N                 distinct URLs, default 5000
  --zipf S                 popularity skew, default 0.9
  --seed S                 default 1 (the same URLs in the same order for every run)
  --settle SECONDS         wait after the pods are ready, for fingers / de Bruijn pointers, default 30
  --workload-image IMAGE   default <account>.dkr.ecr.<region>.amazonaws.com/koorde-workload:<tag>
  --out DIR                default bench/results/eks
  -h, --help               this help

Environment: AWS_REGION (else the AWS CLI's, else us-west-2), IMAGE_TAG.
USAGE
}

number() {
  [[ ${2:-} =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_error "$1 needs a number"
}

protocols="${PROTOCOLS[*]}"
replica_counts="4 8 12"
requests=20000 rate=200 concurrency=32 urls=5000 zipf=0.9 seed=1 settle=30
workload_image=""
out=bench/results/eks
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --protocols) protocols=${2:-}; shift ;;
    --replicas) [[ ${2:-} =~ ^[0-9]+( +[0-9]+)*$ ]] || usage_error "--replicas needs ring sizes like \"4 8 12\""; replica_counts=$2; shift ;;
    --requests) number "$1" "${2:-}"; requests=$2; shift ;;
    --rate) number "$1" "${2:-}"; rate=$2; shift ;;
    --concurrency) number "$1" "${2:-}"; concurrency=$2; shift ;;
    --urls) number "$1" "${2:-}"; urls=$2; shift ;;
    --zipf) number "$1" "${2:-}"; zipf=$2; shift ;;
    --seed) number "$1" "${2:-}"; seed=$2; shift ;;
    --settle) number "$1" "${2:-}"; settle=$2; shift ;;
    --workload-image) (($# >= 2)) || usage_error "--workload-image needs a value"; workload_image=$2; shift ;;
    --out) (($# >= 2)) || usage_error "--out needs a directory"; out=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unexpected argument '$1'" ;;
  esac
  shift
done
read -r -a protocol_list <<<"$protocols"
((${#protocol_list[@]})) || usage_error "--protocols needs koorde and/or chord"
for p in "${protocol_list[@]}"; do check_protocol "$p"; done
read -r -a replica_list <<<"$replica_counts"

if [[ -n $workload_image ]]; then require_tools kubectl node; else require_tools kubectl node aws; fi
cd "$REPO_ROOT"
[[ -n $workload_image ]] || workload_image="$(ecr_registry "$(aws_region)")/koorde-workload:$(image_tag)"
run mkdir -p "$out"

# wait_job NS: until the workload Job has completed (or failed: exit 1).
wait_job() {
  local ns=$1 state
  while :; do
    state="$(capture Complete kubectl -n "$ns" get job cache-workload -o 'jsonpath={.status.conditions[?(@.status=="True")].type}')"
    case "$state" in
      *Failed*) die "the workload Job failed: kubectl -n $ns logs job/cache-workload" ;;
      *Complete*) return 0 ;;
    esac
    sleep 10
  done
}

# The section "=== NAME" of the Job's log, as its own file.
section() {
  printf "awk '/^=== /{f = (\$2 == \"%s\")} f && !/^=== /' %s > %s" "$1" "$(quote "$2")" "$(quote "$3")"
}

for protocol in "${protocol_list[@]}"; do
  ns="$(namespace_for "$protocol")"
  # With the optional HPA, pin it to each size and give it back its limits however the run ends.
  hpa="$(capture '' kubectl -n "$ns" get hpa dht-node --ignore-not-found -o name)"
  restore=":"
  if [[ -n $hpa ]]; then
    min="$(capture 5 kubectl -n "$ns" get hpa dht-node -o 'jsonpath={.spec.minReplicas}')"
    max="$(capture 50 kubectl -n "$ns" get hpa dht-node -o 'jsonpath={.spec.maxReplicas}')"
    restore="$(quote kubectl -n "$ns" patch hpa dht-node --type merge -p "{\"spec\":{\"minReplicas\":$min,\"maxReplicas\":$max}}")"
    trap 'run_sh "$restore"' EXIT
  fi

  for n in "${replica_list[@]}"; do
    run_name="$protocol-n$n"
    log "$run_name: scaling $ns to $n nodes"
    [[ -z $hpa ]] || run kubectl -n "$ns" patch hpa dht-node --type merge -p "{\"spec\":{\"minReplicas\":$n,\"maxReplicas\":$n}}"
    run kubectl -n "$ns" scale statefulset/dht-node --replicas="$n"
    run kubectl -n "$ns" rollout status statefulset/dht-node --timeout=15m
    run kubectl -n "$ns" wait --for=condition=Ready pod -l app=dht-node --timeout=15m
    run sleep "$settle"

    log "$run_name: workload ($requests requests at $rate/s, zipf $zipf, seed $seed)"
    run kubectl -n "$ns" delete job cache-workload --ignore-not-found --wait=true
    run_sh "kubectl set env --local -f deploy/eks/workload-job.yaml -o yaml WORKLOAD_URLS=$urls WORKLOAD_REQUESTS=$requests WORKLOAD_RATE=$rate WORKLOAD_CONCURRENCY=$concurrency WORKLOAD_ZIPF=$zipf WORKLOAD_SEED=$seed WORKLOAD_URL_TEMPLATE='http://dht-origin:9000/obj/{i}?run=$run_name' | kubectl set image --local -f - -o yaml cache-workload=$workload_image | kubectl -n $ns apply -f -"
    wait_job "$ns"
    run_sh "kubectl -n $ns logs job/cache-workload > $(quote "$out/$run_name.log")"
    run_sh "$(section summary.json "$out/$run_name.log" "$out/$run_name.json")"
    run_sh "$(section results.csv "$out/$run_name.log" "$out/$run_name.csv")"

    log "$run_name: /metrics of $n pods"
    metrics="{ printf '['"
    for ((i = 0; i < n; i++)); do
      ((i == 0)) || metrics+="; printf ','"
      metrics+="; kubectl get --raw /api/v1/namespaces/$ns/pods/dht-node-$i:8080/proxy/metrics"
    done
    run_sh "$metrics; printf ']\n'; } > $(quote "$out/$run_name-metrics.json")"

  done
  if [[ -n $hpa ]]; then
    run_sh "$restore"
    trap - EXIT
  fi
done

log "combined CSV and report"
run_sh "awk 'FNR == 1 { name = FILENAME; sub(/.*\\//, \"\", name); sub(/[.]csv\$/, \"\", name); split(name, run, \"-n\"); if (NR == 1) print \"protocol,replicas,\" \$0; next } { print run[1] \",\" run[2] \",\" \$0 }' $(quote "$out")/*-n*.csv > $(quote "$out/requests.csv")"
run node --import tsx bench/report.ts --eks "$out"
