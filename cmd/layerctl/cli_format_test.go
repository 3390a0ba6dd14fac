package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// labelled is img with its config's labels set.
func labelled(t *testing.T, img v1.Image, labels map[string]string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = labels
	cf.Created = v1.Time{Time: time.Now().Add(-3 * time.Hour)}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// lines are the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// formatStore is a store with app:1 and app:2 (one image), web:1 (labelled
// tier=front), a dangling image, and two containers of app:1 and web:1.
func formatStore(t *testing.T) (root, appID, webID, danglingID string) {
	root = newRoot(t)
	pull := func(img v1.Image, name string) string {
		return pullID(t, root, "oci:"+writeLayout(t, img, "latest")+":latest", name)
	}
	danglingID = pull(newImage(t, baseLayer(t, 3)), "app:1")
	app := newImage(t, baseLayer(t, 1))
	appID = pull(app, "app:1") // app:1 moves on: the first image dangles
	pull(app, "app:2")
	webID = pull(labelled(t, newImage(t, baseLayer(t, 2)), map[string]string{"tier": "front", "team": "a"}), "web:1")
	mustRun(t, root, "create", "--name", "one", "app:1")
	mustRun(t, root, "create", "--name", "two", "web:1")
	return root, appID, webID, danglingID
}

func TestCLIImagesFormatAndFilter(t *testing.T) {
	t.Parallel()
	root, appID, webID, danglingID := formatStore(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"template", []string{"images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"},
			[]string{"<none>:<none> " + short12(danglingID), "app:1 " + short12(appID), "app:2 " + short12(appID), "web:1 " + short12(webID)}},
		{"quiet", []string{"images", "-q"}, []string{short12(danglingID), short12(appID), short12(webID)}},
		{"repository", []string{"images", "--format", "{{.Repository}}:{{.Tag}}", "app"}, []string{"app:1", "app:2"}},
		{"repository and tag", []string{"images", "--format", "{{.Repository}}:{{.Tag}}", "app:2"}, []string{"app:2"}},
		{"dangling", []string{"images", "-q", "--filter", "dangling=true"}, []string{short12(danglingID)}},
		{"not dangling", []string{"images", "-q", "--filter", "dangling=false"}, []string{short12(appID), short12(webID)}},
		{"label", []string{"images", "-q", "--filter", "label=tier"}, []string{short12(webID)}},
		{"label value", []string{"images", "-q", "--filter", "label=tier=back"}, nil},
		{"reference", []string{"images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=app:*"}, []string{"app:1", "app:2"}},
		{"two keys", []string{"images", "-q", "-f", "reference=*", "-f", "label=team=a"}, []string{short12(webID)}},
		{"containers", []string{"images", "--format", "{{.Tag}} {{.Containers}}", "web"}, []string{"1 1"}},
		{"table", []string{"images", "--format", `table {{.Repository}}\t{{.Tag}}`, "web"}, []string{"REPOSITORY   TAG", "web          1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lines(mustRun(t, root, tc.args...))
			sortedGot, sortedWant := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(tc.want))
			if tc.name == "table" {
				sortedGot, sortedWant = got, tc.want
			}
			if !slices.Equal(sortedGot, sortedWant) {
				t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
			}
		})
	}
	// {{json .}} holds Docker's field names.
	var row map[string]string
	if err := json.Unmarshal([]byte(mustRun(t, root, "images", "--format", "{{json .}}", "web")), &row); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Repository", "Tag", "ID", "CreatedSince", "Size"} {
		if row[k] == "" {
			t.Errorf("{{json .}} has no %s: %v", k, row)
		}
	}
	if row["CreatedSince"] != "3 hours ago" {
		t.Errorf("CreatedSince %q, want 3 hours ago", row["CreatedSince"])
	}
	for _, bad := range [][]string{
		{"images", "--filter", "nokey=1"}, {"images", "--filter", "dangling=maybe"},
		{"images", "--format", "{{.Nope"}, {"images", "--format", "{{.Nope}}"}, {"images", "--filter", "reference=["},
	} {
		_, stderr, code := run(t, root, bad...)
		checkOneLineError(t, stderr, code)
	}
}

