package shared

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// These tests cover the client's HTTP behaviour against bare handlers; the
// endpoints themselves are tested against the real manager in node/manager.

func TestClientFollows308WithBody(t *testing.T) {
	var gotBody, gotAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/admin/apps/old", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/api/v1/admin/apps/new")
		w.WriteHeader(http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/api/v1/admin/apps/new", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotAuth = string(b), r.Header.Get("Authorization")
		if r.Method != http.MethodPatch {
			t.Errorf("method after redirect = %s, want PATCH", r.Method)
		}
		io.WriteString(w, `{"id":7,"slug":"new","name":"N","future_field":1}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := NewClient(srv.URL, "tok")
	name := "N"
	app, err := c.UpdateApp(context.Background(), "old", UpdateAppRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != 7 || app.Slug != "new" {
		t.Errorf("app = %+v", app)
	}
	if gotBody != `{"name":"N"}` || gotAuth != "Bearer tok" {
		t.Errorf("after redirect body = %q auth = %q; want the body re-sent with the token", gotBody, gotAuth)
	}
}

func TestClientErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/admin/apps/x":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":{"code":"slug_taken","message":"taken","held_by":"other"}}`)
		case "/api/v1/admin/apps/proxy":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `<html>bad gateway</html>`)
		case "/api/v1/execute/3":
			w.WriteHeader(http.StatusInsufficientStorage)
			io.WriteString(w, `{"error":{"code":"sandbox_limit","message":"m","limit":"max_operations"}}`)
		case "/api/v1/execute/4":
			w.Header().Set("X-Script", "yes")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, `short and stout`)
		}
	}))
	defer srv.Close()
	c := NewClient(srv.URL+"/", "tok")
	ctx := context.Background()

	_, err := c.App(ctx, "x")
	if e, ok := AsError(err); !ok || e.Status != 409 || e.Code != CodeSlugTaken || e.Detail("held_by") != "other" {
		t.Errorf("App(x) = %v, want *Error 409 slug_taken held_by other", err)
	}
	_, err = c.App(ctx, "proxy")
	if e, ok := AsError(err); !ok || e.Status != 502 || e.Code != CodeInternal || !strings.Contains(e.Message, "bad gateway") {
		t.Errorf("App(proxy) = %v, want *Error 502 carrying the body", err)
	}
	res, err := c.Execute(ctx, 3, ExecuteRequest{Method: "POST", Body: []byte("x")})
	if e, ok := AsError(err); !ok || e.Status != 507 || e.Detail("limit") != KnobMaxOperations || res.Status != 507 {
		t.Errorf("Execute(3) = %+v, %v; want 507 sandbox_limit", res, err)
	}
	res, err = c.Execute(ctx, 4, ExecuteRequest{})
	if err != nil || res.Status != 418 || string(res.Body) != "short and stout" || res.Header.Get("X-Script") != "yes" {
		t.Errorf("Execute(4) = %+v, %v; want the script's own 418", res, err)
	}
}

func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewClient(srv.URL, "tok", WithTimeout(100*time.Millisecond))
	_, err := c.ListApps(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ListApps against a stuck node = %v, want a deadline error", err)
	}
}

func TestClientPinnedTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	}))
	defer srv.Close()
	id := NodeIDFromSPKI(srv.Certificate().RawSubjectPublicKeyInfo)

	if err := NewClient(srv.URL, "t", WithTLSConfig(PinnedTLSConfig(id))).Health(context.Background()); err != nil {
		t.Errorf("Health with the right pin = %v", err)
	}
	err := NewClient(srv.URL, "t", WithTLSConfig(PinnedTLSConfig("AAAA"))).Health(context.Background())
	var mismatch *IdentityMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != id {
		t.Errorf("Health with a wrong pin = %v, want *IdentityMismatchError", err)
	}
	// A caller's own http.Client keeps its settings and gets the pin.
	hc := &http.Client{Timeout: 5 * time.Second}
	if err := NewClient(srv.URL, "t", WithHTTPClient(hc), WithTLSConfig(PinnedTLSConfig(id))).Health(context.Background()); err != nil {
		t.Errorf("Health with own client and pin = %v", err)
	}
	if hc.Transport != nil {
		t.Errorf("the caller's http.Client was modified")
	}
}
