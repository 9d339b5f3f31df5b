# syntax=docker/dockerfile:1
# The load generator image: the node image (which already carries cache-workload) with
# cache-workload as its entrypoint. Build the node image first:
#   docker build -f docker/node.Dockerfile -t koorde-node .
#   docker build -f docker/workload.Dockerfile -t koorde-workload .
# build-and-push-ecr.sh passes NODE_IMAGE=<registry>/koorde-node:<tag>, so both images always
# come from the same build.
ARG NODE_IMAGE=koorde-node:latest
FROM ${NODE_IMAGE}
USER 1000:1000
STOPSIGNAL SIGTERM
ENTRYPOINT ["cache-workload"]
CMD ["--help"]
