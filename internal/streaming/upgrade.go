package streaming

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// dialTimeout bounds connecting to the backend and reading its handshake
// answer.
const dialTimeout = 30 * time.Second

// Conn is an upgraded connection to a backend. Reads come from the bytes
// that followed the backend's 101 answer first.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Dial sends an upgrade request (method, u, header) to the backend, over
// TLS with tlsConfig when u is https. When the backend switches
// protocols it returns the upgraded connection and the 101 response;
// otherwise it returns a nil Conn and the backend's response, whose body
// the caller must close.
func Dial(ctx context.Context, tlsConfig *tls.Config, method string, u *url.URL, header http.Header) (*Conn, *http.Response, error) {
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var nc net.Conn
	var err error
	switch u.Scheme {
	case "https":
		cfg := &tls.Config{}
		if tlsConfig != nil {
			cfg = tlsConfig.Clone()
		}
		// Upgrades need HTTP/1.1.
		cfg.NextProtos = []string{"http/1.1"}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		d := &tls.Dialer{Config: cfg}
		nc, err = d.DialContext(dctx, "tcp", host)
	case "http":
		var d net.Dialer
		nc, err = d.DialContext(dctx, "tcp", host)
	default:
		return nil, nil, fmt.Errorf("dial %s: unsupported scheme %q", u.Redacted(), u.Scheme)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dial %s: %w", u.Redacted(), err)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = nc.SetDeadline(dl) // cleared below; a conn that refuses deadlines fails on use
	}
	if err := req.Write(nc); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("send upgrade request to %s: %w", u.Redacted(), err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("read upgrade response from %s: %w", u.Redacted(), err)
	}
	_ = nc.SetDeadline(time.Time{})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body = &closeBoth{ReadCloser: resp.Body, c: nc}
		return nil, resp, nil
	}
	return &Conn{Conn: nc, r: br}, resp, nil
}

type closeBoth struct {
	io.ReadCloser
	c net.Conn
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.c.Close()
	return err
}

// hopHeaders are connection-level headers a proxy must not forward,
// except the upgrade pair it sets itself.
var hopHeaders = []string{
	"Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding",
}

// ForwardHeader returns the headers of an incoming upgrade request to
// send on to the backend: everything but hop-by-hop headers and, when
// dropCredentials, the caller's credentials and impersonation headers
// (the backend authenticates the proxy, not the user).
func ForwardHeader(in http.Header, dropCredentials bool) http.Header {
	out := in.Clone()
	for _, h := range hopHeaders {
		out.Del(h)
	}
	if dropCredentials {
		out.Del("Authorization")
		for k := range out {
			if strings.HasPrefix(k, "Impersonate-") {
				delete(out, k)
			}
		}
	}
	return out
}

// Proxy forwards the upgrade request r to target and, once the backend
// switches protocols, splices the client's connection with the
// backend's until either side closes. A backend that refuses the upgrade
// has its answer copied to w. It returns an error only when the backend
// could not be reached; nothing has been written to w then.
func Proxy(w http.ResponseWriter, r *http.Request, tlsConfig *tls.Config, target *url.URL, header http.Header) error {
	backend, resp, err := Dial(r.Context(), tlsConfig, r.Method, target, header)
	if err != nil {
		return err
	}
	if backend == nil {
		defer resp.Body.Close()
		copyHeader(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body) // the client went away or the backend failed; nothing to tell either
		return nil
	}
	defer backend.Close()
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fmt.Errorf("hijack client connection: %w", err)
	}
	defer client.Close()
	if err := writeSwitching(client, resp); err != nil {
		return nil // the client is gone
	}
	// Bytes the client sent after its request are in brw's reader.
	var clientR io.Reader = client
	if n := brw.Reader.Buffered(); n > 0 {
		buf, _ := brw.Reader.Peek(n)
		clientR = io.MultiReader(strings.NewReader(string(buf)), client)
	}
	Splice(clientRW{Reader: clientR, Conn: client}, backend)
	return nil
}

// writeSwitching writes the backend's 101 answer to the client.
func writeSwitching(c net.Conn, resp *http.Response) error {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 101 Switching Protocols\r\n")
	_ = resp.Header.Write(&b) // a strings.Builder does not fail
	b.WriteString("\r\n")
	_, err := io.WriteString(c, b.String())
	return err
}

type clientRW struct {
	io.Reader
	net.Conn
}

func (c clientRW) Read(p []byte) (int, error) { return c.Reader.Read(p) }

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

// Splice copies a to b and b to a; when either direction ends it closes
// both, so that the other copy ends too (SPDY and WebSocket close their
// streams in-band, so nothing needs a TCP half-close), and returns once
// both copies have.
func Splice(a, b io.ReadWriteCloser) {
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			a.Close()
			b.Close()
		})
	}
	var wg sync.WaitGroup
	cp := func(dst io.Writer, src io.Reader) {
		defer wg.Done()
		_, _ = io.Copy(dst, src) // ends on EOF or when either side closes
		closeBoth()
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

// IsUpgrade reports whether r asks to switch protocols.
func IsUpgrade(r *http.Request) bool {
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return r.Header.Get("Upgrade") != ""
			}
		}
	}
	return false
}
