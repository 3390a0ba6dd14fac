module github.com/layerctl/layerctl

go 1.26.0

require (
	github.com/klauspost/compress v1.20.4
	github.com/opencontainers/go-digest v1.0.0
	github.com/vbatts/tar-split v0.12.3
	golang.org/x/sys v0.50.0
)
