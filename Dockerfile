# syntax=docker/dockerfile:1
# Goal Tracker's two images, a target each. Build context: the repository root.
#   docker build --platform linux/amd64 --target api -t goal-tracker-backend .   (port 8080)
#   docker build --platform linux/amd64 --target web -t goal-tracker-frontend .  (port 3000)
# The Node release is pinned exactly: the one .ci/run runs the tests on (NODE_VERSION there).
# Bump both together, on purpose.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
# Manifests only, so the dependency layers stay cached until package-lock.json changes.
COPY package.json package-lock.json .npmrc ./
COPY packages/contract/package.json packages/contract/
COPY packages/server-kit/package.json packages/server-kit/
COPY apps/api/package.json apps/api/
COPY apps/web/package.json apps/web/

# Runtime dependencies, optional ones included: @node-rs/argon2 ships its native binary as
# one (without it the first password hash would crash the process).
FROM manifests AS api-deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --workspace @goal-tracker/api

# Runtime dependencies only: the web tier needs no optional ones (the API's Argon2 binary is one).
FROM manifests AS web-deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --omit=optional --ignore-scripts --workspace @goal-tracker/web

# The compiler lives in the root's devDependencies, hence --include-workspace-root. One build
# serves both targets: one install of the dev dependencies, not two, for a few seconds of tsc
# on the other app.
FROM manifests AS build
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --include-workspace-root \
      --workspace @goal-tracker/api --workspace @goal-tracker/web
COPY tsconfig.base.json ./
COPY packages/contract packages/contract
COPY packages/server-kit packages/server-kit
COPY apps/api apps/api
COPY apps/web apps/web
RUN npm run build --workspace @goal-tracker/api --workspace @goal-tracker/web

# Both images start here: a fresh base, none of the build's tools.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app

FROM runtime AS api
ENV PORT=8080
# CA bundle for DB_SSL=verify-full against RDS; fetched at build time so it is never committed.
# Remote ADD files are mode 600, which the non-root user could not read.
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /app/certs/rds-global-bundle.pem
COPY --from=api-deps /app ./
COPY --from=build /app/packages/contract/dist packages/contract/dist
COPY --from=build /app/packages/server-kit/dist packages/server-kit/dist
COPY --from=build /app/apps/api/dist apps/api/dist
COPY apps/api/migrations apps/api/migrations
WORKDIR /app/apps/api
# The code stays root-owned and read-only to the process.
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=2", "--max-old-space-size=128", "dist/main.js"]

FROM runtime AS web
ENV PORT=3000
COPY --from=web-deps /app ./
COPY --from=build /app/packages/contract/dist packages/contract/dist
COPY --from=build /app/packages/server-kit/dist packages/server-kit/dist
COPY --from=build /app/apps/web/dist apps/web/dist
# Stylesheet and icon, read at start, fingerprinted and compressed in memory
# (the client script is built into dist/client).
COPY apps/web/public apps/web/public
WORKDIR /app/apps/web
# The code stays root-owned and read-only to the process.
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=128", "dist/main.js"]
