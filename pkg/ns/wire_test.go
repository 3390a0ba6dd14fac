package ns

import (
	"reflect"
	"testing"
)

// fill sets every exported field of v (a pointer to a struct), through
// nested structs, slices and pointers, to a value that is not zero, so that
// a field the codec forgets shows in a round trip.
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.String:
		v.SetString("s" + string(rune('a'+*seed%26)) + "\x00é")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(-*seed * 1000))
	case reflect.Uint, reflect.Uint64:
		v.SetUint(uint64(*seed) << 40)
	case reflect.Uint8:
		v.SetUint(uint64(*seed % 256))
	default:
		panic("fill: no value for " + v.Kind().String())
	}
}

// Every field of the config reaches the init step as it was, and an empty
// config too.
func TestConfigWireRoundTrip(t *testing.T) {
	var full config
	seed := 0
	fill(reflect.ValueOf(&full).Elem(), &seed)
	for name, c := range map[string]*config{"every field set": &full, "empty": {}} {
		b, err := c.encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeConfig(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", name, got, c)
		}
		for cut := range len(b) {
			if _, err := decodeConfig(b[:cut]); err == nil {
				t.Fatalf("%s: %d of %d bytes decoded without an error", name, cut, len(b))
			}
		}
	}
}

// The filter still being compiled is waited for and sent.
func TestConfigWireWaitsForSeccomp(t *testing.T) {
	prog := &seccompProgram{Filter: []byte{1, 2, 3}, Flags: 4}
	c := &config{Mode: modeRun, seccompLater: func() (*seccompProgram, error) { return prog, nil }}
	b, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeConfig(b)
	if err != nil || !reflect.DeepEqual(got.Seccomp, prog) {
		t.Fatalf("decoded seccomp %+v (%v), want %+v", got.Seccomp, err, prog)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	var full config
	seed := 0
	fill(reflect.ValueOf(&full).Elem(), &seed)
	b, _ := full.encode()
	f.Add(b)
	f.Add([]byte(wireMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeConfig(b)
		if err != nil {
			return
		}
		again, err := c.encode()
		if err != nil {
			t.Fatal(err)
		}
		if c2, err := decodeConfig(again); err != nil || !reflect.DeepEqual(c2, c) {
			t.Fatalf("re-encoded config decodes to %+v (%v), want %+v", c2, err, c)
		}
	})
}
