package image

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Timeouts bound each wait on a registry. A zero field takes its default.
type Timeouts struct {
	Connect      time.Duration // a TCP connection (30s)
	TLSHandshake time.Duration // a TLS handshake (10s)
	Response     time.Duration // from a request sent to its response's headers (60s)
	Idle         time.Duration // a response body that brings no byte for this long (60s)
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Connect, 30*time.Second)
	def(&t.TLSHandshake, 10*time.Second)
	def(&t.Response, 60*time.Second)
	def(&t.Idle, 60*time.Second)
	return t
}

const (
	// maxRedirects is Go's own limit, which go-containerregistry's redirect
	// check (an SSRF filter) replaces with none.
	maxRedirects = 10
	// maxSmallBlob caps what a pull reads of a manifest, an index or a
	// config: they are read whole into memory, and a hostile source must not
	// make that unbounded (containers/image, CVE-2020-1702).
	maxSmallBlob = 4 << 20
)

// errTooLarge: a manifest, index or config over maxSmallBlob.
var errTooLarge = fmt.Errorf("larger than the %d MiB allowed", maxSmallBlob>>20)

// registryTransport is the innermost http.RoundTripper of a registry pull
// (go-containerregistry wraps it with auth, retries and redirects). It sees
// every request a redirect makes, so it counts them; and it bounds each wait
// and each manifest body.
type registryTransport struct {
	base     *http.Transport
	timeouts Timeouts
}

func newRegistryTransport(insecure bool, t Timeouts) *registryTransport {
	t = t.withDefaults()
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.TLSHandshake
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &registryTransport{base: tr, timeouts: t}
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	origin, hops := req, 0
	for origin.Response != nil && origin.Response.Request != nil {
		origin = origin.Response.Request
		hops++
	}
	what := describeRequest(origin)
	if hops > maxRedirects {
		return nil, fmt.Errorf("%s: stopped after %d redirects", what, maxRedirects)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{cancel: cancel, err: fmt.Errorf("%s: registry sent nothing for %s", what, t.timeouts.Response)}
	req = req.Clone(ctx)
	if req.Body == nil || req.Body == http.NoBody {
		w.arm(t.timeouts.Response)
	} else {
		// An upload may take long: the wait for the answer starts once the
		// body is sent.
		req.Body = &armOnEOF{ReadCloser: req.Body, arm: func() { w.arm(t.timeouts.Response) }}
	}
	resp, err := t.base.RoundTrip(req)
	w.disarm()
	if w.fired() {
		if err == nil {
			resp.Body.Close()
		}
		return nil, w.err
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	if isManifestRequest(origin) && resp.ContentLength > maxSmallBlob {
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("%s: %w", what, errTooLarge)
	}
	body := &idleBody{body: resp.Body, idle: t.timeouts.Idle, cancel: cancel,
		w: &watchdog{cancel: cancel, err: fmt.Errorf("%s: registry sent nothing for %s", what, t.timeouts.Idle)}}
	resp.Body = body
	if isManifestRequest(origin) {
		resp.Body = &cappedBody{ReadCloser: body, left: maxSmallBlob, err: fmt.Errorf("%s: %w", what, errTooLarge)}
	}
	return resp, nil
}

// describeRequest names what a registry request fetches, for errors:
// "manifest 1.36", "blob sha256:...", else the method and path.
func describeRequest(req *http.Request) string {
	dir, last := path.Split(req.URL.Path)
	switch {
	case strings.HasSuffix(dir, "/manifests/"):
		return "manifest " + last
	case strings.HasSuffix(dir, "/blobs/"):
		return "blob " + last
	}
	return req.Method + " " + req.URL.Path
}

func isManifestRequest(req *http.Request) bool {
	dir, _ := path.Split(req.URL.Path)
	return strings.HasSuffix(dir, "/manifests/")
}

// watchdog cancels a request when a wait on the registry lasts too long.
type watchdog struct {
	cancel context.CancelCauseFunc
	err    error

	mu    sync.Mutex
	timer *time.Timer
	fire  bool
}

// arm (re)starts the wait.
func (w *watchdog) arm(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fire {
		return
	}
	if w.timer == nil {
		w.timer = time.AfterFunc(d, func() {
			w.mu.Lock()
			w.fire = true
			w.mu.Unlock()
			w.cancel(w.err)
		})
		return
	}
	w.timer.Reset(d)
}

// disarm ends the wait.
func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fire
}

// armOnEOF starts the wait for a response once the request body is sent.
type armOnEOF struct {
	io.ReadCloser
	once sync.Once
	arm  func()
}

func (a *armOnEOF) Read(p []byte) (int, error) {
	n, err := a.ReadCloser.Read(p)
	if err != nil {
		a.once.Do(a.arm)
	}
	return n, err
}

func (a *armOnEOF) Close() error {
	a.once.Do(a.arm)
	return a.ReadCloser.Close()
}

// idleBody fails a read that waits longer than idle for a byte: the
// request's context is cancelled, which makes the blocked read return.
type idleBody struct {
	body   io.ReadCloser
	idle   time.Duration
	cancel context.CancelCauseFunc
	w      *watchdog
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.w.arm(b.idle)
	n, err := b.body.Read(p)
	b.w.disarm()
	if err != nil && b.w.fired() {
		return n, b.w.err
	}
	return n, err
}

func (b *idleBody) Close() error {
	err := b.body.Close()
	b.w.disarm()
	b.cancel(nil)
	return err
}

// cappedBody fails once more than left bytes come, whatever the
// Content-Length said.
type cappedBody struct {
	io.ReadCloser
	left int64
	err  error
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.err
	}
	return n, err
}

