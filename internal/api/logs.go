package api

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/nonstopdev/nonstop/internal/store"
)

// logs streams the output of the app's active instances (or of the one named
// by ?instance=), each line prefixed with its instance; ?follow=1 keeps
// streaming, ?tail=N starts N lines from the end.
func (a *API) logs(w http.ResponseWriter, r *http.Request, u *store.User) error {
	app, err := a.app(r, u)
	if err != nil {
		return err
	}
	tail := 100
	if t := r.URL.Query().Get("tail"); t != "" {
		if tail, err = strconv.Atoi(t); err != nil {
			return fmt.Errorf("tail %q is not a number: %w", t, errBadRequest)
		}
	}
	follow := r.URL.Query().Get("follow") == "1"
	list, err := a.Store.ActiveInstances(r.Context(), app.ID)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		// Nothing runs: show the most recent instance, e.g. one that failed.
		if list, err = a.Store.Instances(r.Context(), app.ID, 1); err != nil {
			return err
		}
	}
	if want := r.URL.Query().Get("instance"); want != "" {
		all, err := a.Store.Instances(r.Context(), app.ID, 1000)
		if err != nil {
			return err
		}
		list = nil
		for _, in := range all {
			if in.ID == want {
				list = append(list, in)
			}
		}
		if len(list) == 0 {
			return fmt.Errorf("instance %q of app %s: %w", want, app.Name, store.ErrNotFound)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	for _, in := range list {
		rc, err := a.Runtime.Logs(ctx, in.ID, tail, follow)
		if err != nil {
			mu.Lock()
			fmt.Fprintf(w, "[%s] (no logs: %v)\n", in.ID, err)
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rc.Close()
			sc := bufio.NewScanner(rc)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				mu.Lock()
				fmt.Fprintf(w, "[%s] %s\n", in.ID, sc.Text())
				if follow && flusher != nil {
					flusher.Flush()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return nil
}
