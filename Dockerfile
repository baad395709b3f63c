# bSocial: one image, the subcommand picks the service (serve, migrate, notifier, telemetry,
# relay, query, seed). Multi-stage: `web` builds the web app, `build` the release binary;
# the runtime stage holds only the binary, its shared libraries and its data files.
#
#   docker build -t bsocial .
#   docker run --rm bsocial --help
#
# BASE_IMAGE: any Debian bookworm image (the default is the official slim one; `make
# test-compose` passes a local one made with mmdebstrap, since it reaches no registry).
ARG BASE_IMAGE=debian:bookworm-slim
# The web app's build tools (Vite 8) need Node.js >= 20.19: Debian trixie's nodejs.
ARG WEB_BASE_IMAGE=debian:trixie-slim

FROM ${WEB_BASE_IMAGE} AS web
RUN --mount=type=cache,target=/var/cache/apt,id=apt-trixie,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY web/package.json web/package-lock.json web/
# Behind a TLS-inspecting proxy, pass its CA bundle: --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && npm ci --prefix web --no-audit --no-fund
COPY web web
RUN npm --prefix web run build

FROM ${BASE_IMAGE} AS build
# The Makefile's build packages (DEB_PACKAGES: compiler, CMake, the libraries, john-data for
# the common-password list) plus ccache. tests/compose checks that
# every package named here is one the Makefile installs (ccache aside).
# The apt download cache is a cache mount, so a rebuild downloads nothing again.
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > /etc/apt/apt.conf.d/keep-cache \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config git ca-certificates \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev \
      libsoci-dev libpq-dev libsqlite3-dev librdkafka-dev libsodium-dev libspdlog-dev \
      libcli11-dev libcurl4-openssl-dev libssl-dev libgtest-dev libbenchmark-dev libgoogle-perftools-dev \
      john-data ccache \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# Only what the C++ build reads, so a change elsewhere (docs, tests, web) rebuilds nothing.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY src src
ARG JOBS=2
# ccache in a cache mount: rebuilding after a small change recompiles only what changed.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake --preset release -DBSOCIAL_TESTS=OFF -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null \
 && cmake --build --preset release --target bsocial -j"${JOBS}" \
 && strip build/release/bsocial
# The shared libraries the binary needs, except glibc's own (the runtime base has them).
RUN mkdir -p /out/lib \
 && ldd build/release/bsocial | awk '$3 ~ /^\// {print $3}' \
    | grep -Ev '/(libc|libm|libresolv|libpthread|libdl|librt|ld-linux[^/]*)\.so' \
    | xargs -r cp -L -t /out/lib \
 && ls /out/lib

FROM ${BASE_IMAGE}
# tzdata: the analytics endpoints check time-zone names against /usr/share/zoneinfo.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/lib/ /usr/local/lib/bsocial/
RUN echo /usr/local/lib/bsocial > /etc/ld.so.conf.d/bsocial.conf && ldconfig \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/bsocial --shell /usr/sbin/nologin bsocial \
 && install -d -o bsocial -g bsocial -m 0700 /var/lib/bsocial
COPY --from=build /src/build/release/bsocial /usr/local/bin/bsocial
COPY --from=web /src/web/dist/ /usr/share/bsocial/web/
COPY queries/ /usr/share/bsocial/queries/
COPY --from=build /usr/share/john/password.lst /usr/share/john/password.lst
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY deploy/healthcheck.sh /usr/local/bin/bsocial-healthcheck

ENV BSOCIAL_BIND=0.0.0.0 \
    BSOCIAL_PORT=8080 \
    BSOCIAL_DATA_DIR=/var/lib/bsocial \
    BSOCIAL_STATIC_DIR=/usr/share/bsocial/web \
    BSOCIAL_QUERIES_DIR=/usr/share/bsocial/queries \
    BSOCIAL_COMMON_PASSWORDS=/usr/share/john/password.lst
USER bsocial
WORKDIR /var/lib/bsocial
EXPOSE 8080
# GET /healthz on BSOCIAL_PORT (serve); compose gives the notifier its own port.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["bsocial-healthcheck"]
ENTRYPOINT ["bsocial"]
CMD ["serve"]
