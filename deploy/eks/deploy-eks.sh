#!/usr/bin/env bash
# Deploy one protocol's cache ring to the EKS cluster and wait until it serves traffic.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Mutual TLS: the Secret with the ring's CA and node certificate, and where the pods mount it
# (base/statefulset.yaml and the TLS_* settings of base/configmap.yaml use the same names).
TLS_SECRET=dht-tls
TLS_MOUNT=/etc/dht-tls
# Where each namespace's CA key and certificates are kept: off the cluster and out of git.
TLS_DIR="${TLS_DIR:-$HOME/.koorde-web-cache/tls}"

usage() {
  cat <<USAGE
Usage: deploy/eks/deploy-eks.sh [--dry-run] [--image IMAGE] [--lb-timeout SECONDS] koorde|chord

Applies deploy/eks/overlays/<protocol> (namespace <protocol>-dht) with the ECR image, waits for
the StatefulSet rollout and for the load balancer's hostname, then prints how to use it.
Safe to run again: everything is applied declaratively.

  --dry-run             print the commands without running any (no AWS or cluster access)
  --image IMAGE         node image (default <account>.dkr.ecr.<region>.amazonaws.com/koorde-node:<tag>)
  --lb-timeout SECONDS  how long to wait for the load balancer hostname (default 600)
  -h, --help            this help

Mutual TLS is on: the first run makes a CA, a node and a client certificate with openssl
(deploy/eks/tls-certs.sh) in \$TLS_DIR/<namespace> and stores the CA and node certificate in the
Secret $TLS_SECRET, which the pods mount read-only at $TLS_MOUNT. Later runs keep both.

Environment: CLUSTER_NAME (koorde-cache), AWS_REGION (else the AWS CLI's, else us-west-2),
IMAGE_TAG (default: git describe of this checkout, as build-and-push-ecr.sh tags it),
TLS_DIR (default ~/.koorde-web-cache/tls).
REPLICAS (nodes to run, default 10; ignored while the optional HPA owns the count).
USAGE
}

image=""
lb_timeout=600
while (($#)); do
  case "$1" in
    --image) (($# >= 2)) || usage_error "--image needs a value"; image=$2; shift ;;
    --lb-timeout) [[ ${2:-} =~ ^[0-9]+$ ]] || usage_error "--lb-timeout needs a number of seconds"; lb_timeout=$2; shift ;;
    *) common_arg "$1" ;;
  esac
  shift
done
require_protocol
REPLICAS="${REPLICAS:-10}"
[[ $REPLICAS =~ ^[1-9][0-9]*$ ]] || usage_error "REPLICAS=$REPLICAS: expected a whole number of nodes, at least 1"

if [[ -n $image ]]; then require_tools kubectl openssl; else require_tools kubectl aws openssl; fi
cd "$REPO_ROOT"
ns="$(namespace_for "$protocol")"
region="$(aws_region)"

log "kubeconfig for cluster $CLUSTER_NAME in $region"
run aws eks update-kubeconfig --name "$CLUSTER_NAME" --region "$region"
[[ -n $image ]] || image="$(ecr_registry "$region")/koorde-node:$(image_tag)"

tls_dir="$TLS_DIR/$ns"
log "mutual TLS: Secret $TLS_SECRET in $ns with ca.crt, tls.crt, tls.key from $tls_dir (ca.key stays there)"
log "mutual TLS: StatefulSet dht-node mounts $TLS_SECRET read-only at $TLS_MOUNT; dht-config sets TLS_CA_FILE=$TLS_MOUNT/ca.crt TLS_CERT_FILE=$TLS_MOUNT/tls.crt TLS_KEY_FILE=$TLS_MOUNT/tls.key"
run deploy/eks/tls-certs.sh "$tls_dir" "$ns"
run kubectl apply -f "deploy/eks/overlays/$protocol/namespace.yaml"
# An existing Secret is kept: running pods trust its CA, and a new one would split the ring.
run_sh "if ! kubectl -n $ns get secret $TLS_SECRET >/dev/null 2>&1; then kubectl -n $ns create secret generic $TLS_SECRET --from-file=ca.crt=$(quote "$tls_dir/ca.crt") --from-file=tls.crt=$(quote "$tls_dir/tls.crt") --from-file=tls.key=$(quote "$tls_dir/tls.key"); fi"

log "applying deploy/eks/overlays/$protocol with image $image"
run kubectl apply -f deploy/eks/storageclass-gp3.yaml
# The manifests name the image koorde-node:latest; substitute the real one while applying, so the
# first rollout already pulls the right image and the files in git stay untouched.
run_sh "kubectl kustomize deploy/eks/overlays/$protocol | sed -e $(quote "s#image: koorde-node:latest#image: $image#") | kubectl apply -f -"
run_sh "if kubectl get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then kubectl -n $ns apply -f deploy/eks/optional/servicemonitor.yaml; else echo 'no Prometheus Operator: ServiceMonitor skipped' >&2; fi"

# The StatefulSet has no replicas field: scale it to REPLICAS, unless the optional HPA
# (deploy/eks/optional/hpa.yaml) is there; it and a manual scale exclude each other.
hpa="$(capture '' kubectl -n "$ns" get hpa dht-node --ignore-not-found -o name)"
if [[ -n $hpa ]]; then
  log "the HPA dht-node owns the replica count: REPLICAS=$REPLICAS not applied (kubectl -n $ns delete hpa dht-node to scale by hand)"
else
  log "replicas: $REPLICAS"
  run kubectl -n "$ns" scale statefulset/dht-node --replicas="$REPLICAS"
fi

log "waiting for the ring"
run kubectl -n "$ns" rollout status statefulset/dht-node --timeout=15m
run kubectl -n "$ns" rollout status deployment/dht-origin --timeout=5m

log "waiting up to ${lb_timeout}s for the load balancer"
deadline=$((SECONDS + lb_timeout))
host=""
while :; do
  host="$(capture '<lb-hostname>' kubectl -n "$ns" get service dht-cache-http -o 'jsonpath={.status.loadBalancer.ingress[0].hostname}')"
  [[ -z $host ]] || break
  ((SECONDS < deadline)) || die "no load balancer hostname after ${lb_timeout}s: kubectl -n $ns describe service dht-cache-http (README, troubleshooting)"
  sleep 10
done

cat >&2 <<NEXT

$protocol is up in namespace $ns behind http://$host (DNS may take a few minutes to resolve).
  curl -s http://$host/health
  curl -si 'http://$host/cache?url=http%3A%2F%2Fdht-origin%3A9000%2Fobj%2F1'
  node dist/cli/cache-workload.js --target http://$host --urls 100 --requests 1000 --rate 100 --zipf 1.2
  kubectl -n $ns exec -it dht-node-0 -- koorde-client --addr dht-node-0.dht-headless.$ns.svc.cluster.local:4000 --tls-ca $TLS_MOUNT/ca.crt --tls-cert $TLS_MOUNT/tls.crt --tls-key $TLS_MOUNT/tls.key
  (from outside, through dht-grpc: --tls-ca $tls_dir/ca.crt --tls-cert $tls_dir/client.crt --tls-key $tls_dir/client.key)
  deploy/eks/benchmark-eks.sh --protocols $protocol
NEXT
