// Command hello is the example app nonstop's demo, docs and tests deploy: it
// answers on $PORT, reports its version, has a health check, a slow endpoint,
// and shuts down gracefully on SIGTERM.
package main

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	version := envOr("VERSION", "1")
	if os.Getenv("CRASH_ON_START") != "" {
		log.Fatalf("v%s: cannot start: CRASH_ON_START is set (a stand-in for a missing database)", version)
	}
	if ms, _ := strconv.Atoi(os.Getenv("STARTUP_DELAY_MS")); ms > 0 {
		time.Sleep(time.Duration(ms) * time.Millisecond) // a slow start, e.g. warming a cache
	}
	started := time.Now()
	failPercent, _ := strconv.Atoi(os.Getenv("FAIL_PERCENT"))          // a regression: that share of requests fails
	failAfter, _ := strconv.Atoi(os.Getenv("FAIL_AFTER_MS"))           // ... from that long after the start on
	unhealthyAfter, _ := strconv.Atoi(os.Getenv("UNHEALTHY_AFTER_MS")) // a heartbeat that stops
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Version", version)
		if failPercent > 0 && time.Since(started) > time.Duration(failAfter)*time.Millisecond && rand.IntN(100) < failPercent {
			http.Error(w, "injected failure from v"+version, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s from v%s\n", envOr("GREETING", "hello"), version)
	})
	var sick atomic.Bool // set by POST /sick: a stand-in for an instance that got stuck
	mux.HandleFunc("POST /sick", func(w http.ResponseWriter, r *http.Request) {
		sick.Store(true)
		fmt.Fprintln(w, "this instance now fails its health checks")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() || os.Getenv("UNHEALTHY") != "" || unhealthyAfter > 0 && time.Since(started) > time.Duration(unhealthyAfter)*time.Millisecond {
			http.Error(w, "unhealthy: UNHEALTHY is set", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Version", version)
		fmt.Fprintf(w, "slow %dms from v%s\n", ms, version)
	})
	srv := &http.Server{Addr: envOr("HOST", "127.0.0.1") + ":" + envOr("PORT", "8080"), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	log.Printf("v%s listening on %s", version, srv.Addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
	log.Printf("v%s stopped", version)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