// readSmall reads a manifest, index or config of at most maxSmallBlob bytes.
func readSmall(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSmallBlob+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmallBlob {
		return nil, errTooLarge
	}
	return b, nil
}

// oneLine keeps what a registry says in an error (a status body may hold
// newlines or terminal escapes) to one line of plain text.
func oneLine(err error) error {
	err = registryError(err)
	if err == nil || !strings.ContainsFunc(err.Error(), isControl) {
		return err
	}
	return lineError{err}
}

type lineError struct{ err error }

func (e lineError) Error() string {
	s := strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, e.err.Error())
	return strings.Join(strings.Fields(s), " ")
}

func (e lineError) Unwrap() error { return e.err }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 }

// registryError words what a registry said as a person reads it: "manifest
// unknown: tag nosuchtag", where go-containerregistry prints the detail as
// a Go map ("MANIFEST_UNKNOWN: manifest unknown; map[Tag:nosuchtag]").
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	if te.StatusCode == http.StatusUnauthorized && len(te.Errors) == 0 {
		// A HEAD's 401 has no body to tell why.
		msg := strings.Replace(err.Error(), te.Error(), "401 Unauthorized: authentication required (see layerctl login)", 1)
		return wordedError{msg: msg, err: err}
	}
	if len(te.Errors) == 0 {
		return err
	}
	var parts []string
	for _, d := range te.Errors {
		msg := d.Message
		if msg == "" {
			msg = strings.ToLower(strings.ReplaceAll(string(d.Code), "_", " "))
		}
		if det := describeDetail(d.Detail); det != "" {
			msg += ": " + det
		}
		parts = append(parts, msg)
	}
	// Only the registry's part is reworded: what wraps it stays.
	msg := strings.Replace(err.Error(), te.Error(), strings.Join(parts, "; "), 1)
	return wordedError{msg: msg, err: err}
}

// describeDetail prints a diagnostic's detail: an object as "key value"
// pairs (keys in lower case, sorted), anything else as JSON.
func describeDetail(d any) string {
	switch v := d.(type) {
	case nil:
		return ""
	case string:
		return v
	case map[string]any:
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			kv = append(kv, strings.ToLower(k)+" "+describeDetail(v[k]))
		}
		return strings.Join(kv, ", ")
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Sprint(d)
	}
	return string(b)
}

// wordedError is an error said again in other words; errors.Is and As still
// see the original.
type wordedError struct {
	msg string
	err error
}

func (e wordedError) Error() string { return e.msg }
func (e wordedError) Unwrap() error { return e.err }
