package ns

import (
	"slices"
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name           string
		entrypoint     []string
		cmd            []string
		args           []string
		entrypointFlag *string
		want           []string
	}{
		{"image cmd", nil, []string{"sh"}, nil, nil, []string{"sh"}},
		{"image entrypoint and cmd", []string{"/init"}, []string{"--serve"}, nil, nil, []string{"/init", "--serve"}},
		{"args replace cmd", []string{"/init"}, []string{"--serve"}, []string{"--help"}, nil, []string{"/init", "--help"}},
		{"args without entrypoint", nil, []string{"sh"}, []string{"ls", "-l"}, nil, []string{"ls", "-l"}},
		{"entrypoint flag drops image cmd", []string{"/init"}, []string{"--serve"}, nil, str("/bin/sh"), []string{"/bin/sh"}},
		{"entrypoint flag and args", []string{"/init"}, []string{"--serve"}, []string{"-c", "echo"}, str("/bin/sh"), []string{"/bin/sh", "-c", "echo"}},
		{"empty entrypoint flag clears both", []string{"/init"}, []string{"--serve"}, nil, str(""), []string{}},
		{"empty entrypoint flag and args", []string{"/init"}, []string{"--serve"}, []string{"ls"}, str(""), []string{"ls"}},
		{"nothing", nil, nil, nil, nil, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Command(c.entrypoint, c.cmd, c.args, c.entrypointFlag)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestCommandDoesNotAlias(t *testing.T) {
	ep := make([]string, 1, 4)
	ep[0] = "/init"
	got := Command(ep, []string{"a"}, nil, nil)
	got[0] = "changed"
	if ep[0] != "/init" {
		t.Fatal("Command returned the caller's slice")
	}
}

func TestResolveUser(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\n" +
		"user:x:1000:1000::/home/user:/bin/sh\nbroken:x:abc:1::/:\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	const group = "root:x:0:\nwheel:x:10:root,user\nusers:x:100:user\nstaff:x:50:\nnogroup:x:65534:\n"
	for _, c := range []struct {
		spec       string
		noFiles    bool
		uid, gid   int
		groups     []int
		home, fail string
	}{
		{spec: "", uid: 0, gid: 0, groups: []int{10}, home: "/root"},
		{spec: "root", uid: 0, gid: 0, groups: []int{10}, home: "/root"},
		{spec: "user", uid: 1000, gid: 1000, groups: []int{10, 100}, home: "/home/user"},
		{spec: "1000", uid: 1000, gid: 1000, groups: []int{10, 100}, home: "/home/user"},
		{spec: "nobody", uid: 65534, gid: 65534, home: "/nonexistent"},
		{spec: "4242", uid: 4242, gid: 0, home: "/"},
		{spec: "4242:4343", uid: 4242, gid: 4343, groups: []int{4343}, home: "/"},
		{spec: "user:staff", uid: 1000, gid: 50, groups: []int{50}, home: "/home/user"},
		{spec: "user:10", uid: 1000, gid: 10, groups: []int{10}, home: "/home/user"},
		{spec: "1:1", noFiles: true, uid: 1, gid: 1, groups: []int{1}, home: "/"},
		{spec: "", noFiles: true, uid: 0, gid: 0, home: "/"},
		{spec: "ghost", fail: "unable to find user ghost"},
		{spec: "user:ghosts", fail: "unable to find group ghosts"},
		{spec: "-1", fail: "unable to find user -1"},
		{spec: "4294967296", fail: "unable to find user"},
		{spec: "abc", fail: "unable to find user abc"},
	} {
		t.Run(c.spec, func(t *testing.T) {
			var pr, gr *strings.Reader
			u, err := func() (*execUser, error) {
				if c.noFiles {
					return resolveUser(c.spec, nil, nil)
				}
				pr, gr = strings.NewReader(passwd), strings.NewReader(group)
				return resolveUser(c.spec, pr, gr)
			}()
			if c.fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.fail) {
					t.Fatalf("got %+v, %v; want an error with %q", u, err, c.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.UID != c.uid || u.GID != c.gid || !slices.Equal(u.Groups, c.groups) || u.Home != c.home {
				t.Fatalf("got %+v, want uid %d gid %d groups %v home %s", u, c.uid, c.gid, c.groups, c.home)
			}
		})
	}
}

func TestProcessEnv(t *testing.T) {
	got := processEnv([]string{"A=1", "HOME=/h"}, "/root", "box", true)
	want := []string{"A=1", "HOME=/h", "PATH=" + DefaultPath, "HOSTNAME=box", "TERM=xterm"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = processEnv([]string{"PATH=/x"}, "/", "", false)
	if !slices.Equal(got, []string{"PATH=/x", "HOME=/"}) {
		t.Fatalf("got %q", got)
	}
}

func TestSpecChecks(t *testing.T) {
	for _, c := range []struct {
		name string
		spec Spec
		want string
	}{
		{"no rootfs", Spec{Args: []string{"x"}}, "no rootfs"},
		{"no command", Spec{Rootfs: "/r"}, "no command"},
		{"bad net", Spec{Rootfs: "/r", Args: []string{"x"}, Net: "bridge"}, "network"},
		{"relative workdir", Spec{Rootfs: "/r", Args: []string{"x"}, WorkingDir: "tmp"}, "not absolute"},
		{"relative volume", Spec{Rootfs: "/r", Args: []string{"x"}, Volumes: []Volume{{Source: "a", Target: "/b"}}}, "absolute"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.spec.config(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}
