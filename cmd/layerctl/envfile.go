package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// maxEnvFile bounds an --env-file: a file of variables, not a dump.
const maxEnvFile = 1 << 20

// readEnvFile reads Docker's --env-file format: a K=V or K line each (K
// alone takes the host's value, as --env K does), blank lines and # comments
// skipped; the value is kept as written, quotes and spaces included.
func readEnvFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > maxEnvFile {
		return nil, fmt.Errorf("--env-file %s: over %d KiB", name, maxEnvFile>>10)
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxEnvFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--env-file %s:%d: %q is no variable name", name, n, k)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--env-file %s: %w", name, err)
	}
	return out, nil
}
