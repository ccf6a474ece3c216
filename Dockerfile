# codeocean-proxy: build and run on a slim Node 24 LTS image, as a non-root user with production
# dependencies only; tini forwards signals so SIGTERM closes cleanly. No compiler is needed:
# better-sqlite3 ships prebuilt Node-API binaries (linux x64 and arm64, glibc and musl), so
# install scripts are not run at all.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY routes ./routes
COPY schemas ./schemas
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-semi-space-size=16 --expose-gc" \
    HOST=0.0.0.0 \
    PORT=8080 \
    AUDIT_DB_PATH=/app/data/codeocean-proxy.sqlite
WORKDIR /app
# The default audit store is a SQLite file here: mount a volume to keep it.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json's bins, linked onto PATH as npm links them, so `docker exec … codeocean-proxy-keys list` works.
RUN chmod 0755 dist/src/server.js dist/src/cli/keys.js dist/src/cli/audit-verify.js dist/src/cli/simulator.js \
 && ln -s /app/dist/src/server.js /usr/local/bin/codeocean-proxy \
 && ln -s /app/dist/src/cli/keys.js /usr/local/bin/codeocean-proxy-keys \
 && ln -s /app/dist/src/cli/audit-verify.js /usr/local/bin/codeocean-proxy-audit-verify \
 && ln -s /app/dist/src/cli/simulator.js /usr/local/bin/codeocean-proxy-simulator
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["codeocean-proxy"]
