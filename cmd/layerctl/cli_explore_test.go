package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// historyImage is an image of three steps, an empty one between: a base
// with a 1000-byte file and a layer that overwrites it with 1500 bytes.
func historyImage(t *testing.T) (root, id string) {
	t.Helper()
	base := newImage(t)
	img, err := mutate.Append(base,
		mutate.Addendum{Layer: newLayer(t, dir("etc/"), file("etc/big", strings.Repeat("b", 1000))),
			History: v1.History{CreatedBy: "ADD rootfs /", Comment: "the base"}},
		mutate.Addendum{History: v1.History{CreatedBy: "/bin/sh -c #(nop)  ENV A=a-value-long-enough-to-be-cut-by-the-table", EmptyLayer: true}},
		mutate.Addendum{Layer: newLayer(t, dir("etc/"), file("etc/big", strings.Repeat("B", 1500))),
			History: v1.History{CreatedBy: "RUN overwrite"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	root = newRoot(t)
	return root, pullID(t, root, "oci:"+writeLayout(t, img, "v1")+":v1", "explore-test")
}

func TestHistory(t *testing.T) {
	root, id := historyImage(t)
	lines := strings.Split(strings.TrimSpace(mustRun(t, root, "history", "explore-test")), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "LAYER") || !strings.Contains(lines[0], "CREATED BY") {
		t.Fatalf("history: want a header and 3 rows, got:\n%s", strings.Join(lines, "\n"))
	}
	if f := strings.Fields(lines[2]); f[0] != "<missing>" || !strings.Contains(lines[2], "…") || !strings.Contains(lines[2], " 0B") {
		t.Errorf("empty layer row %q: want <missing>, a cut command, 0B", lines[2])
	}
	if !strings.Contains(lines[1], "RUN overwrite") || !strings.Contains(lines[1], "1.5kB") {
		t.Errorf("top row %q: want RUN overwrite and 1.5kB", lines[1])
	}
	if !strings.Contains(lines[3], "the base") {
		t.Errorf("base row %q: want its comment", lines[3])
	}
	if full := mustRun(t, root, "history", "--no-trunc", id); !strings.Contains(full, "enough-to-be-cut-by-the-table") || !strings.Contains(full, "sha256:") {
		t.Errorf("history --no-trunc cuts:\n%s", full)
	}
	var entries []struct {
		Layer      string `json:"layer"`
		CreatedBy  string `json:"createdBy"`
		SizeBytes  int64  `json:"sizeBytes"`
		EmptyLayer bool   `json:"emptyLayer"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, root, "history", "--format", "json", id)), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].SizeBytes != 1500 || !entries[1].EmptyLayer || entries[1].Layer != "" || entries[2].Layer == "" {
		t.Errorf("history json: %+v", entries)
	}
}

func TestExploreJSON(t *testing.T) {
	root, id := historyImage(t)
	var rep struct {
		Image             string  `json:"image"`
		SizeBytes         int64   `json:"sizeBytes"`
		WastedBytes       int64   `json:"wastedBytes"`
		UserWastedPercent float64 `json:"userWastedPercent"`
		Efficiency        float64 `json:"efficiency"`
		Layers            []struct {
			Index     int      `json:"index"`
			ChainID   string   `json:"chainID"`
			DiffID    string   `json:"diffID"`
			CreatedBy string   `json:"createdBy"`
			SizeBytes int64    `json:"sizeBytes"`
			Added     []string `json:"added"`
			Modified  []string `json:"modified"`
			Deleted   []string `json:"deleted"`
		} `json:"layers"`
		Inefficiencies []struct {
			Path        string `json:"path"`
			Count       int    `json:"count"`
			WastedBytes int64  `json:"wastedBytes"`
		} `json:"inefficiencies"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, root, "explore", "--format", "json", "--base", "1", id)), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SizeBytes != 2500 || rep.WastedBytes != 1000 || rep.Efficiency != 0.6 || rep.UserWastedPercent != 1000.0/1500 {
		t.Errorf("figures: size %d wasted %d efficiency %v user wasted %v", rep.SizeBytes, rep.WastedBytes, rep.Efficiency, rep.UserWastedPercent)
	}
	if len(rep.Layers) != 2 || rep.Layers[1].CreatedBy != "RUN overwrite" || strings.Join(rep.Layers[1].Modified, ",") != "/etc,/etc/big" ||
		len(rep.Layers[1].Added) != 0 || rep.Layers[0].ChainID == "" || rep.Layers[0].DiffID == "" {
		t.Errorf("layers: %+v", rep.Layers)
	}
	if len(rep.Inefficiencies) != 1 || rep.Inefficiencies[0].Path != "/etc/big" || rep.Inefficiencies[0].Count != 2 {
		t.Errorf("inefficiencies: %+v", rep.Inefficiencies)
	}
	if _, stderr, code := run(t, root, "explore", "--format", "json", "--base", "3", id); code != 1 {
		t.Errorf("--base 3 of 2 layers: exit %d (%s)", code, stderr)
	} else {
		checkOneLineError(t, stderr, code)
	}
}

func TestExploreCI(t *testing.T) {
	root, id := historyImage(t)
	// efficiency 0.6, 1000 bytes wasted, user wasted 0.4 (no --base)
	cases := []struct {
		name   string
		config string // .dive-ci in the working dir, "" for none
		args   []string
		code   int
		want   string
	}{
		{"dive's defaults fail", "", nil, 1, "FAIL: lowestEfficiency"},
		{"flags pass", "", []string{"--lowest-efficiency", "0.5", "--highest-user-wasted-percent", "0.5", "--highest-wasted-bytes", "1kB"}, 0, "Result:PASS"},
		{"wasted bytes over", "", []string{"--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled", "--highest-wasted-bytes", "999B"}, 1, "FAIL: highestWastedBytes"},
		{".dive-ci passes", "rules:\n  lowestEfficiency: 0.6\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.40\n", nil, 0, "Result:PASS"},
		{".dive-ci fails", "rules:\n  lowestEfficiency: disabled\n  highestUserWastedPercent: 0.39\n", nil, 1, "FAIL: highestUserWastedPercent"},
		{"a flag beats .dive-ci", "rules:\n  lowestEfficiency: 0.9\n", []string{"--lowest-efficiency", "0.1", "--highest-user-wasted-percent", "1"}, 0, "Result:PASS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wd := t.TempDir()
			if c.config != "" {
				if err := os.WriteFile(filepath.Join(wd, ".dive-ci"), []byte(c.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := command(root, append(append([]string{"explore", "--ci"}, c.args...), id)...)
			cmd.Dir = wd
			out, err := cmd.Output()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Errorf("exit %d, want %d; want %q in:\n%s", code, c.code, c.want, out)
			}
		})
	}
	_, stderr, code := run(t, root, "explore", "--ci", "--highest-wasted-bytes", "lots", id)
	checkOneLineError(t, stderr, code)
}
