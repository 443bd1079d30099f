# The operator image: a static binary on a distroless base (no shell, runs as non-root).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /flink-operator ./cmd/flink-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /flink-operator /flink-operator
USER 65532:65532
ENTRYPOINT ["/flink-operator"]
