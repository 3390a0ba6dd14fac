package build_test

import (
	"strings"
	"testing"
	"time"

	"github.com/layerctl/layerctl/pkg/build"
)

// TestBuildWorkdirMakesItsDir: as BuildKit, WORKDIR makes its missing
// directory (and parents) in a layer of its own, 0755 and owned by USER (a
// name's uid and primary group, a number as its own group, or USER's
// group); one that exists adds no layer. Written into a draft layer (a
// numeric USER) or through a container, the image is the same, and a
// rebuild is all cache hits.
func TestBuildWorkdirMakesItsDir(t *testing.T) {
	dockerfile := `FROM busybox
RUN echo 'app:x:1500:1600::/:/bin/sh' >> /etc/passwd
USER nobody
WORKDIR /w/x
USER app
WORKDIR /w/app
USER 1000:nogroup
WORKDIR /w/y/z
USER 1000:2000
WORKDIR /w/n/m
USER 0
WORKDIR /app
WORKDIR /app
WORKDIR /etc
`
	epoch := time.Unix(1700000000, 0)
	ids := map[bool]string{}
	for _, containerOnly := range []bool{false, true} {
		t.Run(map[bool]string{false: "draft", true: "container"}[containerOnly], func(t *testing.T) {
			build.CopyHooks(t, containerOnly, nil)
			s := newStore(t)
			dir := writeContext(t, map[string]string{"Dockerfile": dockerfile})
			first, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"wd"}, Epoch: &epoch})
			if err != nil {
				t.Fatalf("build: %v\n%s", err, progress)
			}
			ids[containerOnly] = first.String()
			got := runIn(t, s, "wd", "stat", "-c", "%n %u:%g %a", "/w", "/w/x", "/w/app", "/w/y", "/w/y/z", "/w/n", "/w/n/m", "/app")
			want := "/w 65534:65534 755\n/w/x 65534:65534 755\n/w/app 1500:1600 755\n/w/y 1000:65534 755\n/w/y/z 1000:65534 755\n" +
				"/w/n 1000:2000 755\n/w/n/m 1000:2000 755\n/app 0:0 755\n"
			if got != want {
				t.Errorf("directories:\n%s\nwant:\n%s", got, want)
			}
			var layers []string
			for _, h := range configOf(t, s, "wd").History {
				if strings.HasPrefix(h.CreatedBy, "WORKDIR") {
					layers = append(layers, strings.TrimPrefix(h.CreatedBy, "WORKDIR "))
					if h.EmptyLayer {
						layers[len(layers)-1] += " (none)"
					}
				}
			}
			if strings.Join(layers, ", ") != "/w/x, /w/app, /w/y/z, /w/n/m, /app, /app (none), /etc (none)" {
				t.Errorf("WORKDIR layers: %v", layers)
			}
			again, progress, err := buildIn(t.Context(), s, dir, build.Options{Tags: []string{"wd"}, Epoch: &epoch})
			if err != nil || again != first || strings.Count(progress, "CACHED") != 8 {
				t.Errorf("rebuild: %s, %v (first %s); want the same image, 8 steps cached:\n%s", again, err, first, progress)
			}
		})
	}
	if len(ids) == 2 && ids[false] != ids[true] {
		t.Errorf("through a draft %s, through containers %s: want one image", ids[false], ids[true])
	}
}
