package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/nonstopdev/nonstop/internal/fleet"
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
	sources, err := a.logSources(r, app, tail, follow)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	for _, src := range sources {
		rc, err := src.open(ctx)
		if err != nil {
			mu.Lock()
			fmt.Fprintf(w, "[%s] (no logs: %v)\n", src.id, err)
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
				fmt.Fprintf(w, "[%s] %s\n", src.id, sc.Text())
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

// logSource is one instance's (or pod's) output.
type logSource struct {
	id   string
	open func(ctx context.Context) (io.ReadCloser, error)
}

// logSources are the outputs ?instance= names, else those of the app's
// active instances (or of its most recent one, e.g. one that failed).
// An app on Kubernetes has its pods' logs.
func (a *API) logSources(r *http.Request, app *store.App, tail int, follow bool) ([]logSource, error) {
	want := r.URL.Query().Get("instance")
	var list []fleet.Member
	var err error
	switch {
	case want != "":
		m, ok, ferr := a.memberOf(r.Context(), app, want)
		switch {
		case ferr != nil:
			err = ferr
		case !ok:
			err = fmt.Errorf("instance %q of app %s: %w", want, app.Name, store.ErrNotFound)
		default:
			list = []fleet.Member{m}
		}
	default:
		if list, err = a.membersOf(r.Context(), app, true); err == nil && len(list) == 0 {
			// Nothing runs: show the most recent instance, e.g. one that failed.
			list, err = a.membersOf(r.Context(), app, false)
			list = list[:min(1, len(list))]
		}
	}
	if err != nil {
		return nil, err
	}
	out := make([]logSource, 0, len(list))
	for _, m := range list {
		out = append(out, logSource{id: m.ID, open: func(ctx context.Context) (io.ReadCloser, error) {
			return a.logsOf(ctx, app, m.ID, tail, follow)
		}})
	}
	return out, nil
}
