#!/bin/sh
# koorde-node by default (no arguments, or only options); any other command when the first
# argument names one, so that with the image's own entrypoint
#   kubectl run -it --rm koorde-client --image=<image> -- koorde-client --addr <pod>:4000
# runs the client rather than a node.
set -eu
case "${1:--}" in
  -*) exec koorde-node "$@" ;;
  *) exec "$@" ;;
esac
