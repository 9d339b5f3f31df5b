#!/usr/bin/env bash
# Remove one protocol's namespace (and, on request, the whole cluster and the images).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/eks/destroy-eks.sh [--dry-run] [--delete-cluster] [--delete-images] koorde|chord

Deletes the load balancers of namespace <protocol>-dht first (so AWS removes them before anything
else), then the namespace with its pods and volumes. Safe to run again: what is gone is skipped.

  --dry-run         print the commands without running any (no AWS or cluster access)
  --delete-cluster  afterwards delete the EKS cluster $CLUSTER_NAME (both protocols!) with eksctl
  --delete-images   afterwards delete the ECR repositories koorde-node and koorde-workload
  -h, --help        this help

Environment: CLUSTER_NAME (koorde-cache), AWS_REGION (else the AWS CLI's, else us-west-2).
USAGE
}

delete_cluster=0
delete_images=0
while (($#)); do
  case "$1" in
    --delete-cluster) delete_cluster=1 ;;
    --delete-images) delete_images=1 ;;
    *) common_arg "$1" ;;
  esac
  shift
done
require_protocol

tools=(kubectl)
((delete_cluster)) && tools+=(eksctl)
((delete_images)) && tools+=(aws)
require_tools "${tools[@]}"
cd "$REPO_ROOT"
ns="$(namespace_for "$protocol")"
region="$(aws_region)"

if [[ -n "$(capture "$ns" kubectl get namespace "$ns" --ignore-not-found -o name)" ]]; then
  log "deleting the load balancers of $ns"
  run kubectl -n "$ns" delete ingress dht-cache-alb --ignore-not-found --wait=true
  run kubectl -n "$ns" delete service dht-cache-http dht-grpc --ignore-not-found --wait=true
  log "deleting namespace $ns (pods hand off and leave; volumes are released)"
  run kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=15m
else
  log "namespace $ns does not exist: nothing to delete"
fi

if ((delete_cluster)); then
  log "deleting cluster $CLUSTER_NAME in $region (15 minutes or so)"
  run eksctl delete cluster --name "$CLUSTER_NAME" --region "$region" --wait
fi
if ((delete_images)); then
  for repo in koorde-node koorde-workload; do
    run_sh "if aws ecr describe-repositories --repository-names $repo --region $region >/dev/null 2>&1; then aws ecr delete-repository --repository-name $repo --region $region --force >/dev/null; fi"
  done
fi
