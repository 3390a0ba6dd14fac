package explore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCIConfig(t *testing.T) {
	cases := []struct {
		name, doc string
		want      Rules
		err       string
	}{
		{"dive's example", "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.20\n",
			Rules{"0.95", "20MB", "0.2"}, ""},
		{"a rule left out keeps its default", "rules:\n  highestWastedBytes: disabled\n", DefaultRules(), ""},
		{"disabled", "rules:\n  lowestEfficiency: disabled\n", Rules{"disabled", "disabled", "0.1"}, ""},
		{"empty file", "", DefaultRules(), ""},
		{"bytes as a number", "rules:\n  highestWastedBytes: 1000\n", Rules{"0.9", "1000", "0.1"}, ""},
		{"bad ratio", "rules:\n  lowestEfficiency: high\n", Rules{}, "lowestEfficiency"},
		{"bad size", "rules:\n  highestWastedBytes: lots\n", Rules{}, "highestWastedBytes"},
		{"unknown rule", "rules:\n  lowestEfficency: 0.9\n", Rules{}, "unknown rule"},
		{"not yaml", "rules: [", Rules{}, "ci config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseCIConfig([]byte(c.doc), DefaultRules())
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one naming %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestReadCIConfigMissingFile(t *testing.T) {
	r, err := ReadCIConfig(filepath.Join(t.TempDir(), ".dive-ci"), DefaultRules())
	if err != nil || r != DefaultRules() {
		t.Fatalf("got %+v, %v; want the defaults", r, err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".dive-ci"), []byte("rules:\n  lowestEfficiency: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err = ReadCIConfig(filepath.Join(dir, ".dive-ci"), DefaultRules()); err != nil || r.LowestEfficiency != "0.5" {
		t.Fatalf("got %+v, %v; want lowestEfficiency 0.5", r, err)
	}
}

func TestEvaluate(t *testing.T) {
	rep := &Report{Efficiency: 0.8, WastedBytes: 25_000_000, UserWastedPercent: 0.3}
	cases := []struct {
		name   string
		rules  Rules
		ok     bool
		status []string
	}{
		{"all pass", Rules{"0.8", "25MB", "0.3"}, true, []string{"PASS", "PASS", "PASS"}},
		{"efficiency too low", Rules{"0.81", "disabled", "disabled"}, false, []string{"FAIL", "SKIP", "SKIP"}},
		{"too many bytes", Rules{"disabled", "20MB", "disabled"}, false, []string{"SKIP", "FAIL", "SKIP"}},
		{"MiB are binary", Rules{"disabled", "24MiB", "disabled"}, true, []string{"SKIP", "PASS", "SKIP"}},
		{"user waste too high", Rules{"disabled", "disabled", "0.2"}, false, []string{"SKIP", "SKIP", "FAIL"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.rules.Check(); err != nil {
				t.Fatal(err)
			}
			res, ok := Evaluate(rep, c.rules)
			if ok != c.ok {
				t.Errorf("ok %v, want %v", ok, c.ok)
			}
			for i, r := range res {
				if r.Status != c.status[i] || (r.Status == "FAIL") != (r.Message != "") {
					t.Errorf("rule %s: %s %q, want %s", r.Rule, r.Status, r.Message, c.status[i])
				}
			}
		})
	}
}
