package container_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/layerctl/layerctl/pkg/container"
	lt "github.com/layerctl/layerctl/pkg/layer/layertest"
	"github.com/layerctl/layerctl/pkg/union"
	"github.com/layerctl/layerctl/pkg/union/uniontest"
)

// tinyImage is one layer with a root entry and one file.
func tinyImage(t *testing.T) [][]byte {
	return [][]byte{lt.Tar(t, lt.Dir("./"), lt.Dir("etc/"), lt.File("etc/os-release", "ID=test\n"))}
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// nameservers are the nameserver lines of a resolv.conf.
func nameservers(s string) []string {
	var out []string
	for _, l := range lines(s) {
		if ns, ok := strings.CutPrefix(l, "nameserver "); ok {
			out = append(out, ns)
		}
	}
	return out
}

// The -init layer holds what a container needs of its own: hosts with the
// loopback names, its host name and --add-host entries; resolv.conf with the
// --dns servers; hostname; the mountpoints; mtab. The rootfs shows them.
func TestInitLayer(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			rec := e.pull(t, tinyImage(t))
			s, err := e.cs.Create(t.Context(), container.CreateOptions{
				Image: rec.ID.String(), Hostname: "web1",
				AddHosts: []string{"db:10.0.0.2", "v6:fd00::1"},
				DNS:      []string{"192.0.2.1", "2001:db8::1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			merged := e.mount(t, s.ID)
			for _, root := range []string{filepath.Join(e.cs.Dir(s.ID), "init"), merged} {
				hosts := lines(readFile(t, filepath.Join(root, "etc/hosts")))
				for _, want := range []string{"127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "127.0.1.1\tweb1", "10.0.0.2\tdb", "fd00::1\tv6"} {
					if !slices.Contains(hosts, want) {
						t.Errorf("%s/etc/hosts has no line %q:\n%s", root, want, strings.Join(hosts, "\n"))
					}
				}
				if got := readFile(t, filepath.Join(root, "etc/hostname")); got != "web1\n" {
					t.Errorf("%s/etc/hostname = %q", root, got)
				}
				if got := nameservers(readFile(t, filepath.Join(root, "etc/resolv.conf"))); !slices.Equal(got, []string{"192.0.2.1", "2001:db8::1"}) {
					t.Errorf("%s/etc/resolv.conf nameservers %q, want the --dns ones only", root, got)
				}
				for p, mode := range map[string]uint32{"proc": 0o555, "sys": 0o555, "dev": 0o755, "dev/pts": 0o755, "dev/shm": 0o1777} {
					r, err := uniontest.Stat(filepath.Join(root, p))
					if err != nil || r.Type != "dir" || r.Mode != mode {
						t.Errorf("%s/%s: %v %v, want a dir with mode %04o", root, p, r, err, mode)
					}
				}
				if target, err := os.Readlink(filepath.Join(root, "etc/mtab")); err != nil || target != "/proc/mounts" {
					t.Errorf("%s/etc/mtab -> %q (%v), want /proc/mounts", root, target, err)
				}
			}
			if got := readFile(t, filepath.Join(merged, "etc/os-release")); got != "ID=test\n" {
				t.Errorf("image file under the init layer's etc: %q", got)
			}

			// Without a host name the container takes its ID's first 12 digits.
			d, err := e.cs.Create(t.Context(), container.CreateOptions{Image: rec.ID.String()})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(e.cs.Dir(d.ID), "init/etc/hostname")); got != d.ID[:12]+"\n" || d.Name != d.ID[:12] {
				t.Errorf("default hostname %q and name %q, want %s", got, d.Name, d.ID[:12])
			}
		})
	}
}

// The main goroutine keeps the main thread, so that withHostFile's thread,
// which leaves the process's mount namespace and is never given back, is
// never the main one: a main thread cannot end and would stay in the other
// namespace, where /proc/self shows it.
func init() { runtime.LockOSThread() }