func TestCLIPsFormatAndFilter(t *testing.T) {
	t.Parallel()
	root, _, _, _ := formatStore(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"running only", []string{"ps", "-q"}, nil},
		{"all", []string{"ps", "-a", "--format", "{{.Names}} {{.Image}} {{.State}} {{.Command}}"},
			[]string{`two web:1 created "/bin/sh"`, `one app:1 created "/bin/sh"`}},
		{"status implies all", []string{"ps", "--format", "{{.Names}}", "--filter", "status=created"}, []string{"two", "one"}},
		{"status exited", []string{"ps", "-q", "--filter", "status=exited"}, nil},
		{"name", []string{"ps", "-a", "--format", "{{.Names}}", "--filter", "name=^on"}, []string{"one"}},
		{"ancestor", []string{"ps", "-a", "--format", "{{.Names}}", "--filter", "ancestor=app:2"}, []string{"one"}},
		{"label", []string{"ps", "-a", "--format", "{{.Names}} {{.Labels}}", "--filter", "label=tier=front"}, []string{"two team=a,tier=front"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lines(mustRun(t, root, tc.args...)); !slices.Equal(got, tc.want) {
				t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
			}
		})
	}
	ids := lines(mustRun(t, root, "ps", "-aq"))
	if len(ids) != 2 || len(ids[0]) != 12 {
		t.Errorf("ps -aq: %q, want two 12-hex IDs", ids)
	}
	// -l and -n N: the last made, whatever their state; --no-trunc: whole IDs.
	if got := lines(mustRun(t, root, "ps", "-lq")); !slices.Equal(got, ids[:1]) {
		t.Errorf("ps -lq: %q, want the newest, %q", got, ids[0])
	}
	if got := lines(mustRun(t, root, "ps", "-n", "1", "--format", "{{.Names}}")); !slices.Equal(got, []string{"two"}) {
		t.Errorf("ps -n 1: %q, want two", got)
	}
	full := lines(mustRun(t, root, "ps", "-a", "--no-trunc", "-q"))
	if len(full) != 2 || len(full[0]) != 64 || !strings.HasPrefix(full[0], ids[0]) {
		t.Errorf("ps -a --no-trunc -q: %q, want whole IDs", full)
	}
	imgs := lines(mustRun(t, root, "images", "--no-trunc", "-q"))
	if len(imgs) == 0 || !strings.HasPrefix(imgs[0], "sha256:") || len(imgs[0]) != 71 {
		t.Errorf("images --no-trunc -q: %q, want whole digests", imgs)
	}
	if all := lines(mustRun(t, root, "images", "-aq")); !slices.Equal(all, lines(mustRun(t, root, "images", "-q"))) {
		t.Errorf("images -aq %q differs from images -q", all)
	}
	_, stderr, code := run(t, root, "ps", "--filter", "ancestor=nosuch")
	checkOneLineError(t, stderr, code)
}

func TestCLIInspectSeveralAndTemplate(t *testing.T) {
	t.Parallel()
	root, appID, webID, _ := formatStore(t)
	var several []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, root, "inspect", "app:1", "web:1", "one")), &several); err != nil {
		t.Fatal(err)
	}
	if len(several) != 3 || several[0]["Id"] != appID || several[1]["Id"] != webID || several[2]["Name"] != "one" {
		t.Errorf("inspect of three: %v", several)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "-f", "{{.Id}}", "web:1"}, webID + "\n"},
		{[]string{"inspect", "--format", "{{.State.Status}} {{.Name}}", "one", "two"}, "created one\ncreated two\n"},
		{[]string{"inspect", "-f", "{{json .RepoTags}}", "app:1"}, `["app:1","app:2"]` + "\n"},
	} {
		if got := mustRun(t, root, tc.args...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.args, got, tc.want)
		}
	}
	// What is found is printed; what is not fails the command.
	stdout, stderr, code := run(t, root, "inspect", "-f", "{{.Id}}", "web:1", "nosuch")
	checkOneLineError(t, stderr, code)
	if stdout != webID+"\n" || !strings.Contains(stderr, "nosuch") {
		t.Errorf("inspect web:1 nosuch: stdout %q stderr %q", stdout, stderr)
	}
}

// short12 is the 12 hex digits an ID is listed by.
func short12(id string) string { return strings.TrimPrefix(id, "sha256:")[:12] }

// --label on create and run: the container's labels over its image's, as
// ps --filter label= and inspect see them.
func TestCLIContainerLabels(t *testing.T) {
	t.Parallel()
	root, _, _, _ := formatStore(t)
	mustRun(t, root, "create", "--name", "lab", "--label", "own=1", "--label", "tier=back", "web:1")
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"label=own", []string{"lab own=1,team=a,tier=back"}},
		{"label=tier=back", []string{"lab own=1,team=a,tier=back"}},
		{"label=tier=front", []string{"two team=a,tier=front"}},
	} {
		got := lines(mustRun(t, root, "ps", "-a", "--format", "{{.Names}} {{.Labels}}", "--filter", tc.filter))
		if !slices.Equal(got, tc.want) {
			t.Errorf("ps --filter %s: %q, want %q", tc.filter, got, tc.want)
		}
	}
	var info struct {
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, root, "inspect", "lab")), &info); err != nil {
		t.Fatal(err)
	}
	if l := info.Config.Labels; len(l) != 2 || l["own"] != "1" || l["tier"] != "back" {
		t.Errorf("inspect's Config.Labels %v, want own=1 and tier=back", l)
	}
	_, stderr, code := run(t, root, "create", "--label", "=x", "web:1")
	checkOneLineError(t, stderr, code)
}
