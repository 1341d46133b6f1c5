// Module tools pins the code generators trustplane's `make generate` runs.
// It is a separate module so its dependencies never enter the product's.
module github.com/trustplane/trustplane/hack/tools

go 1.26.0

tool (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
