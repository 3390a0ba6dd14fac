package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/layerctl/layerctl/pkg/container"
)

func TestParseMount(t *testing.T) {
	host := t.TempDir()
	for _, tc := range []struct {
		spec    string
		vol     *container.Volume
		tmpfs   *container.Tmpfs
		wantErr string
	}{
		{spec: "type=bind,source=" + host + ",target=/m,readonly", vol: &container.Volume{Source: host, Target: "/m", ReadOnly: true}},
		{spec: "type=bind,src=" + host + ",dst=/m,ro=false", vol: &container.Volume{Source: host, Target: "/m"}},
		{spec: "source=cache,target=/c", vol: &container.Volume{Name: "cache", Target: "/c"}},
		{spec: "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1777", tmpfs: &container.Tmpfs{Target: "/t", Options: []string{"size=1048576", "mode=1777"}}},
		{spec: "type=tmpfs,target=/t,readonly", tmpfs: &container.Tmpfs{Target: "/t", ReadOnly: true}},
		{spec: "type=bind,source=" + host, wantErr: "no target"},
		{spec: "type=tmpfs,target=/t,source=/s", wantErr: "no source"},
		{spec: "type=bind,source=rel,target=/m", wantErr: "host path"},
		{spec: "type=volume,source=/abs,target=/m", wantErr: "no volume name"},
		{spec: "type=bind,source=" + host + ",target=/m,tmpfs-size=1m", wantErr: "type=tmpfs"},
		{spec: "type=tmpfs,target=/t,tmpfs-mode=9", wantErr: "octal"},
		{spec: "type=bind,source=" + host + ",target=/m,bind-propagation=shared", wantErr: "not supported"},
		{spec: "type=nfs,target=/m", wantErr: "bind, volume or tmpfs"},
	} {
		vol, tmpfs, err := parseMount(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(vol, tc.vol) || !reflect.DeepEqual(tmpfs, tc.tmpfs) {
			t.Errorf("%s: %+v %+v %v; want %+v %+v", tc.spec, vol, tmpfs, err, tc.vol, tc.tmpfs)
		}
	}
}
