package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// psImage is the IMAGE of the container name in ps -a --format json.
func psImage(t *testing.T, root, name string) string {
	t.Helper()
	var rows []struct{ Name, Image string }
	if err := json.Unmarshal([]byte(mustRun(t, root, "ps", "-a", "--format", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Name == name {
			return r.Image
		}
	}
	t.Fatalf("ps -a has no container %s", name)
	return ""
}

// inspectField is one top-level field of inspect's JSON for ref (an
// object, or an array of one).
func inspectField(t *testing.T, root, ref, field string) any {
	t.Helper()
	out := strings.TrimSpace(mustRun(t, root, "inspect", ref))
	if strings.HasPrefix(out, "[") {
		out = strings.TrimSuffix(strings.TrimPrefix(out, "["), "]")
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("inspect %s: %v\n%s", ref, err, out)
	}
	return obj[field]
}

// tag gives an image more names; rmi takes off one of several names alone
// (with -f or not, while a container uses the image or not) and prints
// Docker's Untagged/Deleted lines; a container shows the name it was made
// with.
func TestCLITagAndRmi(t *testing.T) {
	t.Parallel()
	root := newRoot(t)
	dir := writeLayout(t, newImage(t, baseLayer(t, 3), appLayer(t, "tagged")), "latest")
	id := pullID(t, root, "oci:"+dir+":latest", "one:1")

	if out := mustRun(t, root, "tag", "one:1", "two:2"); out != "" {
		t.Errorf("tag printed %q, want nothing", out)
	}
	mustRun(t, root, "tag", id[7:19], "three") // by ID prefix, :latest
	if rows := tableRows(mustRun(t, root, "images")); len(rows) != 4 {
		t.Errorf("images after two tags: %q, want three rows", rows)
	}
	for _, bad := range [][]string{{"tag", "nosuch", "x:1"}, {"tag", "one:1", "Bad Name"}, {"tag", "one:1"}} {
		_, stderr, code := run(t, root, bad...)
		checkOneLineError(t, stderr, code)
	}

	// The container records the name it was made with, not the image's
	// first name.
	mustRun(t, root, "create", "--name", "user", "two:2")
	if img := psImage(t, root, "user"); img != "two:2" {
		t.Errorf("ps IMAGE of a container made from two:2: %q", img)
	}
	if got := inspectField(t, root, "user", "ImageName"); got != "two:2" {
		t.Errorf("inspect ImageName of a container made from two:2: %q", got)
	}

	steps := []struct {
		args     []string
		wantOut  string
		wantCode int
	}{
		{[]string{"rmi", "one:1"}, "Untagged: one:1\n", 0},              // one of three names, image in use
		{[]string{"rmi", "-f", "three"}, "Untagged: three:latest\n", 0}, // -f: the same
		{[]string{"rmi", id}, "", 1},                                    // the last name, in use
		{[]string{"rmi", "-f", "two:2"}, "Untagged: two:2\n", 0},        // in use: the image stays, nameless
	}
	for _, s := range steps {
		out, stderr, code := run(t, root, s.args...)
		if out != s.wantOut || code != s.wantCode {
			t.Errorf("%s: stdout %q exit %d (stderr %q), want %q exit %d", strings.Join(s.args, " "), out, code, stderr, s.wantOut, s.wantCode)
		}
		if code == 1 {
			checkOneLineError(t, stderr, code)
		}
	}
	if img := psImage(t, root, "user"); img != id[7:19] {
		t.Errorf("ps IMAGE once its name is gone: %q, want the short ID", img)
	}
	mustRun(t, root, "rm", "user")
	mustRun(t, root, "tag", id, "four:4")
	// Several images: each is tried; an unknown one fails the command.
	out, stderr, code := run(t, root, "rmi", "four:4", "nosuch")
	if out != "Untagged: four:4\nDeleted: "+id+"\n" {
		t.Errorf("rmi four:4 nosuch printed %q", out)
	}
	checkOneLineError(t, stderr, code)
	if rows := tableRows(mustRun(t, root, "images")); len(rows) != 1 {
		t.Errorf("images after rmi of the last name: %q", rows)
	}
}
