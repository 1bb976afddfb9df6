# syntax=docker/dockerfile:1
# The mail server image: build stage compiles TypeScript and the native modules
# (better-sqlite3, argon2); the runtime stage carries only the production dependencies
# and the compiled output, and runs as an unprivileged user.
# Base image pinned to an exact Node/Debian release; pin the digest too in your registry
# mirror (docker buildx imagetools inspect node:20.19.5-bookworm-slim).

ARG NODE_IMAGE=node:20.19.5-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Native modules fall back to a source build when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MAILSERVER_CONFIG=/etc/mailserver/config.yaml
WORKDIR /app
# A fixed, unprivileged uid/gid so volume ownership is predictable on the host.
RUN groupadd --system --gid 10001 mailserver \
 && useradd --system --uid 10001 --gid mailserver --home-dir /var/lib/mailserver --shell /usr/sbin/nologin mailserver \
 && mkdir -p /var/lib/mailserver /etc/mailserver/tls \
 && chown mailserver:mailserver /var/lib/mailserver
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY deploy/docker/config.yaml /etc/mailserver/config.yaml
RUN ln -s /app/bin/mailserver.js /usr/local/bin/mailserver

USER mailserver:mailserver
# Mail, directory, queue, DKIM keys, backups: one volume. Certificates: mounted read-only.
VOLUME ["/var/lib/mailserver", "/etc/mailserver/tls"]
# Listeners inside the container use unprivileged ports; compose maps 993→10993 etc.
EXPOSE 10024 10143 10993 10110 10995 10587 10465 10080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:10080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["--config", "/etc/mailserver/config.yaml"]
