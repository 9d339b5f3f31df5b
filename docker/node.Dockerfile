# syntax=docker/dockerfile:1
# The koorde-node image: every command of package.json `bin` on PATH, koorde-node by default.
#   docker build -f docker/node.Dockerfile -t koorde-node .
# The build steps are the ones CI runs (npm ci, npm run build); test/deploy/docker.test.ts
# checks that they stay so.

# Pinned Node LTS (the version CI runs); bump it together with .ci and package.json engines.
ARG NODE_VERSION=20.20.2

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so that editing the sources does not re-download them.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev \
 && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the node user: the root filesystem can be mounted read-only.
COPY --from=build /app /app
COPY docker/entrypoint.sh /usr/local/bin/koorde-entrypoint
# One small launcher per command of package.json `bin`, so a new command needs no change here.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN node -p "Object.entries(require('/app/package.json').bin).map(([n, f]) => n + ' ' + f).join('\\n')" \
  | while read -r name file; do \
      printf '#!/bin/sh\nexec node /app/%s "$@"\n' "$file" > "/usr/local/bin/$name"; \
      chmod 0755 "/usr/local/bin/$name"; \
    done \
 && chmod 0755 /usr/local/bin/koorde-entrypoint \
 && koorde-node --help >/dev/null
# The node user of the base image, by number so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 4000 4001 8080
# The node leaves the ring gracefully on SIGTERM: hands its keys to its successor, then exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CACHE_HTTP_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# koorde-node unless the first argument names another command (koorde-client, cache-workload…).
ENTRYPOINT ["koorde-entrypoint"]
CMD []