// withHostFile runs fn where the host's path reads content: on a thread of
// its own in a private mount namespace, with a file bound over path. The
// thread ends with fn, and the namespace and the bind mount with it.
func withHostFile(t *testing.T, path, content string, fn func() error) error {
	t.Helper()
	uniontest.RequireRoot(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- fmt.Errorf("make / private: %w", err)
			return
		}
		if err := unix.Mount(file, path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind over %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Without --dns a container gets the host's nameservers except loopback ones
// (they mean nothing in another network namespace); with none left, public
// ones. --dns replaces the host's nameservers and keeps its other lines.
func TestInitResolvConf(t *testing.T) {
	uniontest.RequireRoot(t)
	const host = "search example.org\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.7\noptions ndots:2\n"
	for _, tc := range []struct {
		name, host string
		dns        []string
		want       string
	}{
		{"loopback dropped", host, nil, "search example.org\nnameserver 192.0.2.7\noptions ndots:2\n"},
		{"only loopback", "nameserver 127.0.0.1\nnameserver ::1\n", nil, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"--dns", host, []string{"192.0.2.1"}, "search example.org\noptions ndots:2\nnameserver 192.0.2.1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, union.VFS)
			rec := e.pull(t, tinyImage(t))
			var s container.State
			err := withHostFile(t, "/etc/resolv.conf", tc.host, func() (err error) {
				s, err = e.cs.Create(t.Context(), container.CreateOptions{Image: rec.ID.String(), DNS: tc.dns})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(e.cs.Dir(s.ID), "init/etc/resolv.conf")); got != tc.want {
				t.Errorf("resolv.conf\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// An image that plants symlinks where the init layer writes (/etc to a host
// directory, /dev to /, /sys out of the layer) still gets real directories in
// the rootfs, and nothing is written through the links.
func TestInitMasksImageSymlinks(t *testing.T) {
	hostEtc := t.TempDir()
	// What a write through dev -> / would make on the host.
	var hostRoot []string
	for _, name := range []string{"new", "pts", "shm"} {
		if _, err := os.Lstat("/" + name); errors.Is(err, os.ErrNotExist) {
			hostRoot = append(hostRoot, "/"+name)
		}
	}
	tars := [][]byte{lt.Tar(t,
		lt.Dir("./"),
		lt.Symlink("dev", "/"),
		lt.Symlink("etc", hostEtc),
		lt.Symlink("sys", "../../host-sys"),
	)}
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			requireDriver(t, driver)
			e := newEnv(t, driver)
			s := e.create(t, e.pull(t, tars), "")
			before := e.lowerSnapshot(t, s)
			merged := e.mount(t, s.ID)
			for _, p := range []string{"etc", "dev", "dev/pts", "dev/shm", "sys"} {
				if fi, err := os.Lstat(filepath.Join(merged, p)); err != nil || !fi.IsDir() {
					t.Errorf("/%s in the rootfs: %v %v, want a directory", p, fi, err)
				}
			}
			if !strings.Contains(readFile(t, filepath.Join(merged, "etc/hosts")), "localhost") {
				t.Error("rootfs etc/hosts has no localhost")
			}
			for _, p := range []string{"etc/new", "dev/shm/x", "dev/new", "sys/new"} {
				if err := os.WriteFile(filepath.Join(merged, p), []byte("x"), 0o644); err != nil {
					t.Errorf("write %s: %v", p, err)
				}
				if _, err := os.Lstat(filepath.Join(e.cs.Dir(s.ID), "rw", p)); err != nil {
					t.Errorf("write %s is not in the rw layer: %v", p, err)
				}
			}
			e.umount(t, s.ID)
			checkSnapshot(t, before, e.lowerSnapshot(t, s))
			if entries, _ := os.ReadDir(hostEtc); len(entries) > 0 {
				t.Errorf("written into the host dir /etc pointed at: %v", entries)
			}
			// sys -> ../../host-sys, seen from a layer's diff dir or a
			// container's rw dir.
			for _, p := range append(hostRoot, e.dir("layers", "host-sys"), e.dir("containers", "host-sys")) {
				if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s was made outside the container (%v)", p, err)
				}
			}
		})
	}
}

// Bad --name, --hostname, --add-host or --dns input, an unknown image or a
// taken name is an error that says what is wrong and leaves nothing behind.
func TestCreateBadInput(t *testing.T) {
	uniontest.RequireRoot(t)
	e := newEnv(t, union.VFS)
	rec := e.pull(t, tinyImage(t))
	img := rec.ID.String()
	check := func(t *testing.T, o container.CreateOptions, says string, is error, want []string) {
		t.Helper()
		s, err := e.cs.Create(t.Context(), o)
		if err == nil {
			t.Fatalf("created %s", s.ID)
		}
		if !strings.Contains(err.Error(), says) || is != nil && !errors.Is(err, is) {
			t.Errorf("err = %v, want one saying %q (%v)", err, says, is)
		}
		entries, err := os.ReadDir(e.dir("containers"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ent := range entries {
			got = append(got, ent.Name())
		}
		if !slices.Equal(got, want) {
			t.Errorf("containers/ holds %q, want %q", got, want)
		}
		e.checkEmpty(t, "tmp")
	}
	for _, tc := range []struct {
		name string
		o    container.CreateOptions
		says string
		is   error
	}{
		{"name with a space", container.CreateOptions{Image: img, Name: "my box"}, `invalid name "my box"`, nil},
		{"name with a slash", container.CreateOptions{Image: img, Name: "a/b"}, "invalid name", nil},
		{"name starting with a dash", container.CreateOptions{Image: img, Name: "-x"}, "invalid name", nil},
		{"hostname too long", container.CreateOptions{Image: img, Hostname: strings.Repeat("h", 65)}, "invalid hostname", nil},
		{"hostname with an underscore", container.CreateOptions{Image: img, Hostname: "a_b"}, "invalid hostname", nil},
		{"add-host without an IP", container.CreateOptions{Image: img, AddHosts: []string{"db"}}, `invalid --add-host "db": want HOST:IP`, nil},
		{"add-host with a bad IP", container.CreateOptions{Image: img, AddHosts: []string{"db:10.0.0.300"}}, "invalid --add-host", nil},
		{"add-host with a bad host", container.CreateOptions{Image: img, AddHosts: []string{"d b:10.0.0.1"}}, "invalid --add-host", nil},
		{"add-host without a host", container.CreateOptions{Image: img, AddHosts: []string{":10.0.0.1"}}, "invalid --add-host", nil},
		{"dns that is a name", container.CreateOptions{Image: img, DNS: []string{"dns.example"}}, `invalid --dns "dns.example": want an IP address`, nil},
		{"dns with a port", container.CreateOptions{Image: img, DNS: []string{"192.0.2.1:53"}}, "invalid --dns", nil},
		{"unknown image", container.CreateOptions{Image: "nosuch:latest"}, "nosuch", container.ErrImageNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.o, tc.says, tc.is, nil) })
	}
	t.Run("taken name", func(t *testing.T) {
		taken := e.create(t, rec, "taken")
		check(t, container.CreateOptions{Image: img, Name: "taken"}, `name "taken" is taken`, container.ErrContainerExists, []string{taken.ID})
	})
}
