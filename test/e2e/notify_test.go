package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Rollout events reach the configured webhooks as JSON with a text line.
func TestNotifications_RolloutEventsArePostedAsJSON(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e map[string]any
		json.NewDecoder(r.Body).Decode(&e)
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer recv.Close()
	c := newClusterWith(t, []string{"--notify", recv.URL + "/services/T000/B000/secret"}, nil)
	c.mustRun("apps", "create", "hello")
	c.mustRun("deploy", appSource(t, helloSpec("1", "20s")))
	c.run("deploy", appSource(t, helloSpec("2", "2s", `UNHEALTHY: "1"`)))
	want := []string{"started", "succeeded", "started", "rolled_back"}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		var kinds []string
		for _, e := range got {
			kinds = append(kinds, e["kind"].(string))
		}
		events := append([]map[string]any(nil), got...)
		mu.Unlock()
		if strings.Join(kinds, " ") == strings.Join(want, " ") {
			last := events[3]
			if text, _ := last["text"].(string); !strings.Contains(text, "hello: rollout") || !strings.Contains(text, "rolled back") || last["app"] != "hello" {
				t.Fatalf("rolled back notification: %+v", last)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications %v, want %v", kinds, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
