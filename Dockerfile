# Multi-stage: build with dev dependencies, run with production ones only, as the unprivileged node user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# patches/: fixes to dependencies that upstream has not released yet, applied by the postinstall script.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json drizzle.config.ts ./
COPY src ./src
# Then only the production dependencies stay: the runtime stage takes this tree (patches applied) rather than
# downloading everything a second time.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund \
  # The 好邻 poster draws with two of the font package's five weights (src/lib/poster.ts): the other three (25 MB) go.
  && rm -f node_modules/@embedpdf/fonts-sc/fonts/NotoSansHans-Light.otf node_modules/@embedpdf/fonts-sc/fonts/NotoSansHans-DemiLight.otf \
    node_modules/@embedpdf/fonts-sc/fonts/NotoSansHans-Medium.otf

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
COPY demo ./demo
# Embedded mode (no DATABASE_URL) keeps PGlite under DATA_DIR; /app belongs to root, so the directory is made here and
# given to node (without it the bot exits with EACCES: mkdir './data'). Mount a volume on it to keep the data when the
# container is replaced: -v haolin-data:/app/data.
ENV DATA_DIR=/app/data
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Kept only in docker format (`podman build --format docker`; OCI images have no HEALTHCHECK). Follows PORT.
# 10 s: starting node for the probe took over 3 s on a loaded 2-core machine (the check saw "exceeded timeout of 3s").
HEALTHCHECK --interval=30s --timeout=10s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# Exec form, so SIGTERM reaches node and the bot shuts down gracefully.
# The same command line as `npm run start:prod` (package.json), which `npm run bench` measures: a smaller young
# generation and a heap that grows in smaller steps keep peak memory under load near 135 MB instead of 250+ MB, at no
# measurable cost in throughput, without capping the heap (a large XLSX export still gets the memory it needs).
# glibc gives each thread that allocates its own malloc arena; libvips' threads (photos) left tens of MB in them
# (docs/performance.md, bench:embedded). Two arenas, as `npm start` runs.
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "dist/index.js"]
