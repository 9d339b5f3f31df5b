#!/usr/bin/env bash
# Build the node and workload images and push them to ECR (repositories koorde-node, koorde-workload).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<USAGE
Usage: deploy/eks/build-and-push-ecr.sh [--dry-run] [--tag TAG] [--platform PLATFORM]

Creates the ECR repositories if missing, logs Docker in to ECR, builds docker/node.Dockerfile and
docker/workload.Dockerfile and pushes both. Account and region come from the AWS CLI.
Safe to run again: existing repositories are kept, a rebuild reuses Docker's cache.

  --dry-run            print the commands without running any (no AWS or Docker access)
  --tag TAG            image tag (default: IMAGE_TAG, else git describe of this checkout)
  --platform PLATFORM  target platform (default linux/amd64, the node group's m5.large)
  -h, --help           this help

Environment: AWS_REGION (else the AWS CLI's, else us-west-2), IMAGE_TAG.
USAGE
}

tag=""
platform=linux/amd64
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --tag) [[ ${2:-} =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "--tag needs a Docker tag"; tag=$2; shift ;;
    --platform) (($# >= 2)) || usage_error "--platform needs a value"; platform=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unexpected argument '$1'" ;;
  esac
  shift
done

require_tools aws docker
cd "$REPO_ROOT"
region="$(aws_region)"
registry="$(ecr_registry "$region")"
[[ -n $tag ]] || tag="$(image_tag)"

for repo in koorde-node koorde-workload; do
  run_sh "aws ecr describe-repositories --repository-names $repo --region $region >/dev/null 2>&1 || aws ecr create-repository --repository-name $repo --region $region --image-scanning-configuration scanOnPush=true >/dev/null"
done
run_sh "aws ecr get-login-password --region $region | docker login --username AWS --password-stdin $registry"

log "building $registry/koorde-node:$tag and koorde-workload:$tag for $platform"
run docker build --platform "$platform" -f docker/node.Dockerfile -t "$registry/koorde-node:$tag" .
run docker build --platform "$platform" -f docker/workload.Dockerfile \
  --build-arg "NODE_IMAGE=$registry/koorde-node:$tag" -t "$registry/koorde-workload:$tag" .
run docker push "$registry/koorde-node:$tag"
run docker push "$registry/koorde-workload:$tag"

log "next: IMAGE_TAG=$tag deploy/eks/deploy-eks.sh koorde   (and chord)"
