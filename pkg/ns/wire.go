package ns

import (
	"encoding/binary"
	"errors"
)

// The config reaches the init step in a compact binary form, not JSON: a
// fresh process's first json.Unmarshal costs about 0.7 ms here (reflection
// caches and first touches of encoding/json), and the init step decodes
// its config on the start's path. Fields go in order, each a uvarint or
// a uvarint length and its bytes; a count bounded by what is left keeps a
// bad length from allocating.

// wireMagic opens an encoded config (and names its version).
const wireMagic = "lcw1"

var errWire = errors.New("config: truncated or malformed")

type wireWriter struct{ b []byte }

func (w *wireWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wireWriter) int(v int)     { w.b = binary.AppendVarint(w.b, int64(v)) }
func (w *wireWriter) bytes(v []byte) {
	w.uint(uint64(len(v)))
	w.b = append(w.b, v...)
}
func (w *wireWriter) str(v string) {
	w.uint(uint64(len(v)))
	w.b = append(w.b, v...)
}
func (w *wireWriter) bool(v bool) {
	if v {
		w.uint(1)
	} else {
		w.uint(0)
	}
}
func (w *wireWriter) strs(v []string) {
	w.uint(uint64(len(v)))
	for _, s := range v {
		w.str(s)
	}
}

type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) int() int {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 || int64(int(v)) != v {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

// count is a number of elements to come, each at least a byte long.
func (r *wireReader) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.err = errWire
		return 0
	}
	return int(n)
}

func (r *wireReader) bytes() []byte {
	n := r.count()
	if r.err != nil {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) str() string { return string(r.bytes()) }
func (r *wireReader) bool() bool  { return r.uint() != 0 }

func (r *wireReader) strs() []string {
	var out []string
	for n := r.count(); n > 0 && r.err == nil; n-- {
		out = append(out, r.str())
	}
	return out
}

// encode is c in the wire form; the seccomp filter, when it is still
// being compiled, is waited for.
func (c *config) encode() ([]byte, error) {
	if c.seccompLater != nil {
		prog, err := c.seccompLater()
		if err != nil {
			return nil, err
		}
		c.Seccomp, c.seccompLater = prog, nil
	}
	w := &wireWriter{b: []byte(wireMagic)}
	w.str(c.Mode)
	w.str(c.Rootfs)
	w.str(c.Hostname)
	w.uint(uint64(len(c.Volumes)))
	for _, v := range c.Volumes {
		w.str(v.Source)
		w.str(v.Target)
		w.bool(v.ReadOnly)
		w.str(v.Name)
	}
	w.uint(uint64(len(c.Tmpfs)))
	for _, t := range c.Tmpfs {
		w.str(t.Target)
		w.strs(t.Options)
		w.bool(t.ReadOnly)
		w.bool(t.Exec)
		w.bool(t.Suid)
	}
	w.bool(c.ReadOnly)
	w.bool(c.NewNet)
	w.bool(c.NoPivot)
	w.strs(c.Args)
	w.strs(c.Env)
	w.str(c.WorkingDir)
	w.str(c.User)
	w.bool(c.Privileged)
	w.uint(uint64(len(c.Caps)))
	for _, cp := range c.Caps {
		w.int(cp)
	}
	w.uint(uint64(len(c.Rlimits)))
	for _, l := range c.Rlimits {
		w.str(l.Name)
		w.uint(l.Soft)
		w.uint(l.Hard)
	}
	w.strs(c.GroupAdd)
	w.bool(c.TTY)
	w.bool(c.Init)
	w.bool(c.Seccomp != nil)
	if c.Seccomp != nil {
		w.bytes(c.Seccomp.Filter)
		w.uint(uint64(c.Seccomp.Flags))
	}
	w.bool(c.NoNewPrivileges)
	return w.b, nil
}

// decodeConfig reads what encode wrote, all of it.
func decodeConfig(b []byte) (*config, error) {
	if len(b) < len(wireMagic) || string(b[:len(wireMagic)]) != wireMagic {
		return nil, errWire
	}
	r := &wireReader{b: b[len(wireMagic):]}
	c := &config{Mode: r.str(), Rootfs: r.str(), Hostname: r.str()}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c.Volumes = append(c.Volumes, Volume{Source: r.str(), Target: r.str(), ReadOnly: r.bool(), Name: r.str()})
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c.Tmpfs = append(c.Tmpfs, Tmpfs{Target: r.str(), Options: r.strs(), ReadOnly: r.bool(), Exec: r.bool(), Suid: r.bool()})
	}
	c.ReadOnly, c.NewNet, c.NoPivot = r.bool(), r.bool(), r.bool()
	c.Args, c.Env = r.strs(), r.strs()
	c.WorkingDir, c.User, c.Privileged = r.str(), r.str(), r.bool()
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c.Caps = append(c.Caps, r.int())
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c.Rlimits = append(c.Rlimits, Rlimit{Name: r.str(), Soft: r.uint(), Hard: r.uint()})
	}
	c.GroupAdd = r.strs()
	c.TTY, c.Init = r.bool(), r.bool()
	if r.bool() {
		c.Seccomp = &seccompProgram{Filter: r.bytes(), Flags: uint(r.uint())}
	}
	c.NoNewPrivileges = r.bool()
	if r.err == nil && len(r.b) > 0 {
		r.err = errWire
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}
