# changegate production image: Node 24 LTS, non-root, SQLite data in a volume.
# Build: docker build -t changegate .   Run: see docs/operations.md ("Deployment").

FROM node:24-bookworm-slim AS build
WORKDIR /app
# On Node 24 the SQLite store uses the built-in node:sqlite, so no native addon is built
# (better-sqlite3 is only the driver for Node 20 development machines).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# No dev dependencies in the image; better-sqlite3 (28 MB, Node 20 only) is never loaded on Node 24;
# type declarations and source maps (about 125 MB, e.g. 14 copies of @octokit/openapi-types) are
# never read at run time.
RUN npm run build && npm prune --omit=dev && rm -rf node_modules/better-sqlite3 \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:/app/data/changegate.db
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY package.json app.yml ./
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
EXPOSE 3000
VOLUME ["/app/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM (docker stop) stops accepting webhooks and drains running evaluations.
STOPSIGNAL SIGTERM
# The same Node flags as `npm start` (the young generation held at 2 × 4 MB: src/ops/young-generation.ts).
CMD ["node", "--max-semi-space-size=4", "lib/main.js"]
