package main

import "testing"

// TestCLIManagementNames: Docker's "image ls", "container rm" and the like
// are the top-level commands by other names, and their usage errors name
// the group.
func TestCLIManagementNames(t *testing.T) {
	b := newBox(t)
	b.mustRun(t, "tag", busyboxImage, "second:1")
	for _, tc := range []struct{ group, top []string }{
		{[]string{"image", "ls"}, []string{"images"}},
		{[]string{"image", "list", "-q"}, []string{"images", "-q"}},
		{[]string{"image", "history", busyboxImage}, []string{"history", busyboxImage}},
		{[]string{"container", "ls", "-a"}, []string{"ps", "-a"}},
		{[]string{"container", "ps", "-aq"}, []string{"ps", "-aq"}},
	} {
		if got, want := b.mustRun(t, tc.group...), b.mustRun(t, tc.top...); got != want {
			t.Errorf("%v printed %q, %v %q", tc.group, got, tc.top, want)
		}
	}
	if out := b.mustRun(t, "container", "run", "--rm", busyboxImage, "echo", "hi"); out != "hi\n" {
		t.Errorf("container run: %q", out)
	}
	b.mustRun(t, "image", "rm", "second:1")
	if _, _, code := b.run(t, "inspect", "second:1"); code == 0 {
		t.Error("image rm left the tag")
	}
	_, errOut, code := b.run(t, "container", "ls", "--bogus")
	if code != 1 || errOut != "layerctl: container ls: flag provided but not defined: -bogus\n" {
		t.Errorf("container ls --bogus: exit %d, %q", code, errOut)
	}
}
