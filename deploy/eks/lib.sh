# shellcheck shell=bash
# Shared by the deploy/eks scripts: argument helpers, the --dry-run runner and the docs/api.md names.
# Every command that touches a cluster or AWS goes through run / run_sh / capture, so --dry-run
# prints exactly what would run (on stdout, copy-pasteable) and runs none of it.

CLUSTER_NAME="${CLUSTER_NAME:-koorde-cache}"
EKS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$EKS_DIR/../.." && pwd)"
PROTOCOLS=(koorde chord)
DRY_RUN=0
# Commands are printed on fd 3, so that they still reach stdout from inside $(capture …).
exec 3>&1

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# A bad argument: the reason, the usage text, exit 2.
usage_error() {
  echo "$(basename "$0"): $*" >&2
  usage >&2
  exit 2
}

log() {
  echo "==> $*" >&2
}

# The arguments as one shell line, quoted only where needed.
quote() {
  local arg words=()
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
      words+=("$arg")
    else
      words+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s' "${words[*]}"
}

show() {
  if ((DRY_RUN)); then
    printf '%s\n' "$1" >&3
  else
    printf '+ %s\n' "$1" >&2
  fi
}

# run CMD ARG…: print it, and run it unless --dry-run.
run() {
  show "$(quote "$@")"
  ((DRY_RUN)) || "$@"
}

# run_sh 'pipeline': the same for a line of shell (pipes, redirections, ||).
run_sh() {
  show "$1"
  ((DRY_RUN)) || bash -o pipefail -c "$1"
}

# capture PLACEHOLDER CMD ARG…: the command's output, or PLACEHOLDER under --dry-run.
capture() {
  local placeholder=$1
  shift
  show "$(quote "$@")"
  if ((DRY_RUN)); then
    printf '%s' "$placeholder"
  else
    "$@"
  fi
}

# Tools the real run needs; a dry run needs none of them.
require_tools() {
  ((DRY_RUN)) && return 0
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing required tool(s): ${missing[*]} (see deploy/eks/README.md, prerequisites)"
}

# check_protocol NAME: exits with the usage text unless NAME is koorde or chord.
check_protocol() {
  local p
  for p in "${PROTOCOLS[@]}"; do
    [[ $1 == "$p" ]] && return 0
  done
  usage_error "unknown protocol '$1' (expected koorde or chord)"
}

# The arguments deploy-eks.sh and destroy-eks.sh share: --dry-run, -h/--help, unknown options,
# and the one protocol. Call require_protocol after the loop.
protocol=""
common_arg() {
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [[ -z $protocol ]] || usage_error "one protocol at a time"; protocol=$1 ;;
  esac
}

require_protocol() {
  [[ -n $protocol ]] || usage_error "missing protocol"
  check_protocol "$protocol"
}

namespace_for() {
  printf '%s-dht' "$1"
}

# The region: AWS_REGION, else the AWS CLI's configured region, else us-west-2 (docs/api.md).
aws_region() {
  local region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
  if [[ -z $region ]] && ((!DRY_RUN)) && command -v aws >/dev/null 2>&1; then
    region="$(aws configure get region 2>/dev/null || true)"
  fi
  printf '%s' "${region:-us-west-2}"
}

# The ECR registry of the current AWS account.
ecr_registry() {
  local region=$1 account
  account="$(capture '<account-id>' aws sts get-caller-identity --query Account --output text)"
  printf '%s.dkr.ecr.%s.amazonaws.com' "$account" "$region"
}

# Image tag: IMAGE_TAG, else the checked-out commit (immutable tags: nodes never run a stale :latest).
image_tag() {
  if [[ -n ${IMAGE_TAG:-} ]]; then
    printf '%s' "$IMAGE_TAG"
  else
    git -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || printf 'dev'
  fi
}
