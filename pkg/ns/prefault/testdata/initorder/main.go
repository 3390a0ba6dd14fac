// Command initorder imports prefault beside the standard library's packages
// that allocate at init, for TestInitialisesFirst's trace.
package main

import (
	"os"
	"time"

	_ "github.com/layerctl/layerctl/pkg/ns/prefault"
)

func main() {
	_ = time.Now()
	os.Exit(0)
}
