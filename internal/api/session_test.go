package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/nonstopdev/nonstop/internal/wire"
)

// browser is a client with a cookie jar, as the dashboard's page is.
type browser struct {
	t    *testing.T
	s    *server
	http *http.Client
}

func newBrowser(t *testing.T, s *server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, http: &http.Client{Jar: jar}}
}

func (b *browser) do(method, path, body string, header map[string]string) (int, string, *http.Response) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.s.api.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), resp
}

func (b *browser) login(name, password string) (int, wire.Session, *http.Response) {
	b.t.Helper()
	body, _ := json.Marshal(wire.LoginRequest{Name: name, Password: password})
	code, out, resp := b.do("POST", "/api/v1/login", string(body), nil)
	var s wire.Session
	json.Unmarshal([]byte(out), &s)
	return code, s, resp
}

func TestSession_ALoginOpensACookieSessionWhoseChangesNeedItsCSRFToken(t *testing.T) {
	s := newServer(t)
	if _, err := s.admin.CreateUser(context.Background(), wire.CreateUserRequest{Name: "ann", Teams: []string{"default"}, Password: "ann's long passphrase"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s)
	wrong, _, _ := b.do("POST", "/api/v1/login", `{"name": "ann", "password": "not her passphrase"}`, nil)
	wrongCode, wrongBody, _ := b.do("POST", "/api/v1/login", `{"name": "ann", "password": "not her passphrase"}`, nil)
	unknownCode, unknownBody, _ := b.do("POST", "/api/v1/login", `{"name": "nobody", "password": "not her passphrase"}`, nil)
	if wrong != http.StatusUnauthorized || wrongCode != unknownCode || wrongBody != unknownBody {
		t.Errorf("a wrong password: %d %s; an unknown name: %d %s; want the same 401", wrongCode, wrongBody, unknownCode, unknownBody)
	}
	if code, _, _ := b.do("POST", "/api/v1/login", `{"name": "ann", "password": "ann's long passphrase"}`, map[string]string{"Content-Type": "text/plain"}); code != http.StatusBadRequest {
		t.Errorf("a login posted as a form would be: %d, want 400", code)
	}
	code, sess, resp := b.login("ann", "ann's long passphrase")
	if code != http.StatusOK || sess.Name != "ann" || sess.CSRF == "" {
		t.Fatalf("login: %d %+v", code, sess)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"nonstop_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if code, body, _ := b.do("GET", "/api/v1/whoami", "", nil); code != http.StatusOK || !strings.Contains(body, `"ann"`) {
		t.Errorf("whoami in the session: %d %s", code, body)
	}
	if code, body, _ := b.do("POST", "/api/v1/tokens", `{"name": "x"}`, nil); code != http.StatusForbidden || !strings.Contains(body, "X-CSRF-Token") {
		t.Errorf("a change without the CSRF token: %d %s, want 403", code, body)
	}
	if code, _, _ := b.do("POST", "/api/v1/tokens", `{"name": "x"}`, map[string]string{"X-CSRF-Token": "nst_forged"}); code != http.StatusForbidden {
		t.Errorf("a change with a wrong CSRF token: %d, want 403", code)
	}
	if code, body, _ := b.do("POST", "/api/v1/tokens", `{"name": "x"}`, map[string]string{"X-CSRF-Token": sess.CSRF}); code != http.StatusCreated {
		t.Errorf("a change with the CSRF token: %d %s", code, body)
	}
	if code, _, _ := b.do("POST", "/api/v1/logout", "", map[string]string{"X-CSRF-Token": sess.CSRF}); code != http.StatusOK {
		t.Errorf("logout: %d", code)
	}
	// The cookie, replayed after the logout, opens nothing.
	replay := newBrowser(t, s)
	for _, c := range resp.Cookies() {
		if c.Name == "nonstop_session" {
			code, _, _ := replay.do("GET", "/api/v1/whoami", "", map[string]string{"Cookie": c.Name + "=" + c.Value})
			if code != http.StatusUnauthorized {
				t.Errorf("the session cookie after logout: %d, want 401", code)
			}
		}
	}
}

func TestSession_FailedLoginsAreLimitedPerAccount(t *testing.T) {
	s := newServer(t)
	if _, err := s.admin.CreateUser(context.Background(), wire.CreateUserRequest{Name: "ann", Teams: []string{"default"}, Password: "ann's long passphrase"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s)
	for i := range 5 {
		if code, _, _ := b.login("ann", "guess number "+string(rune('a'+i))); code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, code)
		}
	}
	code, _, resp := b.login("ann", "ann's long passphrase")
	if code != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the right password after 5 wrong ones: %d (Retry-After %q), want 429 with Retry-After", code, resp.Header.Get("Retry-After"))
	}
}
