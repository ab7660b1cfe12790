# shunt image: the proxy (`shunt serve`, the default command) and the standalone mock LLM
# (`shunt mock`) in one small image.
#
#   docker build -t shunt .
#   docker run --rm -p 8080:8080 -v shunt-certs:/certs shunt
#
# Stage 1 builds the static-ish release binary; stage 2 is distroless/cc (glibc, libgcc,
# CA roots, no shell), running as the distroless `nonroot` user (uid 65532).

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits do not rebuild them: the manifests of both
# workspace members (the crate and crates/schemagen) with stub sources.
COPY Cargo.toml Cargo.lock ./
COPY crates/schemagen/Cargo.toml crates/schemagen/
RUN mkdir -p src crates/schemagen/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs crates/schemagen/src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src crates/schemagen/src
COPY crates/schemagen/src crates/schemagen/src
COPY crates/schemagen/data crates/schemagen/data
COPY data ./data
COPY src ./src
# The stubs' builds are older than the real sources' mtimes may be: touch the crate roots.
RUN touch src/main.rs src/lib.rs crates/schemagen/src/lib.rs \
    && cargo build --release --locked --bin shunt \
    && install -D -m 0755 target/release/shunt /out/shunt \
    # The certs dir, owned by the runtime user: a named volume mounted here copies this
    # ownership, so shunt can write its CA and trust kit without running as root.
    && install -d -m 0755 -o 65532 -g 65532 /out/certs

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/shunt /usr/local/bin/shunt
COPY --from=build --chown=65532:65532 /out/certs /certs
USER 65532:65532
# Every flag also reads SHUNT_<FLAG>; these are the container defaults. `shunt mock`
# reads SHUNT_LISTEN too, so a mock container sets SHUNT_LISTEN=0.0.0.0:8000.
ENV SHUNT_LISTEN=0.0.0.0:8080 \
    SHUNT_CERTS=/certs
# The trust kit (ca.pem, ca-key.pem, bundle.pem, adc.json, shunt.env) lives here: share it
# with app containers read-only. The CA is reused across restarts while the volume lives.
VOLUME ["/certs"]
EXPOSE 8080 8000
# `shunt health` probes SHUNT_LISTEN (0.0.0.0 is probed on loopback); it answers for both
# `shunt serve` (/healthz) and `shunt mock`.
HEALTHCHECK --interval=5s --timeout=4s --start-period=5s --retries=5 \
    CMD ["shunt", "health"]
ENTRYPOINT ["shunt"]
CMD ["serve"]
