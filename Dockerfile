# syntax=docker/dockerfile:1
# One multi-stage build, a target per binary:
#   docker build --target sentry   -t ghcr.io/trustplane/sentry .
#   docker build --target injector -t ghcr.io/trustplane/injector .
#   docker build --target trustctl -t ghcr.io/trustplane/trustctl .
# Binaries are static (CGO off) and run as a non-root user on distroless.

ARG GO_VERSION=1.26
FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/trustplane/trustplane/cmd/sentry/app.Version=${VERSION} -X github.com/trustplane/trustplane/cmd/injector/app.Version=${VERSION}" \
      -o /out/ ./cmd/...

FROM gcr.io/distroless/static-debian12:nonroot AS sentry
COPY --from=build /out/sentry /sentry
USER 65532:65532
EXPOSE 50001 8080 9090
ENTRYPOINT ["/sentry"]

FROM gcr.io/distroless/static-debian12:nonroot AS injector
COPY --from=build /out/injector /injector
USER 65532:65532
EXPOSE 4000 8080 9090
ENTRYPOINT ["/injector"]

FROM gcr.io/distroless/static-debian12:nonroot AS trustctl
COPY --from=build /out/trustctl /trustctl
USER 65532:65532
ENTRYPOINT ["/trustctl"]
